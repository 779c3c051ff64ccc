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
	idle   atomic.Bool // waiting for a request: Shutdown may close it
	// raw is the TCP connection beneath c when it is served inside a raw
	// read (step), which the runtime waits for before it closes the
	// descriptor (close).
	raw atomic.Pointer[net.TCPConn]
	rd  clock.Deadline // the read deadline, armed lazily for idle waits

	readHeader, idleWait time.Duration // the server's limits
	maxHeader            int

	// step's state: whether no request has been answered yet, the
	// head's deadline is set; whether the last raw read took all there
	// was, and the loop has not read since it last waited.
	first, timed    bool
	drained, waited bool

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
	cn.readHeader, cn.idleWait, cn.maxHeader = s.limits()
	cn.bw.c, cn.bw.send = writerOf(cn.c), s.SendTimeout
	cn.first = true
	var end int
	var raw syscall.RawConn
	if tc := rawReads(cn.c); tc != nil {
		if r, err := tc.SyscallConn(); err == nil {
			raw = r
			cn.raw.Store(tc)
		}
	}
	if raw != nil {
		// The connection lives inside one raw read: the poller's word
		// that bytes came is kept from one request to the next (step).
		err := raw.Read(func(fd uintptr) bool {
			end = cn.step(int(fd))
			return end != stepWait
		})
		if err != nil {
			end = stepClose // timed out, closed, broken
		}
	} else {
		end = cn.step(-1)
	}
	switch end {
	case stepHandOver:
		handed = cn.handOver()
	case stepLinger:
		cn.lingeringClose()
	}
}

// What step ends with.
const (
	stepWait     = iota // wait until the connection can be read, then step again
	stepClose           // the connection is done
	stepHandOver        // net/http must answer what was read, and the rest
	stepLinger          // close after the answer, reading what still comes
)

// step serves the connection's requests until it must wait for bytes
// (raw reads only: fd is the connection's descriptor) or the connection
// is done. With fd < 0 it reads by blocking, and never waits. Called
// again after a wait, it goes on where it was: an empty buffer is the
// wait for a request (idle), bytes in it a head to read on.
//
// Raw reads are an event loop's: after a read that took what the kernel
// had (a short read), the loop waits for the poller before reading
// again, instead of a read that would find nothing (after an answer the
// viewer has not had yet) and cost a system call a request. It is safe
// because the connection stays inside one raw read (serve): the runtime
// forgets a connection's readiness only as a read begins, so bytes that
// came while a request was answered (a pipelining client's next) are
// still known, and the wait ends at once.
func (cn *conn) step(fd int) int {
	s := cn.srv
	for {
		if len(cn.buf) == 0 {
			// Wait for the next request: idle_timeout between requests,
			// read_header_timeout for the first, counted from the first
			// byte.
			if s.shutting.Load() {
				return stepClose
			}
			if !cn.idle.Load() {
				cn.idle.Store(true)
				cn.armIdle()
			}
			switch cn.read(fd) {
			case readWait:
				return stepWait
			case readEnd:
				return stepClose
			}
			cn.idle.Store(false)
		}
		switch parseHead(cn.buf, &cn.head) {
		case partial:
			if len(cn.buf) > cn.maxHeader+readChunk {
				return stepHandOver // too long a head: net/http answers 431
			}
			if !cn.timed && cn.readHeader > 0 {
				// The rest of the head must come within the header
				// timeout of its first byte. (A head that came whole
				// needs no deadline of its own: nothing more is read for
				// it.)
				cn.readWithin(cn.readHeader)
				cn.timed = true
			}
			switch cn.read(fd) {
			case readWait:
				return stepWait
			case readEnd:
				return stepClose
			}
			continue
		case handOver:
			return stepHandOver
		}
		if cn.head.n > cn.maxHeader+readChunk {
			return stepHandOver // net/http answers 431
		}
		// The read deadline stays: the handler reads nothing, and the next
		// wait sets its own.
		keep := cn.answer()
		s.answered.Add(1)
		cn.buf = cn.buf[:copy(cn.buf, cn.buf[cn.head.n:])]
		cn.first, cn.timed = false, false
		if !keep {
			return stepLinger
		}
	}
}

// armIdle sets the read deadline of the wait for the next request.
func (cn *conn) armIdle() {
	wait := cn.idleWait
	if cn.first && cn.readHeader > 0 {
		wait = cn.readHeader
	}
	if wait > 0 && cn.first {
		cn.readWithin(wait)
	} else if wait > 0 {
		// Lazily: a connection answering request after request updates
		// its deadline once every many (clock.Deadline).
		if t, set := cn.rd.Extend(wait); set {
			cn.c.SetReadDeadline(t)
		}
	} else if cn.rd.Clear() {
		cn.c.SetReadDeadline(time.Time{})
	}
}

// What read found.
const (
	readGot  = iota // bytes, now in the buffer
	readWait        // nothing yet: wait for the poller (raw reads only)
	readEnd         // the connection is done
)

// read reads more bytes into the buffer. With a raw descriptor it reads
// without blocking, and answers readWait instead of reading when the
// last read took all there was and the poller has not woken the loop
// since.
func (cn *conn) read(fd int) int {
	if fd < 0 {
		if cn.fill() {
			return readGot
		}
		return readEnd
	}
	if cn.drained && !cn.waited {
		cn.waited = true
		return readWait
	}
	cn.waited = false
	cn.grow()
	space := cn.buf[len(cn.buf):cap(cn.buf)]
	for {
		n, err := syscall.Read(fd, space)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			cn.drained, cn.waited = true, true
			return readWait
		case n <= 0:
			return readEnd
		}
		cn.buf = cn.buf[:len(cn.buf)+n]
		cn.drained = n < len(space)
		return readGot
	}
}

// rawReads is the TCP connection beneath c when reading c is reading
// it: c itself, or a wrapper that says so (ReadConn) over one.
func rawReads(c net.Conn) *net.TCPConn {
	for {
		if tc, ok := c.(*net.TCPConn); ok {
			return tc
		}
		u, ok := c.(interface{ ReadConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.ReadConn()
	}
}

// close closes the connection from outside its goroutine, at once. The
// runtime closes a descriptor only once the reads and writes on it have
// ended, and a connection served inside a raw read is in one until it is
// done: it is shut both ways first, which ends a wait for a request and
// an answer in progress alike (its writes fail), and closed in the
// background, so that the caller does not wait for its handler.
func (cn *conn) close() {
	if tc := cn.raw.Load(); tc != nil {
		tc.CloseRead()
		tc.CloseWrite()
		go cn.c.Close()
		return
	}
	cn.c.Close()
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
	cn.grow()
	n, err := cn.c.Read(cn.buf[len(cn.buf):cap(cn.buf)])
	cn.buf = cn.buf[:len(cn.buf)+n]
	return n > 0 || err == nil
}

// grow makes room for a read of at least readChunk bytes.
func (cn *conn) grow() {
	if cap(cn.buf)-len(cn.buf) < readChunk {
		nb := make([]byte, len(cn.buf), 2*cap(cn.buf)+readChunk)
		copy(nb, cn.buf)
		cn.buf = nb
	}
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
