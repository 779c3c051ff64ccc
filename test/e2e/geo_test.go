package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgefront/edgefront/internal/geotest"
)

// TestGeoRestrictionThroughTheBinary serves viewers by their country
// (behind a trusted proxy that names them), explains the rule, and
// refuses a bad country code with its line.
func TestGeoRestrictionThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "countries.mmdb")
	geotest.Countries(t, db, map[string]string{"192.0.2.0/24": "GB", "198.51.100.0/24": "FR"})
	ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "content") })
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q}
trusted_proxies: [127.0.0.1]
geoip: {database: countries.mmdb}
distributions:
  - name: main
    geo_restriction: {restriction_type: whitelist, locations: [GB, IE]}
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o}
`, addr, ln.Addr())), 0o644)
	p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
	defer p.stop(t)
	for client, want := range map[string]int{"192.0.2.1": 200, "198.51.100.1": 403, "203.0.113.1": 200} {
		resp, body := send(t, "GET", "http://"+addr+"/a", map[string]string{"X-Forwarded-For": client})
		if resp.StatusCode != want {
			t.Errorf("a viewer at %s: %d %q, want %d", client, resp.StatusCode, body, want)
		}
	}
	out, err := exec.Command(binary, "explain", "-c", cfg, "http://"+addr+"/a").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "geo:          only viewers in GB, IE") {
		t.Errorf("explain: %v\n%s", err, out)
	}
	os.WriteFile(cfg, []byte(strings.Replace(mustRead(t, cfg), "[GB, IE]", "[GB, UK]", 1)), 0o644)
	out, err = exec.Command(binary, "validate", "-c", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), cfg+`:6: "UK" is not an ISO 3166-1 country code`) {
		t.Errorf("validate with UK: %v\n%s", err, out)
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
