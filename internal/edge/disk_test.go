package edge

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/cache"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/logtest"
)

// diskEdge runs an edge with a disk tier at dir in front of originURL: a
// new one on the same dir is a restart.
func diskEdge(t *testing.T, dir, originURL string, clk *testClock) (string, *Router) {
	t.Helper()
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "edgefront.yaml"), []byte(fmt.Sprintf(`
cache: {memory: 8MiB, max_memory_object_size: 64KiB, disk: {path: %q, size: 1GiB}}
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
`, dir, originURL)))
	if err != nil {
		t.Fatal(err)
	}
	log := logtest.New(t)
	s := cfg.Cache.Sizes()
	disk, err := cache.OpenDisk(s.DiskPath, uint64(s.Disk), log)
	if err != nil {
		t.Fatal(err)
	}
	c := cache.New(cache.NewTiered(cache.NewMemory(uint64(s.Memory)), disk, s.MaxMemoryObject, log), s.MaxObject, clk.Now)
	rt, err := Compile(cfg, Options{Log: log, Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(func() { srv.Close(); rt.Close() })
	return srv.URL, rt
}

// getHost gets with one Host for every edge: the Host is in the key, and
// an edge started again listens on another port.
func getHost(t *testing.T, url string) resp {
	return do(t, "GET", url, map[string]string{"Host": "cdn.example"})
}

func TestDiskTierServesLargeObjectsAndSurvivesRestart(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 128<<10) // 2 MiB
	var n atomic.Int64
	release := make(chan struct{})
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Etag", `"big1"`)
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			w.Write(big[:1<<20])
			w.(http.Flusher).Flush()
			<-release // the waiters have the first half before the origin sends the rest
			w.Write(big[1<<20:])
		default:
			fmt.Fprintf(w, "small %s", r.URL.Path)
		}
	})
	dir := t.TempDir()
	clk := newClock()
	e, _ := diskEdge(t, dir, o.URL, clk)

	var wg sync.WaitGroup
	bodies := make([]string, 5)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = getHost(t, e+"/big").body
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	for i, b := range bodies {
		if b != string(big) {
			t.Errorf("viewer %d got %d bytes", i, len(b))
		}
	}
	if n.Load() != 1 {
		t.Errorf("5 collapsed viewers made %d origin requests", n.Load())
	}
	wantCache(t, getHost(t, e+"/small"), "Miss", "small /small")
	wantCache(t, getHost(t, e+"/big"), "Hit", string(big))
	r := do(t, "GET", e+"/big", map[string]string{"Host": "cdn.example", "Range": "bytes=1048570-1048580"})
	wantStatus(t, r, http.StatusPartialContent)
	if r.body != string(big[1048570:1048581]) {
		t.Errorf("a range of a disk object: %q", r.body)
	}
	wantStatus(t, do(t, "GET", e+"/big", map[string]string{"Host": "cdn.example", "If-None-Match": `"big1"`}), http.StatusNotModified)

	// A restart finds both, and asks the origin for neither.
	before := n.Load()
	e2, rt2 := diskEdge(t, dir, o.URL, clk)
	wantCache(t, getHost(t, e2+"/big"), "Hit", string(big))
	wantCache(t, getHost(t, e2+"/small"), "Hit", "small /small")
	if n.Load() != before {
		t.Errorf("after a restart the origin was asked %d times", n.Load()-before)
	}
	// An invalidation reaches the disk tier, files and all.
	rt2.Cache().Invalidate("main", []string{"/*"})
	wantCache(t, getHost(t, e2+"/small"), "Miss", "small /small")
	files := 0
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if rel, _ := filepath.Rel(dir, p); err == nil && info.Mode().IsRegular() && !strings.HasPrefix(rel, "tmp") {
			files++
		}
		return nil
	})
	if files != 1 { // /small, fetched again
		t.Errorf("%d files on disk after invalidating everything and fetching one", files)
	}
}

func TestDiskObjectRefreshedByA304(t *testing.T) {
	big := bytes.Repeat([]byte("z"), 300<<10)
	var n atomic.Int64
	clk := newClock()
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Date", clk.Now().UTC().Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Etag", `"v"`)
		if r.Header.Get("If-None-Match") == `"v"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(big)
	})
	dir := t.TempDir()
	e, _ := diskEdge(t, dir, o.URL, clk)
	wantCache(t, getHost(t, e+"/x"), "Miss", string(big))
	clk.Add(11 * time.Second)
	wantCache(t, getHost(t, e+"/x"), "RefreshHit", string(big))
	wantCache(t, getHost(t, e+"/x"), "Hit", string(big))
	e2, _ := diskEdge(t, dir, o.URL, clk)
	wantCache(t, getHost(t, e2+"/x"), "Hit", string(big))
	if n.Load() != 2 {
		t.Errorf("origin asked %d times, want 2", n.Load())
	}
}

// An invalidation that arrives while an answer is being filled keeps it
// from being stored, in memory or on disk: it is never served again.
func TestInvalidationDuringAFill(t *testing.T) {
	for _, tier := range []string{"memory", "disk"} {
		t.Run(tier, func(t *testing.T) {
			var n atomic.Int64
			release := make(chan struct{})
			size := 8 << 10
			if tier == "disk" {
				size = 256 << 10 // beyond max_memory_object_size: streamed to disk
			}
			o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
				i := n.Add(1)
				w.Header().Set("Cache-Control", "max-age=3600")
				w.Header().Set("Content-Length", fmt.Sprint(size))
				body := bytes.Repeat([]byte{byte('0' + i)}, size)
				w.Write(body[:size/2])
				w.(http.Flusher).Flush()
				if i == 1 {
					<-release
				}
				w.Write(body[size/2:])
			})
			var e string
			var rt *Router
			if tier == "disk" {
				e, rt = diskEdge(t, t.TempDir(), o.URL, newClock())
			} else {
				srv, r := edgeWithClock(t, fmt.Sprintf("distributions:\n  - name: main\n    origins: {o: {type: http, url: %q}}\n    default_behavior: {target_origin: o}\n", o.URL), nil, nil)
				e, rt = srv.URL, r
			}
			done := make(chan resp)
			go func() { done <- getHost(t, e+"/slow") }()
			for n.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			rt.Cache().Invalidate("main", []string{"/slow"})
			close(release)
			first := <-done
			if len(first.body) != size || first.body[0] != '1' {
				t.Errorf("the viewer of the invalidated fill got %d bytes", len(first.body))
			}
			second := getHost(t, e+"/slow")
			wantCache(t, second, "Miss", "")
			if len(second.body) != size || second.body[0] != '2' || n.Load() != 2 {
				t.Errorf("after the invalidation: %d bytes of answer %c, %d origin requests", len(second.body), second.body[0], n.Load())
			}
			wantCache(t, getHost(t, e+"/slow"), "Hit", second.body)
		})
	}
}
