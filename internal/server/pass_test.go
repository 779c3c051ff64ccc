package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// cannedOrigin answers each path with its bytes as they are, on
// keep-alive connections.
func cannedOrigin(t *testing.T, answers map[string]string) string {
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
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					a := answers[req.URL.Path]
					if req.Method == http.MethodHead {
						a = a[:strings.Index(a, "\r\n\r\n")+4]
					}
					if _, err := io.WriteString(c, a); err != nil {
						return
					}
				}
			}(c)
		}
	}()
	return "http://" + ln.Addr().String()
}

// A pass answered by the HTTP/1.1 loop from the origin's head lines
// carries the same fields (names compared without case: the loop keeps
// the origin's spelling, as nginx does) and body as the same pass through
// net/http and the proxy; answers the loop does not take raw (chunked, no
// type, no body) are finished by the proxy on either path.
func TestPassMatchesNetHTTP(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB: spliced
	answers := map[string]string{
		"/plain": "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-lower: 1\r\nX-Zeta: z\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n" +
			"Connection: X-Private\r\nX-Private: secret\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n{}",
		"/forged":  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Cache: Hit from upstream\r\nX-Edge-Request-Id: forged\r\nVia: 1.1 upstream\r\nContent-Length: 2\r\n\r\nok",
		"/chunked": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
		"/notype":  "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n<html><p>x</p>",
		"/missing": "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nnone",
		"/empty":   "HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n",
		"/big":     "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + fmt.Sprint(len(big)) + "\r\n\r\n" + big,
	}
	o := cannedOrigin(t, answers)
	e := start(t, fmt.Sprintf("  - name: main\n    origins: {o: {type: http, url: %q}}\n    default_behavior: {target_origin: o, min_ttl: 0, default_ttl: 0, max_ttl: 0}\n", o))
	addr := strings.TrimPrefix(e.http, "http://")
	get := func(method, path, extra string) (status string, fields []string, body string) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: h\r\n%sConnection: close\r\n\r\n", method, path, extra)
		b, _ := io.ReadAll(c)
		head, _, _ := strings.Cut(string(b), "\r\n\r\n")
		lines := strings.Split(head, "\r\n")
		for _, f := range lines[1:] {
			name, value, _ := strings.Cut(f, ":")
			switch http.CanonicalHeaderKey(name) {
			case "Date", "X-Edge-Request-Id":
			default:
				fields = append(fields, http.CanonicalHeaderKey(name)+":"+value)
			}
		}
		slices.Sort(fields)
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(b))), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%s %s %q: %v\n%.300s", method, path, extra, err, b)
		}
		rb, _ := io.ReadAll(resp.Body)
		if method == "GET" && !strings.Contains(head, "\r\nx-lower: 1") && path == "/plain" && extra == "" {
			t.Errorf("the loop's answer to %s did not come from the origin's lines (the raw pass):\n%s", path, head)
		}
		return lines[0], fields, string(rb)
	}
	for _, method := range []string{"GET", "HEAD"} {
		for path := range answers {
			ls, lf, lb := get(method, path, "")
			ns, nf, nb := get(method, path, "Content-Length: 0\r\n")
			if ls != ns || !slices.Equal(lf, nf) || lb != nb {
				t.Errorf("%s %s: the loop's answer\n%s\n%s\n%d bytes\nnet/http's\n%s\n%s\n%d bytes", method, path,
					ls, strings.Join(lf, "\n"), len(lb), ns, strings.Join(nf, "\n"), len(nb))
			}
			for _, f := range lf {
				if strings.Contains(f, "secret") || strings.Contains(f, "forged") || strings.Contains(f, "upstream\n") || f == "X-Cache: Hit from upstream" || strings.HasPrefix(f, "Keep-Alive") {
					t.Errorf("%s %s: the loop passed on %q", method, path, f)
				}
			}
		}
	}
}

// A raw pass, and a hit written in one go, are logged as the same
// answers through the proxy and the header map: status, result, type,
// length, range and bytes sent.
func TestRawAnswersLoggedAsProxied(t *testing.T) {
	o := cannedOrigin(t, map[string]string{
		"/part":     "HTTP/1.1 206 Partial Content\r\nContent-Type: video/mp4\r\nContent-Range: bytes 10-19/100\r\nContent-Length: 10\r\n\r\n0123456789",
		"/cached/x": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=600\r\nContent-Length: 5\r\n\r\nhello",
	})
	logFile := filepath.Join(t.TempDir(), "access.log")
	e := start(t, fmt.Sprintf(`  - name: main
    origins: {o: {type: http, url: %q}}
    behaviors: [{path_pattern: "/cached/*", target_origin: o}]
    default_behavior: {target_origin: o, min_ttl: 0, default_ttl: 0, max_ttl: 0}
access_log: {path: %q, format: json, buffer: 0}
`, o, logFile))
	addr := strings.TrimPrefix(e.http, "http://")
	send := func(path, extra string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h\r\n%sConnection: close\r\n\r\n", path, extra)
		io.ReadAll(c)
	}
	send("/cached/x", "") // the miss that stores it
	for _, path := range []string{"/part", "/cached/x"} {
		extra := ""
		if path == "/part" {
			extra = "Range: bytes=10-19\r\n"
		}
		send(path, extra)                         // the loop
		send(path, extra+"Content-Length: 0\r\n") // net/http
	}
	var lines []map[string]any
	for deadline := time.Now().Add(2 * time.Second); len(lines) < 5 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(logFile)
		lines = lines[:0]
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil {
				lines = append(lines, m)
			}
		}
	}
	if len(lines) != 5 {
		t.Fatalf("%d log lines, want 5", len(lines))
	}
	for i, want := range []string{"Miss", "Hit"} {
		loop, net := lines[1+2*i], lines[2+2*i]
		for _, k := range []string{"sc-status", "x-edge-result-type", "sc-content-type", "sc-content-len", "sc-range-start", "sc-range-end", "sc-bytes"} {
			if loop[k] != net[k] {
				t.Errorf("%s %s: the loop logged %v, net/http %v", want, k, loop[k], net[k])
			}
		}
		if loop["x-edge-result-type"] != want {
			t.Errorf("logged %v, want a %s", loop, want)
		}
	}
	if lines[1]["sc-content-type"] != "video/mp4" || lines[1]["sc-range-start"] != "10" {
		t.Errorf("the pass logged %v", lines[1])
	}
}
