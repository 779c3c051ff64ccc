package h1

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"syscall"
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

	// raw is the TCP connection beneath c when c's reads are its reads
	// (rawReads): the loop then sends an answer and waits for the next
	// request in one step (sendAndWait). sendThenWait is made once; sent
	// is its state for one answer.
	raw          syscall.RawConn
	sendThenWait func(uintptr) bool
	sent         bool

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
	if cn.raw = rawReads(cn.c); cn.raw != nil {
		cn.sendThenWait = cn.sendStep
	}
	first := true
	for {
		// Wait for the next request: idle_timeout between requests,
		// read_header_timeout for the first, counted from the first byte.
		if len(cn.buf) == 0 {
			// The last answer's end may still be in the writer
			// (answer): it leaves in the wait.
			pending := len(cn.bw.b) > 0
			if s.shutting.Load() {
				cn.bw.flush()
				return
			}
			if !pending {
				cn.idle.Store(true)
			}
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
			if pending && !cn.sendAndWait() {
				return
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

// rawReads is the raw TCP connection beneath c when reading c is
// reading it: c itself, or a wrapper that says so (ReadConn) over one.
func rawReads(c net.Conn) syscall.RawConn {
	for {
		if tc, ok := c.(*net.TCPConn); ok {
			raw, err := tc.SyscallConn()
			if err != nil {
				return nil
			}
			return raw
		}
		u, ok := c.(interface{ ReadConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.ReadConn()
	}
}

// sendAndWait writes what is left of the last answer and waits until the
// next request can be read, as an event loop does: without the read a Go
// connection makes first, which finds nothing yet (the client has not
// had the answer) and costs a system call of every request. The write is
// made inside the connection's raw read, once the runtime has forgotten
// its earlier readiness, so that the readiness of a request sent after
// the answer cannot be missed. The wait keeps the read deadline (the idle
// timeout), and the connection is idle (Shutdown may close it) only once
// the answer is out. It reports false when the connection is done.
func (cn *conn) sendAndWait() bool {
	cn.sent = false
	err := cn.raw.Read(cn.sendThenWait)
	return err == nil && cn.bw.err == nil
}

// sendStep is sendAndWait's raw read: the first call writes and asks to
// wait unless the write failed; the next, once the connection is
// readable, ends the wait (the read itself is fill's).
func (cn *conn) sendStep(uintptr) bool {
	if cn.sent {
		return true
	}
	cn.sent = true
	if cn.bw.flush() != nil {
		return true
	}
	cn.idle.Store(true)
	return false
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
	if cn.raw != nil && !w.closeAfter && len(cn.buf) == cn.head.n {
		// Nothing more has come: the answer's end leaves as the loop
		// waits for the next request (sendAndWait).
		return cn.bw.err == nil
	}
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
