package cache

import (
	"net/http"
	"testing"
	"time"
)

func TestMarkStaleRevalidatesEveryObject(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<20, nil)
	p := Policy{TTLs: TTLs{Max: time.Hour, Default: time.Minute}}
	fill := func(path string, stale *Object, status int) {
		k := Key{Dist: "main", Host: "a", Path: path}
		_, key := c.Get(k, nil)
		f, _ := c.Join(k, key)
		r := f.Attach(true)
		f.Begin(http.Header{}, stale, p)
		f.Respond(status, http.Header{"Cache-Control": {"max-age=3600, stale-while-revalidate=60, stale-if-error=600"}, "Etag": {`"v1"`}}, 1)
		if status == 200 {
			f.Write([]byte("x"))
		}
		f.End(nil)
		r.Close()
		c.Leave(f)
	}
	get := func(path string) *Object {
		o, _ := c.Get(Key{Dist: "main", Host: "a", Path: path}, nil)
		if o == nil {
			t.Fatalf("%s is not stored", path)
		}
		return o
	}
	fill("/a", nil, 200)
	if o := get("/a"); !o.Fresh(time.Now()) || o.SWR() != time.Minute {
		t.Fatalf("stored: fresh %v swr %s", o.Fresh(time.Now()), o.SWR())
	}
	if n := c.MarkStale(); n != 1 {
		t.Errorf("MarkStale counted %d objects", n)
	}
	o := get("/a")
	if o.Fresh(time.Now()) || o.SWR() != 0 || o.SIE() != 0 || !o.MustRevalidate() {
		t.Fatalf("marked stale: fresh %v swr %s sie %s must-revalidate %v: it could be served without asking the origin",
			o.Fresh(time.Now()), o.SWR(), o.SIE(), o.MustRevalidate())
	}
	if string(o.Body) != "x" || o.Header.Get("Etag") != `"v1"` {
		t.Errorf("the stale object lost its body or validators: %q %v", o.Body, o.Header)
	}
	// A 304 makes it fresh again; an object stored after the mark is fresh.
	fill("/a", o, http.StatusNotModified)
	if o := get("/a"); !o.Fresh(time.Now()) {
		t.Error("revalidated, it is still stale")
	}
	fill("/b", nil, 200)
	if o := get("/b"); !o.Fresh(time.Now()) {
		t.Error("stored after the mark, it is stale")
	}
}
