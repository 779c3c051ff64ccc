package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/redistest"
)

// TestShieldIsAnotherEdgefront runs two edges whose origin is a third
// edgefront (type: edgefront): the shield is asked with the viewer's
// keys, fills once for both, and honours the invalidations the edges
// take; a viewer cannot pose as an edge.
func TestShieldIsAnotherEdgefront(t *testing.T) {
	dir := t.TempDir()
	r := redistest.Start(t, "")
	o := newClusterOrigin(t)
	os.WriteFile(filepath.Join(dir, "cluster.token"), []byte("e2e-cluster-token-0123456789abcdef\n"), 0o600)
	write := func(name, httpAddr, adminAddr, originYAML, extra string) string {
		cfg := filepath.Join(dir, name+".yaml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q}
admin: {listen: %q}
cluster: {redis: %q, node: %s, token_file: cluster.token}
distributions:
  - name: main
    aliases: [main.example]
    origins: {o: %s}%s
    default_behavior: {target_origin: o}
    behaviors:
      - {path_pattern: "/api/*", target_origin: o, strip_prefix: /api}
`, httpAddr, adminAddr, r.URL(), name, originYAML, extra)), 0o644)
		return cfg
	}
	shield := &clusterNode{name: "shield", http: freeAddr(t), admin: freeAddr(t)}
	// Viewers get one request a while from the shield; its edges are not
	// viewers.
	shield.cfg = write("shield", shield.http, shield.admin, fmt.Sprintf("{type: http, url: %q}", "http://"+o.addr),
		"\n    rate_limit: {requests_per_second: 0.01, burst: 1}")
	shield.p = startBinary(t, "edgefront serving", "serve", "-c", shield.cfg)
	var edges []*clusterNode
	for _, name := range []string{"edge-1", "edge-2"} {
		n := &clusterNode{name: name, http: freeAddr(t), admin: freeAddr(t)}
		n.cfg = write(name, n.http, n.admin, fmt.Sprintf("{type: edgefront, url: %q}", "http://"+shield.http), "")
		n.p = startBinary(t, "edgefront serving", "serve", "-c", n.cfg)
		edges = append(edges, n)
	}
	x, body := edges[0].get(t, "main.example", "/api/x")
	if body != "/x #1" || x != "Miss from edgefront" {
		t.Fatalf("through the shield: %s %q (the origin must see the path less strip_prefix, once)", x, body)
	}
	if x, _ := edges[1].get(t, "main.example", "/api/x"); x != "Miss from edgefront" || o.count("/x") != 1 {
		t.Errorf("the second edge's miss: %s, %d origin requests; want the shield's copy", x, o.count("/x"))
	}
	if x, _ := edges[0].get(t, "main.example", "/api/x"); x != hit {
		t.Errorf("the edge keeps its own copy: %s", x)
	}
	// An invalidation taken by an edge reaches the shield too.
	edges[0].invalidate(t, "/api/x")
	waitFor(t, 2*time.Second, "the shield and the other edge purge it", func() bool {
		edges[1].get(t, "main.example", "/api/x")
		return o.count("/x") == 2
	})
	// A request with a made-up token is refused; the shield's rate limit
	// never counted the edges.
	for i, want := range []int{http.StatusForbidden, http.StatusForbidden} {
		req, _ := http.NewRequest("GET", "http://"+shield.http+"/api/x", nil)
		req.Host = "main.example"
		req.Header.Set("X-Edgefront-Cluster", "not-the-token-at-all-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("request %d of a viewer posing as an edge: %d, want %d", i+1, resp.StatusCode, want)
		}
		if resp.Header.Get("X-Edgefront-Cluster-Refused") == "" {
			t.Error("the refusal is not marked for a node to see")
		}
	}
	for _, n := range append(edges, shield) {
		n.p.stop(t)
	}
}
