package edge

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/certtest"
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
	e := edgeFor(t, fmt.Sprintf(`
listen: {https: "127.0.0.1:0"}
tls: {certificates: [{cert_file: c.pem, key_file: k.pem}]}
distributions:
  - name: main
    origins: {g: {type: http, url: "http://%s", http2: true}}
    default_behavior: {target_origin: g, grpc: true, allowed_methods: [GET, HEAD, POST]}
`, ln.Addr()), testCertFiles(t))
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
