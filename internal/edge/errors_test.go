package edge

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The seed's case: a browser's deep link gets the app, a script's request
// to the API gets the API's own 404 JSON.
func TestErrorPagesScopedToBehaviorAndAccept(t *testing.T) {
	api, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		fmt.Fprint(w, `{"detail":"Record not found"}`)
	})
	broken, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusServiceUnavailable) })
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    default_root_object: index.html
    origins:
      api: {type: http, url: %q}
      broken: {type: http, url: %q}
      website: {type: dir, root: ./site}
    behaviors:
      - {path_pattern: "/api*", target_origin: api}
      - {path_pattern: "/report*", target_origin: broken}
    default_behavior:
      target_origin: website
      error_responses:
        - {error_code: 404, when_accept: text/html, response_page_path: /index.html, response_code: 200}
    custom_error_responses:
      - {error_code: 503, response_page_path: /errors/503.html, response_code: 503}
`, api.URL, broken.URL), map[string]string{
		"site/index.html":       "<html>app</html>",
		"site/errors/503.html":  "<html>maintenance</html>",
		"site/assets/style.css": "body{}",
	})
	browser := map[string]string{"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
	script := map[string]string{"Accept": "*/*"}

	r := do(t, "GET", e.URL+"/docs/3", browser)
	wantStatus(t, r, 200)
	if r.body != "<html>app</html>" || r.Header.Get("X-Cache") != "Error from edgefront" {
		t.Errorf("deep link: %q %v", r.body, r.Header)
	}
	r = do(t, "GET", e.URL+"/docs/3", script)
	wantStatus(t, r, 404)
	if r.body == "<html>app</html>" {
		t.Error("a script's 404 was answered with the app")
	}
	r = do(t, "GET", e.URL+"/api/notes/42", browser)
	wantStatus(t, r, 404)
	if r.body != `{"detail":"Record not found"}` || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("the API's 404 was replaced: %q", r.body)
	}
	r = do(t, "GET", e.URL+"/report", script)
	wantStatus(t, r, 503)
	if r.body != "<html>maintenance</html>" {
		t.Errorf("distribution error page: %q", r.body)
	}
	r = get(t, e.URL+"/")
	if r.body != "<html>app</html>" {
		t.Errorf("default_root_object: %d %q", r.StatusCode, r.body)
	}
	if r := get(t, e.URL+"/assets/style.css"); r.body != "body{}" {
		t.Errorf("asset: %q", r.body)
	}
}

func TestAcceptsExplicitly(t *testing.T) {
	for _, c := range []struct {
		accept, want string
		ok           bool
	}{
		{"text/html,application/xhtml+xml,*/*;q=0.8", "text/html", true},
		{"*/*", "text/html", false},
		{"", "text/html", false},
		{"application/json", "text/html", false},
		{"text/*", "text/html", true},
		{"text/html;q=0", "text/html", false},
		{"TEXT/HTML", "text/html", true},
		{"image/png", "image/*", true},
	} {
		if got := acceptsExplicitly(c.accept, c.want); got != c.ok {
			t.Errorf("acceptsExplicitly(%q, %q) = %v", c.accept, c.want, got)
		}
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("cannot count file descriptors: %v", err)
	}
	return len(entries)
}

// settle waits for goroutines and descriptors to come back to a baseline.
func settle(t *testing.T, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines && f <= fds {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: %d goroutines (were %d), %d fds (were %d)\n%s", g, goroutines, f, fds, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refusedURL is an http:// URL with nothing listening behind it: a port
// held, bound but not listening, until the test ends, so that no other
// test running meanwhile can take it.
func refusedURL(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// hangingAddr is the address of a server that accepts connections and never
// answers; it closes each when the other side gives up.
func hangingAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func TestOriginFailuresAnswerCleanlyAndLeakNothing(t *testing.T) {
	refused, hang := refusedURL(t), hangingAddr(t)
	// A server that sends half a body, then hangs up.
	cut, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("partial"))
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
	})
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins:
      refused: {type: http, url: %q}
      hang: {type: http, url: "http://%s", read_timeout: 200ms}
      cut: {type: http, url: %q}
    behaviors:
      - {path_pattern: "/refused*", target_origin: refused}
      - {path_pattern: "/hang*", target_origin: hang}
    default_behavior: {target_origin: cut}
`, refused, hang, cut.URL), nil)
	http.DefaultClient.Get(e.URL + "/refused") // warm up the client's pools
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	g0, f0 := runtime.NumGoroutine(), openFDs(t)

	for i := 0; i < 20; i++ {
		r := get(t, e.URL+"/refused")
		wantStatus(t, r, 502)
		if r.Header.Get("X-Cache") != "Error from edgefront" || !strings.Contains(r.body, "could not be reached") || len(r.body) > 200 {
			t.Fatalf("502: %v %q", r.Header, r.body)
		}
	}
	for i := 0; i < 5; i++ {
		r := get(t, e.URL+"/hang")
		wantStatus(t, r, 504)
		if r.Header.Get("X-Cache") != "Error from edgefront" || !strings.Contains(r.body, "did not answer in time") {
			t.Fatalf("504: %v %q", r.Header, r.body)
		}
	}
	for i := 0; i < 5; i++ {
		resp, err := http.Get(e.URL + "/cut")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Fatal("a body cut short by the origin reached the viewer as complete")
		}
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	settle(t, g0, f0)
}

func TestEdgeErrorsUseErrorPagesAndNegotiate(t *testing.T) {
	refused := refusedURL(t)
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins:
      down: {type: http, url: %q}
      site: {type: dir, root: ./site}
    behaviors:
      - {path_pattern: "/down/*", target_origin: down}
      - {path_pattern: "/plain/*", target_origin: down}
      - path_pattern: "/scoped/*"
        target_origin: down
        error_responses: [{error_code: 502, response_page_path: /errors/scoped.html, response_code: 503}]
    default_behavior: {target_origin: site}
    custom_error_responses:
      - {error_code: 502, response_page_path: /errors/502.html}
`, refused), map[string]string{"site/errors/502.html": "sorry", "site/errors/scoped.html": "scoped"})
	r := get(t, e.URL+"/down/x")
	wantStatus(t, r, 502)
	if r.body != "sorry" || r.Header.Get("X-Cache") != "Error from edgefront" {
		t.Errorf("distribution page for an edge 502: %q %v", r.body, r.Header)
	}
	r = get(t, e.URL+"/scoped/x")
	wantStatus(t, r, 503)
	if r.body != "scoped" {
		t.Errorf("behavior page for an edge 502: %q", r.body)
	}
	// Without a page rule that fits, the built-in page speaks the
	// viewer's language: HTML for a browser, a line of text otherwise.
	e2 := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {down: {type: http, url: %q}}
    default_behavior: {target_origin: down}
`, refused), nil)
	r = do(t, "GET", e2.URL+"/", map[string]string{"Accept": "text/html"})
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, "<h1>502 Bad Gateway</h1>") || !strings.Contains(r.body, r.Header.Get("X-Edge-Request-Id")) {
		t.Errorf("HTML error page: %v %q", r.Header, r.body)
	}
	r = do(t, "GET", e2.URL+"/", map[string]string{"Accept": "application/json"})
	if r.body != "502 Bad Gateway: the origin could not be reached.\n" {
		t.Errorf("text error page: %q", r.body)
	}
	r = do(t, "HEAD", e2.URL+"/", nil)
	if r.StatusCode != 502 || r.body != "" {
		t.Errorf("HEAD error: %d %q", r.StatusCode, r.body)
	}
}
