package cluster

import (
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/logtest"
	"github.com/edgefront/edgefront/internal/redistest"
)

// openssl runs openssl in dir, as a user making a CA would.
func openssl(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
}

// TestRedisOverTLS reaches a Redis that speaks TLS only, its certificate
// from a private CA made with openssl: trusted through ca_file, and not
// without it.
func TestRedisOverTLS(t *testing.T) {
	dir := t.TempDir()
	openssl(t, dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=edgefront test CA")
	openssl(t, dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "redis.key", "-out", "redis.csr", "-subj", "/CN=127.0.0.1")
	os.WriteFile(filepath.Join(dir, "san.ext"), []byte("subjectAltName=IP:127.0.0.1\n"), 0o644)
	openssl(t, dir, "x509", "-req", "-in", "redis.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "redis.crt", "-days", "1", "-extfile", "san.ext")
	pem, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	r := redistest.StartTLS(t, "tls-password", filepath.Join(dir, "redis.crt"), filepath.Join(dir, "redis.key"), roots)

	url := "rediss://:tls-password@" + r.Addr + "/0"
	var c cacheLog
	// The rate-limit call's bound is a second, not the 50 ms default: this
	// test is about trust, and a TLS handshake under -race on a loaded
	// machine can take longer than a limit call is allowed in production.
	n, err := Open(t.Context(), Options{URL: url, CAFile: filepath.Join(dir, "ca.pem"), Node: "a", Log: logtest.New(t), Apply: c.apply, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	eventually(t, 3*time.Second, "up over TLS", func() bool { return n.Health().Up && len(n.Health().Members) == 1 })
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ok, _, err := n.Allow("k", 10, 10)
		if ok && err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a rate limit over TLS: allowed %v, %v", ok, err)
		}
	}

	// Without the CA the certificate is not trusted: the node serves
	// alone and says why in its log, it does not fail to start.
	old := StartWait
	StartWait = 300 * time.Millisecond
	defer func() { StartWait = old }()
	m, err := Open(t.Context(), Options{URL: url, Node: "b", Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	time.Sleep(300 * time.Millisecond)
	if m.Health().Up {
		t.Error("a Redis certificate from an unknown CA was trusted")
	}
}
