package edge

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/cache"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/logtest"
)

// seen records what an origin received.
type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *seen) last(t *testing.T) *http.Request {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("the origin received no request")
	}
	return s.reqs[len(s.reqs)-1]
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// upstream starts a real HTTP origin on loopback that answers with h after
// recording the request.
func upstream(t *testing.T, h http.HandlerFunc) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Clone(r.Context()))
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

func text(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	}
}

// edgeFor compiles a config given as YAML (in a temporary directory, next
// to the files given) and serves it on a loopback listener.
func edgeFor(t *testing.T, yaml string, files map[string]string) *httptest.Server {
	t.Helper()
	srv, _ := edgeWithClock(t, yaml, files, nil)
	return srv
}

// edgeWithClock is edgeFor with the cache's clock, and returns the router.
func edgeWithClock(t testing.TB, yaml string, files map[string]string, now func() time.Time) (*httptest.Server, *Router) {
	t.Helper()
	srv, rt := unstartedEdge(t, yaml, files, now)
	srv.Start()
	return srv, rt
}

// h2EdgeFor is edgeFor on a TLS listener that speaks HTTP/2 (net/http's
// server, as the HTTPS listener's h2 connections are served); its
// Client() trusts it and speaks h2.
func h2EdgeFor(t *testing.T, yaml string, files map[string]string) *httptest.Server {
	t.Helper()
	srv, _ := unstartedEdge(t, yaml, files, nil)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	return srv
}

// unstartedEdge compiles yaml into a router behind a server not yet
// started, closed with the test.
func unstartedEdge(t testing.TB, yaml string, files map[string]string, now func() time.Time) (*httptest.Server, *Router) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse(filepath.Join(dir, "edgefront.yaml"), []byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	log := logtest.New(t)
	sizes := cfg.Cache.Sizes()
	rt, err := Compile(cfg, Options{Log: log, Cache: cache.New(cache.NewMemory(uint64(sizes.Memory)), sizes.MaxObject, now)})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	srv := httptest.NewUnstartedServer(rt)
	srv.Config.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	t.Cleanup(func() { srv.Close(); rt.Close() })
	return srv, rt
}

type resp struct {
	*http.Response
	body string
}

func do(t *testing.T, method, url string, header map[string]string) resp {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r, string(b)}
}

func get(t *testing.T, url string) resp { return do(t, "GET", url, nil) }

func wantStatus(t *testing.T, r resp, code int) {
	t.Helper()
	if r.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d; body %q", r.Request.Method, r.Request.URL, r.StatusCode, code, r.body)
	}
}

func TestRoutingOrderAndHeaders(t *testing.T) {
	api, apiSeen := upstream(t, text("api"))
	web, _ := upstream(t, text("web"))
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins:
      api: {type: http, url: %q}
      web: {type: http, url: %q}
    behaviors:
      - {path_pattern: "/api*", target_origin: api}
      - {path_pattern: "/*.js", target_origin: api}
    default_behavior: {target_origin: web}
`, api.URL, web.URL), nil)
	for path, want := range map[string]string{
		"/api": "api", "/api/notes/3": "api", "/apix": "api", "/app.js": "api",
		"/": "web", "/docs/3": "web", "/API/x": "web", "/js/app.js": "api",
	} {
		r := get(t, e.URL+path)
		wantStatus(t, r, 200)
		if r.body != want {
			t.Errorf("%s went to %q, want %q", path, r.body, want)
		}
		if got := r.Header.Get("X-Cache"); got != "Miss from edgefront" {
			t.Errorf("%s: X-Cache %q", path, got)
		}
		if got := r.Header.Get("Via"); got != "1.1 edgefront" {
			t.Errorf("%s: Via %q", path, got)
		}
		if id := r.Header.Get("X-Edge-Request-Id"); len(id) < 20 {
			t.Errorf("%s: X-Edge-Request-Id %q", path, id)
		}
	}
	// The path and query reach the origin as the viewer wrote them.
	get(t, e.URL+"/api/a%2Fb/c%20d?x=1&y=%2F")
	in := apiSeen.last(t)
	if in.URL.RawPath != "/api/a%2Fb/c%20d" && in.URL.EscapedPath() != "/api/a%2Fb/c%20d" {
		t.Errorf("origin path %q", in.URL.EscapedPath())
	}
	if in.URL.RawQuery != "x=1&y=%2F" {
		t.Errorf("origin query %q", in.URL.RawQuery)
	}
}

func TestHostSelectsDistribution(t *testing.T) {
	a, _ := upstream(t, text("a"))
	b, _ := upstream(t, text("b"))
	c, _ := upstream(t, text("c"))
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: one
    aliases: [my-project.example.org]
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
  - name: wild
    aliases: ["*.example.net"]
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
  - name: rest
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
`, a.URL, b.URL, c.URL), nil)
	for host, want := range map[string]string{
		"my-project.example.org": "a", "MY-PROJECT.example.org:8080": "a",
		"x.example.net": "b", "example.net": "c", "a.b.example.net": "c", "other": "c",
	} {
		if r := do(t, "GET", e.URL+"/", map[string]string{"Host": host}); r.body != want {
			t.Errorf("Host %s went to %q, want %q", host, r.body, want)
		}
	}
}

func TestForwardingPolicy(t *testing.T) {
	api, seen := upstream(t, text("ok"))
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins:
      api: {type: http, url: %q, custom_headers: {X-Origin-Verify: s3cr3t}}
      plain: {type: http, url: %q}
    behaviors:
      - path_pattern: "/api*"
        target_origin: api
        allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]
        forward: {headers: [referer, authorization, origin, accept, host], query_strings: [page, q], cookies: [session]}
      - path_pattern: "/none/*"
        target_origin: api
        forward: {headers: none, query_strings: none, cookies: none}
      - path_pattern: "/except/*"
        target_origin: api
        forward: {headers: {all_except: [host, x-secret-debug]}, query_strings: {all_except: [utm_source]}, cookies: {all_except: [tracking]}}
    default_behavior: {target_origin: plain}
`, api.URL, api.URL), nil)
	hdr := map[string]string{
		"Host": "my-project.example.org", "Authorization": "Bearer t", "Accept": "application/json",
		"X-Secret-Debug": "1", "Cookie": "session=abc; tracking=xyz", "User-Agent": "test-agent",
		"X-Forwarded-For": "203.0.113.9",
	}
	do(t, "GET", e.URL+"/api/notes?page=2&utm_source=x&q=a%20b", hdr)
	in := seen.last(t)
	if in.Host != "my-project.example.org" {
		t.Errorf("Host at origin %q, want the viewer's", in.Host)
	}
	for name, want := range map[string]string{
		"Authorization": "Bearer t", "Accept": "application/json", "X-Secret-Debug": "", "User-Agent": "",
		"Cookie": "session=abc", "X-Origin-Verify": "s3cr3t", "Via": "1.1 edgefront",
		"X-Forwarded-Host": "my-project.example.org", "X-Forwarded-Proto": "http",
		"X-Forwarded-For": "203.0.113.9, 127.0.0.1",
	} {
		if got := in.Header.Get(name); got != want {
			t.Errorf("origin got %s %q, want %q", name, got, want)
		}
	}
	if in.URL.RawQuery != "page=2&q=a%20b" {
		t.Errorf("query at origin %q", in.URL.RawQuery)
	}

	do(t, "GET", e.URL+"/none/x?a=1", hdr)
	in = seen.last(t)
	if in.Header.Get("Authorization") != "" || in.Header.Get("Cookie") != "" || in.URL.RawQuery != "" {
		t.Errorf("none forwarded: %v %q", in.Header, in.URL.RawQuery)
	}
	if !strings.HasPrefix(in.Host, "127.0.0.1:") {
		t.Errorf("Host at origin %q, want the origin's own", in.Host)
	}
	if in.Header.Get("X-Origin-Verify") != "s3cr3t" {
		t.Error("custom header missing")
	}

	// all_except (CloudFront's allExcept) forwards all but the names.
	do(t, "GET", e.URL+"/except/x?a=1&utm_source=x&b=2", hdr)
	in = seen.last(t)
	if in.Header.Get("X-Secret-Debug") != "" || in.Header.Get("User-Agent") != "test-agent" || in.Header.Get("Cookie") != "session=abc" || in.URL.RawQuery != "a=1&b=2" {
		t.Errorf("all_except forwarded: %v %q", in.Header, in.URL.RawQuery)
	}
	if !strings.HasPrefix(in.Host, "127.0.0.1:") {
		t.Errorf("Host at origin %q with host in all_except, want the origin's own", in.Host)
	}

	// Without a forward block everything end-to-end goes, Host excepted.
	do(t, "GET", e.URL+"/page?a=1", hdr)
	in = seen.last(t)
	if in.Header.Get("X-Secret-Debug") != "1" || in.Header.Get("Cookie") != "session=abc; tracking=xyz" || in.URL.RawQuery != "a=1" {
		t.Errorf("default forwarding dropped something: %v %q", in.Header, in.URL.RawQuery)
	}
	if in.Host == "my-project.example.org" {
		t.Error("default forwarding sent the viewer's Host")
	}
}

func TestStripPrefixAndOriginPath(t *testing.T) {
	stac, seen := upstream(t, text("stac"))
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins:
      stac: {type: http, url: %q}
      v1: {type: http, url: %q, path: /v1}
      files: {type: dir, root: ./public}
    behaviors:
      - {path_pattern: "/stac/*", target_origin: stac, strip_prefix: /stac}
      - {path_pattern: "/v/*", target_origin: v1, strip_prefix: /v}
      - {path_pattern: "/static/*", target_origin: files, strip_prefix: /static}
    default_behavior: {target_origin: files}
`, stac.URL, stac.URL), map[string]string{"public/app.js": "js", "public/static/x.txt": "unstripped"})
	cases := []struct{ path, want string }{
		{"/stac/collections", "/collections"},
		{"/stac/", "/"},
		{"/stac/a%2Fb?x=1", "/a%2Fb"},
		{"/v/items/3", "/v1/items/3"},
	}
	for _, c := range cases {
		get(t, e.URL+c.path)
		if got := seen.last(t).URL.EscapedPath(); got != c.want {
			t.Errorf("%s reached the origin as %s, want %s", c.path, got, c.want)
		}
	}
	if r := get(t, e.URL+"/static/app.js"); r.body != "js" {
		t.Errorf("dir origin with strip_prefix: %d %q", r.StatusCode, r.body)
	}
}

func TestAllowedMethods(t *testing.T) {
	api, seen := upstream(t, text("ok"))
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {api: {type: http, url: %q}}
    behaviors:
      - {path_pattern: "/api*", target_origin: api, allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]}
    default_behavior: {target_origin: api}
`, api.URL), nil)
	wantStatus(t, do(t, "POST", e.URL+"/api/notes", nil), 200)
	wantStatus(t, do(t, "DELETE", e.URL+"/api/notes/1", nil), 200)
	n := seen.count()
	r := do(t, "POST", e.URL+"/index.html", nil)
	wantStatus(t, r, 403)
	if r.Header.Get("X-Cache") != "Error from edgefront" || !strings.Contains(r.body, "method POST is not allowed") {
		t.Errorf("403: %v %q", r.Header, r.body)
	}
	wantStatus(t, do(t, "PROPFIND", e.URL+"/api/x", nil), 403)
	if seen.count() != n {
		t.Error("a refused method reached the origin")
	}
	wantStatus(t, do(t, "HEAD", e.URL+"/", nil), 200)
}

func TestRequestBodyStreamsToOrigin(t *testing.T) {
	got := make(chan string, 1)
	api, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Header.Get("Content-Type") + " " + string(b)
		w.WriteHeader(201)
	})
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {api: {type: http, url: %q}}
    behaviors:
      - path_pattern: "/api*"
        target_origin: api
        allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]
        forward: {headers: [authorization]}
    default_behavior: {target_origin: api}
`, api.URL), nil)
	resp, err := http.Post(e.URL+"/api/notes", "application/json", strings.NewReader(`{"title":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || <-got != `application/json {"title":"x"}` {
		t.Errorf("POST body or type did not reach the origin (status %d)", resp.StatusCode)
	}
}

func TestResponseStreamsWithoutBuffering(t *testing.T) {
	release := make(chan struct{})
	api, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: second\n\n")
	})
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {api: {type: http, url: %q}}
    default_behavior: {target_origin: api}
`, api.URL), nil)
	resp, err := http.Get(e.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event not streamed before the origin finished: %q %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "second") {
		t.Errorf("rest %q", rest)
	}
}

func TestWebSocketUpgradePassesThrough(t *testing.T) {
	api, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want upgrade", 400)
			return
		}
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		line, _ := rw.ReadString('\n')
		rw.WriteString("echo " + line)
		rw.Flush()
	})
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {api: {type: http, url: %q}}
    default_behavior: {target_origin: api}
`, api.URL), nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	fmt.Fprintf(conn, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo hello\n" {
		t.Errorf("through the tunnel: %q %v", line, err)
	}
}

// A large file from a dir origin goes to the viewer whole, with and without
// a range, and HEAD gets its length without a body.
func TestDirOriginLargeFile(t *testing.T) {
	big := make([]byte, 2<<20+7)
	for i := range big {
		big[i] = byte(i % 251)
	}
	e := edgeFor(t, `
distributions:
  - name: main
    origins: {files: {type: dir, root: ./files}}
    default_behavior: {target_origin: files}
`, map[string]string{"files/big.bin": string(big)})
	for i := 0; i < 3; i++ {
		if r := get(t, e.URL+"/big.bin"); r.StatusCode != 200 || r.body != string(big) || r.Header.Get("ETag") == "" {
			t.Fatalf("round %d: %d, %d bytes", i, r.StatusCode, len(r.body))
		}
	}
	if r := do(t, "GET", e.URL+"/big.bin", map[string]string{"Range": "bytes=1000-1009"}); r.StatusCode != 206 || r.body != string(big[1000:1010]) {
		t.Errorf("range: %d %q", r.StatusCode, r.body)
	}
	if r := do(t, "HEAD", e.URL+"/big.bin", nil); r.StatusCode != 200 || r.body != "" || r.Header.Get("Content-Length") != fmt.Sprint(len(big)) {
		t.Errorf("HEAD: %d %q %v", r.StatusCode, r.body, r.Header)
	}
}
