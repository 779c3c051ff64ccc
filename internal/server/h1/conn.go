package h1

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/edgefront/edgefront/internal/clock"
)

// conn is one connection the loop serves.
type conn struct {
	srv    *Server
	c      net.Conn
	ctx    context.Context
	tls    *tls.ConnectionState
	remote string
	idle   atomic.Bool
	rd     clock.Deadline // the read deadline, armed lazily for idle waits

	buf  []byte // read, not yet served
	head head
	bw   bufWriter
	hold [hold]byte // the answer's held-back body, reused

	// Reused from request to request (reuse.go).
	rctx *reqCtx
	req  *http.Request
	hdr  http.Header
	vals []string
	resp response
	rhdr http.Header
}

const readChunk = 4096

func (cn *conn) serve() {
	s := cn.srv
	handed := false
	defer func() {
		if handed {
			return
		}
		s.mu.Lock()
		delete(s.conns, cn)
		s.mu.Unlock()
		cn.c.Close()
		s.announce(cn.c, http.StateClosed)
		s.wg.Done()
	}()
	readHeader, idle, maxHeader := s.limits()
	cn.bw.c, cn.bw.send = writerOf(cn.c), s.SendTimeout
	first := true
	for {
		// Wait for the next request: idle_timeout between requests,
		// read_header_timeout for the first, counted from the first byte.
		if len(cn.buf) == 0 {
			if s.shutting.Load() {
				return
			}
			cn.idle.Store(true)
			wait := idle
			if first && readHeader > 0 {
				wait = readHeader
			}
			if wait > 0 && first {
				cn.readWithin(wait)
			} else if wait > 0 {
				// Lazily: a connection answering request after request
				// updates its deadline once every many (clock.Deadline).
				if t, set := cn.rd.Extend(wait); set {
					cn.c.SetReadDeadline(t)
				}
			} else if cn.rd.Clear() {
				cn.c.SetReadDeadline(time.Time{})
			}
			if !cn.fill() {
				return
			}
			cn.idle.Store(false)
		}
		first = false
		timed := false
		for {
			switch parseHead(cn.buf, &cn.head) {
			case partial:
				if len(cn.buf) > maxHeader+readChunk {
					// Too long a head: net/http answers 431.
					handed = cn.handOver()
					return
				}
				if !timed && readHeader > 0 {
					// The rest of the head must come within the header
					// timeout of its first byte. (A head that came whole
					// needs no deadline of its own: nothing more is read
					// for it.)
					cn.readWithin(readHeader)
					timed = true
				}
				if !cn.fill() {
					return
				}
				continue
			case handOver:
				handed = cn.handOver()
				return
			}
			if cn.head.n > maxHeader+readChunk {
				handed = cn.handOver() // net/http answers 431
				return
			}
			break
		}
		// The read deadline stays: the handler reads nothing, and the next
		// wait sets its own.
		keep := cn.answer()
		s.answered.Add(1)
		cn.buf = cn.buf[:copy(cn.buf, cn.buf[cn.head.n:])]
		if !keep {
			cn.lingeringClose()
			return
		}
	}
}

// readWithin sets an exact read deadline d from now, and records it.
func (cn *conn) readWithin(d time.Duration) {
	at := time.Now().Add(d)
	cn.c.SetReadDeadline(at)
	cn.rd.Set(at)
}

// writerOf is where the loop writes a connection's answers: the TCP
// connection itself under the listener's wrappers (so that head and body
// leave in one writev), or the TLS connection.
func writerOf(c net.Conn) net.Conn {
	for {
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return c
		}
		if _, isTLS := c.(*tls.Conn); isTLS {
			return c
		}
		c = u.NetConn()
	}
}

// lingeringClose ends the write side after an answer that closes the
// connection and reads what the client still sends for a moment, as
// net/http does: closing with unread requests in the kernel's buffer
// would reset the connection and could destroy the answer in flight.
func (cn *conn) lingeringClose() {
	tc, ok := writerOf(cn.c).(*net.TCPConn)
	if !ok || cn.bw.err != nil {
		return
	}
	tc.CloseWrite()
	cn.c.SetReadDeadline(time.Now().Add(rstAvoidance))
	io.Copy(io.Discard, io.LimitReader(cn.c, 256<<10))
}

// rstAvoidance is how long lingeringClose reads, as net/http's
// rstAvoidanceDelay.
const rstAvoidance = 500 * time.Millisecond

// handOver gives the connection to the fallback with what was read of it.
func (cn *conn) handOver() bool {
	s := cn.srv
	s.mu.Lock()
	delete(s.conns, cn)
	s.mu.Unlock()
	ctx := cn.ctx
	if cn.head.smuggling {
		ctx = context.WithValue(ctx, closeAfterKey{}, true)
	}
	s.handOver(cn.c, cn.c, ctx, cn.buf)
	return true
}

// fill reads more bytes into the buffer; false when the connection is
// done (closed, timed out, broken).
func (cn *conn) fill() bool {
	if cap(cn.buf)-len(cn.buf) < readChunk {
		nb := make([]byte, len(cn.buf), 2*cap(cn.buf)+readChunk)
		copy(nb, cn.buf)
		cn.buf = nb
	}
	n, err := cn.c.Read(cn.buf[len(cn.buf):cap(cn.buf)])
	cn.buf = cn.buf[:len(cn.buf)+n]
	return n > 0 || err == nil
}

// answer serves the parsed request; it reports whether the connection
// may serve another.
func (cn *conn) answer() bool {
	r := cn.request()
	w := cn.writer(r)
	defer cn.endRequest()
	ok := cn.call(w, r)
	if !ok {
		return false
	}
	w.finish()
	if err := cn.bw.flush(); err != nil {
		return false
	}
	return !w.closeAfter
}

// call runs the handler; a panic is logged, as net/http does, and ends
// the connection.
func (cn *conn) call(w *response, r *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				cn.srv.Log.Error("http: panic serving", "remote", cn.remote, "panic", p, "stack", string(debug.Stack()))
			}
			ok = false
		}
	}()
	cn.srv.handler.ServeHTTP(w, r)
	return true
}
