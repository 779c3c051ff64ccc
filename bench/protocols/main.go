// Command protocols compares HTTP/1.1, HTTP/2 and HTTP/3 requests/s for
// the same small answer (a 1 KiB cache hit) through one edgefront, in the
// same run: it starts `edgefront serve` with an HTTPS listener and
// listen.http3, loads it with Go's clients for each protocol in turn
// (rounds interleaved, medians reported) and prints the ratios.
//
//	go run ./bench/protocols [-c 64] [-d 4s] [-rounds 5]
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgefront/edgefront/bench/internal/benchkit"
	"github.com/edgefront/edgefront/internal/certtest"
	"github.com/quic-go/quic-go/http3"
)

func main() {
	conns := flag.Int("c", 64, "concurrent requests")
	dur := flag.Duration("d", 4*time.Second, "duration of each run")
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	flag.Parse()
	dir, _ := os.MkdirTemp("", "protocols-")
	defer os.RemoveAll(dir)
	www := filepath.Join(dir, "www")
	os.Mkdir(www, 0o755)
	os.WriteFile(filepath.Join(www, "1k.bin"), make([]byte, 1024), 0o644)
	cert, key, pool := selfSigned(dir)
	addr := benchkit.FreeAddr()
	cfg := filepath.Join(dir, "edgefront.yaml")
	benchkit.Check(os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {https: %q, http3: true}
tls: {certificates: [{cert_file: %s, key_file: %s}]}
limits: {max_connections_per_ip: 0}
distributions:
  - name: bench
    origins: {files: {type: dir, root: %q}}
    default_behavior: {target_origin: files}
`, addr, cert, key, www)), 0o644))
	bin := filepath.Join(dir, "edgefront")
	build := exec.Command("go", "build", "-o", bin, "./cmd/edgefront")
	build.Stderr = os.Stderr
	benchkit.Check(build.Run())
	srv := exec.Command(bin, "serve", "-c", cfg)
	benchkit.Check(srv.Start())
	defer srv.Process.Kill()

	tlsConf := &tls.Config{RootCAs: pool}
	clients := map[string]*http.Client{
		"HTTP/1.1": {Transport: &http.Transport{TLSClientConfig: tlsConf, MaxIdleConnsPerHost: *conns, ForceAttemptHTTP2: false, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}},
		"HTTP/2":   {Transport: &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true}},
		"HTTP/3":   {Transport: &http3.Transport{TLSClientConfig: tlsConf}},
	}
	url := "https://" + addr + "/1k.bin"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := clients["HTTP/1.1"].Get(url); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			fmt.Println("edgefront did not come up")
			os.Exit(1)
		}
	}
	order := []string{"HTTP/1.1", "HTTP/2", "HTTP/3"}
	rps := map[string][]float64{}
	for _, p := range order { // warm up
		load(clients[p], url, *conns, time.Second, p)
	}
	for range *rounds {
		for _, p := range order {
			rps[p] = append(rps[p], load(clients[p], url, *conns, *dur, p))
		}
	}
	fmt.Printf("1 KiB cache hits over TLS, %d concurrent requests, %v x %d interleaved rounds, Go's clients on the same 2 cores\n", *conns, *dur, *rounds)
	med := map[string]float64{}
	for _, p := range order {
		med[p] = median(rps[p])
		fmt.Printf("  %-9s %8.0f req/s\n", p, med[p])
	}
	fmt.Printf("  HTTP/2 / HTTP/1.1: %.2fx   HTTP/3 / HTTP/1.1: %.2fx\n", med["HTTP/2"]/med["HTTP/1.1"], med["HTTP/3"]/med["HTTP/1.1"])
}

// load runs conns loops of requests for d and returns requests/s.
func load(c *http.Client, url string, conns int, d time.Duration, proto string) float64 {
	var n, bad atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				resp, err := c.Get(url)
				if err != nil {
					bad.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || resp.Proto != map[string]string{"HTTP/1.1": "HTTP/1.1", "HTTP/2": "HTTP/2.0", "HTTP/3": "HTTP/3.0"}[proto] {
					bad.Add(1)
					continue
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if bad.Load() > 0 {
		fmt.Fprintf(os.Stderr, "%s: %d failed requests\n", proto, bad.Load())
	}
	return float64(n.Load()) / d.Seconds()
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func selfSigned(dir string) (certFile, keyFile string, pool *x509.CertPool) {
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	c, err := certtest.Write(certFile, keyFile)
	benchkit.Check(err)
	return certFile, keyFile, certtest.Pool(c)
}
