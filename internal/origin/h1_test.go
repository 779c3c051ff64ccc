package origin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func h1Origin(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func h1Get(t *testing.T, c *h1Client, method, url string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := c.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestH1ClientBodiesAndReuse(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	srv, conns := h1Origin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte("a"))
			w.(http.Flusher).Flush()
			w.Write([]byte("b"))
		case "/big":
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			io.WriteString(w, big)
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "closing")
		default:
			io.WriteString(w, "hello "+r.Method)
		}
	})
	c := newH1Client(time.Second, time.Second, time.Minute, 4)
	defer c.CloseIdleConnections()
	for i := 0; i < 10; i++ {
		if _, body := h1Get(t, c, "GET", srv.URL+"/"); body != "hello GET" {
			t.Fatalf("body %q", body)
		}
	}
	if resp, body := h1Get(t, c, "HEAD", srv.URL+"/"); resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD: %d %q", resp.StatusCode, body)
	}
	if _, body := h1Get(t, c, "GET", srv.URL+"/chunked"); body != "ab" {
		t.Errorf("chunked: %q", body)
	}
	if _, body := h1Get(t, c, "GET", srv.URL+"/big"); body != big {
		t.Errorf("big body: %d bytes", len(body))
	}
	if resp, _ := h1Get(t, c, "GET", srv.URL+"/304"); resp.StatusCode != 304 {
		t.Errorf("304: %d", resp.StatusCode)
	}
	if _, body := h1Get(t, c, "GET", srv.URL+"/close"); body != "closing" {
		t.Errorf("close: %q", body)
	}
	// Ten plain requests, HEAD, the big body and the 304 share one
	// connection; the chunked answer and the closing one do not.
	if n := conns.Load(); n > 3 {
		t.Errorf("%d connections, want reuse", n)
	}
}

// Answers that come at once, thousands in a row on one pooled
// connection, raw or parsed, are all read, and a request larger than the
// writer's buffer goes out whole.
func TestH1ClientManyExchangesOnOneConnection(t *testing.T) {
	srv, conns := h1Origin(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path+" "+fmt.Sprint(len(r.Header.Get("X-Big"))))
	})
	c := newH1Client(time.Second, 2*time.Second, time.Minute, 4)
	defer c.CloseIdleConnections()
	for i := 0; i < 2000; i++ {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/%d", srv.URL, i), nil)
		want := fmt.Sprintf("/%d 0", i)
		if i%100 == 99 {
			req.Header.Set("X-Big", strings.Repeat("b", 6000))
			want = fmt.Sprintf("/%d 6000", i)
		}
		var body []byte
		if i%2 == 0 {
			raw, err := c.roundTripRaw(req, nil)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			body, _ = io.ReadAll(raw.Body)
			raw.Body.Close()
		} else {
			resp, err := c.RoundTrip(req)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if string(body) != want {
			t.Fatalf("request %d: %q, want %q", i, body, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want one", n)
	}
}

// An origin that closes an idle connection by shutting its side and
// reading on (a lingering close, as Apache's) is found closed when the
// connection is next taken: the request goes out again on a new one
// at once, without waiting for the response timeout.
func TestH1ClientRetriesALingeringPooledConnection(t *testing.T) {
	addr, conns := rawListener(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		time.Sleep(5 * time.Millisecond)
		c.(*net.TCPConn).CloseWrite() // idle: closed, lingering
		io.Copy(io.Discard, c)        // reads on, answers nothing
	})
	c := newH1Client(time.Second, 3*time.Second, time.Minute, 4)
	defer c.CloseIdleConnections()
	url := "http://" + addr + "/"
	h1Get(t, c, "GET", url)
	time.Sleep(30 * time.Millisecond)
	start := time.Now()
	if _, body := h1Get(t, c, "GET", url); body != "ok" {
		t.Errorf("after the origin closed the idle connection: %q", body)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the second request took %v: it waited on the closed connection", took)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestH1ClientWriteToSplicesIntoATCPConn(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	srv, _ := h1Origin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		w.Write(big)
	})
	c := newH1Client(time.Second, time.Second, time.Minute, 4)
	defer c.CloseIdleConnections()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	got := make(chan []byte)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(conn)
		got <- b
	}()
	dst, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	resp, err := c.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := resp.Body.(io.WriterTo).WriteTo(dst)
	resp.Body.Close()
	dst.Close()
	if err != nil || n != int64(len(big)) || !bytes.Equal(<-got, big) {
		t.Errorf("WriteTo: %d bytes, %v", n, err)
	}
}

func TestH1ClientTimeoutsAndCancel(t *testing.T) {
	release := make(chan struct{})
	srv, _ := h1Origin(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := newH1Client(time.Second, 100*time.Millisecond, time.Minute, 4)
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	if _, err := c.RoundTrip(req); err == nil || !IsTimeout(err) {
		t.Errorf("slow origin: %v, want a timeout", err)
	}
	c = newH1Client(time.Second, 0, time.Minute, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", srv.URL+"/", nil)
	if _, err := c.RoundTrip(req); err == nil {
		t.Error("a cancelled request succeeded")
	}
}

func TestH1ClientRetriesAStalePooledConnection(t *testing.T) {
	srv, conns := h1Origin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	c := newH1Client(time.Second, time.Second, time.Minute, 4)
	defer c.CloseIdleConnections()
	h1Get(t, c, "GET", srv.URL+"/")
	srv.CloseClientConnections() // the origin drops the idle connection
	time.Sleep(20 * time.Millisecond)
	if _, body := h1Get(t, c, "GET", srv.URL+"/"); body != "ok" {
		t.Errorf("after the origin closed the idle connection: %q", body)
	}
	if conns.Load() != 2 {
		t.Errorf("%d connections, want 2", conns.Load())
	}
}

func TestH1ClientClosesIdleConnections(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	defer srv.Close()
	c := newH1Client(time.Second, time.Second, 100*time.Millisecond, 4)
	h1Get(t, c, "GET", srv.URL+"/")
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("an idle origin connection outlived keepalive_timeout")
	}
	c.mu.Lock()
	n := len(c.idle[strings.TrimPrefix(srv.URL, "http://")])
	c.mu.Unlock()
	if n != 0 {
		t.Errorf("%d connections still pooled", n)
	}
}

// A connection used again and again within keepalive_timeout stays open
// (its one idle timer, firing for a connection idle less long, sets itself
// again), and closes once it has been idle that long.
func TestH1ClientKeepsABusyConnection(t *testing.T) {
	var opened, closed atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed:
			closed.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newH1Client(time.Second, time.Second, 150*time.Millisecond, 4)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for deadline := time.Now().Add(600 * time.Millisecond); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		h1Get(t, c, "GET", srv.URL+"/")
		c.mu.Lock()
		pc := c.idle[addr][0]
		c.mu.Unlock()
		c.expire(addr, pc) // as a timer firing late for the spell before
	}
	if o, cl := opened.Load(), closed.Load(); o != 1 || cl != 0 {
		t.Fatalf("busy for four times keepalive_timeout: %d connections opened, %d closed; want 1 and 0", o, cl)
	}
	for deadline := time.Now().Add(5 * time.Second); closed.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("an idle origin connection outlived keepalive_timeout")
		}
	}
}

// An answer that came whole with its head leaves the response deadline
// on its connection; a request that reuses the connection after that
// deadline has passed gets a deadline of its own, and its answer.
func TestH1ClientReusesAConnectionPastAnEarlierDeadline(t *testing.T) {
	var opened atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newH1Client(time.Second, 100*time.Millisecond, 10*time.Second, 4)
	for i := range 3 {
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		raw, err := c.roundTripRaw(req, nil)
		if err != nil || raw.Resp != nil {
			t.Fatalf("request %d: %v (a raw answer: %v)", i, err, raw != nil && raw.Resp == nil)
		}
		body, err := io.ReadAll(raw.Body)
		raw.Body.Close()
		if err != nil || string(body) != "ok" {
			t.Fatalf("request %d: %q, %v", i, body, err)
		}
		time.Sleep(200 * time.Millisecond) // past the response timeout
	}
	if n := opened.Load(); n != 1 {
		t.Errorf("%d connections opened for three requests; want 1", n)
	}
}

// A connection whose idle timer fired while a request had it is closed
// once it has been idle keepalive_timeout after going back to the pool.
func TestH1ClientClosesAConnectionIdleAfterUse(t *testing.T) {
	var closed atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newH1Client(time.Second, time.Second, 150*time.Millisecond, 4)
	addr := strings.TrimPrefix(srv.URL, "http://")
	h1Get(t, c, "GET", srv.URL+"/")
	pc, reused, err := c.get(context.Background(), addr)
	if err != nil || !reused {
		t.Fatalf("the pooled connection: %v, reused %v", err, reused)
	}
	c.expire(addr, pc) // the timer fires while the connection is in use
	time.Sleep(200 * time.Millisecond)
	if closed.Load() != 0 {
		t.Fatal("a connection in use was closed")
	}
	c.put(addr, pc)
	for deadline := time.Now().Add(5 * time.Second); closed.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a connection idle again after its timer fired in use outlived keepalive_timeout")
		}
	}
}

// The origin's framing is read strictly: interim answers are skipped, an
// ambiguous length is an error and its connection is not reused.
func TestH1ClientStrictFraming(t *testing.T) {
	answers := map[string]string{
		"/continue": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"/hints":    "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhints",
		"/cl-te":    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"/two-cl":   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"/same-cl":  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc",
	}
	addr, conns := cannedOrigin(t, answers)
	c := newH1Client(time.Second, 2*time.Second, time.Minute, 4)
	defer c.CloseIdleConnections()
	base := "http://" + addr
	for path, want := range map[string]string{"/continue": "ok", "/hints": "hints", "/same-cl": "abc"} {
		if resp, body := h1Get(t, c, "GET", base+path); resp.StatusCode != 200 || body != want {
			t.Errorf("%s: %d %q, want 200 %q", path, resp.StatusCode, body, want)
		}
	}
	before := conns.Load()
	for _, path := range []string{"/cl-te", "/two-cl"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		if _, err := c.RoundTrip(req); !errors.Is(err, ErrFraming) {
			t.Errorf("%s: %v, want %v", path, err, ErrFraming)
		}
	}
	if resp, body := h1Get(t, c, "GET", base+"/continue"); resp.StatusCode != 200 || body != "ok" || conns.Load() == before {
		t.Errorf("after a refused answer: %d %q, connections %d then %d (the refused one must not be reused)", resp.StatusCode, body, before, conns.Load())
	}
}
