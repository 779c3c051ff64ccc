package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/edgefront/edgefront/internal/redistest"
)

// TestDashboardShowsTheCluster opens a node's dashboard in a headless
// browser: it lists the members, this node marked, and says the link is
// up with no lag.
func TestDashboardShowsTheCluster(t *testing.T) {
	exe := chromium(t)
	dir := t.TempDir()
	r := redistest.Start(t, "")
	ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	var admins []string
	for _, name := range []string{"edge-1", "edge-2"} {
		admin := freeAddr(t)
		cfg := filepath.Join(dir, name+".yaml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q}
admin: {listen: %q}
cluster: {redis: %q, node: %s}
distributions:
  - {name: main, origins: {o: {type: http, url: "http://%s"}}, default_behavior: {target_origin: o}}
`, freeAddr(t), admin, r.URL(), name, ln.Addr())), 0o644)
		p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
		defer p.stop(t)
		admins = append(admins, admin)
	}

	ctx := browserContext(t, exe)
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+admins[0]+"/"), chromedp.WaitVisible("#members li")); err != nil {
		t.Fatalf("browser, opening the dashboard: %v", err)
	}
	var members, state string
	for range 20 {
		var err error
		if members, err = chromedp.Run(ctx, chromedp.Text("#members")); err != nil {
			t.Fatal(err)
		}
		if state, err = chromedp.Run(ctx, chromedp.Text("#cluster-state")); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(members, "edge-1 (this node)") && strings.Contains(members, "edge-2") {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(members, "edge-1 (this node)") || !strings.Contains(members, "edge-2") || !strings.Contains(members, "applied") {
		t.Errorf("members: %q", members)
	}
	if !strings.Contains(state, "node edge-1: up") || !strings.Contains(state, "invalidation lag 0.0 s") {
		t.Errorf("cluster state: %q", state)
	}
}
