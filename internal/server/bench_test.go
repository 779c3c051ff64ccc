package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// The hit and pass paths end to end on the HTTP/1.1 loop, over loopback:
// one keep-alive connection, one request at a time, allocations (the
// server's and the small client's) reported:
//
//	go test -run '^$' -bench Loop -benchmem ./internal/server
func BenchmarkLoopHit(b *testing.B) {
	body := strings.Repeat("x", 2048)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body) // compressible
	}))
	defer o.Close()
	for _, c := range []struct {
		name, behavior, accept string
		observed               bool
	}{
		{"plain", "", "", false},
		{"gzip", ", compress: true", "Accept-Encoding: gzip\r\n", false},
		{"observed", "", "", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := start(b, fmt.Sprintf("  - name: main\n    origins: {o: {type: http, url: %q}}\n    default_behavior: {target_origin: o%s}\n", o.URL, c.behavior)+observed(b, c.observed))
			benchRequests(b, e, "GET /hit HTTP/1.1\r\nHost: h\r\nUser-Agent: bench\r\n"+c.accept+"\r\n", "X-Cache: Hit from edgefront")
		})
	}
}

func BenchmarkLoopPass(b *testing.B) {
	body := `{"id":3,"title":"Scoped error pages","body":"A small uncached API answer."}` + "\n"
	o := rawOrigin(b, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Fri, 04 Dec 2026 18:00:00 GMT\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	for _, c := range []struct {
		name     string
		observed bool
	}{{"plain", false}, {"observed", true}} {
		b.Run(c.name, func(b *testing.B) {
			e := start(b, fmt.Sprintf("  - name: main\n    origins: {o: {type: http, url: %q}}\n    default_behavior: {target_origin: o, min_ttl: 0, default_ttl: 0, max_ttl: 0}\n", o)+observed(b, c.observed))
			benchRequests(b, e, "GET /api/notes/3 HTTP/1.1\r\nHost: h\r\nUser-Agent: bench\r\n\r\n", "X-Cache: Miss from edgefront")
		})
	}
}

// rawOrigin is an origin that answers every request head on a connection
// with answer, allocating nothing per request, so that what a pass
// benchmark reports is the edge's. It returns the origin's URL.
func rawOrigin(b *testing.B, answer string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf, ans := make([]byte, 0, 16<<10), []byte(answer)
				for {
					for {
						i := bytes.Index(buf, []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						buf = buf[:copy(buf, buf[i+4:])]
						if _, err := c.Write(ans); err != nil {
							return
						}
					}
					n, err := c.Read(buf[len(buf):cap(buf)])
					if err != nil {
						return
					}
					buf = buf[:len(buf)+n]
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// observed is the config's access log (to a file) and admin listener
// (metrics) when on is true: every request is then logged and counted,
// as a production edge's are.
func observed(b *testing.B, on bool) string {
	if !on {
		return ""
	}
	return fmt.Sprintf("access_log: {path: %q}\nadmin: {listen: \"127.0.0.1:%s\"}\n", filepath.Join(b.TempDir(), "access.log"), freePort(b))
}

// benchRequests sends req b.N times on one connection, checking that each
// answer carries want. The client reads answers without allocating, so
// that the allocations reported are the server's.
func benchRequests(b *testing.B, e *testEdge, req, want string) {
	c, err := net.Dial("tcp", strings.TrimPrefix(e.http, "http://"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	reqBytes, wantBytes := []byte(req), []byte("\r\n"+want+"\r\n")
	one := func() {
		if _, err := c.Write(reqBytes); err != nil {
			b.Fatal(err)
		}
		head, length := readHead(b, br)
		if !bytes.HasPrefix(head, []byte("HTTP/1.1 200 ")) || !bytes.Contains(head, wantBytes) {
			b.Fatalf("answer %q, want 200 with %q", head, want)
		}
		if _, err := br.Discard(length); err != nil {
			b.Fatal(err)
		}
	}
	// The miss that stores what the hits read (compressed as it goes: chunked).
	c.Write(reqBytes)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		one()
	}
}

var contentLength = []byte("\r\nContent-Length: ")

// readHead reads an answer's head and returns it (valid until the next
// read) and its Content-Length.
func readHead(b *testing.B, br *bufio.Reader) ([]byte, int) {
	for want := 1; ; want = br.Buffered() + 1 {
		_, err := br.Peek(min(want, br.Size())) // at least one byte more than was looked at
		p, _ := br.Peek(br.Buffered())
		if i := bytes.Index(p, []byte("\r\n\r\n")); i >= 0 {
			head := p[:i+2]
			length := 0
			if j := bytes.Index(head, contentLength); j >= 0 {
				for _, d := range head[j+len(contentLength):] {
					if d < '0' || d > '9' {
						break
					}
					length = length*10 + int(d-'0')
				}
			}
			br.Discard(i + 4)
			return head, length
		}
		if err != nil {
			b.Fatalf("reading an answer: %v", err)
		}
	}
}
