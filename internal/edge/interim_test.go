package edge

import (
	"net/http"
	"testing"
)

// RFC 9111 §3: interim (1xx) answers are never stored; the final answer
// is, and the edge's own cache-control field reaches no viewer.
func TestInterimAnswersAreNotStored(t *testing.T) {
	o, seen := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Edgefront-Cdn-Cache-Control", "max-age=3600")
		w.Write([]byte("final"))
	})
	e := edgeFor(t, `
distributions:
  - name: main
    origins: {o: {type: http, url: "`+o.URL+`"}}
    default_behavior: {target_origin: o}
`, nil)
	for i, want := range []string{"Miss from edgefront", "Hit from edgefront"} {
		r := do(t, "GET", e.URL+"/page", nil)
		if r.StatusCode != 200 || r.body != "final" || r.Header.Get("X-Cache") != want {
			t.Errorf("request %d: %d %q %s, want 200 final %s", i+1, r.StatusCode, r.body, r.Header.Get("X-Cache"), want)
		}
		if r.Header.Get("Edgefront-Cdn-Cache-Control") != "" {
			t.Errorf("request %d: the edge's own cache-control field reached the viewer", i+1)
		}
		if age := r.Header.Get("Cache-Control"); age != "max-age=60" {
			t.Errorf("request %d: Cache-Control %q", i+1, age)
		}
	}
	if n := seen.count(); n != 1 {
		t.Errorf("%d origin requests, want 1", n)
	}
}

// Uncached answers, through the raw pass and the proxy, lose the edge's
// own cache-control field too; CDN-Cache-Control passes on.
func TestEdgefrontCacheControlNeverReachesViewers(t *testing.T) {
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Edgefront-Cdn-Cache-Control", "max-age=3600")
		w.Header().Set("Cdn-Cache-Control", "max-age=60")
		w.Write([]byte("ok"))
	})
	e := edgeFor(t, `
distributions:
  - name: main
    origins: {o: {type: http, url: "`+o.URL+`"}}
    default_behavior: {target_origin: o, max_ttl: 0, default_ttl: 0}
`, nil)
	for _, m := range []string{"GET", "HEAD"} {
		r := do(t, m, e.URL+"/api", nil)
		if r.Header.Get("Edgefront-Cdn-Cache-Control") != "" || r.Header.Get("Cdn-Cache-Control") != "max-age=60" {
			t.Errorf("%s: %v", m, r.Header)
		}
	}
}
