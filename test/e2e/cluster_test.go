package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/redistest"
)

// clusterOrigin counts what it is asked, by path, and tags each answer
// with its path's first segment.
type clusterOrigin struct {
	mu          sync.Mutex
	gets        map[string]int
	conditional atomic.Int64
	addr        string
	delay       time.Duration // before each answer
}

func newClusterOrigin(t *testing.T) *clusterOrigin {
	o := &clusterOrigin{gets: map[string]int{}}
	ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.gets[r.URL.Path]++
		n := o.gets[r.URL.Path]
		delay := o.delay
		o.mu.Unlock()
		time.Sleep(delay)
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"v1"`)
		seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		w.Header().Set("Cache-Tag", "group-"+seg)
		if r.Header.Get("If-None-Match") == `"v1"` {
			o.conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprintf(w, "%s #%d", r.URL.Path, n)
	})
	o.addr = ln.Addr().String()
	return o
}

// clusterNode is one edgefront of a cluster.
type clusterNode struct {
	name, http, admin, cfg string
	p                      *proc
}

// startNode runs an edgefront named name in the cluster on redisURL,
// with a disk tier under dir, and more cluster settings when shard.
func startNode(t *testing.T, dir, name, redisURL string, o *clusterOrigin, shard bool) *clusterNode {
	t.Helper()
	n := &clusterNode{name: name, http: freeAddr(t), admin: freeAddr(t), cfg: filepath.Join(dir, name+".yaml")}
	extra := ""
	if shard {
		os.WriteFile(filepath.Join(dir, "cluster.token"), []byte("e2e-cluster-token-0123456789abcdef\n"), 0o600)
		extra = fmt.Sprintf(", shard: true, advertise: %q, token_file: cluster.token", n.http)
	}
	os.WriteFile(n.cfg, []byte(fmt.Sprintf(`listen: {http: %q}
admin: {listen: %q}
cache: {memory: 16MiB, disk: {path: %q, size: 256MiB}}
cluster: {redis: %q, node: %s%s}
distributions:
  - name: main
    aliases: [main.example]
    cache_tag_header: Cache-Tag
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o}
  - name: limited
    aliases: [limited.example]
    rate_limit: {requests_per_second: 100, burst: 100}
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o, default_ttl: 0, max_ttl: 0}
`, n.http, n.admin, filepath.Join(dir, name+"-cache"), redisURL, name, extra, o.addr, o.addr)), 0o644)
	n.p = startBinary(t, "edgefront serving", "serve", "-c", n.cfg)
	return n
}

func (n *clusterNode) get(t *testing.T, host, path string) (xcache, body string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+n.http+path, nil)
	req.Host = host
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s%s: %d %s", n.name, host, path, resp.StatusCode, b)
	}
	return resp.Header.Get("X-Cache"), string(b)
}

func (o *clusterOrigin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.gets[path]
}

func (n *clusterNode) invalidate(t *testing.T, paths ...string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"distribution": "main", "paths": paths})
	resp, err := http.Post("http://"+n.admin+"/invalidations", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var inv struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&inv); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("invalidation on %s: %d %v", n.name, resp.StatusCode, err)
	}
	return inv.ID
}

func (n *clusterNode) status(t *testing.T, id string) (status string, waiting []string) {
	t.Helper()
	resp, b := send(t, "GET", "http://"+n.admin+"/invalidations/"+id, nil)
	var inv struct {
		Status  string
		Waiting []string
	}
	if err := json.Unmarshal([]byte(b), &inv); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status on %s: %d %s", n.name, resp.StatusCode, b)
	}
	return inv.Status, inv.Waiting
}

func (n *clusterNode) healthz(t *testing.T) string {
	t.Helper()
	resp, b := send(t, "GET", "http://"+n.admin+"/healthz", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz on %s: %d %s", n.name, resp.StatusCode, b)
	}
	return b
}

const hit = "Hit from edgefront"

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClusterOfThreeNodes(t *testing.T) {
	outer := t
	dir := t.TempDir()
	r := redistest.Start(t, "e2e-redis-password")
	o := newClusterOrigin(t)
	// edge-3 reaches Redis through a relay the test can cut.
	relay := redistest.NewRelay(t, r.Addr)
	var nodes []*clusterNode
	for _, name := range []string{"edge-1", "edge-2", "edge-3"} {
		url := r.URL()
		if name == "edge-3" {
			url = strings.Replace(url, r.Addr, relay.Addr, 1)
		}
		nodes = append(nodes, startNode(t, dir, name, url, o, false))
	}
	waitFor(t, 5*time.Second, "three members", func() bool { return strings.Contains(nodes[2].healthz(t), "cluster: up, 3 members") })

	warm := func(t *testing.T, paths ...string) {
		t.Helper()
		for _, n := range nodes {
			for _, p := range paths {
				n.get(t, "main.example", p)
				if x, _ := n.get(t, "main.example", p); x != hit {
					t.Fatalf("%s %s not stored: %s", n.name, p, x)
				}
			}
		}
	}

	t.Run("by path and by tag, on every node", func(t *testing.T) {
		warm(t, "/a/1", "/tv/1", "/tv/2", "/radio/1")
		start := time.Now()
		id := nodes[0].invalidate(t, "/a/*")
		for _, n := range nodes {
			waitFor(t, time.Second, n.name+" purges /a/1", func() bool { x, _ := n.get(t, "main.example", "/a/1"); return x != hit })
		}
		t.Logf("a path invalidated on every node in %s", time.Since(start))
		waitFor(t, 2*time.Second, "Completed on another node", func() bool { s, _ := nodes[2].status(t, id); return s == "Completed" })

		start = time.Now()
		nodes[1].invalidate(t, "#group-tv")
		for _, n := range nodes {
			for _, p := range []string{"/tv/1", "/tv/2"} {
				waitFor(t, time.Second, n.name+" purges the tag from "+p, func() bool { x, _ := n.get(t, "main.example", p); return x != hit })
			}
			if x, _ := n.get(t, "main.example", "/radio/1"); x != hit {
				t.Errorf("%s: an object of another tag was purged: %s", n.name, x)
			}
		}
		t.Logf("a tag invalidated on every node in %s", time.Since(start))
	})

	t.Run("a node killed during 100 invalidations serves none of them", func(t *testing.T) {
		var paths []string
		for i := range 100 {
			paths = append(paths, fmt.Sprintf("/k/%d", i))
		}
		warm(t, append(paths, "/keep/1")...)
		victim := nodes[1]
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, p := range paths {
				nodes[0].invalidate(t, p)
				if i == 30 {
					victim.p.cmd.Process.Kill()
				}
			}
		}()
		wg.Wait()
		<-victim.p.done
		victim.p = startBinary(outer, "edgefront serving", "serve", "-c", victim.cfg)
		for _, p := range paths {
			if x, _ := victim.get(t, "main.example", p); x != "Miss from edgefront" {
				t.Errorf("after its restart %s answered invalidated %s with %s, want a Miss", victim.name, p, x)
			}
		}
		// It caught up from where it was, not by doubting everything.
		if x, _ := victim.get(t, "main.example", "/keep/1"); x != hit {
			t.Errorf("after its restart %s no longer serves what nobody invalidated: %s", victim.name, x)
		}
	})

	t.Run("Redis emptied: every node revalidates what it holds", func(t *testing.T) {
		warm(t, "/f/1")
		before := o.conditional.Load()
		r.Do("FLUSHALL")
		for _, n := range nodes {
			waitFor(t, 3*time.Second, n.name+" revalidates", func() bool {
				x, _ := n.get(t, "main.example", "/f/1")
				return x == "RefreshHit from edgefront"
			})
		}
		if got := o.conditional.Load() - before; got < 3 {
			t.Errorf("%d conditional requests reached the origin, want one a node", got)
		}
	})

	t.Run("a rate limit counts across the nodes", func(t *testing.T) {
		// 100/s with a burst of 100, over 10 s, offered about 300/s split
		// 60/30/10 across the nodes.
		const d = 10 * time.Second
		var allowed, refused atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		client := &http.Client{Timeout: 5 * time.Second}
		for w := range 10 {
			n := nodes[0]
			switch {
			case w >= 9:
				n = nodes[2]
			case w >= 6:
				n = nodes[1]
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(start) < d {
					req, _ := http.NewRequest("GET", "http://"+n.http+"/r", nil)
					req.Host = "limited.example"
					resp, err := client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusOK:
						allowed.Add(1)
					case http.StatusTooManyRequests:
						refused.Add(1)
					}
					time.Sleep(30 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
		took := time.Since(start).Seconds()
		want := 100 + 100*took
		got := float64(allowed.Load())
		t.Logf("allowed %d, refused %d in %.1fs; the limit allows %.0f", allowed.Load(), refused.Load(), took, want)
		if got < want*0.95 || got > want*1.05 {
			t.Errorf("allowed %.0f, want %.0f within 5%%", got, want)
		}
	})

	t.Run("a node cut off from Redis catches up when the link returns", func(t *testing.T) {
		warm(t, "/c/1")
		relay.Cut()
		waitFor(t, 5*time.Second, "edge-3 degraded", func() bool { return strings.Contains(nodes[2].healthz(t), "cluster: degraded for") })
		nodes[0].invalidate(t, "/c/1")
		waitFor(t, time.Second, "edge-2 purges", func() bool { x, _ := nodes[1].get(t, "main.example", "/c/1"); return x != hit })
		if x, _ := nodes[2].get(t, "main.example", "/c/1"); x != hit {
			t.Fatalf("cut off, edge-3 still serves its hits; got %s", x)
		}
		start := time.Now()
		relay.Mend()
		waitFor(t, 5*time.Second, "edge-3 catches up", func() bool { x, _ := nodes[2].get(t, "main.example", "/c/1"); return x != hit })
		t.Logf("edge-3 applied what it missed %s after the link returned", time.Since(start).Round(time.Millisecond))
		waitFor(t, 5*time.Second, "edge-3 up", func() bool { return strings.Contains(nodes[2].healthz(t), "cluster: up") })
	})

	t.Run("Redis frozen: hits go on, healthz says degraded", func(t *testing.T) {
		warm(t, "/h/1")
		r.Freeze()
		defer r.Thaw()
		var worst time.Duration
		for i := range 200 {
			start := time.Now()
			if x, _ := nodes[i%3].get(t, "main.example", "/h/1"); x != hit {
				t.Fatalf("with Redis frozen, a hit became %s", x)
			}
			worst = max(worst, time.Since(start))
		}
		if worst > 50*time.Millisecond {
			t.Errorf("with Redis frozen the slowest hit took %s", worst)
		}
		waitFor(t, 5*time.Second, "degraded", func() bool { return strings.Contains(nodes[0].healthz(t), "cluster: degraded for") })
		// An invalidation taken now is applied here at once and reaches
		// the others when Redis answers.
		id := nodes[0].invalidate(t, "/h/1")
		waitFor(t, time.Second, "applied on the node that took it", func() bool { x, _ := nodes[0].get(t, "main.example", "/h/1"); return x != hit })
		if s, w := nodes[0].status(t, id); s != "InProgress" || !slices.Contains(w, "redis") {
			t.Errorf("while Redis is frozen: %s waiting for %v", s, w)
		}
		r.Thaw()
		for _, n := range nodes[1:] {
			waitFor(t, 5*time.Second, n.name+" applies it once Redis answers", func() bool { x, _ := n.get(t, "main.example", "/h/1"); return x != hit })
		}
		waitFor(t, 5*time.Second, "Completed", func() bool { s, _ := nodes[2].status(t, id); return s == "Completed" })
		waitFor(t, 5*time.Second, "up again", func() bool { return strings.Contains(nodes[0].healthz(t), "cluster: up") })
	})

	t.Run("Redis killed: hits go on; back empty, every node revalidates", func(t *testing.T) {
		warm(t, "/d/1")
		r.Kill()
		for i := range 30 {
			if x, _ := nodes[i%3].get(t, "main.example", "/d/1"); x != hit {
				t.Fatalf("with Redis killed, a hit became %s", x)
			}
		}
		waitFor(t, 5*time.Second, "degraded", func() bool { return strings.Contains(nodes[1].healthz(t), "cluster: degraded for") })
		r.Restart()
		for _, n := range nodes {
			waitFor(t, 5*time.Second, n.name+" revalidates", func() bool {
				x, _ := n.get(t, "main.example", "/d/1")
				return x == "RefreshHit from edgefront"
			})
		}
	})

	for _, n := range nodes {
		n.p.stop(t)
	}
}

func TestClusterWrongPasswordRefusesStart(t *testing.T) {
	dir := t.TempDir()
	r := redistest.Start(t, "the-right-password")
	cfg := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q}
cluster: {redis: "redis://:wrong@%s/0"}
distributions:
  - {name: main, origins: {o: {type: http, url: "http://127.0.0.1:1"}}, default_behavior: {target_origin: o}}
`, freeAddr(t), r.Addr)), 0o644)
	out, err := exec.Command(binary, "serve", "-c", cfg).CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err == nil || !strings.Contains(lines[len(lines)-1], "refused the credentials") || strings.Contains(string(out), "wrong@") {
		t.Fatalf("want a refusal in one sentence: %v\n%s", err, out)
	}
}
