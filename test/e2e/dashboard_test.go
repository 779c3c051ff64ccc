package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardMovesUnderLoad opens the admin listener's dashboard in a
// headless browser while load goes through the edge, and checks that its
// figures appear and move.
func TestDashboardMovesUnderLoad(t *testing.T) {
	exe := chromium(t)
	dir := t.TempDir()
	ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "answer for %s", r.URL.Path)
	})
	addr, tlsAddr, admin := freeAddr(t), freeAddr(t), freeAddr(t)
	cert, key := writeCert(t, dir)
	cfg := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q, https: %q}
tls: {certificates: [{cert_file: %s, key_file: %s}]}
admin: {listen: %q}
distributions:
  - name: main
    origins: {api: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: api}
`, addr, tlsAddr, cert, key, admin, ln.Addr())), 0o644)
	p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
	defer p.stop(t)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				// Mostly hits, some misses, and a few 404s.
				path := fmt.Sprintf("/items/%d", n%50)
				if n%17 == 0 {
					path = fmt.Sprintf("/new/%d/%d", i, n)
				}
				if resp, err := http.Get("http://" + addr + path); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	if resp, err := http.Post("http://"+admin+"/reload", "", nil); err == nil {
		resp.Body.Close()
	}
	if resp, err := http.Post("http://"+admin+"/invalidations", "application/json", strings.NewReader(`{"paths":["/items/*"]}`)); err == nil {
		resp.Body.Close()
	}

	ctx := browserContext(t, exe)
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("browser, reading %s: %v", sel, err)
		}
		return v
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+admin+"/"), chromedp.WaitVisible("#origins tr")); err != nil {
		t.Fatalf("browser, opening the dashboard: %v", err)
	}
	rate := func() float64 {
		v, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSuffix(text("#rps"), "k"), "M"), 64)
		return v
	}
	first := rate()
	var moved bool
	for range 10 {
		time.Sleep(700 * time.Millisecond)
		if r := rate(); r > 0 && r != first {
			moved = true
			break
		}
	}
	if first <= 0 || !moved {
		t.Errorf("requests/s did not show or did not move: first %v", first)
	}
	if h := text("#hit-ratio"); !strings.HasSuffix(h, "%") {
		t.Errorf("hit ratio %q", h)
	}
	if s := text("#status-2xx"); s == "–" || s == "0.0" {
		t.Errorf("2xx per second %q", s)
	}
	if o := text("#origins"); !strings.Contains(o, "api") || !strings.Contains(o, "healthy") || !strings.Contains(o, "ms") {
		t.Errorf("origins %q", o)
	}
	if c := text("#certificates"); !strings.Contains(c, "main.example: expires") {
		t.Errorf("certificates %q", c)
	}
	if r := text("#reloads"); !strings.Contains(r, "ok") {
		t.Errorf("reloads %q", r)
	}
	if i := text("#invalidations"); !strings.Contains(i, "/items/*") {
		t.Errorf("invalidations %q", i)
	}
	points, err := chromedp.Run(ctx, chromedp.AttributeValue("#rps-line", "points"))
	if err != nil || strings.Count(points.Value, ",") < 2 {
		t.Errorf("the chart has no line: %q %v", points.Value, err)
	}
}
