package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/redistest"
)

// TestShardedClusterFetchesOncePerObject runs three nodes with shard:
// each object is fetched from the origin by its owner only, every node
// keeps its own copy, and an owner that is gone is passed over.
func TestShardedClusterFetchesOncePerObject(t *testing.T) {
	dir := t.TempDir()
	r := redistest.Start(t, "")
	o := newClusterOrigin(t)
	var nodes []*clusterNode
	for _, name := range []string{"edge-1", "edge-2", "edge-3"} {
		nodes = append(nodes, startNode(t, dir, name, r.URL(), o, true))
	}
	waitFor(t, 5*time.Second, "three members", func() bool { return strings.Contains(nodes[0].healthz(t), "cluster: up, 3 members") })

	o.mu.Lock()
	o.delay = 300 * time.Millisecond
	o.mu.Unlock()
	for _, path := range []string{"/s/one", "/s/two", "/s/three"} {
		var wg sync.WaitGroup
		errs := make(chan string, 90)
		for _, n := range nodes {
			for range 30 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest("GET", "http://"+n.http+path, nil)
					req.Host = "main.example"
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						errs <- err.Error()
						return
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || string(b) != path+" #1" {
						errs <- fmt.Sprintf("%s: %d %q", n.name, resp.StatusCode, b)
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		if got := o.count(path); got != 1 {
			t.Errorf("30 concurrent misses on each of 3 nodes for %s made %d origin requests, want 1", path, got)
		}
		for _, n := range nodes {
			if x, _ := n.get(t, "main.example", path); x != hit {
				t.Errorf("%s does not keep its own copy of %s: %s", n.name, path, x)
			}
		}
	}

	// An owner killed: until the others see it gone, what it owns is
	// fetched by the node asked, without waiting.
	o.mu.Lock()
	o.delay = 0
	o.mu.Unlock()
	nodes[2].p.cmd.Process.Kill()
	<-nodes[2].p.done
	var worst time.Duration
	for i := range 30 {
		path := fmt.Sprintf("/gone/%d", i)
		start := time.Now()
		if x, body := nodes[i%2].get(t, "main.example", path); body != path+" #1" {
			t.Errorf("%s with an owner gone: %s %q", path, x, body)
		}
		worst = max(worst, time.Since(start))
	}
	if worst > time.Second {
		t.Errorf("with an owner gone, the slowest miss took %s", worst)
	}
	// A node whose token is another: the others refuse it as an owner's
	// client and it refuses them, and every miss is still answered.
	waitFor(t, 10*time.Second, "edge-3 gone", func() bool { return strings.Contains(nodes[0].healthz(t), "cluster: up, 2 members") })
	os.WriteFile(filepath.Join(dir, "other.token"), []byte("another-token-entirely-0123456789\n"), 0o600)
	stray := startNode(t, dir, "edge-x", r.URL(), o, true)
	b, _ := os.ReadFile(stray.cfg)
	os.WriteFile(stray.cfg, []byte(strings.Replace(string(b), "token_file: cluster.token", "token_file: other.token", 1)), 0o644)
	stray.p.stop(t)
	stray.p = startBinary(t, "edgefront serving", "serve", "-c", stray.cfg)
	waitFor(t, 5*time.Second, "three members again", func() bool { return strings.Contains(nodes[0].healthz(t), "cluster: up, 3 members") })
	for i := range 30 {
		path := fmt.Sprintf("/stray/%d", i)
		for _, n := range []*clusterNode{nodes[0], stray} {
			if _, body := n.get(t, "main.example", path); !strings.HasPrefix(body, path+" #") {
				t.Errorf("%s with a stray token in the cluster: %q", n.name, body)
			}
		}
	}
	stray.p.stop(t)
	for _, n := range nodes[:2] {
		n.p.stop(t)
	}
}
