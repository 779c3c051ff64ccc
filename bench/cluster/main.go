// Command cluster measures three edgefront nodes sharing one redis-server
// on loopback: how long an invalidation taken by one node takes to be
// applied by all three (p50, p99 over -n invalidations); how close a
// rate limit counted across the nodes comes to the limit, with traffic
// split 60/30/10, against the same limit counted by each node alone; how
// many origin requests an object costs when every node is asked for it,
// with and without shard; and what a miss costs when it goes through the
// object's owner, against one that goes to the origin.
//
//	go run ./bench/cluster [-n 1000] [-duration 10s]
//
// It needs redis-server (Debian's package; $REDIS_SERVER names another).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgefront/edgefront/bench/internal/benchkit"
	"github.com/edgefront/edgefront/internal/admin"
	"github.com/edgefront/edgefront/internal/server"
)

func main() {
	n := flag.Int("n", 1000, "invalidations to time")
	duration := flag.Duration("duration", 10*time.Second, "how long the rate limit is offered traffic")
	flag.Parse()

	redisAddr, stop := startRedis()
	defer stop()
	origin := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originRequests.Add(1)
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, "ok")
	})}
	oln := listen()
	go origin.Serve(oln)

	dir, _ := os.MkdirTemp("", "cluster-bench-")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "cluster.token"), []byte("bench-cluster-token-0123456789abcdef\n"), 0o600)
	nodes := make([]*node, 3)
	for i := range nodes {
		nodes[i] = startNode(dir, fmt.Sprintf("edge-%d", i+1), "redis://"+redisAddr+"/0", oln.Addr().String(), false)
	}
	waitMembers(nodes, 3)

	// Propagation: each invalidation is taken by one node in turn, and
	// timed until the two others have applied it.
	var took []time.Duration
	for i := range *n {
		taker := nodes[i%3]
		before := make([]uint64, 3)
		for j, nd := range nodes {
			before[j], _, _, _, _ = nd.srv.Cluster().Counts()
		}
		t0 := time.Now()
		taker.invalidate(fmt.Sprintf("/p/%d", i))
		for j, nd := range nodes {
			if nd == taker {
				continue
			}
			for {
				if a, _, _, _, _ := nd.srv.Cluster().Counts(); a > before[j] {
					break
				}
				time.Sleep(50 * time.Microsecond)
			}
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	pct := func(p float64) time.Duration { return took[int(p*float64(len(took)-1))] }
	fmt.Printf("invalidation applied by all 3 nodes (%d invalidations): p50 %s  p99 %s  max %s  (target p99 <= 100ms)\n",
		len(took), pct(0.5).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), took[len(took)-1].Round(10*time.Microsecond))

	// Rate limit: 100/s with a burst of 100, offered about 300/s.
	shared := offer(nodes, *duration)
	want := 100 + 100*duration.Seconds()
	fmt.Printf("rate limit 100/s burst 100 over %s, traffic 60/30/10: allowed %d across the cluster, the limit allows %.0f: %.3fx\n",
		*duration, shared, want, float64(shared)/want)
	for _, nd := range nodes {
		nd.srv.Shutdown(context.Background())
	}
	alone := make([]*node, 3)
	for i := range alone {
		alone[i] = startNode(dir, fmt.Sprintf("alone-%d", i+1), "", oln.Addr().String(), false)
	}
	allowedAlone := offer(alone, *duration)
	fmt.Printf("the same limit counted by each node alone: allowed %d: %.3fx\n", allowedAlone, float64(allowedAlone)/want)

	// Shard: every node asked once for each of 300 objects.
	sharded := make([]*node, 3)
	for i := range sharded {
		sharded[i] = startNode(dir, fmt.Sprintf("shard-%d", i+1), "redis://"+redisAddr+"/1", oln.Addr().String(), true)
		defer sharded[i].srv.Shutdown(context.Background())
	}
	waitMembers(sharded, 3)
	const objects = 300
	for _, set := range []struct {
		name  string
		nodes []*node
	}{{"each node alone", alone}, {"shard: true", sharded}} {
		before := originRequests.Load()
		for _, nd := range set.nodes {
			for i := range objects {
				nd.get(fmt.Sprintf("/objects/%s/%d", set.name[:4], i))
			}
		}
		fmt.Printf("origin requests per object, three nodes each asked for it (%s): %.2f\n", set.name, float64(originRequests.Load()-before)/objects)
	}
	// A miss through the owner against one to the origin, on a node
	// that owns none of the keys it is asked for half the time.
	var local, viaOwner []time.Duration
	for i := range 600 {
		t0 := time.Now()
		alone[0].get(fmt.Sprintf("/miss/local/%d", i))
		local = append(local, time.Since(t0))
		t0 = time.Now()
		sharded[0].get(fmt.Sprintf("/miss/shard/%d", i))
		viaOwner = append(viaOwner, time.Since(t0))
	}
	med := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
	ml, ms := med(local), med(viaOwner)
	fmt.Printf("a miss: %s to the origin, %s through the cluster with shard (two of three keys go through their owner): +%s\n",
		ml.Round(time.Microsecond), ms.Round(time.Microsecond), (ms - ml).Round(time.Microsecond))
}

// originRequests counts what the origin is asked.
var originRequests atomic.Int64

func (nd *node) get(path string) {
	req, _ := http.NewRequest("GET", "http://"+nd.edge+path, nil)
	req.Host = "main.example"
	resp, err := nd.httpClient.Do(req)
	benchkit.Check(err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		benchkit.Check(fmt.Errorf("GET %s: %s", path, resp.Status))
	}
}

type node struct {
	srv        *server.Server
	edge, adm  string
	httpClient *http.Client
}

func startNode(dir, name, redisURL, origin string, shard bool) *node {
	eln, aln := listen(), listen()
	clusterLine := ""
	if redisURL != "" {
		extra := ""
		if shard {
			extra = fmt.Sprintf(", shard: true, advertise: %q, token_file: cluster.token", eln.Addr())
		}
		clusterLine = fmt.Sprintf("cluster: {redis: %q, node: %s%s}\n", redisURL, name, extra)
	}
	yaml := fmt.Sprintf(`admin: {listen: "127.0.0.1:0"}
%sdistributions:
  - name: main
    aliases: [main.example]
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o}
  - name: limited
    aliases: [limited.example]
    rate_limit: {requests_per_second: 100, burst: 100}
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o}
`, clusterLine, origin, origin)
	srv, _ := benchkit.Edge(filepath.Join(dir, name+".yaml"), yaml)
	go (&http.Server{Handler: srv}).Serve(eln)
	go (&http.Server{Handler: admin.New(srv, "", slog.New(slog.DiscardHandler))}).Serve(aln)
	return &node{srv: srv, edge: eln.Addr().String(), adm: aln.Addr().String(),
		httpClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

func (nd *node) invalidate(path string) {
	body, _ := json.Marshal(map[string]any{"distribution": "main", "paths": []string{path}})
	resp, err := nd.httpClient.Post("http://"+nd.adm+"/invalidations", "application/json", bytes.NewReader(body))
	benchkit.Check(err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		benchkit.Check(fmt.Errorf("invalidation: %s", resp.Status))
	}
}

// offer sends requests to the limited distribution from 10 workers, 6 on
// the first node, 3 on the second, 1 on the third, and counts the 200s.
func offer(nodes []*node, d time.Duration) int64 {
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range 10 {
		nd := nodes[0]
		switch {
		case w >= 9:
			nd = nodes[2]
		case w >= 6:
			nd = nodes[1]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < d {
				req, _ := http.NewRequest("GET", "http://"+nd.edge+"/r", nil)
				req.Host = "limited.example"
				resp, err := nd.httpClient.Do(req)
				benchkit.Check(err)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					allowed.Add(1)
				}
				time.Sleep(30 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	return allowed.Load()
}

func waitMembers(nodes []*node, want int) {
	deadline := time.Now().Add(10 * time.Second)
	for len(nodes[0].srv.Cluster().Health().Members) != want {
		if time.Now().After(deadline) {
			benchkit.Check(fmt.Errorf("the nodes did not see each other"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startRedis() (addr string, stop func()) {
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			benchkit.Check(fmt.Errorf("redis-server is not installed (apt-get install redis-server, or set REDIS_SERVER)"))
		}
	}
	addr = benchkit.FreeAddr()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	benchkit.Check(cmd.Start())
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i == 200 {
			benchkit.Check(fmt.Errorf("redis-server did not start"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, func() { cmd.Process.Kill(); cmd.Wait() }
}

func listen() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	benchkit.Check(err)
	return ln
}
