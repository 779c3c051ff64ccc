//go:build linux

package main

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strconv"

	"github.com/edgefront/edgefront/internal/server/evloop"
	"golang.org/x/sys/unix"
)

// serveEpollHTTP is an HTTP/1.1 proxy on the same loops as serveEpoll:
// it parses each request head (request line, field names and their
// framing), forwards it less the hop-by-hop fields with an
// X-Forwarded-For, on an origin connection from a pool the loop's
// viewers share, parses the answer's head (status line, a strict
// Content-Length, hop-by-hop fields), writes head and body to the viewer
// in one writev and relays what is left of the body as it comes. It is
// what an event-loop engine of edgefront's would do for a plain pass,
// without its pipeline: the measure of whether one is worth building.
func serveEpollHTTP(listen, origin string, workers int) error {
	oa, err := netip.ParseAddrPort(origin)
	if err != nil {
		return err
	}
	loops := map[*evloop.Loop]*httpLoop{}
	g, err := evloop.Listen(listen, workers, func(c *evloop.Conn) evloop.Handler {
		w := loops[c.Loop()]
		v := &hconn{w: w, c: c, in: make([]byte, 0, 4096)}
		if sa, err := unix.Getpeername(c.Fd()); err == nil {
			if in4, ok := sa.(*unix.SockaddrInet4); ok {
				v.addr = []byte(net.IP(in4.Addr[:]).String())
			}
		}
		return v
	})
	if err != nil {
		return err
	}
	for _, l := range g.Loops() {
		loops[l] = &httpLoop{l: l, origin: oa}
	}
	return g.Serve()
}

// hconn is one connection of a loop: a viewer's or an origin's.
type hconn struct {
	w      *httpLoop
	c      *evloop.Conn
	origin bool
	in     []byte // read, not yet used
	// peer is, for a viewer, the origin connection answering its request
	// (nil between requests: pipelined bytes wait in in); for an origin
	// connection, the viewer it answers (nil when idle in the pool).
	peer *hconn
	// A viewer's address for X-Forwarded-For, and whether its request is
	// a HEAD and its connection closes after the answer.
	addr       []byte
	head, last bool
	failed     bool // answered with an error: closes once it is sent
	// An origin connection's answer: body bytes still to relay (-1 until
	// its head is read), and whether the origin closes after it.
	left   int
	closes bool
}

// httpLoop is a loop's shared state: its origin pool and scratch.
type httpLoop struct {
	l      *evloop.Loop
	origin netip.AddrPort
	idle   []*hconn // origin connections waiting for a request
	out    []byte   // the head being written
}

const (
	maxHead = 16 << 10
	// maxQueued is how much of an answer a viewer may have queued before
	// its origin connection stops being read.
	maxQueued = 256 << 10
)

func (w *httpLoop) close(c *hconn) {
	if c == nil || c.c == nil {
		return
	}
	c.c.Close()
	c.c = nil
	if p := c.peer; p != nil {
		c.peer, p.peer = nil, nil
		w.close(p) // a viewer without its answer, an origin mid-answer
	}
}

// Readable reads what came on c and goes on with its exchange.
func (c *hconn) Readable(*evloop.Conn) {
	if cap(c.in)-len(c.in) < 2048 {
		nb := make([]byte, len(c.in), 2*cap(c.in))
		copy(nb, c.in)
		c.in = nb
	}
	n, err := c.c.Read(c.in[len(c.in):cap(c.in)])
	if errors.Is(err, evloop.ErrWouldBlock) {
		return
	}
	if err != nil {
		if v := c.peer; c.origin && v != nil && c.left < 0 {
			c.w.fail(v, "502 Bad Gateway") // no answer came: refused, reset
			return
		}
		c.w.close(c)
		return
	}
	c.in = c.in[:len(c.in)+n]
	if c.origin {
		c.w.answer(c)
	} else {
		c.w.request(c)
	}
}

// Drained resumes the origin connection a full viewer paused.
func (c *hconn) Drained(*evloop.Conn) {
	if c.failed {
		c.w.close(c)
		return
	}
	if !c.origin && c.peer != nil && c.peer.c != nil {
		c.peer.c.Resume()
	}
}

// request forwards each whole request head c has, one at a time.
func (w *httpLoop) request(v *hconn) {
	if v.peer != nil {
		return // an answer is in flight: the next request waits for it
	}
	end := bytes.Index(v.in, blank)
	if end < 0 {
		if len(v.in) > maxHead {
			w.fail(v, "431 Request Header Fields Too Large")
		}
		return
	}
	end += len(blank)
	if !w.originRequest(v, v.in[:end]) {
		w.fail(v, "400 Bad Request")
		return
	}
	v.in = v.in[:copy(v.in, v.in[end:])]
	o := w.originConn()
	if o == nil {
		w.fail(v, "502 Bad Gateway")
		return
	}
	o.peer, v.peer, o.left, o.closes = v, o, -1, false
	if o.c.Write(w.out) != nil {
		w.close(o)
	}
}

// originRequest renders the request head in w.out: its request line, its
// fields less the hop-by-hop ones, an X-Forwarded-For. It is false for a
// head this proxy does not take (a body, an upgrade, a malformed line),
// which edgefront's loop hands to net/http.
func (w *httpLoop) originRequest(v *hconn, head []byte) bool {
	line, rest, _ := bytes.Cut(head, crlf)
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 || !bytes.Equal(line[sp2+1:], []byte("HTTP/1.1")) || line[sp1+1] != '/' {
		return false
	}
	method := line[:sp1]
	v.head = string(method) == "HEAD"
	if !v.head && string(method) != "GET" {
		return false
	}
	v.last = false
	out := append(w.out[:0], line...)
	out = append(out, crlf...)
	hosts := 0
	for len(rest) > 2 {
		var f []byte
		f, rest, _ = bytes.Cut(rest, crlf)
		name, value, ok := bytes.Cut(f, []byte(":"))
		if !ok || !isToken(name) {
			return false
		}
		switch {
		case asciiEqual(name, "Host"):
			hosts++
		case asciiEqual(name, "Content-Length"), asciiEqual(name, "Transfer-Encoding"),
			asciiEqual(name, "Upgrade"), asciiEqual(name, "Expect"):
			return false
		case asciiEqual(name, "Connection"):
			v.last = hasCloseToken(value)
			continue
		case asciiEqual(name, "Keep-Alive"), asciiEqual(name, "Proxy-Connection"), asciiEqual(name, "TE"):
			continue
		}
		out = append(out, f...)
		out = append(out, crlf...)
	}
	if hosts != 1 {
		return false
	}
	out = append(out, "X-Forwarded-For: "...)
	out = append(out, v.addr...)
	out = append(out, "\r\n\r\n"...)
	w.out = out
	return true
}

// originConn is an idle origin connection, or a new one.
func (w *httpLoop) originConn() *hconn {
	for len(w.idle) > 0 {
		o := w.idle[len(w.idle)-1]
		w.idle = w.idle[:len(w.idle)-1]
		if o.c != nil {
			return o
		}
	}
	o := &hconn{w: w, origin: true, in: make([]byte, 0, 16<<10)}
	var err error
	if o.c, err = w.l.Dial(w.origin, o); err != nil {
		return nil
	}
	return o
}

// answer passes on what the origin connection o has of its answer.
func (w *httpLoop) answer(o *hconn) {
	v := o.peer
	if v == nil {
		w.close(o) // an idle connection that spoke or ended
		return
	}
	if o.left < 0 {
		end := bytes.Index(o.in, blank)
		if end < 0 {
			if len(o.in) > maxHead {
				w.fail(v, "502 Bad Gateway")
			}
			return
		}
		end += len(blank)
		n, ok := w.viewerHead(o, v, o.in[:end])
		if !ok {
			w.fail(v, "502 Bad Gateway")
			return
		}
		body := min(n, len(o.in)-end)
		if v.c.Write(w.out, o.in[end:end+body]) != nil {
			w.close(v)
			return
		}
		o.left = n - body
		o.in = o.in[:copy(o.in, o.in[end+body:])]
	} else if len(o.in) > 0 {
		part := min(o.left, len(o.in))
		if v.c.Write(o.in[:part]) != nil {
			w.close(v)
			return
		}
		o.left -= part
		o.in = o.in[:copy(o.in, o.in[part:])]
	}
	if o.left > 0 {
		if v.c.Queued() > maxQueued {
			o.c.Pause() // until the viewer drains (Drained)
		}
		return
	}
	// The answer is whole: the origin connection goes back to the pool,
	// and the viewer's next request, if it came, is forwarded.
	o.peer, v.peer = nil, nil
	if o.closes || len(o.in) > 0 {
		w.close(o)
	} else {
		w.idle = append(w.idle, o)
	}
	if v.last {
		w.close(v)
		return
	}
	w.request(v)
}

// viewerHead renders the viewer's answer head in w.out from the origin's
// head: its status line, its fields less the hop-by-hop ones, and one
// Content-Length. It gives the body's length, and is false for framing it
// does not take strictly: no length or two that differ, a
// Transfer-Encoding, a 1xx.
func (w *httpLoop) viewerHead(o, v *hconn, head []byte) (int, bool) {
	line, rest, _ := bytes.Cut(head, crlf)
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[9] < '2' {
		return 0, false
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false
	}
	out := append(w.out[:0], line...)
	out = append(out, crlf...)
	length := -1
	for len(rest) > 2 {
		var f []byte
		f, rest, _ = bytes.Cut(rest, crlf)
		name, value, ok := bytes.Cut(f, []byte(":"))
		if !ok || !isToken(name) {
			return 0, false
		}
		switch {
		case asciiEqual(name, "Content-Length"):
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil || n < 0 || (length >= 0 && n != length) {
				return 0, false
			}
			length = n
			continue
		case asciiEqual(name, "Transfer-Encoding"):
			return 0, false
		case asciiEqual(name, "Connection"):
			o.closes = hasCloseToken(value)
			continue
		case asciiEqual(name, "Keep-Alive"):
			continue
		}
		out = append(out, f...)
		out = append(out, crlf...)
	}
	bodiless := v.head || status == 204 || status == 304
	if length < 0 && !bodiless {
		return 0, false // an edgefront engine would frame it chunked
	}
	if length >= 0 {
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, int64(length), 10)
		out = append(out, crlf...)
	}
	if v.last {
		out = append(out, "Connection: close\r\n"...)
	}
	w.out = append(out, crlf...)
	if bodiless {
		return 0, true
	}
	return length, true
}

// fail answers v with status and closes it once the answer is sent.
func (w *httpLoop) fail(v *hconn, status string) {
	if p := v.peer; p != nil {
		v.peer, p.peer = nil, nil
		w.close(p)
	}
	v.failed = true
	v.c.Pause() // what a failed viewer sends after is not read
	if v.c.Write([]byte("HTTP/1.1 "+status+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")) != nil || v.c.Queued() == 0 {
		w.close(v)
	}
}

var crlf = []byte("\r\n")

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	return true
}

// asciiEqual is bytes.EqualFold for an ASCII name, without converting it.
func asciiEqual(b []byte, name string) bool {
	if len(b) != len(name) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], name[i]
		if c|0x20 != d|0x20 {
			return false
		}
	}
	return true
}

func hasCloseToken(v []byte) bool {
	for _, t := range bytes.Split(v, []byte(",")) {
		if asciiEqual(bytes.TrimSpace(t), "close") {
			return true
		}
	}
	return false
}
