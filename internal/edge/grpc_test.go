package edge

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"

	"github.com/edgefront/edgefront/internal/certtest"
	"github.com/edgefront/edgefront/internal/grpctest"
)

// TestGRPCDeadlineAtTheEdge sends a call whose grpc-timeout passes while
// the origin (h2c) thinks: the edge stops the origin request at the
// deadline and answers DEADLINE_EXCEEDED itself.
func TestGRPCDeadlineAtTheEdge(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	h2 := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			cancelled <- struct{}{}
		case <-time.After(5 * time.Second):
		}
	}), Protocols: new(http.Protocols)}
	h2.Protocols.SetUnencryptedHTTP2(true)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go h2.Serve(ln)
	defer h2.Close()
	e := edgeFor(t, grpcConfig(ln.Addr(), "GET, HEAD, POST"), testCertFiles(t))
	start := time.Now()
	req, _ := http.NewRequest("POST", e.URL+"/pkg.Svc/Slow", strings.NewReader("\x00\x00\x00\x00\x00"))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Grpc-Timeout", "200m")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != 200 || resp.Header.Get("Grpc-Status") != "4" || took > 2*time.Second {
		t.Errorf("past grpc-timeout: %d grpc-status %q after %s", resp.StatusCode, resp.Header.Get("Grpc-Status"), took)
	}
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Error("the origin request was not cancelled at the deadline")
	}
	// A refusal is a gRPC status too: a method the behavior does not allow.
	req, _ = http.NewRequest("PUT", e.URL+"/pkg.Svc/Call", nil)
	req.Header.Set("Content-Type", "application/grpc+proto")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.Header.Get("Grpc-Status") != "7" || resp.Header.Get("Grpc-Message") == "" {
		t.Errorf("a refused method: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestGRPCTimeoutField(t *testing.T) {
	for v, want := range map[string]time.Duration{"1S": time.Second, "200m": 200 * time.Millisecond, "5u": 5 * time.Microsecond,
		"3n": 3, "2H": 2 * time.Hour, "1M": time.Minute, "99999999S": 99999999 * time.Second} {
		if d, ok := grpcTimeout(v); !ok || d != want {
			t.Errorf("%q: %s %v", v, d, ok)
		}
	}
	for _, v := range []string{"", "S", "1", "1s", "-1S", "123456789S", "1.5S"} {
		if _, ok := grpcTimeout(v); ok {
			t.Errorf("%q is not a grpc-timeout", v)
		}
	}
	if got := grpcMessage("100% not \n here"); got != "100%25 not %0A here" {
		t.Errorf("grpc-message %q", got)
	}
}

// testCertFiles are a certificate and key (c.pem, k.pem) for edgeFor's
// files, for configs that need an https listener.
// grpcConfig is a distribution of one gRPC behavior, with the methods
// given, in front of an h2c origin at addr, on an HTTPS listener whose
// certificate testCertFiles writes.
func grpcConfig(addr net.Addr, methods string) string {
	return fmt.Sprintf(`
listen: {https: "127.0.0.1:0"}
tls: {certificates: [{cert_file: c.pem, key_file: k.pem}]}
distributions:
  - name: main
    origins: {g: {type: http, url: "http://%s", http2: true}}
    default_behavior: {target_origin: g, grpc: true, allowed_methods: [%s]}
`, addr, methods)
}

func testCertFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	if _, err := certtest.Write(filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem"), "localhost"); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, n := range []string{"c.pem", "k.pem"} {
		b, _ := os.ReadFile(filepath.Join(dir, n))
		files[n] = string(b)
	}
	return files
}

// TestManyGRPCCallsAtOnce makes unary calls from grpc-go's client to
// grpc-go's server through the edge, 64 at a time: each is answered, and
// the origin took each once.
func TestManyGRPCCallsAtOnce(t *testing.T) {
	gs, svc := grpctest.NewServer()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go gs.Serve(ln)
	defer gs.Stop()
	e := h2EdgeFor(t, grpcConfig(ln.Addr(), "GET, HEAD, OPTIONS, PUT, POST, PATCH, DELETE"), testCertFiles(t))
	pool := x509.NewCertPool()
	pool.AddCert(e.Certificate())
	cc, err := grpc.NewClient("passthrough:///"+e.Listener.Addr().String(),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "example.com"})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := testgrpc.NewTestServiceClient(cc)
	const calls, at = 64 * 100, 64
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range at {
		wg.Go(func() {
			for range calls / at {
				if _, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{ResponseSize: 64, Payload: &testgrpc.Payload{Body: make([]byte, 512)}}); err != nil {
					if failed.Add(1) == 1 {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := svc.Calls.Load(); n != calls || failed.Load() != 0 {
		t.Errorf("the origin took %d of %d calls; %d failed", n, calls, failed.Load())
	}
}

// TestBodyReadAfterTheHandler reads a viewer's HTTP/2 body after its
// handler has returned, as an origin transport that was answered first
// goes on doing on its own goroutine: the read ends with an error and
// does not touch the finished stream (it did: the body timeout's
// SetReadDeadline on an ended stream panicked and took the process down,
// as gRPC calls under load showed).
func TestBodyReadAfterTheHandler(t *testing.T) {
	bodies := make(chan *limitedBody, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lb := &limitedBody{ReadCloser: r.Body, rc: http.NewResponseController(w), timeout: time.Minute}
		defer lb.end() // as Distribution.ServeHTTP does
		if _, err := lb.Read(make([]byte, 1)); err != nil {
			t.Error(err)
		}
		bodies <- lb
		io.WriteString(w, "early")
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	go io.WriteString(pw, "the first byte, and more to come")
	resp, err := srv.Client().Post(srv.URL, "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(b) != "early" {
		t.Fatalf("HTTP/%d %q", resp.ProtoMajor, b)
	}
	lb := <-bodies
	if _, err := lb.Read(make([]byte, 64)); err != errBodyAfterAnswer {
		t.Errorf("a read after the answer: %v", err)
	}
}
