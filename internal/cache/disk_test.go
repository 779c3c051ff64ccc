package cache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/logtest"
)

func openDisk(t *testing.T, dir string, max uint64) *Disk {
	t.Helper()
	d, err := OpenDisk(dir, max, logtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	d.WaitScanned()
	return d
}

func readAll(t *testing.T, o *Object) string {
	t.Helper()
	b, err := io.ReadAll(o.BodyReader())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDiskTierSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<30)
	now := time.Unix(1_800_000_000, 123)
	small := NewObject(http.Header{"Content-Type": {"text/plain"}, "Etag": {`"a"`}}, []byte("hello"),
		Meta{Status: 200, ResponseTime: now, TTL: time.Hour, SWR: time.Minute, SIE: 2 * time.Minute, InitialAge: 3 * time.Second, MustReval: true, ModTime: now.Add(-time.Hour)})
	small.gen = 42
	big := NewObject(http.Header{"Content-Type": {"video/mp4"}}, bytes.Repeat([]byte("0123456789"), 100_000), Meta{Status: 200, ResponseTime: now, TTL: time.Hour})
	idx := &Object{ext: &objectExt{variants: []string{"Accept-Language"}}, ttl: 60}
	for k, o := range map[string]*Object{"main\x00https://a\x00/small": small, "main\x00https://a\x00/big": big, "main\x00https://a\x00/v": idx} {
		if err := d.Put(k, o); err != nil {
			t.Fatal(err)
		}
	}
	// A new process finds them, without a scan to wait for.
	d2, err := OpenDisk(dir, 1<<30, logtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := d2.Get("main\x00https://a\x00/small", 1<<20)
	if !ok || got.OnDisk() || string(got.Body) != "hello" || got.Header.Get("Etag") != `"a"` || got.Meta() != small.Meta() || got.gen != 42 {
		t.Fatalf("small object after a restart: %v %+v", ok, got)
	}
	got, ok = d2.Get("main\x00https://a\x00/big", 1<<10)
	if !ok || !got.OnDisk() || got.Body != nil || got.BodySize() != 1_000_000 || readAll(t, got) != string(big.Body) {
		t.Fatalf("large object after a restart: %v", ok)
	}
	got, ok = d2.Get("main\x00https://a\x00/v", 1<<20)
	if !ok || len(got.Variants()) != 1 || got.Variants()[0] != "Accept-Language" {
		t.Fatalf("variant index after a restart: %v %v", ok, got)
	}
	if _, ok := d2.Get("main\x00https://a\x00/none", 1<<20); ok {
		t.Error("found an object never stored")
	}
	d2.WaitScanned()
	if d2.Len() != 3 {
		t.Errorf("index holds %d objects, want 3", d2.Len())
	}
	var keys []string
	d2.Range(func(k string, _ ref, _ uint64) bool { keys = append(keys, k); return true })
	if len(keys) != 3 {
		t.Errorf("Range saw %q", keys)
	}
}

func TestDiskTierRefusesDamagedFilesAndClearsTemporaries(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<30)
	key := "main\x00https://a\x00/x"
	d.Put(key, NewObject(http.Header{}, []byte("the whole body"), Meta{Status: 200, TTL: time.Hour}))
	name := filepath.Join(dir, filepath.FromSlash(fileName(key)))
	b, _ := os.ReadFile(name)
	b[3] ^= 1 // one bit of the body flips
	os.WriteFile(name, b, 0o644)
	os.WriteFile(filepath.Join(dir, "tmp", "partial"), []byte("half an obj"), 0o644)

	d2 := openDisk(t, dir, 1<<30)
	if _, ok := d2.Get(key, 1<<20); ok {
		t.Error("a damaged object was served")
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Error("the damaged file is still there")
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Errorf("tmp/ holds %d files after start", len(entries))
	}
	// A truncated file is refused too.
	d2.Put(key, NewObject(http.Header{}, []byte("the whole body"), Meta{Status: 200, TTL: time.Hour}))
	b, _ = os.ReadFile(name)
	os.WriteFile(name, b[:len(b)-3], 0o644)
	if _, ok := openDisk(t, dir, 1<<30).Get(key, 1<<20); ok {
		t.Error("a truncated object was served")
	}
}

func TestDiskTierEvictsBySize(t *testing.T) {
	d := openDisk(t, t.TempDir(), 1<<20)
	for i := range 64 {
		d.Put(fmt.Sprintf("main\x00https://a\x00/%d", i), NewObject(http.Header{}, make([]byte, 64<<10), Meta{Status: 200}))
	}
	if b := d.Bytes(); b > 1<<20 || d.Len() < 8 {
		t.Errorf("4 MiB into a 1 MiB disk tier: %d bytes, %d objects", b, d.Len())
	}
	files := 0
	filepath.Walk(d.dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			files++
		}
		return nil
	})
	if files != d.Len() {
		t.Errorf("%d files for %d indexed objects", files, d.Len())
	}
}

// A fill whose body is larger than memory takes goes to disk as it
// arrives: the readers follow it from the file, nothing holds it whole in
// memory, and the object committed is read from its file.
func TestLargeFillGoesToDiskOnly(t *testing.T) {
	dir := t.TempDir()
	tier := NewTiered(NewMemory(1<<20), openDisk(t, dir, 1<<30), 64<<10, logtest.New(t))
	c := New(tier, 1<<30, nil)
	for _, length := range []int64{4 << 20, -1} {
		k := Key{Dist: "main", HTTPS: true, Host: "a", Path: fmt.Sprintf("/big%d", length)}
		key := k.String()
		f, _ := c.Join(k, key)
		r := f.Attach(true)
		f.Start(200, http.Header{"Content-Type": {"application/octet-stream"}}, true, length)
		chunk := bytes.Repeat([]byte{'x'}, 64<<10)
		go func() {
			for range 64 {
				f.Write(chunk)
				f.mu.Lock()
				if len(f.buf) > 2*len(chunk) {
					t.Errorf("the fill holds %d bytes in memory", len(f.buf))
				}
				f.mu.Unlock()
			}
			f.Finish(nil)
			o := NewObject(http.Header{"Content-Length": {"4194304"}}, nil, Meta{Status: 200, TTL: time.Hour, ResponseTime: time.Now()})
			if !c.Put(f, http.Header{}, o) {
				t.Error("Put refused the disk fill")
			}
			f.Settle(o)
			c.Leave(f)
		}()
		n, sections := 0, 0
		for {
			var p []byte
			var err error
			if length < 0 {
				// As a viewer that sends from the file: sections of it.
				var sec *io.SectionReader
				sec, p, err = r.NextSection(context.Background())
				if sec != nil {
					sections++
					p, _ = io.ReadAll(sec)
				}
			} else {
				p, err = r.Next(context.Background())
			}
			if bytes.ContainsFunc(p, func(c rune) bool { return c != 'x' }) {
				t.Fatalf("length %d: the reader got bytes that were not written", length)
			}
			n += len(p)
			if err != nil {
				break
			}
		}
		r.Close()
		if length < 0 && sections == 0 {
			t.Errorf("a reader of a fill on disk got no section of its file")
		}
		if n != 4<<20 {
			t.Errorf("length %d: the reader got %d bytes", length, n)
		}
		got, _ := c.Get(k, http.Header{})
		if got == nil || !got.OnDisk() || got.BodySize() != 4<<20 {
			t.Fatalf("length %d: the stored object is not on disk: %+v", length, got)
		}
		// Memory may keep its fields and its open file (the open file
		// cache), never its body.
		if m, ok := tier.Mem.Get(key); ok && (m.Body != nil || !m.OnDisk()) {
			t.Errorf("length %d: the memory tier holds a disk object's body", length)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Errorf("tmp/ holds %d files after the fills", len(entries))
	}
}

// A disk file's metadata may be anything after a crash or by another
// hand: decoding never panics, and what decodes encodes back the same.
func FuzzDecodeMeta(f *testing.F) {
	o := NewObject(http.Header{"Content-Type": {"text/plain"}, "Vary": {"Accept-Encoding"}}, nil, Meta{Status: 200, TTL: time.Hour})
	f.Add(encodeMeta("main\x00https://a\x00/x", o))
	f.Add(encodeMeta("k", &Object{ext: &objectExt{variants: []string{"Accept-Language", "Cookie"}}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, key, err := decodeMeta(b)
		if err != nil {
			return
		}
		o2, key2, err := decodeMeta(encodeMeta(key, o))
		if err != nil || key2 != key || o2.Meta() != o.Meta() || len(o2.Header) != len(o.Header) || len(o2.Variants()) != len(o.Variants()) {
			t.Fatalf("round trip: %v %q %q", err, key, key2)
		}
	})
}

// An object whose body stays on disk is kept in memory as its fields and
// its open file once read: the next hits do not open the file again, a
// refresh replaces what memory holds, and the memory tier weighs each
// such object enough to bound the files it holds open.
func TestOpenFileCache(t *testing.T) {
	dir := t.TempDir()
	disk := openDisk(t, dir, 1<<30)
	tier := NewTiered(NewMemory(1<<20), disk, 1<<10, logtest.New(t))
	big := NewObject(http.Header{"Content-Type": {"application/octet-stream"}}, bytes.Repeat([]byte("b"), 100_000), Meta{Status: 200, TTL: time.Hour, ResponseTime: time.Now()})
	key := "main\x00https://a\x00/big"
	if err := disk.Put(key, big); err != nil {
		t.Fatal(err)
	}
	first, ok := tier.Get(key)
	if !ok || !first.OnDisk() {
		t.Fatalf("not found on disk: %v", ok)
	}
	os.RemoveAll(filepath.Join(dir, "objects")) // a second Get that went to disk would fail now
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() && len(e.Name()) == 2 {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	again, ok := tier.Get(key)
	if !ok || again != first || readAll(t, again) != string(big.Body) {
		t.Fatalf("the second hit did not come from memory with its open file: %v", ok)
	}
	refreshed := NewObject(first.Header.Clone(), nil, Meta{Status: 200, TTL: 2 * time.Hour, ResponseTime: time.Now()})
	attachFile(refreshed, first.ext.disk.f, first.ext.disk.size)
	tier.Put(key, refreshed)
	if got, _ := tier.Mem.Get(key); got != refreshed {
		t.Error("a refresh left the older object in memory")
	}
	w := tier.Mem.Bytes()
	for deadline := time.Now().Add(time.Second); w < openFileWeight && time.Now().Before(deadline); w = tier.Mem.Bytes() {
		time.Sleep(time.Millisecond) // the memory tier may apply its weights a moment later
	}
	if w < openFileWeight {
		t.Errorf("the memory tier weighs the open object %d bytes, want at least %d", w, openFileWeight)
	}
}

// Cache tags are kept in the disk tier: after a restart, an invalidation
// by tag finds the objects tagged before it.
func TestTagsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	p := Policy{TTLs: TTLs{Max: time.Hour, Default: time.Hour}, TagHeader: "Cache-Tag"}
	c := New(NewTiered(NewMemory(1<<20), openDisk(t, dir, 1<<30), 64<<10, logtest.New(t)), 1<<20, nil)
	for _, path := range []string{"/tagged", "/plain"} {
		k, key := Key{Dist: "main", Host: "a", Path: path}, Key{Dist: "main", Host: "a", Path: path}.String()
		f, _ := c.Join(k, key)
		r := f.Attach(true)
		f.Begin(http.Header{}, nil, p)
		h := http.Header{"Content-Type": {"text/plain"}}
		if path == "/tagged" {
			h["Cache-Tag"] = []string{"Release:42"}
		}
		f.Respond(200, h, 2)
		f.Write([]byte("ok"))
		f.End(nil)
		r.Close()
		c.Leave(f)
	}
	// A new process: a new memory tier over the same folder.
	c2 := New(NewTiered(NewMemory(1<<20), openDisk(t, dir, 1<<30), 64<<10, logtest.New(t)), 1<<20, nil)
	tagged, plain := Key{Dist: "main", Host: "a", Path: "/tagged"}, Key{Dist: "main", Host: "a", Path: "/plain"}
	if o, _ := c2.Get(tagged, nil); o == nil || !slices.Equal(o.Tags(), []string{"release:42"}) {
		t.Fatalf("after a restart: %v", o)
	}
	c2.Invalidate("main", []string{"#release:42"})
	if o, _ := c2.Get(tagged, nil); o != nil {
		t.Error("the tagged object survived its tag's invalidation after a restart")
	}
	if o, _ := c2.Get(plain, nil); o == nil {
		t.Error("an object without the tag was invalidated")
	}
}
