// Command cachemem measures what an object costs in the memory tier beyond
// its key, header and body: it stores a million small objects whose keys,
// header and body exist before the measure starts, and prints the heap
// growth per object.
//
//	go run ./bench/cachemem [-n 1000000]
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/edgefront/edgefront/internal/cache"
)

func main() {
	n := flag.Int("n", 1_000_000, "objects")
	limit := flag.Float64("max", 200, "bytes per object above which it fails")
	flag.Parse()
	keys := make([]string, *n)
	for i := range keys {
		keys[i] = fmt.Sprintf("main\x00https://example.org\x00/thumbnails/%08d.png", i)
	}
	h := http.Header{"Content-Type": {"image/png"}, "Content-Length": {"1"}}
	body := []byte("x")
	store := cache.NewMemory(1 << 40)
	now := time.Now()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, k := range keys {
		store.Put(k, cache.NewObject(h, body, cache.Meta{Status: 200, ResponseTime: now, TTL: time.Hour}))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / float64(*n)
	fmt.Printf("%d objects in the memory tier: %.0f bytes each beyond key, header and body (limit %.0f)\n", store.Len(), per, *limit)
	runtime.KeepAlive(keys)
	if per > *limit || store.Len() != *n {
		os.Exit(1)
	}
}
