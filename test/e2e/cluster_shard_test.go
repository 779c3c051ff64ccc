package e2e

import (
	"fmt"
	"io"
	"net/http"
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
	for _, n := range nodes[:2] {
		n.p.stop(t)
	}
}
