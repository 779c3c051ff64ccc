package edge

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestOriginGroupFailsOver(t *testing.T) {
	primary, primarySeen := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, "/v1") // the primary's origin path
		switch {
		case strings.HasPrefix(path, "/down"):
			http.Error(w, "primary down", http.StatusServiceUnavailable)
		case strings.HasPrefix(path, "/missing"):
			http.Error(w, "primary 404", http.StatusNotFound)
		case strings.HasPrefix(path, "/slow"):
			time.Sleep(500 * time.Millisecond)
			fmt.Fprint(w, "primary, late")
		default:
			fmt.Fprint(w, "primary "+r.URL.Path)
		}
	})
	secondary, secondarySeen := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secondary "+r.URL.Path)
	})
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins:
      first:  {type: http, url: %q, read_timeout: 200ms, path: /v1}
      second: {type: http, url: %q}
      refused: {type: http, url: "http://127.0.0.1:1"}
      both:   {type: group, primary: first, secondary: second}
      also404: {type: group, primary: first, secondary: second, failover_status_codes: [404, 503]}
      fromDown: {type: group, primary: refused, secondary: second}
    behaviors:
      - {path_pattern: "/404/*", target_origin: also404, strip_prefix: /404, max_ttl: 0, default_ttl: 0}
      - {path_pattern: "/refused/*", target_origin: fromDown, max_ttl: 0, default_ttl: 0}
    default_behavior: {target_origin: both, max_ttl: 0, default_ttl: 0, allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]}
`, primary.URL, secondary.URL), nil)
	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/ok", 200, "primary /v1/ok"},
		{"GET", "/down", 200, "secondary /down"},           // 503 fails over; the secondary has no path prefix
		{"GET", "/missing", 404, "primary 404\n"},          // 404 is not a failover status here
		{"GET", "/404/missing", 200, "secondary /missing"}, // but is in this group
		{"GET", "/slow", 200, "secondary /slow"},           // a timeout fails over
		{"GET", "/refused/x", 200, "secondary /refused/x"}, // so does a refused connection
		{"POST", "/down", 503, "primary down\n"},           // only GET, HEAD and OPTIONS fail over
	} {
		r := do(t, c.method, e.URL+c.path, nil)
		if r.StatusCode != c.status || r.body != c.body {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, r.StatusCode, r.body, c.status, c.body)
		}
	}
	if primarySeen.count() == 0 || secondarySeen.count() != 4 {
		t.Errorf("primary saw %d, secondary %d requests", primarySeen.count(), secondarySeen.count())
	}
}
