package cache

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// A fill told what the origin did (Respond, Write, End) decides, stores
// and settles: a cacheable answer is stored, one that may not be is
// not, a 304 refreshes the stale object, and no answer is an error.
func TestFillDecidesStoresAndSettles(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<20, nil)
	p := Policy{TTLs: TTLs{Max: time.Hour, Default: time.Minute}, ErrorTTL: func(int) time.Duration { return -1 }}
	ctx := context.Background()
	run := func(path string, stale *Object, fetch func(f *Fill)) (*Object, error) {
		k, key := testKey(path)
		f, _ := c.Join(k, key)
		r := f.Attach(true)
		defer r.Close()
		f.Begin(http.Header{}, stale, p)
		fetch(f)
		return r.Result(ctx)
	}

	o, err := run("ok", nil, func(f *Fill) {
		f.Respond(200, http.Header{"Cache-Control": {"max-age=30"}, "Etag": {`"1"`}}, 4)
		f.Write([]byte("body"))
		f.End(nil)
	})
	if err != nil || o == nil || string(o.Body) != "body" || o.TTL() != 30*time.Second {
		t.Fatalf("a cacheable answer: %v %+v", err, o)
	}
	if got, _ := c.Get(Key{Dist: "main", Host: "a", Path: "/ok"}, nil); got != o {
		t.Error("the stored object is not the one settled")
	}

	if o, err := run("private", nil, func(f *Fill) {
		f.Respond(200, http.Header{"Cache-Control": {"no-store"}}, 2)
		f.Write([]byte("no"))
		f.End(nil)
	}); err != nil || o != nil {
		t.Errorf("a no-store answer: %v %+v", err, o)
	}

	stale := NewObject(http.Header{"Etag": {`"1"`}, "Content-Type": {"text/plain"}}, []byte("old body"),
		Meta{Status: 200, TTL: time.Second, ResponseTime: time.Now().Add(-time.Hour)})
	o, err = run("stale", stale, func(f *Fill) {
		f.Respond(304, http.Header{"Cache-Control": {"max-age=90"}, "Content-Length": {"0"}}, 0)
		if !f.Revalidating() {
			t.Error("a 304 to a revalidation is not revalidating")
		}
		f.End(nil)
	})
	if err != nil || o == nil || string(o.Body) != "old body" || o.TTL() != 90*time.Second || o.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("a 304: %v %+v", err, o)
	}

	unreachable := errors.New("connection refused")
	if _, err := run("down", nil, func(f *Fill) { f.End(unreachable) }); !errors.Is(err, unreachable) {
		t.Errorf("an origin that could not be reached: %v", err)
	}
	if _, err := run("silent", nil, func(f *Fill) { f.End(nil) }); err == nil {
		t.Error("a fetch that ended without an answer settled without an error")
	}
}
