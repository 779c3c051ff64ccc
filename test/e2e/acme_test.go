package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pebble runs Let's Encrypt's test ACME server, with its DNS answering
// 127.0.0.1 for every name, validating challenges on the edge's ports. It
// returns the directory URL, the file of the root to trust for its HTTPS,
// and a pool with the root its certificates chain to. Each line Pebble
// logs goes to the test's log, and to onLine when it is not nil.
func pebble(t *testing.T, dir string, httpPort, tlsPort string, validity int, onLine func(string)) (directory, caRoot string, issued *x509.CertPool) {
	t.Helper()
	bin, dns := os.Getenv("PEBBLE"), os.Getenv("PEBBLE_CHALLTESTSRV")
	if bin == "" || dns == "" {
		t.Fatal("Pebble is not installed: run ./test.sh, which installs it (or set PEBBLE and PEBBLE_CHALLTESTSRV)")
	}
	dnsAddr := freeAddr(t)
	cts := exec.Command(dns, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dnsserver", dnsAddr,
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "", "-management", freeAddr(t))
	if err := cts.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cts.Process.Kill(); cts.Wait() })

	cert, key := writeCert(t, dir)
	listen, mgmt := freeAddr(t), freeAddr(t)
	conf, _ := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt, "certificate": cert, "privateKey": key,
		"httpPort": atoi(httpPort), "tlsPort": atoi(tlsPort), "ocspResponderURL": "", "externalAccountBindingRequired": false,
		"profiles": map[string]any{"default": map[string]any{"description": "short", "validityPeriod": validity}},
	}})
	confFile := filepath.Join(dir, "pebble.json")
	os.WriteFile(confFile, conf, 0o644)
	cmd := exec.Command(bin, "-config", confFile, "-dnsserver", dnsAddr)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Listening on") {
				close(ready)
			}
			t.Log("pebble: " + sc.Text())
			if onLine != nil {
				onLine(sc.Text())
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("Pebble did not start")
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	var resp *http.Response
	var err error
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err = insecure.Get("https://" + mgmt + "/roots/0"); err == nil || time.Since(start) > 10*time.Second {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	issued = x509.NewCertPool()
	if !issued.AppendCertsFromPEM(pem) {
		t.Fatalf("Pebble's root: %q", pem)
	}
	return "https://" + listen + "/dir", cert, issued
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

// servedCert dials the edge for name and returns the certificate it
// serves, verified against roots.
func servedCert(addr, name string, roots *x509.CertPool) (*x509.Certificate, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{ServerName: name, RootCAs: roots})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

// TestACMEWithPebble obtains certificates from Pebble with each challenge
// type, serves them by SNI, and renews one before it expires.
func TestACMEWithPebble(t *testing.T) {
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run(challenge, func(t *testing.T) {
			dir := t.TempDir()
			ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "origin via %s", r.Header.Get("X-Forwarded-Proto"))
			})
			httpAddr, httpsAddr, adminAddr := freeAddr(t), freeAddr(t), freeAddr(t)
			_, httpPort, _ := net.SplitHostPort(httpAddr)
			_, httpsPort, _ := net.SplitHostPort(httpsAddr)
			validity := 3600
			if challenge == "http-01" {
				validity = 30 // renewed within the test
			}
			directory, caRoot, issued := pebble(t, dir, httpPort, httpsPort, validity, nil)
			names := []string{"www." + strings.ReplaceAll(challenge, "-", "") + ".test", "api." + strings.ReplaceAll(challenge, "-", "") + ".test"}
			cfg := filepath.Join(dir, "edgefront.yaml")
			os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q, https: %q}
admin: {listen: %q}
tls:
  acme: {email: ops@example.org, ca: %q, ca_root: %s, storage: certs, challenges: [%s], renewal_check: 1s}
distributions:
  - name: site
    aliases: [%s, %s]
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o, max_ttl: 0, default_ttl: 0}
`, httpAddr, httpsAddr, adminAddr, directory, caRoot, challenge, names[0], names[1], ln.Addr())), 0o644)
			p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
			defer p.stop(t)

			var first *x509.Certificate
			deadline := time.Now().Add(45 * time.Second)
			for _, name := range names {
				for {
					c, err := servedCert(httpsAddr, name, issued)
					if err == nil {
						if name == names[0] {
							first = c
						}
						if c.VerifyHostname(name) != nil {
							t.Errorf("the certificate served for %s names %v", name, c.DNSNames)
						}
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("no certificate from Pebble for %s: %v", name, err)
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: issued},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, httpsAddr)
				}}}
			resp, err := client.Get("https://" + names[0] + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "origin via https" {
				t.Errorf("over the ACME certificate: %q", body)
			}
			if files, _ := filepath.Glob(filepath.Join(dir, "certs", "certificates", "*", names[0], "*.crt")); len(files) != 1 {
				t.Errorf("certificate files in storage: %v", files)
			}
			_, metrics := fetch(t, "http://"+adminAddr+"/metrics", "")
			if want := fmt.Sprintf(`edgefront_certificate_expiry_timestamp_seconds{name=%q}`, names[1]); !strings.Contains(metrics, want) {
				t.Errorf("/metrics has no %s", want)
			}
			if challenge != "http-01" {
				return
			}
			// Pebble issues for 30 s: the edge renews before the end.
			for {
				c, err := servedCert(httpsAddr, names[0], issued)
				if err == nil && c.SerialNumber.Cmp(first.SerialNumber) != 0 {
					if !c.NotAfter.After(first.NotAfter) {
						t.Errorf("the renewed certificate expires %v, the first %v", c.NotAfter, first.NotAfter)
					}
					break
				}
				if time.Now().After(first.NotAfter) {
					t.Fatalf("the certificate expired without being renewed (last error %v)", err)
				}
				time.Sleep(500 * time.Millisecond)
			}
		})
	}
}
