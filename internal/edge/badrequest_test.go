package edge

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// raw sends a request as bytes, the way a hostile client would, and reads
// the status line and body.
func raw(t *testing.T, addr, request string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, request)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", request, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBadRequestsGetCleanAnswers(t *testing.T) {
	api, seen := upstream(t, text("api"))
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {api: {type: http, url: %q}, files: {type: dir, root: ./public}}
    behaviors:
      - {path_pattern: "/api*", target_origin: api}
    default_behavior: {target_origin: files}
`, api.URL), map[string]string{"public/ok.txt": "ok", "secret.txt": "secret"})
	addr := strings.TrimPrefix(e.URL, "http://")
	cases := []struct {
		name, req string
		status    int
		body      string
	}{
		{"dot segments above the root", "GET /../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, "not valid"},
		{"encoded dot segments", "GET /%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, ""},
		{"encoded slash and dots", "GET /x%2f..%2f..%2fsecret.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, ""},
		{"backslashes", "GET /..\\secret.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, ""},
		{"bad percent-encoding", "GET /api/%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, ""},
		{"over-long URL", "GET /api/" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "longer than"},
		{"missing Host", "GET /api/x HTTP/1.0\r\n\r\n", 400, "Host"},
		{"missing Host, HTTP/1.1", "GET /api/x HTTP/1.1\r\n\r\n", 400, ""},
		{"NUL in path", "GET /api/a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400, ""},
		{"dots that stay inside", "GET /api/../ok.txt HTTP/1.1\r\nHost: x\r\n\r\n", 200, "ok"},
	}
	n := seen.count()
	for _, c := range cases {
		status, body := raw(t, addr, c.req)
		if status != c.status || !strings.Contains(body, c.body) || len(body) > 300 {
			t.Errorf("%s: %d %q, want %d containing %q", c.name, status, body, c.status, c.body)
		}
	}
	if seen.count() != n {
		t.Errorf("%d bad requests reached the origin", seen.count()-n)
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"/": "/", "/a/./b": "/a/b", "/a/../b": "/b", "/a/b/..": "/a/", "/a/.": "/a/",
		"/a/b/../../c/": "/c/", "/.well-known/x": "/.well-known/x", "/a..b": "/a..b",
	} {
		if got, ok := cleanPath(in); !ok || got != want {
			t.Errorf("cleanPath(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"/..", "/a/../..", "relative", "/a\x00"} {
		if _, ok := cleanPath(bad); ok {
			t.Errorf("cleanPath(%q) accepted", bad)
		}
	}
}
