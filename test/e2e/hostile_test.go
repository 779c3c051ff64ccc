package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/certtest"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// writeCert writes a self-signed certificate for 127.0.0.1.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if _, err := certtest.Write(certFile, keyFile, "main.example"); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// hostileEdge is the built binary serving with tight limits, and what the
// tests watch of it.
type hostileEdge struct {
	http, https, admin string
	pid                int
	originHits         atomic.Int64
	smuggled           atomic.Int64
	hugeCut            atomic.Bool
}

func (e *hostileEdge) goroutines(t *testing.T) int {
	resp, err := http.Get("http://" + e.admin + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "goroutine profile: total")))
	return n
}

func (e *hostileEdge) fds() int {
	entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", e.pid))
	return len(entries)
}

func (e *hostileEdge) rssMiB() int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.pid))
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return kb / 1024
		}
	}
	return 0
}

// raw sends bytes on a new connection and returns the first status line
// the edge answers ("" when it closed without one).
func raw(t *testing.T, addr, request string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, request)
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// TestHostileClients runs each hostile client against the built binary
// while an ordinary client, from another address, keeps asking: each is
// refused or contained, the ordinary client is always served, and
// goroutines and file descriptors come back to where they were.
//
// It runs against both paths: edgefront's HTTP/1.1 loop (which hands most
// hostile inputs on) and net/http alone (EDGEFRONT_HTTP1_LOOP=off).
func TestHostileClients(t *testing.T) {
	t.Run("loop", hostileClients)
	t.Run("net/http", func(t *testing.T) {
		t.Setenv("EDGEFRONT_HTTP1_LOOP", "off")
		hostileClients(t)
	})
}

func hostileClients(t *testing.T) {
	dir := t.TempDir()
	e := &hostileEdge{}
	ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		e.originHits.Add(1)
		if strings.Contains(r.URL.Path, "smuggled") {
			e.smuggled.Add(1)
		}
		if r.URL.Path == "/huge" {
			chunk := make([]byte, 1<<20)
			for range 256 { // 256 MiB, streamed
				if _, err := w.Write(chunk); err != nil {
					e.hugeCut.Store(true) // the edge let go of it
					return
				}
			}
			return
		}
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, "ok")
	})
	e.http, e.https, e.admin = freeAddr(t), freeAddr(t), freeAddr(t)
	cert, key := writeCert(t, dir)
	cfg := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q, https: %q}
tls: {certificates: [{cert_file: %s, key_file: %s}]}
admin: {listen: %q}
limits: {read_header_timeout: 1s, client_body_timeout: 1s, send_timeout: 1s, max_connections_per_ip: 64, max_header_bytes: 16KiB}
distributions:
  - name: main
    aliases: [main.example]
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o, allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE], max_body_size: 1KiB, max_ttl: 0, default_ttl: 0}
  - name: limited
    aliases: [limited.example]
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o, max_ttl: 0, default_ttl: 0}
    rate_limit: {requests_per_second: 10}
`, e.http, e.https, cert, key, e.admin, ln.Addr(), ln.Addr())), 0o644)
	p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
	defer p.stop(t)
	e.pid = p.cmd.Process.Pid

	// The ordinary client, from 127.0.0.2, every 20 ms throughout.
	var served, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 2 * time.Second}
		client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			req, _ := http.NewRequest("GET", "http://"+e.http+"/ordinary", nil)
			req.Host = "main.example"
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != 200 {
				failed.Add(1)
				t.Logf("the ordinary client failed: %v %v", err, resp)
			} else {
				served.Add(1)
			}
			if resp != nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	baseG, baseFD := e.goroutines(t), e.fds()

	settled := func(t *testing.T, what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			g, fd := e.goroutines(t), e.fds()
			if g <= baseG+8 && fd <= baseFD+8 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("after %s: %d goroutines (baseline %d), %d fds (baseline %d)", what, g, baseG, fd, baseFD)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	t.Run("slowloris", func(t *testing.T) {
		var conns []net.Conn
		for range 200 {
			c, err := net.Dial("tcp", e.http)
			if err != nil {
				continue
			}
			conns = append(conns, c)
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: main.example\r\n")
		}
		closed := 0
		deadline := time.Now().Add(4 * time.Second)
		for _, c := range conns {
			c.SetDeadline(deadline)
			// One more header byte a second, until the edge hangs up.
			for {
				if _, err := io.WriteString(c, "X"); err != nil {
					closed++
					break
				}
				var b [1]byte
				c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if _, err := c.Read(b[:]); err != nil && !isTimeout(err) {
					closed++
					break
				}
				if time.Now().After(deadline) {
					break
				}
			}
			c.Close()
		}
		if closed != len(conns) {
			t.Errorf("%d of %d slow connections still open after 4 s", len(conns)-closed, len(conns))
		}
		settled(t, "slowloris")
	})

	t.Run("slow body", func(t *testing.T) {
		c, _ := net.Dial("tcp", e.http)
		defer c.Close()
		io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: main.example\r\nContent-Length: 100\r\n\r\nab")
		done := make(chan string)
		go func() {
			line, _ := bufio.NewReader(c).ReadString('\n')
			done <- strings.TrimSpace(line)
		}()
		for {
			select {
			case line := <-done:
				if !strings.HasPrefix(line, "HTTP/1.1 408") {
					t.Errorf("a body one byte every 2 s: %q, want 408", line)
				}
				settled(t, "slow body")
				return
			case <-time.After(2 * time.Second):
				io.WriteString(c, "c")
			case <-time.After(8 * time.Second):
				t.Fatal("a stalled body is still being read after 8 s")
			}
		}
	})

	t.Run("a viewer that stops reading", func(t *testing.T) {
		c, _ := net.Dial("tcp", e.http)
		defer c.Close()
		c.(*net.TCPConn).SetReadBuffer(4096)
		io.WriteString(c, "GET /huge HTTP/1.1\r\nHost: main.example\r\n\r\n")
		// It reads nothing: the edge's writes stall, and after send_timeout
		// the edge hangs up and stops fetching the 256 MiB answer.
		deadline := time.Now().Add(6 * time.Second)
		for !e.hugeCut.Load() && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if !e.hugeCut.Load() {
			t.Error("6 s after a viewer stopped reading, the edge still fetches the answer for it")
		}
		settled(t, "a stalled reader")
	})

	t.Run("huge headers and bodies", func(t *testing.T) {
		big := strings.Repeat("a", 64<<10)
		if got := raw(t, e.http, "GET / HTTP/1.1\r\nHost: main.example\r\nX-Big: "+big+"\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 431") {
			t.Errorf("64 KiB header: %q", got)
		}
		if got := raw(t, e.http, "POST / HTTP/1.1\r\nHost: main.example\r\nContent-Length: 5000\r\n\r\n"+strings.Repeat("b", 5000)); !strings.HasPrefix(got, "HTTP/1.1 413") {
			t.Errorf("5000-byte body over max_body_size 1KiB: %q", got)
		}
		settled(t, "huge headers")
	})

	t.Run("request smuggling", func(t *testing.T) {
		smuggle := "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: main.example\r\n\r\n"
		for name, req := range map[string]string{
			"Content-Length and chunked": "POST / HTTP/1.1\r\nHost: main.example\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggle,
			"two Content-Lengths":        "POST / HTTP/1.1\r\nHost: main.example\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n" + smuggle,
			"obfuscated chunked":         "POST / HTTP/1.1\r\nHost: main.example\r\nTransfer-Encoding: xchunked\r\nContent-Length: 44\r\n\r\n" + smuggle,
			"chunked, then identity":     "POST / HTTP/1.1\r\nHost: main.example\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + smuggle,
			"space before the colon":     "POST / HTTP/1.1\r\nHost: main.example\r\nTransfer-Encoding : chunked\r\nContent-Length: 44\r\n\r\n" + smuggle,
			"bare LF":                    "POST / HTTP/1.1\nHost: main.example\nContent-Length: 44\nTransfer-Encoding: chunked\n\n" + smuggle,
			"spaces in the path":         "GET /a b/smuggled HTTP/1.1\r\nHost: main.example\r\n\r\n",
			"invalid Host":               "GET /smuggled HTTP/1.1\r\nHost: main example\r\n\r\n",
			"two Hosts":                  "GET /smuggled HTTP/1.1\r\nHost: main.example\r\nHost: limited.example\r\n\r\n",
		} {
			got := raw(t, e.http, req)
			if strings.HasPrefix(got, "HTTP/1.1 2") && name != "Content-Length and chunked" && name != "bare LF" {
				t.Errorf("%s: answered %q", name, got)
			}
		}
		time.Sleep(100 * time.Millisecond)
		if n := e.smuggled.Load(); n != 0 {
			t.Errorf("%d smuggled requests reached the origin", n)
		}
		settled(t, "smuggling")
	})

	t.Run("TLS handshakes that never finish", func(t *testing.T) {
		var conns []net.Conn
		for i := range 50 {
			c, err := net.Dial("tcp", e.https)
			if err != nil {
				continue
			}
			if i%2 == 0 {
				c.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}) // half a ClientHello
			}
			conns = append(conns, c)
		}
		time.Sleep(2500 * time.Millisecond)
		for _, c := range conns {
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			var b [1]byte
			if _, err := c.Read(b[:]); isTimeout(err) {
				t.Error("a handshake that never finished is still open after 2.5 s")
				break
			}
			c.Close()
		}
		settled(t, "stalled handshakes")
	})

	h2conn := func(t *testing.T) (*tls.Conn, *http2.Framer) {
		c, err := tls.Dial("tcp", e.https, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}, ServerName: "main.example"})
		if err != nil {
			t.Fatal(err)
		}
		if c.ConnectionState().NegotiatedProtocol != "h2" {
			t.Fatal("no HTTP/2")
		}
		io.WriteString(c, http2.ClientPreface)
		fr := http2.NewFramer(c, c)
		fr.WriteSettings()
		return c, fr
	}
	headerBlock := func(path string) []byte {
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "main.example"}, {":path", path}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		return buf.Bytes()
	}

	t.Run("HTTP/2 rapid reset", func(t *testing.T) {
		before := e.originHits.Load()
		c, fr := h2conn(t)
		defer c.Close()
		block := headerBlock("/reset")
		for i := uint32(0); i < 20000; i++ {
			id := 2*i + 1
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true}); err != nil {
				break // the edge hung up on us: contained
			}
			if err := fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
				break
			}
		}
		time.Sleep(500 * time.Millisecond)
		if n := e.originHits.Load() - before; n > 2000 {
			t.Errorf("20000 reset streams made %d origin requests", n)
		}
		c.Close()
		settled(t, "rapid reset")
	})

	t.Run("an HTTP/2 viewer that stops reading", func(t *testing.T) {
		e.hugeCut.Store(false)
		c, fr := h2conn(t)
		defer c.Close()
		c.NetConn().(*net.TCPConn).SetReadBuffer(4096)
		// Windows wide open, so that flow control does not hold the
		// edge back: TCP does, and after send_timeout the edge hangs up
		// (its HTTP/2 writes are gathered, and the write beneath them
		// keeps the timeout) and stops fetching the 256 MiB answer.
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30})
		fr.WriteWindowUpdate(0, 1<<30)
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: headerBlock("/huge"), EndStream: true, EndHeaders: true})
		deadline := time.Now().Add(6 * time.Second)
		for !e.hugeCut.Load() && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if !e.hugeCut.Load() {
			t.Error("6 s after an HTTP/2 viewer stopped reading, the edge still fetches the answer for it")
		}
		c.Close()
		settled(t, "a stalled HTTP/2 reader")
	})

	t.Run("HTTP/2 CONTINUATION flood", func(t *testing.T) {
		c, fr := h2conn(t)
		defer c.Close()
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: headerBlock("/flood"), EndHeaders: false})
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		enc.WriteField(hpack.HeaderField{Name: "x-flood", Value: strings.Repeat("z", 4000)})
		sent := 0
		for ; sent < 10000; sent++ {
			c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			if err := fr.WriteContinuation(1, false, buf.Bytes()); err != nil {
				break
			}
		}
		if sent == 10000 {
			t.Error("the edge took 40 MB of CONTINUATION frames without hanging up")
		}
		c.Close()
		settled(t, "CONTINUATION flood")
	})

	t.Run("a million made-up client addresses through X-Forwarded-For", func(t *testing.T) {
		rss := e.rssMiB()
		c, _ := net.Dial("tcp", e.http)
		defer c.Close()
		br := bufio.NewReader(c)
		limited, start := 0, time.Now()
		const n = 1_000_000
		// The requests go in batches, at most four ahead of the answers
		// read, so that the edge's answers always fit the sockets'
		// buffers: a reader that falls behind on a loaded machine would
		// otherwise stall the edge's writes past send_timeout, and the
		// edge would rightly hang up.
		const batch = 128
		window, done := make(chan struct{}, 4), make(chan struct{})
		defer close(done)
		go func() {
			w := bufio.NewWriter(c)
			for i := range n {
				if i%batch == 0 {
					w.Flush() // no head is left half sent while waiting
					select {
					case window <- struct{}{}:
					case <-done:
						return
					}
				}
				fmt.Fprintf(w, "GET /x HTTP/1.1\r\nHost: limited.example\r\nX-Forwarded-For: 10.%d.%d.%d\r\n\r\n", i>>16&255, i>>8&255, i&255)
			}
			w.Flush()
		}()
		for i := range n {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if i%batch == batch-1 {
				<-window
			}
			if resp.StatusCode == http.StatusTooManyRequests {
				limited++
			}
		}
		// From an untrusted peer the header names nobody: one client, one
		// bucket of 10 a second.
		if allowed, most := n-limited, 10+int(10*time.Since(start).Seconds())+5; allowed > most {
			t.Errorf("%d of %d requests from one peer with made-up addresses were let through; one client may have %d", allowed, n, most)
		}
		if grew := e.rssMiB() - rss; grew > 50 {
			t.Errorf("memory grew %d MiB", grew)
		}
		c.Close()
		settled(t, "forwarded addresses")
	})

	close(stop)
	wg.Wait()
	if rss := e.rssMiB(); rss > 200 {
		t.Errorf("the edge holds %d MiB after the hostile clients left", rss)
	}
	if failed.Load() != 0 || served.Load() < 50 {
		t.Errorf("the ordinary client: %d served, %d failed", served.Load(), failed.Load())
	}
	t.Logf("the ordinary client was served %d times throughout, never refused", served.Load())
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
