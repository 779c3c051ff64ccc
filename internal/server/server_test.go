package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/edgefront/edgefront/internal/certtest"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/logtest"
)

// selfSigned writes a certificate for my-project.example.org and 127.0.0.1.
func selfSigned(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	certFile, keyFile, cert := certFor(t, dir, "edge", "my-project.example.org")
	return certFile, keyFile, certtest.Pool(cert)
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

type testEdge struct {
	srv        *Server
	http       string
	https      string
	client     *http.Client
	configPath string
	pool       *x509.CertPool
}

func start(t testing.TB, distributions string) *testEdge {
	return startWith(t, "", distributions)
}

// dial opens a connection to e's plain listener that gives up after
// timeout, with a reader for its answers; it closes with the test.
func (e *testEdge) dial(t testing.TB, timeout time.Duration) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.http, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(timeout))
	return c, bufio.NewReader(c)
}

// startWith is start with more listen settings (", http3: true").
func startWith(t testing.TB, listen, distributions string) *testEdge {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	httpPort, httpsPort := freePort(t), freePort(t)
	text := fmt.Sprintf("listen: {http: \"127.0.0.1:%s\", https: \"127.0.0.1:%s\"%s}\ntls:\n  certificates: [{cert_file: %s, key_file: %s}]\ndistributions:\n%s",
		httpPort, httpsPort, listen, certFile, keyFile, distributions)
	p := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(p, []byte(text), 0o644)
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, func() (*config.Config, error) { return config.Load(p) }, logtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.Listen(cfg.Listen); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &testEdge{srv, "http://127.0.0.1:" + httpPort, "https://127.0.0.1:" + httpsPort,
		&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, p, pool}
}

func upstream(t *testing.T, body string) string {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", body, r.Header.Get("X-Forwarded-Proto"))
	}))
	t.Cleanup(o.Close)
	return o.URL
}

func TestViewerProtocolPolicies(t *testing.T) {
	o := upstream(t, "hello")
	e := start(t, fmt.Sprintf(`
  - name: redirect
    aliases: [my-project.example.org]
    viewer_protocol_policy: redirect-to-https
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o, allowed_methods: [GET, HEAD, POST]}
  - name: only
    aliases: [only.example.org]
    viewer_protocol_policy: https-only
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
  - name: any
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
`, o, o, o))
	_, httpsPort, _ := net.SplitHostPort(strings.TrimPrefix(e.https, "https://"))

	req, _ := http.NewRequest("GET", e.http+"/docs/3?x=1", nil)
	req.Host = "my-project.example.org"
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "https://my-project.example.org:" + httpsPort + "/docs/3?x=1"
	if resp.StatusCode != 301 || resp.Header.Get("Location") != want || resp.Header.Get("X-Cache") != "Redirect from edgefront" {
		t.Errorf("redirect: %d %q %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("X-Cache"), want)
	}
	req, _ = http.NewRequest("POST", e.http+"/form", strings.NewReader("a=1"))
	req.Host = "my-project.example.org"
	if resp, err := e.client.Do(req); err != nil || resp.StatusCode != 308 {
		t.Errorf("POST redirect: %v %v", resp, err)
	}

	req, _ = http.NewRequest("GET", e.http+"/", nil)
	req.Host = "only.example.org"
	resp, _ = e.client.Do(req)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "HTTPS only") {
		t.Errorf("https-only over http: %d %q", resp.StatusCode, b)
	}

	// Over HTTPS, with HTTP/2, the request goes through and the origin
	// learns the viewer's protocol.
	req, _ = http.NewRequest("GET", e.https+"/docs/3", nil)
	req.Host = "my-project.example.org"
	resp, err = e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello https" || resp.ProtoMajor != 2 {
		t.Errorf("https: %d %q %s", resp.StatusCode, b, resp.Proto)
	}
	resp, err = e.client.Get(e.http + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("allow-all over http: %v %v", resp, err)
	}
}

func TestTLSMinimumVersion(t *testing.T) {
	e := start(t, fmt.Sprintf(`
  - name: any
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
`, upstream(t, "x")))
	conn, err := tls.Dial("tcp", strings.TrimPrefix(e.https, "https://"), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10})
	if err == nil {
		conn.Close()
		t.Fatal("a TLS 1.1 handshake succeeded; the default minimum is TLS 1.2")
	}
}

func TestReloadSwapsConfigWithoutDroppingRequests(t *testing.T) {
	a, b := upstream(t, "a"), upstream(t, "b")
	dist := `
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o, default_ttl: 0}
`
	e := start(t, fmt.Sprintf(dist, a))
	var failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := e.client.Get(e.http + "/")
				if err != nil || resp.StatusCode != 200 {
					failures.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	text, _ := os.ReadFile(e.configPath)
	os.WriteFile(e.configPath, []byte(strings.Replace(string(text), a, b, 1)), 0o644)
	if err := e.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	// A broken config is refused and the one in force keeps serving.
	os.WriteFile(e.configPath, []byte("distributions: [{name: x}]\n"), 0o644)
	if err := e.srv.Reload(); err == nil || !strings.Contains(err.Error(), "edgefront.yaml:1:") {
		t.Errorf("bad reload: %v", err)
	}
	close(stop)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d requests failed during reload", n)
	}
	resp, err := e.client.Get(e.http + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "b http" {
		t.Errorf("after reload the edge answered %q, want the new origin", body)
	}
}

// Twenty reloads under load over HTTP and HTTPS, every third one a bad
// config, one moving the HTTP listener to a new port: no request fails,
// and the listener that did not change keeps its socket.
func TestTwentyReloadsUnderLoad(t *testing.T) {
	origins := []string{upstream(t, "a"), upstream(t, "b")}
	dist := `
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o, default_ttl: 0}
`
	e := start(t, fmt.Sprintf(dist, origins[0]))
	var requests, failures atomic.Int64
	var target atomic.Value
	target.Store(e.http)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				url := e.https
				if i%2 == 0 {
					url = target.Load().(string)
				}
				resp, err := e.client.Get(url + "/")
				requests.Add(1)
				moved := err != nil && i%2 == 0 && url != target.Load().(string) // asked the old address as it closed
				if (err != nil || resp.StatusCode != 200) && !moved {
					failures.Add(1)
					t.Logf("request failed: %v %v", err, resp)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	good, _ := os.ReadFile(e.configPath)
	httpsSocket := e.srv.viewer["https"]
	newPort := freePort(t)
	for i := range 20 {
		time.Sleep(20 * time.Millisecond)
		text := strings.Replace(string(good), origins[0], origins[i%2], 1)
		if i == 10 {
			text = strings.Replace(text, strings.TrimPrefix(e.http, "http://"), "127.0.0.1:"+newPort, 1)
			good = []byte(text)
		}
		bad := i%3 == 2
		if bad {
			text = strings.Replace(text, "target_origin: o", "target_origin: nowhere", 1)
		}
		os.WriteFile(e.configPath, []byte(text), 0o644)
		err := e.srv.Reload()
		if bad != (err != nil) {
			t.Errorf("reload %d (bad %v): %v", i, bad, err)
		}
		if i == 10 {
			target.Store("http://127.0.0.1:" + newPort)
		}
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d of %d requests failed during 20 reloads", n, requests.Load())
	}
	if e.srv.viewer["https"] != httpsSocket {
		t.Error("the HTTPS listener, unchanged, was opened again")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(e.http, "http://"), time.Second); err == nil {
		t.Error("the old HTTP address still accepts connections")
	}
	t.Logf("%d requests, none failed, through 20 reloads (7 refused)", requests.Load())
}

func TestHTTP3(t *testing.T) {
	o := upstream(t, "hello")
	e := startWith(t, ", http3: true", fmt.Sprintf(`
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
`, o))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(e.https, "https://"))
	resp, err := e.client.Get(e.https + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Alt-Svc"); !strings.HasPrefix(got, `h3=":`+port+`"`) {
		t.Errorf("Alt-Svc over HTTPS: %q", got)
	}
	if resp, err := e.client.Get(e.http + "/x"); err == nil {
		if resp.Header.Get("Alt-Svc") != "" {
			t.Error("Alt-Svc over plain HTTP")
		}
		resp.Body.Close()
	}
	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: e.pool}}
	defer tr.Close()
	h3 := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err = h3.Get(e.https + "/over-quic")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 3 || string(body) != "hello https" || resp.Header.Get("Via") != "1.1 edgefront" {
		t.Errorf("over HTTP/3: %s %d %q %v", resp.Proto, resp.StatusCode, body, resp.Header)
	}
}

// certFor writes a self-signed certificate for names and 127.0.0.1 into
// dir/prefix*.pem.
func certFor(t testing.TB, dir, prefix string, names ...string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, prefix+"-cert.pem"), filepath.Join(dir, prefix+"-key.pem")
	cert, err := certtest.Write(certFile, keyFile, names...)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// Several certificate files: each viewer gets the one for the name it
// asks for (SNI).
func TestCertificateChosenBySNI(t *testing.T) {
	dir := t.TempDir()
	aCert, aKey, a := certFor(t, dir, "a", "www.a.example", "a.example")
	bCert, bKey, b := certFor(t, dir, "b", "*.b.example")
	port := freePort(t)
	p := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(p, []byte(fmt.Sprintf(`listen: {https: "127.0.0.1:%s"}
tls: {certificates: [{cert_file: %s, key_file: %s}, {cert_file: %s, key_file: %s}]}
distributions:
  - name: main
    origins: {o: {type: http, url: "http://127.0.0.1:1"}}
    default_behavior: {target_origin: o}
`, port, aCert, aKey, bCert, bKey)), 0o644)
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, nil, logtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.Listen(cfg.Listen); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	for name, want := range map[string]*x509.Certificate{"www.a.example": a, "a.example": a, "img.b.example": b} {
		pool := x509.NewCertPool()
		pool.AddCert(want)
		c, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{ServerName: name, RootCAs: pool})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := c.ConnectionState().PeerCertificates[0]; !got.Equal(want) {
			t.Errorf("%s: served the certificate for %v", name, got.DNSNames)
		}
		c.Close()
	}
}

// A TLS viewer's JA3 and JA4 fingerprints reach the origin when the
// behavior names their headers; clients that say different things get
// different fingerprints, the same client the same one.
func TestTLSFingerprintHeaders(t *testing.T) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", r.Header.Get("CloudFront-Viewer-JA3-Fingerprint"), r.Header.Get("CloudFront-Viewer-JA4-Fingerprint"),
			r.Header.Get("CloudFront-Viewer-TLS"))
	}))
	t.Cleanup(o.Close)
	e := start(t, fmt.Sprintf(`
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior:
      target_origin: o
      max_ttl: 0
      forward: {headers: [CloudFront-Viewer-JA3-Fingerprint, CloudFront-Viewer-JA4-Fingerprint, CloudFront-Viewer-TLS]}
`, o.URL))
	get := func(c *tls.Config) []string {
		t.Helper()
		c.RootCAs = e.pool
		tr := &http.Transport{TLSClientConfig: c, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(e.https + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Fields(string(b))
	}
	tls13, again := get(&tls.Config{}), get(&tls.Config{})
	tls12 := get(&tls.Config{MaxVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
	ja3 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	ja4 := regexp.MustCompile(`^t1[23][di]\d{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$`)
	for _, f := range [][]string{tls13, tls12} {
		if len(f) != 3 || !ja3.MatchString(f[0]) || !ja4.MatchString(f[1]) {
			t.Fatalf("fingerprints %q", f)
		}
	}
	if !strings.HasPrefix(tls13[1], "t13i") || !strings.HasPrefix(tls12[1], "t12i") || !strings.HasPrefix(tls13[2], "TLSv1.3:") {
		t.Errorf("TLS 1.3 %q, TLS 1.2 %q", tls13, tls12)
	}
	if tls13[0] != again[0] || tls13[1] != again[1] || tls13[0] == tls12[0] {
		t.Errorf("same client %q and %q; other client %q", tls13, again, tls12)
	}
	// Nothing is kept of closed connections.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := 0
		e.srv.hellos.Range(func(any, any) bool { n++; return true })
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections' fingerprints kept after they closed", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
