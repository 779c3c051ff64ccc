// Command ratelimitmem measures the memory of a distribution's rate limit
// under a million distinct client addresses, each over its limit, through
// the edge's own handler (no network): the heap grows to the bound that
// max_clients sets and no further.
//
//	go run ./bench/ratelimitmem [-n 1000000] [-max-clients 1048576]
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/edgefront/edgefront/bench/internal/benchkit"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/edge"
)

func main() {
	n := flag.Int("n", 1_000_000, "distinct client addresses")
	maxClients := flag.Int("max-clients", edge.DefaultMaxRateClients, "rate_limit.max_clients")
	flag.Parse()
	dir, _ := os.MkdirTemp("", "ratelimitmem-")
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "www")
	os.Mkdir(root, 0o755)
	os.WriteFile(filepath.Join(root, "x"), []byte("x"), 0o644)
	cfg, err := config.Parse(filepath.Join(dir, "edgefront.yaml"), []byte(fmt.Sprintf(`
trusted_proxies: [127.0.0.1]
distributions:
  - name: main
    origins: {o: {type: dir, root: %q}}
    default_behavior: {target_origin: o}
    rate_limit: {requests_per_second: 1, burst: 1, max_clients: %d}
`, root, *maxClients)))
	benchkit.Check(err)
	rt, err := edge.Compile(cfg, edge.Options{Log: slog.New(slog.DiscardHandler)})
	benchkit.Check(err)
	req := httptest.NewRequest("GET", "http://cdn.example/x", nil)
	req.RemoteAddr = "127.0.0.1:1234"
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	limited := 0
	for i := range *n {
		ip := fmt.Sprintf("%d.%d.%d.%d", 11+i>>24&0x7f, i>>16&0xff, i>>8&0xff, i&0xff)
		req.Header = http.Header{"X-Forwarded-For": {ip}}
		for range 2 { // the second is over the limit
			w := httptest.NewRecorder()
			rt.ServeHTTP(w, req)
			if w.Code == http.StatusTooManyRequests {
				limited++
			}
		}
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(rt)
	grew := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
	fmt.Printf("%d client addresses, 2 requests each: %d answered 429, in %v\n", *n, limited, took.Round(time.Millisecond))
	fmt.Printf("heap grew %.0f MiB (%.0f bytes a tracked client); max_clients %d bounds it\n", grew, grew*(1<<20)/float64(min(*n, *maxClients)), *maxClients)
	if limited != *n {
		os.Exit(1)
	}
}
