package edge

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/accesslog"
	"github.com/edgefront/edgefront/internal/cache"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/logtest"
)

// observedEdge runs yaml with an access log, and returns the edge's URL
// and a function that closes the log and returns its lines as fields.
func observedEdge(t *testing.T, yaml string) (string, func() [][]string) {
	t.Helper()
	url, logged := loggedEdge(t, yaml, "cloudfront")
	return url, func() [][]string {
		b := logged()
		var lines [][]string
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if !strings.HasPrefix(line, "#") {
				lines = append(lines, strings.Split(line, "\t"))
			}
		}
		if !strings.HasPrefix(string(b), accesslog.Header) {
			t.Errorf("the log does not start with CloudFront's header lines:\n%.200s", b)
		}
		return lines
	}
}

// loggedEdge runs yaml with an access log in format, and returns the
// edge's URL and a function that stops the edge, closes the log and
// returns what it holds.
func loggedEdge(t *testing.T, yaml, format string) (string, func() []byte) {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Parse(filepath.Join(dir, "edgefront.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "access.log")
	l, err := accesslog.Open(path, format, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Cache.Sizes()
	rt, err := Compile(cfg, Options{Log: logtest.New(t), Cache: cache.New(cache.NewMemory(uint64(s.Memory)), s.MaxObject, nil),
		Observer: &Observer{Log: l, Location: "TST1"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(func() { srv.Close(); rt.Close() })
	return srv.URL, func() []byte {
		srv.Close()
		l.Close()
		b, _ := os.ReadFile(path)
		return b
	}
}

func fieldOf(f []string, name string) string {
	for i, n := range strings.Fields(accesslog.Fields) {
		if n == name {
			return f[i]
		}
	}
	panic(name)
}

func TestAccessLogLinesAsCloudFront(t *testing.T) {
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "0123456789")
	})
	e, lines := observedEdge(t, fmt.Sprintf(`
trusted_proxies: [127.0.0.1]
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
`, o.URL))
	ua := "Mozilla/5.0 (X11; Linux x86_64)"
	do(t, "GET", e+"/docs/a%20b?q=1&x=%7C", map[string]string{"User-Agent": ua, "X-Forwarded-For": "203.0.113.9", "Host": "www.example.com"})
	do(t, "GET", e+"/docs/a%20b?q=1&x=%7C", map[string]string{"User-Agent": ua, "Range": "bytes=2-5", "Host": "www.example.com"})
	do(t, "DELETE", e+"/", nil)
	got := lines()
	if len(got) != 3 {
		t.Fatalf("%d lines for 3 requests: %q", len(got), got)
	}
	for _, f := range got {
		if len(f) != 33 {
			t.Fatalf("%d fields: %q", len(f), f)
		}
	}
	first, second := got[0], got[1]
	for name, want := range map[string]string{
		"x-edge-location": "TST1", "c-ip": "203.0.113.9", "cs-method": "GET", "cs(Host)": "main",
		"cs-uri-stem": "/docs/a%2520b", "sc-status": "200", "cs(User-Agent)": "Mozilla/5.0%20(X11;%20Linux%20x86_64)",
		"cs-uri-query": "q=1&x=%257C", "x-edge-result-type": "Miss", "x-host-header": "www.example.com",
		"cs-protocol": "http", "x-forwarded-for": "203.0.113.9", "cs-protocol-version": "HTTP/1.1",
		"sc-content-type": "text/plain", "sc-content-len": "10", "ssl-protocol": "-", "cs(Referer)": "-",
	} {
		if g := fieldOf(first, name); g != want {
			t.Errorf("%s = %q, want %q", name, g, want)
		}
	}
	if fieldOf(first, "x-edge-request-id") == "-" || fieldOf(first, "sc-bytes") < "100" || fieldOf(first, "date") != time.Now().UTC().Format("2006-01-02") {
		t.Errorf("first line %q", first)
	}
	for name, want := range map[string]string{
		"x-edge-result-type": "Hit", "sc-status": "206", "sc-range-start": "2", "sc-range-end": "5", "c-ip": "127.0.0.1", "x-forwarded-for": "-",
	} {
		if g := fieldOf(second, name); g != want {
			t.Errorf("second line: %s = %q, want %q", name, g, want)
		}
	}
	if f := got[2]; fieldOf(f, "sc-status") != "403" || fieldOf(f, "x-edge-result-type") != "Error" || fieldOf(f, "cs-method") != "DELETE" {
		t.Errorf("a method refused: %q", f)
	}
}

func TestBodyLimitsAndSlowBodies(t *testing.T) {
	var got atomic.Int64
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return
		}
		got.Add(1)
		fmt.Fprintf(w, "read %d", n)
	})
	e := edgeFor(t, fmt.Sprintf(`
limits: {client_body_timeout: 300ms}
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o, allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE], max_body_size: 1KiB}
`, o.URL), nil)
	post := func(body io.Reader, length int64) (int, string) {
		req, _ := http.NewRequest("POST", e.URL+"/upload", body)
		req.ContentLength = length
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if s, b := post(strings.NewReader(strings.Repeat("x", 1024)), 1024); s != 200 || b != "read 1024" {
		t.Errorf("1 KiB body: %d %q", s, b)
	}
	if s, b := post(strings.NewReader(strings.Repeat("x", 1025)), 1025); s != 413 || !strings.Contains(b, "larger than 1024 bytes") {
		t.Errorf("declared 1025 bytes: %d %q", s, b)
	}
	if s, b := post(io.MultiReader(strings.NewReader(strings.Repeat("x", 4096))), -1); s != 413 {
		t.Errorf("4 KiB chunked: %d %q", s, b)
	}
	// A body that stalls gets 408 once client_body_timeout passes.
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("abc"))
		time.Sleep(2 * time.Second)
		pw.Close()
	}()
	start := time.Now()
	if s, b := post(pr, 10); s != http.StatusRequestTimeout || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("a stalled body: %d %q after %v", s, b, time.Since(start))
	}
	if got.Load() != 1 {
		t.Errorf("the origin finished reading %d bodies, want only the allowed one", got.Load())
	}
}

func TestForwardedForWithTrustedProxies(t *testing.T) {
	o, seen := upstream(t, text("ok"))
	for _, c := range []struct{ trusted, want string }{
		{"", "203.0.113.9, 127.0.0.1"},                               // as CloudFront: kept, the peer appended
		{"trusted_proxies: [127.0.0.1]\n", "203.0.113.9, 127.0.0.1"}, // from a trusted proxy: kept
		{"trusted_proxies: [10.0.0.0/8]\n", "127.0.0.1"},             // from anyone else: only the peer
	} {
		// Passed through, and as a cache fill.
		e := edgeFor(t, c.trusted+fmt.Sprintf(`distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    behaviors: [{path_pattern: "/cached/*", target_origin: o}]
    default_behavior: {target_origin: o, max_ttl: 0, default_ttl: 0}
`, o.URL), nil)
		for _, path := range []string{"/", "/cached/x"} {
			do(t, "GET", e.URL+path, map[string]string{"X-Forwarded-For": "203.0.113.9"})
			if got := strings.Join(seen.last(t).Header.Values("X-Forwarded-For"), ", "); got != c.want {
				t.Errorf("%q %s: the origin got X-Forwarded-For %q, want %q", c.trusted, path, got, c.want)
			}
		}
	}
}

// TestOutcomesInLogAndHeader checks that each outcome the edge reaches is
// the X-Cache it sends and the x-edge-result-type it logs.
func TestOutcomesInLogAndHeader(t *testing.T) {
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/teapot" {
			http.Error(w, "no", http.StatusTeapot)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "body")
	})
	e, lines := observedEdge(t, fmt.Sprintf(`
trusted_proxies: [127.0.0.1]
distributions:
  - name: main
    aliases: [main.example]
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
    rate_limit: {requests_per_second: 1, burst: 4}
`, o.URL))
	cases := []struct {
		host, path, xcache, result string
	}{
		{"main.example", "/a", "Miss from edgefront", "Miss"},
		{"main.example", "/a", "Hit from edgefront", "Hit"},
		{"main.example", "/teapot", "Miss from edgefront", "Miss"}, // the origin's error, passed on
		{"main.example", "/%2e%2e/x", "Error from edgefront", "Error"},
		{"main.example", "/b", "Miss from edgefront", "Miss"},
		{"main.example", "/c", "Error from edgefront", "LimitExceeded"}, // the fifth through the limit
	}
	ids := map[string]int{}
	for i, c := range cases {
		req, _ := http.NewRequest("GET", e+c.path, nil)
		req.Host = c.host
		req.Header.Set("X-Forwarded-For", "198.51.100.7")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ids[resp.Header.Get("X-Edge-Request-Id")] = i
		if got := resp.Header.Get("X-Cache"); got != c.xcache {
			t.Errorf("%s%s: X-Cache %q, want %q", c.host, c.path, got, c.xcache)
		}
	}
	got := lines()
	if len(got) != len(cases) {
		t.Fatalf("%d lines for %d requests", len(got), len(cases))
	}
	for _, f := range got {
		i, ok := ids[fieldOf(f, "x-edge-request-id")]
		if !ok {
			t.Fatalf("a line for a request not made: %q", f)
		}
		c := cases[i]
		if r := fieldOf(f, "x-edge-result-type"); r != c.result {
			t.Errorf("%s%s: logged %q, want %q", c.host, c.path, r, c.result)
		}
	}
	// Redirects need an HTTPS listener: TestViewerProtocolPolicies.
	if r := outcomeRedirect.result(301); r != "Redirect" {
		t.Errorf("a redirect's result type is %q", r)
	}
}

// The JSON access log names the cache tags of the object a request was
// answered from or filled.
func TestAccessLogCacheTags(t *testing.T) {
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("X-Amz-Meta-Cache-Tag", "Product:TV, brand:x")
		fmt.Fprint(w, "tagged")
	})
	e, logged := loggedEdge(t, fmt.Sprintf(`
distributions:
  - name: main
    cache_tag_header: x-amz-meta-cache-tag
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
`, o.URL), "json")
	get(t, e+"/a")
	get(t, e+"/a")
	b := logged()
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), b)
	}
	for i, want := range []string{"Miss", "Hit"} {
		var e struct {
			Result string   `json:"x-edge-result-type"`
			Tags   []string `json:"x-cache-tags"`
		}
		json.Unmarshal([]byte(lines[i]), &e)
		if e.Result != want || !slices.Equal(e.Tags, []string{"product:tv", "brand:x"}) {
			t.Errorf("line %d: %s %q, want %s with the tags", i, e.Result, e.Tags, want)
		}
	}
}
