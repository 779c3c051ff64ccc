package cache

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
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
	if r := k.ref(); !reflect.DeepEqual(r, ref{dist: "main", path: "/docs/a b"}) {
		t.Errorf("ref = %+v", r)
	}
	o := NewObject(http.Header{"Content-Type": {"text/plain"}}, nil, Meta{Status: 200, TTL: time.Hour})
	o.ref = k.ref()
	o.ref.tags = []string{"product:tv", "brand:x"}
	got, key, err := decodeMeta(encodeMeta(k.String(), o))
	if err != nil || key != k.String() || !reflect.DeepEqual(got.ref, o.ref) {
		t.Errorf("metadata round trip: %v %q %+v", err, key, got.ref)
	}
	// A file written before the metadata held the ref: read from the key.
	o.ref.tags = nil
	legacy := encodeMeta(k.String(), o)
	legacy = legacy[:len(legacy)-len(appendString(appendString(nil, o.ref.dist), o.ref.path))-1]
	got, _, err = decodeMeta(legacy)
	if err != nil || !reflect.DeepEqual(got.ref, o.ref) {
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

// Tags are read as CloudFront reads them: comma-separated, without case,
// visible ASCII but the comma, 256 bytes at most, 50 an object.
func TestParseTags(t *testing.T) {
	got := ParseTags([]string{"Product:TV, brand:x,, bad tag,product:tv", "caf\u00e9," + strings.Repeat("a", 257) + ",ok"})
	if want := []string{"product:tv", "brand:x", "ok"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ParseTags = %q, want %q", got, want)
	}
	var many []string
	for i := range 60 {
		many = append(many, fmt.Sprint("t", i))
	}
	if n := len(ParseTags([]string{strings.Join(many, ",")})); n != MaxTagsOfObject {
		t.Errorf("%d tags kept of 60, want %d", n, MaxTagsOfObject)
	}
}

// An invalidation by tag reaches every object and variant tagged with
// it, whatever their paths, and nothing else.
func TestInvalidationByTag(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<20, nil)
	p := Policy{TTLs: TTLs{Max: time.Hour, Default: time.Minute}, TagHeader: "Cache-Tag"}
	put := func(path, tags, lang string) Key {
		k := Key{Dist: "main", Host: "a", Path: path}
		req := http.Header{"Accept-Language": {lang}}
		o, key := c.Get(k, req)
		if o != nil {
			t.Fatalf("%s already stored", path)
		}
		f, _ := c.Join(k, key)
		r := f.Attach(true)
		f.Begin(req, nil, p)
		f.Respond(200, http.Header{"Cache-Tag": {tags}, "Vary": {"Accept-Language"}}, 1)
		f.Write([]byte("x"))
		f.End(nil)
		r.Close()
		c.Leave(f)
		return k
	}
	tv, tvFR, radio := put("/tv", "Product:TV, brand:x", "en"), put("/tv", "product:tv", "fr"), put("/radio", "product:radio", "en")
	if o, _ := c.Get(tv, http.Header{"Accept-Language": {"en"}}); o == nil || !slices.Equal(o.Tags(), []string{"product:tv", "brand:x"}) {
		t.Fatalf("stored tags: %v", o)
	}
	c.Invalidate("other", []string{"#product:tv"})
	if o, _ := c.Get(tv, http.Header{"Accept-Language": {"en"}}); o == nil {
		t.Error("another distribution's invalidation reached the object")
	}
	c.Invalidate("main", []string{"#product:tv"})
	for _, v := range []struct {
		k    Key
		lang string
	}{{tv, "en"}, {tvFR, "fr"}} {
		if o, _ := c.Get(v.k, http.Header{"Accept-Language": {v.lang}}); o != nil {
			t.Errorf("the %s variant tagged product:tv survived", v.lang)
		}
	}
	if o, _ := c.Get(radio, http.Header{"Accept-Language": {"en"}}); o == nil {
		t.Error("an object not tagged was invalidated")
	}
}
