package edge

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// nullWriter is a ResponseWriter that keeps nothing, so that the benchmark
// measures the edge's own work on a hit.
type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nullWriter) WriteHeader(int)             {}

// BenchmarkCacheHit is the hit path without the network:
// go test -run '^$' -bench CacheHit -benchmem -cpuprofile hit.prof ./internal/edge
func BenchmarkCacheHit(b *testing.B) {
	body := strings.Repeat("x", 1024)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write([]byte(body))
	}))
	defer o.Close()
	srv, rt := edgeWithClock(b, fmt.Sprintf(`
distributions:
  - name: bench
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
`, o.URL), nil, nil)
	defer srv.Close()
	if r, err := http.Get(srv.URL + "/1k.bin"); err == nil {
		r.Body.Close()
	}
	benchHits(b, rt, httptest.NewRequest("GET", srv.URL+"/1k.bin", nil))
}

// benchHits serves req over and over, each a hit.
func benchHits(b *testing.B, rt http.Handler, req *http.Request) {
	b.ReportAllocs()
	for b.Loop() {
		w := &nullWriter{h: http.Header{}}
		rt.ServeHTTP(w, req)
		if w.h.Get("X-Cache") != "Hit from edgefront" {
			b.Fatalf("not a hit: %v", w.h)
		}
	}
}

// BenchmarkFunctionHit is a hit behind AWS's small viewer-request example
// function (add index.html), the edge's work for bench/functions.sh:
// go test -run '^$' -bench FunctionHit -benchmem -cpuprofile fn.prof ./internal/edge
func BenchmarkFunctionHit(b *testing.B) {
	srv, rt := edgeWithClock(b, `
distributions:
  - name: bench
    origins: {www: {type: dir, root: www}}
    default_behavior: {target_origin: www, functions: {viewer_request: index.js}}
`, map[string]string{"www/docs/index.html": strings.Repeat("x", 1024), "index.js": addIndexJS(b)}, nil)
	defer srv.Close()
	if r, err := http.Get(srv.URL + "/docs"); err == nil {
		r.Body.Close()
	}
	req := httptest.NewRequest("GET", srv.URL+"/docs", nil)
	req.Header.Set("User-Agent", "wrk")
	benchHits(b, rt, req)
}
