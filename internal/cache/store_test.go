package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// storeSuite is the acceptance suite every Store passes.
func storeSuite(t *testing.T, newStore func(maxBytes uint64) Store) {
	t.Run("get put delete", func(t *testing.T) {
		s := newStore(1 << 20)
		o := NewObject(http.Header{"Content-Type": {"text/plain"}}, []byte("hello"), Meta{Status: 200})
		s.Put("k", o)
		got, ok := s.Get("k")
		if !ok || !bytes.Equal(got.Body, o.Body) || got.Header.Get("Content-Type") != "text/plain" {
			t.Fatalf("Get after Put: %v %+v", ok, got)
		}
		s.Delete("k")
		if _, ok := s.Get("k"); ok {
			t.Error("Get after Delete found the object")
		}
	})
	t.Run("range", func(t *testing.T) {
		s := newStore(1 << 20)
		for i := range 10 {
			s.Put(fmt.Sprint(i), &Object{Body: []byte{byte(i)}})
		}
		n := 0
		s.Range(func(string, ref, uint64) bool { n++; return true })
		if n != 10 || s.Len() != 10 {
			t.Errorf("Range saw %d, Len %d, want 10", n, s.Len())
		}
	})
	t.Run("evicts by bytes", func(t *testing.T) {
		s := newStore(1 << 20)
		for i := range 64 {
			s.Put(fmt.Sprint(i), &Object{Body: make([]byte, 64<<10)})
		}
		if m, ok := s.(*Memory); ok {
			m.c.CleanUp()
		}
		if b := s.Bytes(); b > 1<<20 {
			t.Errorf("4 MiB put into a 1 MiB store holds %d bytes", b)
		}
	})
}

func TestMemoryStore(t *testing.T) {
	storeSuite(t, func(n uint64) Store { return NewMemory(n) })
}

// A fill is read by every reader as it arrives, and kept whole to store.
func TestFillStreamsToEveryReader(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<20, nil)
	f, leader := c.Join(testKey("k"))
	if !leader {
		t.Fatal("the first Join leads")
	}
	if _, again := c.Join(testKey("k")); again {
		t.Fatal("a second Join for the same key must not lead")
	}
	ctx := context.Background()
	readers := []*Reader{f.Attach(true), f.Attach(false), f.Attach(false)}
	f.Start(200, http.Header{"X": {"y"}}, true, 6)
	var wg sync.WaitGroup
	got := make([]string, len(readers))
	for i, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, shared, _, err := r.Header(ctx); err != nil || !shared {
				t.Errorf("reader %d: header %v shared=%v", i, err, shared)
			}
			var b bytes.Buffer
			for {
				p, err := r.Next(ctx)
				b.Write(p)
				if err != nil {
					break
				}
			}
			got[i] = b.String()
		}()
	}
	f.Write([]byte("abc"))
	time.Sleep(10 * time.Millisecond)
	f.Write([]byte("def"))
	f.Finish(nil)
	f.Settle(nil)
	wg.Wait()
	for i, g := range got {
		if g != "abcdef" {
			t.Errorf("reader %d read %q", i, g)
		}
	}
	if body, ok := f.Complete(); !ok || string(body) != "abcdef" {
		t.Errorf("Complete: %q %v", body, ok)
	}
}

// A body shorter than its Content-Length is an error for every reader and
// nothing to store.
func TestFillCutShort(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<20, nil)
	f, _ := c.Join(testKey("k"))
	r := f.Attach(true)
	f.Start(200, http.Header{}, true, 10)
	f.Write([]byte("abc"))
	f.Finish(nil)
	f.Settle(nil)
	var err error
	for err == nil {
		_, err = r.Next(context.Background())
	}
	if errors.Is(err, io.EOF) {
		t.Error("a short body ended with EOF, as if complete")
	}
	if _, ok := f.Complete(); ok {
		t.Error("a short body is complete")
	}
}

// A fill that does not store stops its fetch when every reader left.
func TestFillWithoutReadersStops(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<20, nil)
	f, _ := c.Join(testKey("k"))
	r := f.Attach(true)
	f.Start(200, http.Header{}, false, -1)
	r.Close()
	if _, err := f.Write(make([]byte, 10)); !errors.Is(err, ErrNoReaders) {
		t.Errorf("write with no reader: %v", err)
	}
}

// A shared fill that outgrows the store limit keeps only a window for its
// readers, and holds the fetch back until they read.
func TestFillOutgrowingTheLimitIsBounded(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<10, nil)
	f, _ := c.Join(testKey("k"))
	r := f.Attach(true)
	f.Start(200, http.Header{}, true, -1)
	done := make(chan struct{})
	total := 8 * fillWindow
	go func() {
		defer close(done)
		for sent := 0; sent < total; sent += 64 << 10 {
			if _, err := f.Write(make([]byte, 64<<10)); err != nil {
				t.Error(err)
				return
			}
			f.mu.Lock()
			if n := len(f.buf); n > 2*fillWindow {
				t.Errorf("fill holds %d bytes ahead of its reader", n)
			}
			f.mu.Unlock()
		}
		f.Finish(nil)
		f.Settle(nil)
	}()
	read := 0
	for {
		p, err := r.Next(context.Background())
		read += len(p)
		if err != nil {
			break
		}
	}
	<-done
	if read != total {
		t.Errorf("read %d of %d", read, total)
	}
	if _, ok := f.Complete(); ok {
		t.Error("an object larger than the limit would be stored")
	}
}

// testKey is a key and its string, for Join.
func testKey(path string) (Key, string) {
	k := Key{Dist: "main", Host: "a", Path: "/" + path}
	return k, k.String()
}
