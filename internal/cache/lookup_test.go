package cache

import (
	"net/http"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/logtest"
)

// storeOne stores body under k through a fill, varied by Accept-Language
// when vary is true.
func storeOne(t *testing.T, c *Cache, k Key, req http.Header, vary bool, body string) {
	t.Helper()
	_, key := c.Get(k, req)
	f, _ := c.Join(k, key)
	r := f.Attach(true)
	f.Begin(req, nil, Policy{TTLs: TTLs{Max: time.Hour, Default: time.Hour}})
	h := http.Header{"Content-Type": {"text/plain"}}
	if vary {
		h["Vary"] = []string{"Accept-Language"}
	}
	f.Respond(200, h, int64(len(body)))
	f.Write([]byte(body))
	f.End(nil)
	r.Close()
	c.Leave(f)
}

// A hit in memory is looked up by the key's bytes, without making the key
// a string: Get allocates nothing, for a plain object, for a variant and
// for an encoding, and the key it returns is the one stored.
func TestMemoryHitAllocatesNothing(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<20, nil)
	plain, varied := Key{Dist: "main", Host: "a", Path: "/plain"}, Key{Dist: "main", Host: "a", Path: "/varied", Query: "v=1"}
	fr := http.Header{"Accept-Language": {"fr"}}
	storeOne(t, c, plain, http.Header{}, false, "plain")
	storeOne(t, c, varied, fr, true, "varied")
	src, _ := c.Get(plain, nil)
	gz := func() *Object {
		return NewObject(http.Header{"Content-Encoding": {"gzip"}}, []byte("z"), Meta{Status: 200})
	}
	if o := c.Encoded(plain.String(), src, "gzip", gz); string(o.Body) != "z" {
		t.Fatalf("encoding: %q", o.Body)
	}
	for _, tc := range []struct {
		name string
		get  func() (*Object, string)
		want string
		key  string
	}{
		{"plain", func() (*Object, string) { return c.Get(plain, nil) }, "plain", plain.String()},
		{"variant", func() (*Object, string) { return c.Get(varied, fr) }, "varied", VariantKey(varied.String(), []string{"Accept-Language"}, fr)},
	} {
		o, key := tc.get()
		if o == nil || string(o.Body) != tc.want || key != tc.key {
			t.Fatalf("%s: %v %q, want %q under %q", tc.name, o, key, tc.want, tc.key)
		}
		if n := testing.AllocsPerRun(200, func() { tc.get() }); n != 0 {
			t.Errorf("%s: a hit allocates %v times, want 0", tc.name, n)
		}
	}
	pk := plain.String()
	if n := testing.AllocsPerRun(200, func() { c.Encoded(pk, src, "gzip", gz) }); n != 0 {
		t.Errorf("an encoding's hit allocates %v times, want 0", n)
	}
	// A miss returns a key of its own, which a fill keeps.
	_, key := c.Get(Key{Dist: "main", Host: "a", Path: "/missing"}, nil)
	if key != (Key{Dist: "main", Host: "a", Path: "/missing"}).String() {
		t.Errorf("a miss's key %q", key)
	}
}

// An object read from the disk tier is put in memory under a key of its
// own: the bytes Get looked it up with are its caller's to reuse.
func TestDiskHitKeepsAKeyOfItsOwn(t *testing.T) {
	dir := t.TempDir()
	c := New(NewTiered(NewMemory(1<<20), openDisk(t, dir, 1<<30), 64<<10, logtest.New(t)), 1<<20, nil)
	k := Key{Dist: "main", Host: "a", Path: "/on-disk"}
	storeOne(t, c, k, http.Header{}, false, "kept")
	// A new process: the memory tier is empty, the disk holds the object.
	c2 := New(NewTiered(NewMemory(1<<20), openDisk(t, dir, 1<<30), 64<<10, logtest.New(t)), 1<<20, nil)
	if o, key := c2.Get(k, nil); o == nil || string(o.Body) != "kept" || key != k.String() {
		t.Fatalf("from disk: %v %q", o, key)
	}
	other := Key{Dist: "main", Host: "a", Path: "/on-dis!"} // same length: the same scratch bytes, rewritten
	c2.Get(other, nil)
	if o, key := c2.Get(k, nil); o == nil || key != k.String() {
		t.Fatalf("from memory after the disk: %v %q", o, key)
	}
	var keys []string
	c2.store.(*Tiered).Mem.Range(func(key string, _ ref, _ uint64) bool { keys = append(keys, key); return true })
	if len(keys) != 1 || keys[0] != k.String() {
		t.Errorf("the memory tier holds %q, want [%q]", keys, k.String())
	}
}
