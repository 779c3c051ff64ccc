package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/redistest"
)

// forward relays every connection to a loopback port to addr, dialing it
// again for up to 10 s while nothing listens there yet.
func forward(t *testing.T, addr string) (port string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = &atomic.Int64{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				var up net.Conn
				for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(50 * time.Millisecond) {
					if up, err = net.Dial("tcp", addr); err == nil {
						break
					}
				}
				if up == nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, conns
}

// TestClusterSharesCertificates runs three nodes behind Pebble: one
// orders the certificate, all three serve it, and the challenge is
// answered by a node that did not order it, from what Redis holds.
func TestClusterSharesCertificates(t *testing.T) {
	dir := t.TempDir()
	r := redistest.Start(t, "")
	os.WriteFile(filepath.Join(dir, "cluster.token"), []byte("e2e-cluster-token-0123456789abcdef\n"), 0o600)
	origin := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	type node struct{ http, https, cfg string }
	nodes := make([]node, 3)
	for i := range nodes {
		nodes[i] = node{http: freeAddr(t), https: freeAddr(t), cfg: filepath.Join(dir, fmt.Sprintf("edge-%d.yaml", i+1))}
	}
	// Pebble validates on a port that leads to edge-3 only; edge-3 starts
	// once another node holds the order's lock.
	challengePort, challenges := forward(t, nodes[2].http)
	var issuedCount atomic.Int64
	directory, caRoot, issued := pebble(t, dir, challengePort, "1", 3600, func(line string) {
		if strings.Contains(line, "Issued certificate serial") {
			issuedCount.Add(1)
		}
	})
	const name = "www.cluster.test"
	for i, n := range nodes {
		os.WriteFile(n.cfg, []byte(fmt.Sprintf(`listen: {http: %q, https: %q}
tls:
  acme: {email: ops@example.org, ca: %q, ca_root: %s, challenges: [http-01]}
cluster: {redis: %q, node: edge-%d, token_file: cluster.token}
distributions:
  - name: site
    aliases: [%s]
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o, max_ttl: 0, default_ttl: 0}
`, n.http, n.https, directory, caRoot, r.URL(), i+1, name, origin.Addr())), 0o644)
	}
	var procs []*proc
	for _, n := range nodes[:2] {
		procs = append(procs, startBinary(t, "edgefront serving", "serve", "-c", n.cfg))
	}
	waitFor(t, 20*time.Second, "a node takes the order's lock", func() bool {
		return strings.HasPrefix(r.Do("EXISTS", "edgefront:certs:v:lock:issue_cert_"+name), ":1")
	})
	procs = append(procs, startBinary(t, "edgefront serving", "serve", "-c", nodes[2].cfg))

	serials := map[string]bool{}
	for i, n := range nodes {
		var err error
		waitFor(t, 45*time.Second, fmt.Sprintf("edge-%d serves the certificate (%v)", i+1, err), func() bool {
			c, e := servedCert(n.https, name, issued)
			if err = e; e == nil {
				serials[c.SerialNumber.String()] = true
			}
			return e == nil
		})
	}
	if len(serials) != 1 || issuedCount.Load() != 1 {
		t.Errorf("three nodes serve %d serials; Pebble issued %d certificates; want one of each", len(serials), issuedCount.Load())
	}
	if challenges.Load() == 0 {
		t.Error("no challenge reached edge-3: the test proves nothing")
	}
	for _, p := range procs {
		p.stop(t)
	}
}
