package cache

import (
	"net/http"
	"testing"
	"time"
)

// The key's string is the layout stores index and disk files hold; what
// invalidations match (the distribution and the decoded path) comes from
// its fields, and from a file's metadata after a restart.
func TestKeyLayoutAndRef(t *testing.T) {
	k := Key{Dist: "main", HTTPS: true, Host: "a.example", Path: "/docs/a%20b", Query: "v=1", Fields: "\x00Accept:x"}
	if got, want := k.String(), "main\x00https://a.example\x00/docs/a%20b?v=1\x00Accept:x"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (Key{Dist: "d", Host: "h", Path: "/"}).String(); got != "d\x00http://h\x00/" {
		t.Errorf("a bare key: %q", got)
	}
	if r := k.ref(); r != (ref{"main", "/docs/a b"}) {
		t.Errorf("ref = %+v", r)
	}
	o := NewObject(http.Header{"Content-Type": {"text/plain"}}, nil, Meta{Status: 200, TTL: time.Hour})
	o.ref = k.ref()
	got, key, err := decodeMeta(encodeMeta(k.String(), o))
	if err != nil || key != k.String() || got.ref != o.ref {
		t.Errorf("metadata round trip: %v %q %+v", err, key, got.ref)
	}
	// A file written before the metadata held the ref: read from the key.
	legacy := encodeMeta(k.String(), o)
	legacy = legacy[:len(legacy)-len(appendString(appendString(nil, o.ref.dist), o.ref.path))]
	got, _, err = decodeMeta(legacy)
	if err != nil || got.ref != o.ref {
		t.Errorf("legacy metadata: %v %+v, want %+v", err, got.ref, o.ref)
	}
}

// Invalidations reach objects through their ref: variants, encodings
// and refreshed objects included.
func TestInvalidationMatchesByRef(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<20, nil)
	put := func(path string, vary bool) Key {
		k := Key{Dist: "main", Host: "a", Path: path}
		f, _ := c.Join(k, k.String())
		h := http.Header{"Content-Type": {"text/plain"}}
		if vary {
			h["Vary"] = []string{"Accept-Language"}
		}
		o := NewObject(h, []byte("x"), Meta{Status: 200, TTL: time.Hour, ResponseTime: time.Now()})
		if !c.Put(f, http.Header{"Accept-Language": {"fr"}}, o) {
			t.Fatalf("Put %s refused", path)
		}
		c.Leave(f)
		return k
	}
	a, b, v := put("/a%2Fb", false), put("/keep", false), put("/v", true)
	c.Invalidate("main", []string{"/a/b", "/v"})
	if o, _ := c.Get(a, nil); o != nil {
		t.Error("the escaped path /a%2Fb survived an invalidation of /a/b")
	}
	if o, _ := c.Get(v, http.Header{"Accept-Language": {"fr"}}); o != nil {
		t.Error("a variant survived its path's invalidation")
	}
	if o, _ := c.Get(b, nil); o == nil {
		t.Error("an object not named was invalidated")
	}
}
