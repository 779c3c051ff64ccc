package h1

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

// How the loop reads a connection: its timeouts, and its waits for the
// poller between reads.

// The header timeout counts from a request's first byte, the idle timeout
// between requests; a slow client is hung up on either way.
func TestLoopTimeouts(t *testing.T) {
	addr, _ := loop(t, echo(), nil)
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n")
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadAll(c); err != nil || time.Since(start) > 2*time.Second {
		t.Errorf("a slow head was not cut at the header timeout: %v after %v", err, time.Since(start))
	}
}

// A later head gets the header timeout from its first byte too, not the
// idle timeout it began in, whether it comes after an answer or
// pipelined behind a whole head.
func TestLoopHeaderTimeoutOfLaterHeads(t *testing.T) {
	addr, _ := loop(t, echo(), nil)
	whole, partial := "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\r\n"
	for _, pipelined := range []bool{false, true} {
		c := dial(t, addr)
		if pipelined {
			io.WriteString(c, whole+partial)
		} else {
			io.WriteString(c, whole)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("pipelined %v: the first answer: %v %v", pipelined, resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		if !pipelined {
			io.WriteString(c, partial)
		}
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		// The header timeout is 300 ms, the idle timeout a second.
		if _, err := io.ReadAll(br); err != nil || time.Since(start) > 800*time.Millisecond {
			t.Errorf("pipelined %v: a slow later head was not cut at the header timeout: %v after %v", pipelined, err, time.Since(start))
		}
	}
}

// The idle timeout, armed lazily, still runs from the last answer of a
// connection that has answered many: the connection is closed no sooner
// than the timeout after it, and not much later.
func TestLoopIdleTimeoutAfterManyRequests(t *testing.T) {
	addr, _ := loop(t, echo(), nil)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := 0; i < 20; i++ {
		if i > 0 {
			time.Sleep(20 * time.Millisecond) // 380 ms in all: past the slack
		}
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("answer %d: %v %v", i, resp, err)
		}
		io.Copy(io.Discard, resp.Body)
	}
	start := time.Now() // just after the last answer came: the loop waits from a moment before
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err := io.ReadAll(br)
	took := time.Since(start)
	// The idle timeout is a second from the loop's wait, which began as
	// the answer left; it may fire a sixteenth late.
	if err != nil || took < 950*time.Millisecond || took > 1600*time.Millisecond {
		t.Errorf("an idle connection was closed after %v (%v), want 950 ms to 1.6 s", took, err)
	}
}

// A request sent the moment the answer before it came, whole or in
// parts, is answered: thousands in a row on one connection.
func TestLoopManyRequestsOnOneConnection(t *testing.T) {
	addr, _ := loop(t, echo(), nil)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	for i := 0; i < 2000; i++ {
		req := fmt.Sprintf("GET /n%d HTTP/1.1\r\nHost: h\r\n\r\n", i)
		if i%50 == 49 {
			io.WriteString(c, req[:7])
			time.Sleep(time.Millisecond)
			req = req[7:]
		}
		io.WriteString(c, req)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if want := fmt.Sprintf("GET /n%d host=h", i); !strings.HasPrefix(string(body), want) {
			t.Fatalf("answer %d: %q, want %q", i, body, want)
		}
	}
}

// A request that comes while the one before it is being answered (a
// pipelining client's) is answered in turn: its bytes came before the
// loop waits for more, so the wait must not be what finds them.
func TestLoopAnswersARequestThatCameDuringTheLast(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		io.WriteString(w, r.URL.Path)
	})
	addr, _ := loop(t, h, nil)
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started
	io.WriteString(c, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
	time.Sleep(20 * time.Millisecond) // the bytes are in the server's socket before the answer leaves
	close(release)
	br := bufio.NewReader(c)
	for _, want := range []string{"/slow", "/next"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer for %s: %v", want, err)
		}
		if b, _ := io.ReadAll(resp.Body); string(b) != want {
			t.Errorf("answer %q, want %q", b, want)
		}
	}
}

// A read that fills the loop's buffer may leave bytes in the kernel: the
// loop reads again before it waits for more (the poller would not say
// that bytes it already said came are there). Two pipelined requests,
// the first exactly the buffer's 4 KiB.
func TestLoopReadsOnAfterAFullRead(t *testing.T) {
	addr, _ := loop(t, echo(), nil)
	first := "GET /n1 HTTP/1.1\r\nHost: h\r\nX-Pad: "
	first += strings.Repeat("p", readChunk-len(first)-4) + "\r\n\r\n"
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	time.Sleep(20 * time.Millisecond) // the loop waits for the poller: the bytes wake it
	io.WriteString(c, first+"GET /n2 HTTP/1.1\r\nHost: h\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{"GET /n1 host=h", "GET /n2 host=h"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer for %q: %v", want, err)
		}
		if b, _ := io.ReadAll(resp.Body); !strings.HasPrefix(string(b), want) {
			t.Errorf("answer %q, want %q", b, want)
		}
	}
}

// Close ends every connection at once, one whose handler is still
// answering included: the client sees it end, and Close does not wait
// for the handler.
func TestLoopCloseEndsAnAnswerInProgress(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "late")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Fallback: &http.Server{Handler: h}}
	go s.Serve(ln)
	c := dial(t, ln.Addr().String())
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started
	idle := dial(t, ln.Addr().String()) // waits for its first request
	time.Sleep(20 * time.Millisecond)
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(time.Second):
		t.Error("Close waited for the handler")
	}
	for _, conn := range []net.Conn{c, idle} {
		conn.SetReadDeadline(time.Now().Add(time.Second))
		if b, err := io.ReadAll(conn); err != nil || len(b) != 0 {
			t.Errorf("after Close the client read %q, %v; want the connection's end", b, err)
		}
	}
}
