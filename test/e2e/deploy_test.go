package e2e

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestContinuousDeploymentThroughTheBinary sends viewers to a staging
// distribution by header and by weight, keeps sticky sessions where they
// were sent, and logs which distribution served.
func TestContinuousDeploymentThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	prod := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "production") })
	stage := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "staging") })
	addr := freeAddr(t)
	write := func(policy string) string {
		cfg := filepath.Join(dir, "edgefront.yaml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q}
access_log: {path: access.log, format: json}
distributions:
  - name: main
    aliases: [www.example.org]
    continuous_deployment: %s
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o, max_ttl: 0, default_ttl: 0}
  - name: main-staging
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o, max_ttl: 0, default_ttl: 0}
`, addr, policy, prod.Addr(), stage.Addr())), 0o644)
		return cfg
	}
	get := func(c *http.Client, h map[string]string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Host = "www.example.org"
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	cfg := write(`{staging_distribution: main-staging, single_header: {header: aws-cf-cd-test, value: canary}}`)
	p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
	if got := get(http.DefaultClient, nil); got != "production" {
		t.Errorf("without the header: %q", got)
	}
	if got := get(http.DefaultClient, map[string]string{"aws-cf-cd-test": "canary"}); got != "staging" {
		t.Errorf("with the header: %q", got)
	}
	if got := get(http.DefaultClient, map[string]string{"aws-cf-cd-test": "other"}); got != "production" {
		t.Errorf("with another value: %q", got)
	}
	// The staging distribution has no host of its own: it is not the
	// catch-all.
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = "unknown.example.org"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("another host reached the staging distribution: %v %v", resp.StatusCode, err)
	}
	out, err := exec.Command(binary, "explain", "-c", cfg, "-H", "aws-cf-cd-test: canary", "http://www.example.org/").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "staging:      requests with Aws-Cf-Cd-Test: canary go to staging distribution main-staging") ||
		!strings.Contains(string(out), "this request: main-staging answers") {
		t.Errorf("explain:\n%s", out)
	}
	p.stop(t)
	log := mustRead(t, filepath.Join(dir, "access.log"))
	if !strings.Contains(log, `"cs(Host)":"main-staging"`) || !strings.Contains(log, `"cs(Host)":"main"`) {
		t.Errorf("the access log does not say which distribution served:\n%s", log)
	}

	// By weight: 10% of 2,000 new viewers, within 2 points.
	cfg = write(`{staging_distribution: main-staging, single_weight: {weight: 0.10, session_stickiness: {idle_ttl: 300, maximum_ttl: 600}}}`)
	p = startBinary(t, "edgefront serving", "serve", "-c", cfg)
	defer p.stop(t)
	staged := 0
	for range 2000 {
		if get(http.DefaultClient, nil) == "staging" {
			staged++
		}
	}
	if share := float64(staged) / 2000; math.Abs(share-0.10) > 0.02 {
		t.Errorf("%.3f of new viewers went to staging, want 0.10 within 0.02", share)
	}
	// Sticky: a viewer with its cookie stays where it was sent.
	for i := range 40 {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		first := get(c, nil)
		for range 10 {
			if got := get(c, nil); got != first {
				t.Fatalf("viewer %d was sent to %s, then to %s", i, first, got)
			}
		}
	}
}
