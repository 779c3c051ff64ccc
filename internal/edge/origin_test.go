package edge

import (
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/edgefront/edgefront/internal/logtest"
)

func TestHTTPSOriginVerifiesCertificates(t *testing.T) {
	tlsOrigin := httptest.NewUnstartedServer(text("secure"))
	tlsOrigin.Config.ErrorLog = slog.NewLogLogger(logtest.New(t).Handler(), slog.LevelWarn)
	tlsOrigin.StartTLS()
	defer tlsOrigin.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsOrigin.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins:
      trusted: {type: http, url: %q, ca_file: %q}
      untrusted: {type: http, url: %q}
    behaviors:
      - {path_pattern: "/untrusted*", target_origin: untrusted}
    default_behavior: {target_origin: trusted}
`, tlsOrigin.URL, ca, tlsOrigin.URL), nil)
	if r := get(t, e.URL+"/x"); r.StatusCode != 200 || r.body != "secure" {
		t.Errorf("https origin with ca_file: %d %q", r.StatusCode, r.body)
	}
	// A certificate the edge cannot verify is a failed origin, not a
	// silent downgrade.
	wantStatus(t, get(t, e.URL+"/untrusted"), http.StatusBadGateway)
}

func TestOriginConnectionsAreReused(t *testing.T) {
	var conns atomic.Int64
	o := httptest.NewUnstartedServer(text("ok"))
	o.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	o.Start()
	defer o.Close()
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
`, o.URL), nil)
	for i := 0; i < 50; i++ {
		wantStatus(t, get(t, e.URL+"/"), 200)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("50 sequential requests opened %d origin connections, want 1", n)
	}
}
