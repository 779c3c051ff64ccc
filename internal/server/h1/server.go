package h1

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Server runs the loop on a listener. Fallback is the net/http server
// that takes what the loop hands over; its Handler answers the loop's
// requests too, and its ConnContext and ConnState hooks and its timeouts
// and header limit apply to every connection, whichever path serves it.
type Server struct {
	Fallback *http.Server
	// TLS, when set, makes the listener's connections TLS: the loop does
	// the handshake, and a connection that negotiates h2 goes to the
	// fallback before anything is read.
	TLS *tls.Config
	Log *slog.Logger
	// SendTimeout bounds each write to a viewer the loop makes.
	SendTimeout time.Duration

	once     sync.Once
	fallback *handoffListener
	served   chan error

	mu       sync.Mutex
	ln       net.Listener
	conns    map[*conn]struct{}
	shutting atomic.Bool
	wg       sync.WaitGroup

	handed sync.Map // net.Conn given to the fallback → handedConn

	answered, handedOver atomic.Int64

	// The fallback's own hooks and handler, which the loop calls too.
	connContext func(context.Context, net.Conn) context.Context
	connState   func(net.Conn, http.ConnState)
	handler     http.Handler
}

// handedConn is what the fallback's hooks need of a connection the loop
// gave it: the connection as the loop's hooks saw it, and its context.
type handedConn struct {
	orig net.Conn
	ctx  context.Context
}

// Stats are how many requests the loop answered and how many
// connections it handed to net/http.
func (s *Server) Stats() (answered, handedOver int64) {
	return s.answered.Load(), s.handedOver.Load()
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = http.ErrServerClosed

// Serve accepts connections on ln until Shutdown; it also runs the
// fallback on the connections it hands over.
func (s *Server) Serve(ln net.Listener) error {
	s.start(ln.Addr())
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return err
		}
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

// start wires the fallback once: its listener of handed connections, and
// hooks that see those as the connections the loop already announced.
func (s *Server) start(addr net.Addr) {
	s.once.Do(func() {
		if s.Log == nil {
			s.Log = slog.Default()
		}
		fb := s.Fallback
		s.fallback = newHandoffListener(addr)
		s.conns = map[*conn]struct{}{}
		connContext, connState, handler := fb.ConnContext, fb.ConnState, fb.Handler
		s.connContext, s.connState, s.handler = connContext, connState, handler
		fb.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			if h, ok := s.handed.Load(c); ok {
				return h.(handedConn).ctx
			}
			if connContext != nil {
				return connContext(ctx, c)
			}
			return ctx
		}
		fb.ConnState = func(c net.Conn, st http.ConnState) {
			if h, ok := s.handed.Load(c); ok {
				if st == http.StateClosed || st == http.StateHijacked {
					s.handed.Delete(c)
					s.wg.Done()
					if connState != nil {
						connState(h.(handedConn).orig, st)
					}
				}
				return
			}
			if connState != nil {
				connState(c, st)
			}
		}
		fb.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Context().Value(closeAfterKey{}) != nil {
				w.Header().Set("Connection", "close")
			}
			if r.TLS == nil {
				if st, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok {
					r.TLS = st // a TLS connection handed over after bytes were read
				}
			}
			handler.ServeHTTP(w, r)
		})
		s.served = make(chan error, 1)
		go func() { s.served <- fb.Serve(s.fallback) }()
	})
}

type (
	tlsStateKey   struct{}
	closeAfterKey struct{}
)

func (s *Server) limits() (readHeader, idle time.Duration, maxHeader int) {
	fb := s.Fallback
	readHeader, idle, maxHeader = fb.ReadHeaderTimeout, fb.IdleTimeout, fb.MaxHeaderBytes
	if idle == 0 {
		idle = fb.ReadTimeout
	}
	if maxHeader <= 0 {
		maxHeader = http.DefaultMaxHeaderBytes
	}
	return
}

// serveConn serves one accepted connection.
func (s *Server) serveConn(raw net.Conn) {
	readHeader, _, _ := s.limits()
	ctx := context.WithValue(context.Background(), http.ServerContextKey, s.Fallback)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, raw.LocalAddr())
	var c net.Conn = raw
	var state *tls.ConnectionState
	if s.TLS != nil {
		tc := tls.Server(raw, s.TLS)
		c = tc
		if s.connContext != nil {
			ctx = s.connContext(ctx, tc)
		}
		s.announce(tc, http.StateNew)
		if readHeader > 0 {
			tc.SetDeadline(time.Now().Add(readHeader))
		}
		if err := tc.HandshakeContext(ctx); err != nil {
			tc.Close()
			s.announce(tc, http.StateClosed)
			s.wg.Done()
			return
		}
		tc.SetDeadline(time.Time{})
		st := tc.ConnectionState()
		if st.NegotiatedProtocol != "" && st.NegotiatedProtocol != "http/1.1" {
			s.handOver(tc, tc, ctx, nil)
			return
		}
		state = &st
		ctx = context.WithValue(ctx, tlsStateKey{}, state)
	} else {
		if s.connContext != nil {
			ctx = s.connContext(ctx, c)
		}
		s.announce(c, http.StateNew)
	}
	cn := &conn{srv: s, c: c, ctx: ctx, tls: state, remote: raw.RemoteAddr().String()}
	s.mu.Lock()
	s.conns[cn] = struct{}{}
	s.mu.Unlock()
	cn.serve()
}

func (s *Server) announce(c net.Conn, st http.ConnState) {
	if s.connState != nil {
		s.connState(c, st)
	}
}

// handOver gives c to net/http with the bytes already read from it; the
// connection stays there.
func (s *Server) handOver(c, orig net.Conn, ctx context.Context, read []byte) {
	s.handedOver.Add(1)
	c.SetDeadline(time.Time{})
	var hc net.Conn = c
	if len(read) > 0 {
		hc = &prefixConn{Conn: c, read: read}
	}
	s.handed.Store(hc, handedConn{orig: orig, ctx: ctx})
	if !s.fallback.give(hc) {
		s.handed.Delete(hc)
		c.Close()
		s.announce(orig, http.StateClosed)
		s.wg.Done()
	}
	// s.wg is done when the fallback says the connection closed.
}

// Shutdown stops accepting, closes idle connections, and waits for the
// others to finish their request, then shuts the fallback down, until
// ctx ends; then it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutting.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	var fbErr error
	if s.Fallback != nil && s.fallback != nil {
		fbErr = s.Fallback.Shutdown(ctx)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.closeIdle(false)
		select {
		case <-done:
			return fbErr
		case <-ctx.Done():
			s.closeIdle(true)
			if s.Fallback != nil {
				s.Fallback.Close()
			}
			<-done
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close closes the listener and every connection now.
func (s *Server) Close() error {
	s.shutting.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	s.closeIdle(true)
	if s.Fallback != nil {
		return s.Fallback.Close()
	}
	return nil
}

func (s *Server) closeIdle(all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for cn := range s.conns {
		if all || cn.idle.Load() {
			cn.c.Close()
		}
	}
}

// conn is one connection the loop serves.
type conn struct {
	srv    *Server
	c      net.Conn
	ctx    context.Context
	tls    *tls.ConnectionState
	remote string
	idle   atomic.Bool

	buf  []byte // read, not yet served
	head head
	bw   bufWriter
	hold [hold]byte // the answer's held-back body, reused
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
			if wait > 0 {
				cn.c.SetReadDeadline(time.Now().Add(wait))
			} else {
				cn.c.SetReadDeadline(time.Time{})
			}
			if !cn.fill() {
				return
			}
			cn.idle.Store(false)
		}
		first = false
		if readHeader > 0 {
			cn.c.SetReadDeadline(time.Now().Add(readHeader)) // from the head's first byte
		}
		for {
			switch parseHead(cn.buf, &cn.head) {
			case partial:
				if len(cn.buf) > maxHeader+readChunk {
					// Too long a head: net/http answers 431.
					handed = cn.handOver()
					return
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
		keep := cn.answer(cn.head.url)
		s.answered.Add(1)
		cn.buf = cn.buf[:copy(cn.buf, cn.buf[cn.head.n:])]
		if !keep {
			cn.lingeringClose()
			return
		}
	}
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
func (cn *conn) answer(u *url.URL) bool {
	h := &cn.head
	ctx, cancel := context.WithCancel(cn.ctx)
	defer cancel()
	r := (&http.Request{
		Method: h.method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h.header(), Body: http.NoBody, Host: h.host, RemoteAddr: cn.remote,
		RequestURI: h.target, TLS: cn.tls, Close: h.close,
	}).WithContext(ctx)
	w := &response{cn: cn, req: r, header: make(http.Header, 16), contentLength: -1, closeAfter: h.close, held: cn.hold[:0]}
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

// prefixConn reads the bytes the loop read before the connection.
type prefixConn struct {
	net.Conn
	read []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.read) > 0 {
		n := copy(b, p.read)
		p.read = p.read[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// handoffListener is the fallback's listener: the connections the loop
// gives it.
type handoffListener struct {
	addr   net.Addr
	ch     chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

var _ io.Reader = (*prefixConn)(nil)
