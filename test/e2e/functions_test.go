package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/geotest"
)

// The functions of a distribution, each in the shape of AWS's examples
// (a token checked with crypto and a key value store, a query string
// normalised for the cache key, security headers on the answer, an origin
// chosen by the viewer's country, a single-page app's routes), run by the
// built binary and, the same files, by edgefront function test.
var e2eFunctions = map[string]string{
	"jwt.js": `import crypto from 'crypto';
import cf from 'cloudfront';
const store = cf.kvs();
function b64url(s) { return Buffer.from(s, 'base64url'); }
async function handler(event) {
    const request = event.request;
    const denied = {statusCode: 401, statusDescription: 'Unauthorized', headers: {'www-authenticate': {value: 'Bearer'}}};
    if (!request.querystring.token) {
        return denied;
    }
    const parts = request.querystring.token.value.split('.');
    if (parts.length !== 3) {
        return denied;
    }
    const secret = await store.get('token.secret');
    const want = crypto.createHmac('sha256', secret).update(parts[0] + '.' + parts[1]).digest('base64url');
    if (want !== parts[2]) {
        return denied;
    }
    const claims = JSON.parse(b64url(parts[1]));
    if (claims.exp && Date.now() > claims.exp * 1000) {
        return denied;
    }
    delete request.querystring.token;
    request.headers['x-subject'] = {value: claims.sub};
    return request;
}`,
	"normalize.js": `function handler(event) {
    const q = event.request.querystring;
    const parts = [];
    for (const name in q) {
        const values = q[name].multiValue ? q[name].multiValue.map(v => v.value) : [q[name].value];
        values.forEach(v => parts.push(name.toLowerCase() + '=' + v));
    }
    event.request.querystring = parts.sort().join('&');
    return event.request;
}`,
	"security.js": `async function handler(event) {
    const headers = event.response.headers;
    headers['strict-transport-security'] = {value: 'max-age=63072000; includeSubDomains'};
    headers['x-content-type-options'] = {value: 'nosniff'};
    headers['x-frame-options'] = {value: 'DENY'};
    delete headers['x-powered-by'];
    return event.response;
}`,
	"route.js": `import cf from 'cloudfront';
function handler(event) {
    const request = event.request;
    const country = request.headers['cloudfront-viewer-country'];
    if (country && ['DE', 'FR', 'IE'].includes(country.value)) {
        cf.selectRequestOriginById('eu');
    }
    request.headers['true-client-ip'] = {value: event.viewer.ip};
    return request;
}`,
	"spa.js": `function handler(event) {
    const request = event.request;
    if (!request.uri.split('/').pop().includes('.')) {
        request.uri = '/app/index.html';
    }
    return request;
}`,
}

func TestFunctionsThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	origin := func(name string) string {
		ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Powered-By", "origin")
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprintf(w, "%s %s?%s subject=%s client=%s", name, r.URL.Path, r.URL.RawQuery, r.Header.Get("X-Subject"), r.Header.Get("True-Client-Ip"))
		})
		return "http://" + ln.Addr().String()
	}
	for name, src := range e2eFunctions {
		os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "kvs.json"), []byte(`{"data": [{"key": "token.secret", "value": "k3y"}]}`), 0o644)
	geotest.Countries(t, filepath.Join(dir, "countries.mmdb"), map[string]string{"127.0.0.0/8": "DE"})
	addr := freeAddr(t)
	os.WriteFile(filepath.Join(dir, "edgefront.yaml"), fmt.Appendf(nil, `listen: {http: %q}
geoip: {database: countries.mmdb}
key_value_stores:
  secrets: {file: kvs.json}
distributions:
  - name: main
    origins:
      www: {type: http, url: %q}
      eu: {type: http, url: %q}
    behaviors:
      - {path_pattern: "/private/*", target_origin: www, max_ttl: 0, functions: {viewer_request: jwt.js, key_value_store: secrets}}
      - {path_pattern: "/search", target_origin: www, functions: {viewer_request: normalize.js}}
      - path_pattern: "/geo/*"
        target_origin: www
        max_ttl: 0
        forward: {headers: [cloudfront-viewer-country, true-client-ip]}
        functions: {viewer_request: route.js}
      - {path_pattern: "/app/*", target_origin: www, functions: {viewer_request: spa.js}}
    default_behavior: {target_origin: www, functions: {viewer_response: security.js}}
`, addr, origin("www"), origin("eu")), 0o644)
	if out, err := exec.Command(binary, "validate", "-c", filepath.Join(dir, "edgefront.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	p := startBinary(t, "edgefront serving", "serve", "-c", filepath.Join(dir, "edgefront.yaml"))
	defer p.stop(t)
	get := func(path string) (*http.Response, string) { return send(t, "GET", "http://"+addr+path, nil) }

	token := signToken("k3y", `{"sub":"ada","exp":4102444800}`)
	if r, body := get("/private/report?token=" + token + "&page=2"); r.StatusCode != 200 || body != "www /private/report?page=2 subject=ada client=" {
		t.Errorf("a valid token: %d %q", r.StatusCode, body)
	}
	for _, bad := range []string{"", "?token=" + token[:len(token)-2] + "xx", "?token=" + signToken("k3y", `{"sub":"ada","exp":1}`)} {
		if r, body := get("/private/report" + bad); r.StatusCode != 401 || r.Header.Get("Www-Authenticate") != "Bearer" {
			t.Errorf("token %q: %d %q", bad, r.StatusCode, body)
		}
	}

	if r, body := get("/search?b=2&A=1"); r.StatusCode != 200 || body != "www /search?a=1&b=2 subject= client=" {
		t.Errorf("normalised query: %q", body)
	}
	if r, _ := get("/search?A=1&b=2"); r.Header.Get("X-Cache") != "Hit from edgefront" {
		t.Errorf("the same parameters in another order: %s, want a hit", r.Header.Get("X-Cache"))
	}

	if r, body := get("/geo/x"); body != "eu /geo/x? subject= client=127.0.0.1" {
		t.Errorf("origin by country: %d %q", r.StatusCode, body)
	}

	if _, body := get("/app/settings/profile"); body != "www /app/index.html? subject= client=" {
		t.Errorf("single-page app route: %q", body)
	}
	if _, body := get("/app/main.js"); body != "www /app/main.js? subject= client=" {
		t.Errorf("single-page app file: %q", body)
	}

	r, _ := get("/page")
	if r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("Strict-Transport-Security") == "" || r.Header.Get("X-Powered-By") != "" {
		t.Errorf("viewer response: %v", r.Header)
	}

	// The same files, on their own, as aws cloudfront test-function.
	for _, c := range []struct{ fn, event, want string }{
		{"jwt.js", `"querystring": {"token": {"value": "` + token + `"}}`, `"x-subject": {`},
		{"jwt.js", `"querystring": {}`, `"statusCode": 401`},
		{"normalize.js", `"querystring": {"z": {"value": "1"}, "a": {"value": "2", "multiValue": [{"value": "2"}, {"value": "1"}]}}`, `"querystring": "a=1&a=2&z=1"`},
		{"spa.js", `"uri": "/app/x"`, `"uri": "/app/index.html"`},
	} {
		ev := filepath.Join(dir, "event.json")
		os.WriteFile(ev, []byte(`{"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "192.0.2.1"},
  "request": {"method": "GET", "uri": "/private/x", "headers": {"host": {"value": "d.example"}}, "cookies": {}, `+c.event+`}}`), 0o644)
		out, err := exec.Command(binary, "function", "test", filepath.Join(dir, c.fn), ev, "--kvs", filepath.Join(dir, "kvs.json")).Output()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("function test %s: %v\n%s", c.fn, err, out)
		}
	}
}

// signToken makes an HS256 JSON Web Token.
func signToken(secret, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	signed := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signed))
	return signed + "." + enc(mac.Sum(nil))
}

// A custom response headers policy and an origin group that fails over on
// a status, through the built binary.
func TestResponseHeadersAndOriginGroupThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	var asked atomic.Int32
	primary := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if strings.HasPrefix(r.URL.Path, "/down/") {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-Powered-By", "origin")
		w.Header().Set("Access-Control-Allow-Origin", "https://evil.example")
		fmt.Fprintf(w, "primary %s", r.URL.Path)
	})
	secondary := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		fmt.Fprintf(w, "secondary %s", r.URL.Path)
	})
	addr := freeAddr(t)
	os.WriteFile(filepath.Join(dir, "edgefront.yaml"), fmt.Appendf(nil, `listen: {http: %q}
distributions:
  - name: main
    origins:
      a: {type: http, url: "http://%s"}
      b: {type: http, url: "http://%s"}
      site: {type: group, primary: a, secondary: b, failover_status_codes: [503]}
    default_behavior:
      target_origin: site
      max_ttl: 0
      allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]
      response_headers:
        cors:
          allow_origins: [https://app.example]
          allow_methods: [GET, POST]
          allow_headers: [content-type]
          max_age: 600
          origin_override: true
          answer_preflight: true
        security:
          strict_transport_security: max-age=31536000
          frame_options: {value: SAMEORIGIN, override: false}
        custom: [{header: X-Served-By, value: edgefront}]
        remove: [X-Powered-By]
`, addr, primary.Addr(), secondary.Addr()), 0o644)
	p := startBinary(t, "edgefront serving", "serve", "-c", filepath.Join(dir, "edgefront.yaml"))
	defer p.stop(t)
	do := func(method, path string, h map[string]string) (*http.Response, string) {
		return send(t, method, "http://"+addr+path, h)
	}
	r, body := do("GET", "/page", map[string]string{"Origin": "https://app.example"})
	if body != "primary /page" || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		r.Header.Get("Strict-Transport-Security") != "max-age=31536000" || r.Header.Get("X-Frame-Options") != "SAMEORIGIN" ||
		r.Header.Get("X-Served-By") != "edgefront" || r.Header.Get("X-Powered-By") != "" {
		t.Errorf("policy on an origin's answer: %q %v", body, r.Header)
	}
	before := asked.Load()
	r, _ = do("OPTIONS", "/page", map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
	if r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Methods") != "GET, POST" ||
		r.Header.Get("Access-Control-Max-Age") != "600" || asked.Load() != before {
		t.Errorf("preflight at the edge: %d %v, origins asked %d times", r.StatusCode, r.Header, asked.Load()-before)
	}
	if r, body := do("GET", "/down/x", nil); r.StatusCode != 200 || body != "secondary /down/x" {
		t.Errorf("failover on 503: %d %q", r.StatusCode, body)
	}
	// A POST does not fail over, as on CloudFront: the primary's 503 stands.
	if r, _ := do("POST", "/down/x", nil); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST: %d, want the primary's 503", r.StatusCode)
	}
}

// Functions that loop forever, make something huge in one step or recurse
// without end, called by many viewers at once: each gets a quick 503, the
// ordinary viewer beside them is served throughout, and the process stays
// small.
func TestHostileFunctionsThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	o := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	hostile := map[string]string{
		"loop.js":    `function handler(e) { for (;;) {} }`,
		"fill.js":    `function handler(e) { new Array(2e8).fill(1); return e.request; }`,
		"repeat.js":  `function handler(e) { var s = 'x'.repeat(1e9); return e.request; }`,
		"sparse.js":  `function handler(e) { var a = []; a.length = 2e9; a.forEach(function () {}); return e.request; }`,
		"recurse.js": `function f(n) { return f(n + 1) + 1; } function handler(e) { return f(0); }`,
		"grow.js":    `function handler(e) { var a = []; for (;;) { a.push('x'.repeat(1000)); } }`,
	}
	var behaviors strings.Builder
	for name, src := range hostile {
		os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644)
		fmt.Fprintf(&behaviors, "      - {path_pattern: \"/%s\", target_origin: o, max_ttl: 0, functions: {viewer_request: %s}}\n", strings.TrimSuffix(name, ".js"), name)
	}
	addr := freeAddr(t)
	os.WriteFile(filepath.Join(dir, "edgefront.yaml"), fmt.Appendf(nil, `listen: {http: %q}
distributions:
  - name: main
    origins: {o: {type: http, url: "http://%s"}}
    behaviors:
%s    default_behavior: {target_origin: o, max_ttl: 0}
`, addr, o.Addr(), behaviors.String()), 0o644)
	p := startBinary(t, "edgefront serving", "serve", "-c", filepath.Join(dir, "edgefront.yaml"))
	defer p.stop(t)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for name := range hostile {
		for range 4 {
			wg.Go(func() {
				for i := 0; i < 10; i++ {
					start := time.Now()
					r, _ := send(t, "GET", "http://"+addr+"/"+strings.TrimSuffix(name, ".js"), nil)
					if r.StatusCode != http.StatusServiceUnavailable || time.Since(start) > 3*time.Second {
						t.Errorf("%s: %d after %v", name, r.StatusCode, time.Since(start))
					}
				}
			})
		}
	}
	var served, slow atomic.Int32
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			start := time.Now()
			if r, body := send(t, "GET", "http://"+addr+"/plain", nil); r.StatusCode == 200 && body == "ok" {
				served.Add(1)
			}
			if time.Since(start) > time.Second {
				slow.Add(1)
			}
		}
	}()
	wg.Wait()
	close(stop)
	if served.Load() == 0 || slow.Load() > 0 {
		t.Errorf("the ordinary viewer: %d served, %d waited more than a second", served.Load(), slow.Load())
	}
	rss := peakRSS(t, p.cmd.Process.Pid)
	if rss > 400<<20 {
		t.Errorf("the process grew to %d MiB", rss>>20)
	}
	t.Logf("240 hostile invocations; the ordinary viewer served %d times; peak RSS %d MiB", served.Load(), rss>>20)
}

// peakRSS is a process's peak resident set size.
func peakRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
