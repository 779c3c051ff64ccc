package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/edge"
	"github.com/edgefront/edgefront/internal/server/h1"
	"github.com/quic-go/quic-go/http3"
)

// listenHTTP3 serves HTTP/3 on the UDP port of the HTTPS listener at addr.
func (s *Server) listenHTTP3(addr net.Addr) error {
	pc, err := net.ListenPacket("udp", addr.String())
	if err != nil {
		return fmt.Errorf("listen.http3: %w", err)
	}
	l := s.limits.Resolved()
	h3 := &http3.Server{
		Handler:        s,
		TLSConfig:      http3.ConfigureTLSConfig(&tls.Config{GetConfigForClient: s.viewerTLS}),
		MaxHeaderBytes: l.MaxHeaderBytes,
		IdleTimeout:    l.Idle,
		Port:           addr.(*net.TCPAddr).Port,
		Logger:         s.log,
	}
	s.mu.Lock()
	s.h3 = h3
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer pc.Close()
		if err := h3.Serve(pc); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.errs <- fmt.Errorf("http3: %w", err)
		}
	}()
	return nil
}

// altSvc announces HTTP/3 on the answers of the TCP listeners.
func (s *Server) altSvc(h http.Handler) http.Handler {
	s.mu.Lock()
	h3 := s.h3
	s.mu.Unlock()
	if h3 == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h3.SetQUICHeaders(w.Header())
		h.ServeHTTP(w, r)
	})
}

// stopper is a server Shutdown drains and Close ends.
type stopper interface {
	Shutdown(context.Context) error
	Close() error
}

// serveViewer serves a viewer listener of kind on ln, opened for addr:
// edgefront's HTTP/1.1 loop answers what it fully understands, net/http
// the rest (HTTP/2, bodies, odd requests).
func (s *Server) serveViewer(kind, addr string, ln net.Listener) {
	srv := s.newHTTPServer()
	if kind == "http" && s.acme != nil {
		srv.Handler = s.acme.httpHandler(srv.Handler)
	}
	var viewer stopper
	if kind == "https" {
		srv.Handler = s.altSvc(srv.Handler)
		s.fingerprint(srv)
	}
	switch {
	case os.Getenv(NoLoopEnv) == "off" && kind == "https":
		s.serve(srv, tls.NewListener(s.limited(ln), s.tlsWithH2()))
		viewer = srv
	case os.Getenv(NoLoopEnv) == "off":
		s.serve(srv, s.limited(ln))
		viewer = srv
	default:
		loop := &h1.Server{Fallback: srv, Log: s.log, SendTimeout: s.limits.Send()}
		if kind == "https" {
			loop.TLS = s.tlsWithH2()
		}
		s.serve(loop, s.limited(ln))
		viewer = loop
	}
	s.mu.Lock()
	if s.viewer == nil {
		s.viewer, s.bound = map[string]stopper{}, map[string]string{}
	}
	s.viewer[kind], s.bound[kind] = viewer, addr
	s.mu.Unlock()
}

// NoLoopEnv, set to "off", serves every viewer connection with net/http
// alone, without edgefront's HTTP/1.1 loop: a way back while a problem
// with the loop is looked into.
const NoLoopEnv = "EDGEFRONT_HTTP1_LOOP"

func (s *Server) newHTTPServer() *http.Server {
	l := s.limits.Resolved()
	var connState func(net.Conn, http.ConnState)
	if m := s.metrics; m != nil {
		connState = func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				m.Connections.Inc()
			case http.StateClosed, http.StateHijacked:
				m.Connections.Dec()
			}
		}
	}
	return &http.Server{
		Handler:           s,
		ConnState:         connState,
		ReadHeaderTimeout: l.ReadHeader,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// Listen binds the listeners of cfg.Listen and starts serving. It returns
// once they are bound, with their addresses.
func (s *Server) Listen(l config.Listen) (httpAddr, httpsAddr net.Addr, err error) {
	s.mu.Lock()
	if s.bound == nil {
		s.viewer, s.bound = map[string]stopper{}, map[string]string{}
	}
	s.mu.Unlock()
	if l.HTTP != "" {
		ln, err := net.Listen("tcp", l.HTTP)
		if err != nil {
			return nil, nil, fmt.Errorf("listen.http: %w", err)
		}
		httpAddr = ln.Addr()
		s.serveViewer("http", l.HTTP, ln)
	}
	if l.HTTPS != "" {
		ln, err := net.Listen("tcp", l.HTTPS)
		if err != nil {
			s.Shutdown(context.Background())
			return nil, nil, fmt.Errorf("listen.https: %w", err)
		}
		httpsAddr = ln.Addr()
		if l.HTTP3 {
			if err := s.listenHTTP3(httpsAddr); err != nil {
				ln.Close()
				s.Shutdown(context.Background())
				return nil, nil, err
			}
		}
		s.serveViewer("https", l.HTTPS, ln)
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.acme != nil {
		if err := s.acme.manage(s.acmeNames); err != nil {
			s.log.Error("certificates not managed", "err", err)
		}
	}
	return httpAddr, httpsAddr, nil
}

// limited applies limits.max_connections and max_connections_per_ip.
func (s *Server) limited(ln net.Listener) net.Listener {
	l := s.limits.Resolved()
	return newLimitListener(ln, l.MaxConns, l.MaxConnsPerIP, s.Router().TrustedProxies(), s.limits.Send())
}

// ListenAdmin binds the admin listener at addr and serves h there. It
// stops with the viewer listeners.
func (s *Server) ListenAdmin(addr string, h http.Handler) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin.listen: %w", err)
	}
	s.ServeAdmin(ln, h)
	return ln.Addr(), nil
}

// ServeAdmin serves h on a bound admin listener.
func (s *Server) ServeAdmin(ln net.Listener, h http.Handler) {
	srv := s.newHTTPServer()
	srv.Handler = h
	s.serve(srv, ln)
}

// tlsWithH2 is the listener's config: ALPN offers HTTP/2, and each handshake
// takes the certificates in force.
func (s *Server) tlsWithH2() *tls.Config {
	return &tls.Config{
		NextProtos: []string{"h2", "http/1.1"},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			if h, ok := s.hellos.Load(hello.Conn); ok {
				h.(*edge.ClientHello).Set(hello)
			}
			return s.viewerTLS(hello)
		},
	}
}

// viewerTLS is a handshake's config: the certificates in force, and when
// the distribution the viewer names (SNI) has viewer_mtls, its client
// certificate settings.
func (s *Server) viewerTLS(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	base := s.tls.Load()
	if rt := s.router.Load(); rt != nil {
		if c := rt.ViewerTLS(hello, base); c != nil {
			return c, nil
		}
	}
	return base, nil
}

// fingerprint gives the requests of each TLS connection its ClientHello's
// JA3 and JA4 fingerprints: the connection's holder is made when it is
// accepted, filled in by the handshake, and dropped when it closes.
func (s *Server) fingerprint(srv *http.Server) {
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		tc, ok := c.(*tls.Conn)
		if !ok {
			return ctx
		}
		h := &edge.ClientHello{}
		s.hellos.Store(tc.NetConn(), h)
		return edge.WithClientHello(ctx, h)
	}
	next := srv.ConnState
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		if tc, ok := c.(*tls.Conn); ok && (st == http.StateClosed || st == http.StateHijacked) {
			s.hellos.Delete(tc.NetConn())
		}
		if next != nil {
			next(c, st)
		}
	}
}

// serving is what serve runs: a net/http server, or the HTTP/1.1 loop.
type serving interface {
	stopper
	Serve(net.Listener) error
}

// serve runs srv on ln until shutdown; a listener's fatal error goes to
// Err.
func (s *Server) serve(srv serving, ln net.Listener) {
	s.mu.Lock()
	s.servers = append(s.servers, srv)
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errs <- err
		}
	}()
}
