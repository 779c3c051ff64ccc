package edge

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// addIndexJS is AWS's example function that adds index.html to URLs
// without a file name, as the CloudFront Developer Guide shows it.
func addIndexJS(t testing.TB) string {
	b, err := os.ReadFile("../functions/testdata/add-index.js")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCloudFrontFunctionsAtTheEdge(t *testing.T) {
	o, seen := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Server", "origin/1.0")
		fmt.Fprintf(w, "origin saw %s?%s lang=%s", r.URL.Path, r.URL.RawQuery, r.Header.Get("X-Lang"))
	})
	files := map[string]string{
		// AWS's example: add index.html to URLs without a file name.
		"functions/index.js": addIndexJS(t),
		// A redirect answered at the edge, from a key value store.
		"functions/redirect.js": `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
    const request = event.request;
    if (await kvs.exists(request.uri)) {
        const to = await kvs.get(request.uri);
        return {statusCode: 302, statusDescription: 'Found', headers: {location: {value: to}}};
    }
    request.headers['x-lang'] = {value: (request.headers['accept-language'] || {value: 'en'}).value.slice(0, 2)};
    request.querystring = {v: {value: '2'}};
    return request;
}`,
		"functions/security.js": `function handler(event) {
    var response = event.response;
    response.headers['x-frame-options'] = {value: 'DENY'};
    delete response.headers['server'];
    response.cookies = {};
    return response;
}`,
		"functions/broken.js":     `function handler(event) { throw new Error('cannot'); }`,
		"functions/loop.js":       `function handler(event) { for (;;) {} }`,
		"functions/bad-status.js": `function handler(event) { return {statusCode: 99}; }`,
		"kvs/redirects.json":      `{"data": [{"key": "/old", "value": "https://example.org/new"}]}`,
	}
	e := edgeFor(t, fmt.Sprintf(`
key_value_stores:
  redirects: {file: kvs/redirects.json}
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    behaviors:
      - path_pattern: "/docs*"
        target_origin: o
        functions: {viewer_request: functions/index.js, viewer_response: functions/security.js}
      - path_pattern: "/r/*"
        target_origin: o
        max_ttl: 0
        default_ttl: 0
        functions: {viewer_request: functions/redirect.js, key_value_store: redirects}
      - {path_pattern: "/broken", target_origin: o, functions: {viewer_request: functions/broken.js}}
      - {path_pattern: "/loop", target_origin: o, functions: {viewer_request: functions/loop.js}}
      - {path_pattern: "/bad-status", target_origin: o, functions: {viewer_request: functions/bad-status.js}}
    default_behavior: {target_origin: o}
    custom_error_responses: [{error_code: 503, error_caching_min_ttl: 0}]
`, o.URL), files)
	r := get(t, e.URL+"/docs/guide")
	wantStatus(t, r, 200)
	if r.body != "origin saw /docs/guide/index.html? lang=" || r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("Server") != "" {
		t.Errorf("viewer request and response functions: %q %v", r.body, r.Header)
	}
	// The rewritten URI is the cache key: the second request is a hit.
	if r := get(t, e.URL+"/docs/guide"); r.Header.Get("X-Cache") != "Hit from edgefront" || r.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("second request: %v", r.Header)
	}
	r = do(t, "GET", e.URL+"/r/x", map[string]string{"Accept-Language": "fr-FR"})
	if r.body != "origin saw /r/x?v=2 lang=fr" {
		t.Errorf("request changed by the function: %q", r.body)
	}
	r = do(t, "GET", e.URL+"/r/x", nil)
	if r.body != "origin saw /r/x?v=2 lang=en" {
		t.Errorf("default language: %q", r.body)
	}
	before := seen.count()
	r = get(t, e.URL+"/r/old")
	if r.StatusCode != http.StatusOK || seen.count() != before+1 {
		t.Errorf("a URI the store does not hold goes on: %d", r.StatusCode)
	}
	for _, path := range []string{"/broken", "/loop", "/bad-status"} {
		start := time.Now()
		r := get(t, e.URL+path)
		if r.StatusCode != http.StatusServiceUnavailable || time.Since(start) > 2*time.Second {
			t.Errorf("%s: %d %q after %v, want a quick 503", path, r.StatusCode, r.body, time.Since(start))
		}
	}
	// Other requests are served meanwhile and afterwards.
	if r := get(t, e.URL+"/plain"); r.StatusCode != 200 || !strings.HasPrefix(r.body, "origin saw /plain") {
		t.Errorf("after failing functions: %d %q", r.StatusCode, r.body)
	}
}

func TestFunctionRedirectFromKeyValueStore(t *testing.T) {
	o, seen := upstream(t, text("origin"))
	e := edgeFor(t, fmt.Sprintf(`
limits: {function_time: 1s}
key_value_stores:
  redirects: {file: redirects.json}
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o, functions: {viewer_request: redirect.js, key_value_store: redirects}}
`, o.URL), map[string]string{
		"redirects.json": `{"data": [{"key": "/old", "value": "https://example.org/new"}]}`,
		"redirect.js": `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
    if (await kvs.exists(event.request.uri)) {
        return {statusCode: 301, statusDescription: 'Moved', headers: {location: {value: await kvs.get(event.request.uri)}}, body: 'moved'};
    }
    return event.request;
}`,
	})
	r := get(t, e.URL+"/old")
	if r.StatusCode != 301 || r.Header.Get("Location") != "https://example.org/new" || r.body != "moved" || seen.count() != 0 {
		t.Errorf("redirect: %d %q %q, origin asked %d times", r.StatusCode, r.Header.Get("Location"), r.body, seen.count())
	}
	if r := get(t, e.URL+"/other"); r.StatusCode != 200 || seen.count() != 1 {
		t.Errorf("other: %d", r.StatusCode)
	}
}

// limits.function_time is the budget a function runs under.
func TestFunctionTimeLimit(t *testing.T) {
	o, _ := upstream(t, text("origin"))
	e := edgeFor(t, fmt.Sprintf(`
limits: {function_time: 150ms}
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    behaviors:
      - {path_pattern: "/loop", target_origin: o, functions: {viewer_request: loop.js}}
      - {path_pattern: "/busy", target_origin: o, max_ttl: 0, functions: {viewer_request: busy.js}}
    default_behavior: {target_origin: o}
`, o.URL), map[string]string{
		"loop.js": `function handler(e) { for (;;) {} }`,
		// 60 ms of work: past the default 20 ms, within 150 ms.
		"busy.js": `function handler(e) { var end = Date.now() + 60; while (Date.now() < end) {} return e.request; }`,
	})
	start := time.Now()
	if r := get(t, e.URL+"/loop"); r.StatusCode != http.StatusServiceUnavailable || time.Since(start) < 150*time.Millisecond || time.Since(start) > 2*time.Second {
		t.Errorf("loop: %d after %v", r.StatusCode, time.Since(start))
	}
	if r := get(t, e.URL+"/busy"); r.StatusCode != 200 {
		t.Errorf("60 ms of work under a 150 ms budget: %d", r.StatusCode)
	}
}
