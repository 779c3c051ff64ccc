// Command barepass is the floor the edge's pass path is measured against:
// what this machine allows any Go proxy built on goroutines and the
// runtime's network poller. A goroutine per viewer connection, each with
// one keep-alive connection to the origin of its own, forwards each
// request head as it came, reads the answer's head and its Content-Length
// body, and writes both to the viewer in one write. Nothing else: no
// parser beyond the framing, no fields added or removed, no timeouts, no
// pool shared between connections, no log. bench/run.sh runs it beside
// edgefront, nginx and HAProxy.
//
// With -loop it is the floor of edgefront's own layers instead: its
// HTTP/1.1 connection loop (internal/server/h1) and its pooled origin
// client (internal/origin), with a handler that only copies the request,
// sends it and writes the answer's fields less the hop-by-hop ones. What
// edgefront spends beyond -loop is its pipeline's; what -loop spends
// beyond the plain floor is the loop's and the client's.
//
// With -epoll it is the floor below Go's network poller and scheduler: a
// locked thread a P, each with its own listening socket and epoll set,
// relaying bytes between each viewer connection and an origin connection
// of its own as they come, with no HTTP framing at all (epoll.go). With
// -epoll -http the loops proxy HTTP/1.1 instead (epollhttp.go): heads
// parsed and rewritten both ways, strict framing, an origin pool each
// loop's viewers share: what an event-loop engine would do for a pass.
// With -epoll -coro the loops run the floor's own code (serve, written
// as if it blocked) in a coroutine a connection (iter.Pull), whose reads
// and writes hand the thread back to the loop instead of waiting
// (coro.go): whether code written for goroutines can run on a loop at
// the loop's cost.
//
//	go run ./bench/barepass [-loop|-epoll [-http|-coro]] 127.0.0.1:18105 127.0.0.1:18100
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/origin"
	"github.com/edgefront/edgefront/internal/server/h1"
)

func main() {
	loop := flag.Bool("loop", false, "serve with edgefront's connection loop and origin client")
	epoll := flag.Bool("epoll", false, "relay bytes on an epoll loop a thread, below the runtime's poller")
	httpFraming := flag.Bool("http", false, "with -epoll: proxy HTTP/1.1 on the loops, with a shared origin pool")
	coro := flag.Bool("coro", false, "with -epoll: run the floor's own code on the loops, a coroutine a connection")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: barepass [-loop|-epoll [-http|-coro]] LISTEN ORIGIN")
		os.Exit(2)
	}
	if *epoll && *coro {
		fmt.Fprintln(os.Stderr, serveCoro(flag.Arg(0), flag.Arg(1), runtime.GOMAXPROCS(0)))
		os.Exit(1)
	}
	if *epoll && *httpFraming {
		fmt.Fprintln(os.Stderr, serveEpollHTTP(flag.Arg(0), flag.Arg(1), runtime.GOMAXPROCS(0)))
		os.Exit(1)
	}
	if *epoll {
		fmt.Fprintln(os.Stderr, serveEpoll(flag.Arg(0), flag.Arg(1), runtime.GOMAXPROCS(0)))
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *loop {
		err = serveLoop(ln, flag.Arg(1))
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go serve(c, func() (net.Conn, error) { return net.Dial("tcp", flag.Arg(1)) })
	}
}

// proxiedWriter is the loop's writer of an answer head given as lines.
type proxiedWriter interface {
	WriteProxied(status int, fields []byte, hasDate bool, length int64) bool
}

// serveLoop proxies with edgefront's loop and origin client, and nothing
// of its pipeline: no routing, no exchange record, no forwarded fields.
func serveLoop(ln net.Listener, addr string) error {
	o, err := origin.NewHTTP("origin", config.Origin{Type: "http", URL: "http://" + addr})
	if err != nil {
		return err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := r.Clone(r.Context())
		o.Prepare(out)
		out.Host = ""
		raw, err := o.RoundTripRaw(out, nil)
		if err != nil || raw.Resp != nil || raw.Length < 0 {
			w.WriteHeader(http.StatusBadGateway) // the benchmark's origin gives none of these
			return
		}
		defer raw.Body.Close()
		if !w.(proxiedWriter).WriteProxied(raw.Status, endToEnd(raw.Fields), true, raw.Length) {
			return
		}
		io.Copy(w, raw.Body)
	})
	return (&h1.Server{Fallback: &http.Server{Handler: h}}).Serve(ln)
}

// endToEnd is the answer's field lines less those the writer gives
// (Content-Length) and those of one connection the benchmark's origin
// sends (Connection, Keep-Alive).
func endToEnd(fields []byte) []byte {
	out := make([]byte, 0, len(fields))
	for rest := fields; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		name, _, _ := bytes.Cut(line, []byte(":"))
		if bytes.EqualFold(name, []byte("Content-Length")) || bytes.EqualFold(name, []byte("Connection")) ||
			bytes.EqualFold(name, []byte("Keep-Alive")) {
			continue
		}
		out = append(out, line...)
	}
	return out
}

// serve proxies one viewer connection's requests (GET and HEAD without
// bodies, as the benchmark sends) to its own origin connection.
func serve(c net.Conn, dial func() (net.Conn, error)) {
	defer c.Close()
	o, err := dial()
	if err != nil {
		return
	}
	defer o.Close()
	vr, or := bufio.NewReaderSize(c, 4096), bufio.NewReaderSize(o, 16384)
	for {
		head, err := nextHead(vr)
		if err != nil {
			return
		}
		bodiless := bytes.HasPrefix(head, []byte("HEAD "))
		_, err = o.Write(head)
		vr.Discard(len(head))
		if err != nil {
			return
		}
		if head, err = nextHead(or); err != nil {
			return
		}
		n := contentLength(head)
		if n < 0 {
			return // the benchmark's origin always gives a length
		}
		if bodiless {
			n = 0
		}
		if whole := len(head) + n; whole <= or.Size() {
			// Head and body together from the buffer, in one write.
			b, err := or.Peek(whole)
			if err != nil {
				return
			}
			_, err = c.Write(b)
			or.Discard(whole)
			if err != nil {
				return
			}
			continue
		}
		_, err = c.Write(head)
		or.Discard(len(head))
		if err != nil {
			return
		}
		if _, err := io.CopyN(c, or, int64(n)); err != nil {
			return
		}
	}
}

var blank = []byte("\r\n\r\n")

// nextHead returns the head at the start of r's buffer, up to and with
// its blank line, without consuming it: the caller discards it once used.
func nextHead(r *bufio.Reader) ([]byte, error) {
	for {
		b, _ := r.Peek(r.Buffered())
		if i := bytes.Index(b, blank); i >= 0 {
			return b[:i+len(blank)], nil
		}
		if _, err := r.Peek(len(b) + 1); err != nil { // wait for more
			return nil, err
		}
	}
}

// contentLength is the Content-Length of a response head, -1 when none.
func contentLength(head []byte) int {
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Content-Length")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
