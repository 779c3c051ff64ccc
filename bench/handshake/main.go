// Command handshake measures full TLS handshakes per second against the
// edge's HTTPS listener for three distributions, chosen by SNI: plain TLS,
// viewer_mtls required (the client presents a certificate the trust store
// verifies), and the same with a connection function, in interleaved
// rounds; it prints the medians and their ratios to plain TLS.
//
//	go run ./bench/handshake [-rounds 5] [-duration 3s] [-c 16]
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgefront/edgefront/bench/internal/benchkit"
	"github.com/edgefront/edgefront/internal/certtest"
)

func main() {
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	duration := flag.Duration("duration", 3*time.Second, "length of each run")
	conc := flag.Int("c", 16, "concurrent clients")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the first viewer_mtls run to this file")
	flag.Parse()

	dir, _ := os.MkdirTemp("", "handshake-bench-")
	defer os.RemoveAll(dir)
	names := []string{"plain.example", "mtls.example", "fn.example"}
	edgeCert, err := certtest.Write(filepath.Join(dir, "edge.pem"), filepath.Join(dir, "edge.key"), names...)
	benchkit.Check(err)
	clientCert := clientCA(dir)
	os.WriteFile(filepath.Join(dir, "conn.js"), []byte(`function connectionHandler(connection) {
  if (connection.clientCertInfo && connection.clientCertInfo.subject.indexOf("CN=") === 0) { connection.allow(); } else { connection.deny(); }
}
`), 0o644)
	httpsAddr := benchkit.FreeAddr()
	dist := func(name, host, extra string) string {
		return fmt.Sprintf("  - {name: %s, aliases: [%s], origins: {o: {type: http, url: \"http://127.0.0.1:1\"}}, default_behavior: {target_origin: o}%s}\n", name, host, extra)
	}
	yaml := fmt.Sprintf("listen: {https: %q}\ntls: {certificates: [{cert_file: edge.pem, key_file: edge.key}]}\ndistributions:\n", httpsAddr) +
		dist("plain", names[0], "") +
		dist("mtls", names[1], ", viewer_mtls: {mode: required, trust_store: {ca_file: ca.pem}}") +
		dist("fn", names[2], ", viewer_mtls: {mode: required, trust_store: {ca_file: ca.pem}}, connection_function: conn.js")
	srv, cfg := benchkit.Edge(filepath.Join(dir, "edgefront.yaml"), yaml)
	_, _, err = srv.Listen(cfg.Listen)
	benchkit.Check(err)
	defer srv.Shutdown(context.Background())

	roots := certtest.Pool(edgeCert)
	results := map[string][]float64{}
	for r := range *rounds {
		for _, name := range names {
			tc := &tls.Config{RootCAs: roots, ServerName: name, MinVersion: tls.VersionTLS13}
			if name != "plain.example" {
				tc.Certificates = []tls.Certificate{clientCert}
			}
			if *profile != "" && r == 0 && name == "mtls.example" {
				f, err := os.Create(*profile)
				benchkit.Check(err)
				benchkit.Check(pprof.StartCPUProfile(f))
				defer f.Close()
			}
			hs := handshakes(httpsAddr, tc, *conc, *duration)
			if *profile != "" && r == 0 && name == "mtls.example" {
				pprof.StopCPUProfile()
			}
			results[name] = append(results[name], hs)
			fmt.Printf("round %d  %-14s %8.0f handshakes/s\n", r+1, name, hs)
		}
	}
	med := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	p := med(results["plain.example"])
	fmt.Printf("full TLS 1.3 handshakes (ECDSA P-256, %d clients): plain %.0f/s; viewer_mtls required %.0f/s: %.2fx; with a connection function %.0f/s: %.2fx (target >= 0.8x)\n",
		*conc, p, med(results["mtls.example"]), med(results["mtls.example"])/p, med(results["fn.example"]), med(results["fn.example"])/p)
}

// handshakes makes full handshakes (no resumption) to addr for d and
// returns how many a second completed.
func handshakes(addr string, tc *tls.Config, conc int, d time.Duration) float64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, tc)
				if err != nil {
					benchkit.Check(fmt.Errorf("handshake with %s: %w", tc.ServerName, err))
				}
				c.Close()
				n.Add(1)
			}
		}()
	}
	start := time.Now()
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

// clientCA writes a CA (ca.pem) and returns a client certificate it
// issued, for client authentication.
func clientCA(dir string) tls.Certificate {
	ca, err := certtest.NewCA("bench CA", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	benchkit.Check(err)
	benchkit.Check(os.WriteFile(filepath.Join(dir, "ca.pem"), ca.PEM(), 0o644))
	der, key, err := ca.Client(2, "bench client", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	benchkit.Check(err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
