package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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

// The origin requests of raw passes, one after another on a connection,
// carry the fields each viewer request sent, less the hop-by-hop ones,
// with the forwarded ones added, as the same requests through net/http
// and the proxy: nothing of one request's fields is left in the next
// one's (the loop builds them in reused storage), and a request with more
// fields than that storage keeps is built in storage of its own.
func TestPassOriginRequestsMatchNetHTTP(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]string{} // by X-Seq
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var fields []string
		for k, vs := range r.Header {
			if k != "Content-Length" {
				fields = append(fields, k+": "+strings.Join(vs, " | "))
			}
		}
		slices.Sort(fields)
		mu.Lock()
		seen[r.Header.Get("X-Seq")] = fields
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	}))
	defer origin.Close()
	e := start(t, fmt.Sprintf("  - name: main\n    origins: {o: {type: http, url: %q}}\n    default_behavior: {target_origin: o, min_ttl: 0, default_ttl: 0, max_ttl: 0}\n", origin.URL))
	var many strings.Builder
	for i := range 40 {
		fmt.Fprintf(&many, "X-F%02d: %d\r\n", i, i)
	}
	requests := []string{
		"X-One: 1\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: X-Drop\r\nX-Drop: d\r\nVia: 1.1 a\r\nAccept: a\r\nAccept: b\r\n",
		"X-Two: 2\r\n",
		many.String(),
		"X-Four: 4\r\n",
	}
	// send writes the requests on one connection (with extra fields in
	// each) and returns what the origin saw of each.
	send := func(path, extra string) [][]string {
		c, br := e.dial(t, 5*time.Second)
		var got [][]string
		for i, fields := range requests {
			seq := path + fmt.Sprint(i)
			fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: h\r\nX-Seq: %s\r\n%s%s\r\n", seq, seq, fields, extra)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s: %v", seq, err)
			}
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %s", seq, resp.Status)
			}
			mu.Lock()
			got = append(got, slices.DeleteFunc(slices.Clone(seen[seq]), func(f string) bool { return strings.HasPrefix(f, "X-Seq:") }))
			mu.Unlock()
		}
		return got
	}
	loop, proxied := send("loop", ""), send("proxy", "Content-Length: 0\r\n") // a length sends it to net/http
	for i := range requests {
		if !slices.Equal(loop[i], proxied[i]) {
			t.Errorf("request %d: the origin got from the loop\n%s\nand through net/http\n%s", i, strings.Join(loop[i], "\n"), strings.Join(proxied[i], "\n"))
		}
	}
	want := []string{"Accept: a | b", "Via: 1.1 a | 1.1 edgefront", "X-Forwarded-For: 203.0.113.9, 127.0.0.1", "X-Forwarded-Host: h", "X-Forwarded-Proto: http", "X-One: 1"}
	for _, f := range want {
		if !slices.Contains(loop[0], f) {
			t.Errorf("the first origin request lacks %q:\n%s", f, strings.Join(loop[0], "\n"))
		}
	}
	for i, fields := range loop {
		for _, f := range fields {
			if strings.HasPrefix(f, "X-Drop") || (i > 0 && strings.HasPrefix(f, "X-One")) || (i > 2 && strings.HasPrefix(f, "X-F") && f[3] >= '0' && f[3] <= '9') || (i != 1 && strings.HasPrefix(f, "X-Two")) {
				t.Errorf("origin request %d has %q", i, f)
			}
		}
	}
	if len(loop[2]) < 40 {
		t.Errorf("the request with many fields reached the origin with %d", len(loop[2]))
	}
}
