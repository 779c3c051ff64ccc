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
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

// exchange writes raw on a new connection and reads until it closes or
// a second passes.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
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

// The header timeout counts from a request's first byte, the idle timeout
// between requests; a slow client is hung up on either way.
func TestLoopTimeouts(t *testing.T) {
	addr, _ := loop(t, echo(), nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n")
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadAll(c); err != nil || time.Since(start) > 2*time.Second {
		t.Errorf("a slow head was not cut at the header timeout: %v after %v", err, time.Since(start))
	}
}

// Shutdown waits for a request in progress, then stops.
func TestLoopShutdownWaits(t *testing.T) {
	var started, finished atomic.Bool
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Store(true)
		<-release
		finished.Store(true)
		io.WriteString(w, "done")
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	s := &Server{Fallback: &http.Server{Handler: h}}
	go s.Serve(ln)
	got := make(chan string)
	go func() {
		got <- exchange(t, ln.Addr().String(), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	}()
	for !started.Load() {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error)
	go func() { done <- s.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-done; err != nil || !finished.Load() {
		t.Errorf("shutdown: %v, finished %v", err, finished.Load())
	}
	if out := <-got; !strings.HasSuffix(out, "done") {
		t.Errorf("the request in progress got %q", out)
	}
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
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
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

// Answers are framed as net/http frames them, whatever the handler
// does: small and large bodies, flushes, declared lengths, bodiless
// statuses, Transfer-Encoding: identity, on GET and HEAD.
func TestLoopFramesAsNetHTTP(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if cl := q.Get("cl"); cl != "" {
			w.Header().Set("Content-Length", cl)
		}
		if te := q.Get("te"); te != "" {
			w.Header().Set("Transfer-Encoding", te)
		}
		if ct := q.Get("ct"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		if st, _ := strconv.Atoi(q.Get("status")); st != 0 {
			w.WriteHeader(st)
		}
		n, _ := strconv.Atoi(q.Get("n"))
		body := strings.Repeat("<html>", n/6+1)[:n]
		if q.Get("rf") != "" {
			// Through ReadFrom, as a proxy copies a body.
			io.Copy(w, &io.LimitedReader{R: strings.NewReader(body), N: int64(n)})
			return
		}
		for len(body) > 0 {
			k := min(len(body), 3000)
			w.Write([]byte(body[:k]))
			body = body[k:]
			if q.Get("flush") != "" {
				w.(http.Flusher).Flush()
			}
		}
	})
	addr, _ := loop(t, h, nil)
	ref := httptest.NewServer(h)
	defer ref.Close()
	for _, query := range []string{"n=0", "n=10", "n=2048", "n=2049", "n=9000", "n=10&flush=1", "n=9000&flush=1",
		"n=5&cl=5", "n=5000&cl=5000", "status=204", "status=304&cl=7&ct=text/plain", "n=3&status=404", "n=4000&te=identity",
		"n=20&ct=application/json", "status=301",
		"n=5000&rf=1", "n=5000&cl=5000&rf=1", "n=70000&cl=70000&ct=text/plain&rf=1", "n=4000&cl=5000&ct=text/plain&rf=1",
		"n=10&cl=10&ct=text/plain&rf=1&status=404", "n=0&cl=0&ct=text/plain&rf=1"} {
		for _, method := range []string{"GET", "HEAD"} {
			raw := fmt.Sprintf("%s /?%s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", method, query)
			got, want := exchange(t, addr, raw), exchange(t, ref.Listener.Addr().String(), raw)
			for _, field := range []string{"Content-Length", "Transfer-Encoding", "Content-Type", "Connection"} {
				if g, w := fieldOf(got, field), fieldOf(want, field); g != w {
					t.Errorf("%s ?%s: %s %q, net/http %q", method, query, field, g, w)
				}
			}
			gr, err1 := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), &http.Request{Method: method})
			wr, err2 := http.ReadResponse(bufio.NewReader(strings.NewReader(want)), &http.Request{Method: method})
			if err1 != nil || err2 != nil {
				t.Errorf("%s ?%s: %v / %v", method, query, err1, err2)
				continue
			}
			gb, _ := io.ReadAll(gr.Body)
			wb, _ := io.ReadAll(wr.Body)
			if gr.StatusCode != wr.StatusCode || string(gb) != string(wb) {
				t.Errorf("%s ?%s: %d, %d bytes; net/http %d, %d bytes", method, query, gr.StatusCode, len(gb), wr.StatusCode, len(wb))
			}
		}
	}
}

func fieldOf(answer, name string) string {
	for _, line := range strings.Split(answer, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			return v
		}
	}
	return ""
}

// A stored body in a file goes out with sendfile at offsets: large
// bodies (past the socket's buffer) arrive whole, and answers sharing
// one file at once do not disturb each other.
func TestLoopSendsFiles(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "body")
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	f.Write(want)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/section" {
			// A section of the file, after a first part written as bytes.
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(5<<20))
			w.Write(want[1000:5000])
			io.Copy(w, io.NewSectionReader(f, 5000, 5<<20-4000))
			return
		}
		if !w.(*response).WriteStoredFile(200, []byte("Content-Type: application/octet-stream\r\n"), false, f, int64(len(want))) {
			t.Error("WriteStoredFile refused a fresh answer")
		}
	})
	addr, _ := loop(t, h, nil)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, want := "/f", want
			if i%2 == 1 {
				path, want = "/section", want[1000:1000+5<<20]
			}
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil || !bytes.Equal(got, want) || resp.ContentLength != int64(len(want)) {
				t.Errorf("%s: %d of %d bytes (length %d): %v", path, len(got), len(want), resp.ContentLength, err)
			}
		}()
	}
	wg.Wait()
}

// A body copied from another connection with a declared length leaves
// through the kernel (splice): whole, framed, and the connection goes on.
func TestLoopSplicesBodies(t *testing.T) {
	want := make([]byte, 9<<20)
	for i := range want {
		want[i] = byte(i * 13)
	}
	src, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	go func() {
		for {
			c, err := src.Accept()
			if err != nil {
				return
			}
			go func() { c.Write(want); c.Close() }()
		}
	}()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := net.Dial("tcp", src.Addr().String())
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		n := int64(len(want))
		if r.URL.Path == "/short" {
			n++ // the source ends before the length it declared
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		w.(io.ReaderFrom).ReadFrom(&io.LimitedReader{R: c.(*net.TCPConn), N: n})
	})
	addr, _ := loop(t, h, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		fmt.Fprintf(c, "GET /f HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("answer %d: %d of %d bytes: %v", i, len(got), len(want), err)
		}
	}
	resp, err := http.Get("http://" + addr + "/short")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || len(got) != len(want) {
		t.Errorf("a body shorter than its length: %d bytes, err %v; want the connection cut", len(got), err)
	}
}
