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

// A request that comes after an invalidation does not join a fill begun
// before it (by path, or by a tag of its answer): it starts its own, and
// the old fill's end does not forget the new one.
func TestJoinSkipsAnInvalidatedFill(t *testing.T) {
	p := Policy{TTLs: TTLs{Max: time.Hour, Default: time.Minute}, TagHeader: "Cache-Tag"}
	for _, item := range []string{"/a", "/*", "#t1"} {
		t.Run(item, func(t *testing.T) {
			c := New(NewMemory(1<<20), 1<<20, nil)
			k := Key{Dist: "main", Host: "h", Path: "/a"}
			key := k.String()
			old, leader := c.Join(k, key)
			if !leader {
				t.Fatal("the first Join is not the leader")
			}
			old.Begin(http.Header{}, nil, p)
			old.Respond(200, http.Header{"Cache-Tag": {"t1"}, "Content-Length": {"1"}}, 1)
			if f, leader := c.Join(k, key); f != old || leader {
				t.Fatal("before any invalidation, a second Join does not join the fill in flight")
			}
			c.Invalidate("other", []string{"/*"}) // another distribution's: no effect
			if f, _ := c.Join(k, key); f != old {
				t.Fatal("another distribution's invalidation made a new fill")
			}
			c.Invalidate("main", []string{item})
			fresh, leader := c.Join(k, key)
			if fresh == old || !leader {
				t.Fatalf("after invalidating %s, Join gave the old fill (leader %v)", item, leader)
			}
			old.End(nil)
			c.Leave(old)
			if f, leader := c.Join(k, key); f != fresh || leader {
				t.Fatal("the old fill's end forgot the new one")
			}
		})
	}
}
