package h1

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgefront/edgefront/internal/gather"
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
	// Under the lock, so that a Shutdown or Close that comes as Serve
	// begins sees the listener and the fallback, or none of them and
	// Serve sees it.
	s.mu.Lock()
	if s.shutting.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.start(ln.Addr())
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
		// A connection that negotiates h2 gathers its writes: net/http's
		// HTTP/2 server flushes frame by frame (gather.Conn says why).
		g := gather.New(raw)
		tc := tls.Server(g, s.TLS)
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
			if st.NegotiatedProtocol == "h2" {
				g.Start()
			}
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
	started := s.fallback != nil
	s.mu.Unlock()
	var fbErr error
	if s.Fallback != nil && started {
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
			cn.close()
		}
	}
}
