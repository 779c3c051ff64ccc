package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// objectBody is what the origin serves for object i: its number repeated.
func objectBody(i int) []byte {
	size := 8 << 10 // small: memory and disk
	switch i % 3 {
	case 1:
		size = 256 << 10 // disk only
	case 2:
		size = 512 << 10 // disk only, sent without a length
	}
	return bytes.Repeat([]byte(fmt.Sprintf("%07d\n", i)), size/8)
}

// TestDiskTierAfterSIGKILL kills the edge with SIGKILL while it fills
// objects into the disk tier, starts it again in front of an origin that
// fails, and checks that every answer it still gives is whole and right:
// nothing partial was left under an object's name.
func TestDiskTierAfterSIGKILL(t *testing.T) {
	dir := t.TempDir()
	var down atomic.Bool
	ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/obj/"))
		body := objectBody(i)
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "application/octet-stream")
		if i%3 != 2 {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		if i%3 == 0 {
			w.Write(body) // small ones are complete before the kill
			return
		}
		for off := 0; off < len(body); off += 16 << 10 {
			w.Write(body[off : off+16<<10])
			w.(http.Flusher).Flush()
			time.Sleep(25 * time.Millisecond) // large ones are being filled when it comes
		}
	})
	addr := freeAddr(t)
	cacheDir := filepath.Join(dir, "cache")
	cfg := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q}
cache: {memory: 16MiB, max_memory_object_size: 64KiB, disk: {path: %q, size: 1GiB}}
distributions:
  - name: main
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o}
`, addr, cacheDir, ln.Addr())), 0o644)

	p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
	const n = 30
	client := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := client.Get(fmt.Sprintf("http://%s/obj/%d", addr, i)); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	time.Sleep(400 * time.Millisecond)
	partial, _ := os.ReadDir(filepath.Join(cacheDir, "tmp"))
	p.cmd.Process.Kill()
	<-p.done
	wg.Wait()
	if len(partial) == 0 {
		t.Fatal("no object was being written when the edge was killed; the test proves nothing")
	}

	down.Store(true)
	p = startBinary(t, "edgefront serving", "serve", "-c", cfg)
	defer p.stop(t)
	if left, _ := os.ReadDir(filepath.Join(cacheDir, "tmp")); len(left) != 0 {
		t.Errorf("%d partial files left in tmp/ after the restart", len(left))
	}
	hits := 0
	for i := range n {
		resp, err := client.Get(fmt.Sprintf("http://%s/obj/%d", addr, i))
		if err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			hits++
			if err != nil || !bytes.Equal(body, objectBody(i)) || resp.Header.Get("X-Cache") != "Hit from edgefront" {
				t.Errorf("object %d after the restart: %v, %d bytes of %d, %s", i, err, len(body), len(objectBody(i)), resp.Header.Get("X-Cache"))
			}
		case resp.StatusCode != http.StatusServiceUnavailable:
			t.Errorf("object %d: status %d", i, resp.StatusCode)
		}
	}
	if hits < n/3 {
		t.Errorf("only %d objects survived; the %d small ones were complete before the kill", hits, n/3)
	}
	t.Logf("%d partial files at the kill; %d of %d objects served whole after the restart, none partial", len(partial), hits, n)
}
