package edge

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestResponseHeadersPolicies(t *testing.T) {
	o, seen := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "origin/1.0")
		w.Header().Set("X-Powered-By", "php")
		w.Header().Set("Strict-Transport-Security", "max-age=60")
		w.Header().Set("X-Content-Type-Options", "origin-value")
		w.Header().Set("Cache-Control", "max-age=60")
		if strings.HasPrefix(r.URL.Path, "/own-cors") {
			w.Header().Set("Access-Control-Allow-Origin", "https://origin.example")
		}
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "ok")
	})
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    behaviors:
      - path_pattern: "/simple/*"
        target_origin: o
        response_headers: {policy: SimpleCORS}
      - path_pattern: "/own-cors*"
        target_origin: o
        response_headers: {policy: 60669652-455b-4ae9-85a4-c4c02393f86c}
      - path_pattern: "/secure/*"
        target_origin: o
        response_headers: {policy: SecurityHeadersPolicy}
      - path_pattern: "/api/*"
        target_origin: o
        allowed_methods: [GET, HEAD, OPTIONS, POST]
        response_headers:
          cors: {allow_origins: ["https://app.example"], allow_methods: [GET, POST], allow_headers: [X-Token], allow_credentials: true, expose_headers: [X-Request-Id], max_age: 600, answer_preflight: true}
    default_behavior:
      target_origin: o
      response_headers:
        security:
          content_security_policy: "default-src 'self'"
          strict_transport_security: {value: "max-age=63072000", override: false}
          frame_options: DENY
        custom: [{header: X-Served-By, value: edgefront}, {header: Server, value: edge, override: false}]
        remove: [X-Powered-By]
        server_timing: {enabled: true, sampling_rate: 100}
`, o.URL), nil)
	get := func(path string, h map[string]string) resp { return do(t, "GET", e.URL+path, h) }
	origin := map[string]string{"Origin": "https://app.example"}

	r := get("/simple/a", origin)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("SimpleCORS: %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
	if r := get("/simple/a", nil); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS headers on a request without Origin")
	}
	if r := get("/own-cors", origin); r.Header.Get("Access-Control-Allow-Origin") != "https://origin.example" {
		t.Errorf("the origin's own CORS header must win (override off): %q", r.Header.Get("Access-Control-Allow-Origin"))
	}

	r = get("/secure/a", nil)
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "Strict-Transport-Security": "max-age=60", "X-Frame-Options": "SAMEORIGIN",
		"Referrer-Policy": "strict-origin-when-cross-origin", "X-Xss-Protection": "1; mode=block",
	} {
		if got := r.Header.Get(name); got != want {
			t.Errorf("SecurityHeadersPolicy: %s %q, want %q", name, got, want)
		}
	}

	// Custom CORS: a preflight answered at the edge, the origin not asked.
	before := seen.count()
	pre := do(t, "OPTIONS", e.URL+"/api/items", map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "X-Token"})
	wantStatus(t, pre, http.StatusNoContent)
	for name, want := range map[string]string{
		"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": "GET, POST",
		"Access-Control-Allow-Headers": "X-Token", "Access-Control-Max-Age": "600", "Access-Control-Allow-Credentials": "true", "Vary": "Origin",
	} {
		if got := pre.Header.Get(name); got != want {
			t.Errorf("preflight: %s %q, want %q", name, got, want)
		}
	}
	if seen.count() != before {
		t.Error("the preflight reached the origin")
	}
	r = get("/api/items", origin)
	if r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || r.Header.Get("Access-Control-Expose-Headers") != "X-Request-Id" || r.Header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("actual request: %v", r.Header)
	}
	if r := get("/api/items", map[string]string{"Origin": "https://evil.example"}); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("an origin not allowed got CORS headers")
	}

	// Custom security and custom headers, removal, Server-Timing; on hits
	// and on error answers too.
	for i, path := range []string{"/page", "/page", "/missing"} {
		r := get(path, nil)
		for name, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'", "Strict-Transport-Security": "max-age=60", "X-Frame-Options": "DENY",
			"X-Served-By": "edgefront", "Server": "origin/1.0", "X-Powered-By": "",
		} {
			if got := r.Header.Get(name); got != want {
				t.Errorf("%s (%d): %s %q, want %q", path, i, name, got, want)
			}
		}
		st := r.Header.Get("Server-Timing")
		want := map[int]string{0: "cdn-cache-miss", 1: "cdn-cache-hit", 2: "cdn-cache-miss"}[i]
		if !strings.HasPrefix(st, want) || !strings.Contains(st, `cdn-rid;desc="`+r.Header.Get("X-Edge-Request-Id")+`"`) || !strings.Contains(st, "cdn-downstream-fbl;dur=") {
			t.Errorf("%s (%d): Server-Timing %q", path, i, st)
		}
	}
}
