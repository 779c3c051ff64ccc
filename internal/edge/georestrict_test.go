package edge

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgefront/edgefront/internal/geotest"
)

func TestGeoRestriction(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "countries.mmdb")
	geotest.Countries(t, db, map[string]string{"192.0.2.0/24": "GB", "198.51.100.0/24": "FR"})
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/errors/403.html" {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<p>not here</p>")
			return
		}
		fmt.Fprint(w, "content")
	})
	for _, c := range []struct {
		rule string
		want map[string]int // client → status
	}{
		{"{restriction_type: whitelist, locations: [GB]}", map[string]int{"192.0.2.7": 200, "198.51.100.7": 403, "203.0.113.7": 200}},
		{"{restriction_type: blacklist, locations: [GB]}", map[string]int{"192.0.2.7": 403, "198.51.100.7": 200, "203.0.113.7": 200}},
	} {
		e := edgeFor(t, fmt.Sprintf(`
trusted_proxies: [127.0.0.1/32]
geoip: {database: %q}
distributions:
  - name: main
    geo_restriction: %s
    custom_error_responses:
      - {error_code: 403, response_page_path: /errors/403.html, response_code: 403}
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
    behaviors:
      - {path_pattern: "/errors/*", target_origin: o}
`, db, c.rule, o.URL), nil)
		for client, want := range c.want {
			r := do(t, "GET", e.URL+"/page", map[string]string{"X-Forwarded-For": client})
			if r.StatusCode != want {
				t.Errorf("%s, viewer %s: %d, want %d", c.rule, client, r.StatusCode, want)
			}
			if want == 403 && (!strings.Contains(r.body, "not here") || r.Header.Get("X-Cache") != "Error from edgefront") {
				t.Errorf("%s, viewer %s: the refusal is not the custom error page: %s %q", c.rule, client, r.Header.Get("X-Cache"), r.body)
			}
		}
	}
}
