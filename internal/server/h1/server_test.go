package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/certtest"
)

// loop serves h on a loopback listener through the loop, with net/http as
// its fallback, and returns the address and the loop.
func loop(t *testing.T, h http.Handler, tlsConfig *tls.Config) (string, *Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Fallback: &http.Server{Handler: h, ReadHeaderTimeout: 300 * time.Millisecond, IdleTimeout: time.Second, MaxHeaderBytes: 4096}, TLS: tlsConfig}
	go s.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return ln.Addr().String(), s
}

// dial connects to the loop at addr; the connection is closed when the
// test ends.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exchange writes raw on a new connection and reads until it closes or
// a second passes.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c := dial(t, addr)
	defer c.Close() // now: a test may make many exchanges
	c.SetDeadline(time.Now().Add(time.Second))
	io.WriteString(c, raw)
	b, _ := io.ReadAll(c)
	return string(b)
}

func echo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			w.Header().Set("Content-Type", "text/plain")
			for i := 0; i < 3; i++ {
				fmt.Fprintf(w, "part %d;", i)
				w.(http.Flusher).Flush()
			}
		case "/big":
			w.Write([]byte(strings.Repeat("x", 100000)))
		case "/304":
			w.Header().Set("Content-Length", "10")
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusNotModified)
		case "/trailer":
			w.Header().Set("Trailer", "X-Sum")
			w.Write([]byte(strings.Repeat("y", 5000)))
			w.Header().Set("X-Sum", "42")
		default:
			body := "no body"
			if r.Body != http.NoBody && r.Body != nil {
				b, _ := io.ReadAll(r.Body)
				body = string(b)
			}
			fmt.Fprintf(w, "%s %s host=%s tls=%v body=%s", r.Method, r.RequestURI, r.Host, r.TLS != nil, body)
		}
	})
}

// Pipelined GETs and HEADs are answered by the loop, in order, framed as
// net/http frames them.
func TestLoopAnswersInOrder(t *testing.T) {
	addr, s := loop(t, echo(), nil)
	out := exchange(t, addr, "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"+
		"HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n"+
		"GET /stream HTTP/1.1\r\nHost: h\r\n\r\n"+
		"GET /304 HTTP/1.1\r\nHost: h\r\n\r\n"+
		"GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	r := bufio.NewReader(strings.NewReader(out))
	for _, want := range []struct {
		method, body string
		status       int
		chunked      bool
	}{
		{"GET", "GET /a?x=1 host=h tls=false body=no body", 200, false},
		{"HEAD", "", 200, false},
		{"GET", "part 0;part 1;part 2;", 200, true},
		{"GET", "", 304, false},
		{"GET", "GET /c host=h tls=false body=no body", 200, false},
	} {
		resp, err := http.ReadResponse(r, &http.Request{Method: want.method})
		if err != nil {
			t.Fatalf("reading the answers: %v\n%s", err, out)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want.status || string(b) != want.body || (len(resp.TransferEncoding) > 0) != want.chunked || resp.Header.Get("Date") == "" {
			t.Errorf("%s: %d %q chunked %v\n%s", want.method, resp.StatusCode, b, resp.TransferEncoding, out)
		}
		if want.status == 304 && (resp.Header.Get("Content-Length") != "" || resp.Header.Get("Content-Type") != "") {
			t.Errorf("304 kept fields a 304 does not carry: %v", resp.Header)
		}
	}
	if !strings.Contains(out, "Content-Length: 40\r\n") || !strings.Contains(out, "Content-Type: text/plain; charset=utf-8\r\n") {
		t.Errorf("no length or sniffed type:\n%s", out)
	}
	if a, h := s.Stats(); a != 5 || h != 0 {
		t.Errorf("answered %d, handed over %d; want 5 and 0", a, h)
	}
}

// What the loop does not fully understand goes to net/http with the bytes
// already read, and the connection stays there.
func TestLoopHandsOverTheRest(t *testing.T) {
	addr, s := loop(t, echo(), nil)
	out := exchange(t, addr, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"+
		"GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if !strings.Contains(out, "POST /p host=h tls=false body=hello") || !strings.Contains(out, "GET /after host=h") {
		t.Errorf("handed-over connection:\n%s", out)
	}
	// Both Content-Length and Transfer-Encoding: answered, then closed.
	out = exchange(t, addr, "POST /s HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"+
		"GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n")
	if !strings.Contains(out, "body=abc") || !strings.Contains(out, "Connection: close") || strings.Contains(out, "smuggled") {
		t.Errorf("Content-Length with Transfer-Encoding:\n%s", out)
	}
	// A bare LF, two Hosts, a head too long: net/http's answers.
	for raw, want := range map[string]string{
		"GET /lf HTTP/1.1\nHost: h\n\n":                                             "GET /lf host=h",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n":                              "400 Bad Request",
		"GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", 9000) + "\r\n\r\n": "431 Request Header Fields Too Large",
	} {
		if out := exchange(t, addr, raw); !strings.Contains(out, want) {
			t.Errorf("%.40q: %q, want %q", raw, out, want)
		}
	}
	if a, h := s.Stats(); a != 0 || h != 5 {
		t.Errorf("answered %d, handed over %d; want 0 and 5", a, h)
	}
}

// Over TLS the loop does the handshake: an HTTP/1.1 connection is served
// (handed over too, with its TLS state), an h2 one goes to net/http
// before anything is read.
func TestLoopOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert, err := certtest.Write(certFile, keyFile, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	addr, s := loop(t, echo(), &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"h2", "http/1.1"}})
	for _, h2 := range []bool{false, true} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certtest.Pool(cert), ServerName: "localhost"}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		client := &http.Client{Transport: tr}
		for _, m := range []string{"GET", "POST"} {
			var body io.Reader
			if m == "POST" {
				body = strings.NewReader("b")
			}
			req, _ := http.NewRequest(m, "https://"+addr+"/x", body)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(b), "tls=true") || resp.ProtoMajor != map[bool]int{false: 1, true: 2}[h2] {
				t.Errorf("h2 %v %s: %s %q", h2, m, resp.Proto, b)
			}
		}
		tr.CloseIdleConnections()
	}
	if a, h := s.Stats(); a != 1 || h != 2 {
		t.Errorf("answered %d, handed over %d; want 1 (the HTTP/1.1 GET) and 2", a, h)
	}
}

// A keep-alive answer whose handler returns as Shutdown waits leaves
// whole before the connection closes.
func TestLoopShutdownSendsTheLastAnswer(t *testing.T) {
	body := strings.Repeat("z", 20000) // in the writer whole: it leaves after the handler returns
	out, err := answerDuringShutdown(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", body)
	if err != nil {
		t.Errorf("shutdown: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(out)), nil)
	if err != nil {
		t.Fatalf("the answer in progress: %v (%d bytes)", err, len(out))
	}
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != body {
		t.Errorf("the answer in progress: %d bytes of body (%v), want %d", len(b), err, len(body))
	}
}

// Shutdown waits for a request in progress, then stops.
func TestLoopShutdownWaits(t *testing.T) {
	out, err := answerDuringShutdown(t, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "done")
	if err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if !strings.HasSuffix(out, "done") {
		t.Errorf("the request in progress got %q", out)
	}
}

// answerDuringShutdown sends raw to a loop whose handler answers body
// only once Shutdown has begun to wait for it, checks that Shutdown
// returned only after the handler, and returns what the client got and
// what Shutdown returned.
func answerDuringShutdown(t *testing.T, raw, body string) (string, error) {
	t.Helper()
	var started, finished atomic.Bool
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Store(true)
		<-release
		io.WriteString(w, body)
		finished.Store(true)
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	s := &Server{Fallback: &http.Server{Handler: h}}
	go s.Serve(ln)
	got := make(chan string)
	go func() { got <- exchange(t, ln.Addr().String(), raw) }()
	for !started.Load() {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error)
	go func() { done <- s.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	close(release)
	err := <-done
	if !finished.Load() {
		t.Error("Shutdown returned before the request in progress was answered")
	}
	return <-got, err
}

// BenchmarkLoopAnswer is the loop's own cost per request, server side
// only: parse a head read from the connection, build the request, frame
// a 1 KiB answer and write it; the handler writes from memory, as a cache
// hit does. The connection is in memory: b.N requests to read, the
// answers discarded.
func BenchmarkLoopAnswer(b *testing.B) {
	body := make([]byte, 1024)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd["Content-Type"] = []string{"application/octet-stream"}
		hd["Content-Length"] = []string{"1024"}
		hd["X-Cache"] = []string{"Hit from edgefront"}
		w.Write(body)
	})
	s := &Server{Fallback: &http.Server{Handler: h}}
	s.start(&net.TCPAddr{})
	defer s.Close()
	c := &memConn{req: []byte("GET /1k.bin HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"), left: b.N}
	s.wg.Add(1)
	b.ReportAllocs()
	b.ResetTimer()
	s.serveConn(c)
	if c.answers < b.N {
		b.Fatalf("%d answers to %d requests", c.answers, b.N)
	}
}

// memConn reads one request left times, then EOF, and counts the
// answers written.
type memConn struct {
	net.Conn
	req     []byte
	left    int
	answers int
}

func (c *memConn) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	c.left--
	return copy(p, c.req), nil
}

func (c *memConn) Write(p []byte) (int, error) {
	c.answers += bytes.Count(p, []byte("HTTP/1.1 200"))
	return len(p), nil
}

func (c *memConn) Close() error                     { return nil }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }

// An answer that closes the connection reaches a client that pipelined
// more requests behind it: the loop stops writing, then reads what is
// left before it closes, so the kernel does not reset the connection
// over unread bytes.
func TestLoopLingersBeforeClosing(t *testing.T) {
	big := strings.Repeat("z", 256<<10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, big)
	})
	addr, _ := loop(t, h, nil)
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"+strings.Repeat("GET /more HTTP/1.1\r\nHost: h\r\n\r\n", 5000))
	time.Sleep(100 * time.Millisecond) // the answer is written and the connection closing before it is read
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || len(b) != len(big) {
		t.Errorf("read %d of %d bytes: %v", len(b), len(big), err)
	}
}

// A Shutdown that comes as Serve begins, or before it, ends it: Serve
// does not go on accepting on a listener Shutdown never saw.
func TestLoopShutdownAsServeBegins(t *testing.T) {
	for i := 0; i < 50; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{Fallback: &http.Server{Handler: echo()}}
		served := make(chan error, 1)
		if i%2 == 0 {
			go func() { served <- s.Serve(ln) }()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown %d: %v", i, err)
		}
		cancel()
		if i%2 == 1 {
			go func() { served <- s.Serve(ln) }()
		}
		select {
		case err := <-served:
			if err != ErrServerClosed {
				t.Errorf("Serve %d: %v, want ErrServerClosed", i, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("Serve %d went on after Shutdown", i)
		}
	}
}
