package cache

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A fill that stores nothing hands its body to its leader, whose copy
// counts as the body's arrival: the fill finishes cleanly.
func TestFillHandsItsBodyToTheLeader(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<10, nil)
	f, _ := c.Join(testKey("k"))
	r := f.Attach(true)
	f.Start(200, http.Header{}, true, 4096) // larger than the store limit
	type result struct {
		handed bool
		err    error
	}
	res := make(chan result, 1)
	go func() {
		handed, err := f.Hand(strings.NewReader(strings.Repeat("x", 4096)))
		res <- result{handed, err}
	}()
	body, done := r.Take(context.Background())
	if body == nil {
		t.Fatal("the leader was handed no body")
	}
	n, err := io.Copy(io.Discard, body)
	done(n, err)
	if got := <-res; !got.handed || got.err != nil {
		t.Fatalf("Hand: %v %v", got.handed, got.err)
	}
	f.Finish(nil)
	f.Settle(nil)
	if _, err := r.Result(context.Background()); err != nil {
		t.Errorf("a handed body of its whole length ended in %v", err)
	}
}

// A fill that stores, or that passed bytes on already, keeps its body.
func TestFillKeepsWhatItStores(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<20, nil)
	f, _ := c.Join(testKey("k"))
	f.Attach(true)
	f.Start(200, http.Header{}, true, 10)
	if handed, _ := f.Hand(strings.NewReader("0123456789")); handed {
		t.Error("a fill that stores handed its body away")
	}
	g, _ := c.Join(testKey("g"))
	g.Attach(true)
	g.Start(200, http.Header{}, false, 10)
	g.Write([]byte("01"))
	if handed, _ := g.Hand(strings.NewReader("23456789")); handed {
		t.Error("a fill handed away the rest of a body it had begun to pass on")
	}
	h, _ := c.Join(testKey("h"))
	h.Attach(false)
	h.Start(200, http.Header{}, false, 10)
	if handed, _ := h.Hand(strings.NewReader("0123456789")); handed {
		t.Error("a fill without a leader handed its body away")
	}
}

// A leader that leaves before taking the body releases the fetch.
func TestFillLeaderLeavesBeforeTaking(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<10, nil)
	f, _ := c.Join(testKey("k"))
	r := f.Attach(true)
	f.Start(200, http.Header{}, false, 10)
	res := make(chan error, 1)
	go func() {
		_, err := f.Hand(strings.NewReader("0123456789"))
		res <- err
	}()
	for offered := false; !offered; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		offered = f.hand != nil
		f.mu.Unlock()
	}
	r.Close()
	select {
	case err := <-res:
		if !errors.Is(err, errLeaderGone) {
			t.Errorf("Hand after the leader left: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Hand still waits for a leader that left")
	}
}
