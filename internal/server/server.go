// Package server runs the edge: it binds the viewer listeners (HTTP and
// HTTPS with HTTP/2), swaps in a newly compiled config on reload without
// dropping a request, and drains in-flight requests on shutdown.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/edgefront/edgefront/internal/accesslog"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/edge"
	"github.com/edgefront/edgefront/internal/server/h1"
)

// Server is the running edge.
type Server struct {
	router atomic.Pointer[edge.Router]
	tls    atomic.Pointer[tls.Config]
	load   func() (*config.Config, error)
	// hellos are the TLS connections' fingerprints, by the connection
	// under TLS, from accept to close.
	hellos sync.Map

	mu        sync.Mutex
	servers   []stopper
	listeners []net.Listener
	// viewer are the viewer listeners' servers by kind ("http", "https"),
	// and bound the addresses they were opened for.
	viewer map[string]stopper
	bound  map[string]string
	h3     *http3.Server // HTTP/3 on the HTTPS port, when listen.http3
	wg     sync.WaitGroup
	errs   chan error
	log    *slog.Logger
	// cacheSizes are the sizes the router's cache was made with.
	cacheSizes config.CacheSizes
	// The access log, kept across reloads that keep its settings.
	applyMu      sync.Mutex // one reload at a time
	accessLog    *accesslog.Logger
	accessLogCfg config.AccessLog
	limits       config.Limits
	metrics      *edge.Metrics // nil without an admin listener
	acme         *acmeManager  // nil without tls.acme
	acmeNames    []string
	reloads      []ReloadEvent // the last ones, newest last
}

// ReloadEvent is one reload and how it went.
type ReloadEvent struct {
	Time  time.Time `json:"time"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
}

func cacheSizes(cfg *config.Config) config.CacheSizes { return cfg.Cache.Sizes() }

// New compiles cfg. load, when not nil, reads the config again on Reload.
// The server and its edge log to log (slog.Default() when nil).
func New(cfg *config.Config, load func() (*config.Config, error), log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{load: load, errs: make(chan error, 2), log: log}
	if cfg.Admin.Listen != "" {
		s.metrics = edge.NewMetrics(func() uint64 {
			s.applyMu.Lock()
			defer s.applyMu.Unlock()
			if s.accessLog == nil {
				return 0
			}
			return s.accessLog.Dropped()
		})
	}
	if err := s.apply(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) apply(cfg *config.Config) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	opts := edge.Options{Log: s.log}
	if old := s.router.Load(); old != nil && s.cacheSizes == cacheSizes(cfg) {
		opts.Cache = old.Cache() // the cache outlives a reload that keeps its size
	}
	logger, err := s.accessLogFor(cfg.AccessLog)
	if err != nil {
		return err
	}
	if logger != nil || s.metrics != nil {
		opts.Observer = &edge.Observer{Log: logger, Metrics: s.metrics}
		if logger != nil {
			opts.Observer.Location = cfg.AccessLog.EdgeLocation
			if opts.Observer.Location == "" {
				opts.Observer.Location = edge.DefaultLocation()
			}
		}
	}
	rt, err := edge.Compile(cfg, opts)
	if err != nil {
		if logger != s.accessLog {
			logger.Close()
		}
		return err
	}
	if logger != s.accessLog {
		if s.accessLog != nil {
			defer s.accessLog.Close() // once the new router is in force
		}
		s.accessLog = logger
		if cfg.AccessLog != nil {
			s.accessLogCfg = *cfg.AccessLog
		}
	}
	s.limits = cfg.Limits
	if a := cfg.TLS.ACME; a != nil && cfg.Listen.HTTPS != "" {
		if s.acme == nil || !reflect.DeepEqual(s.acme.settings, *a) {
			m, err := newACME(*a, portOf(cfg.Listen.HTTP), portOf(cfg.Listen.HTTPS), s.log)
			if err != nil {
				rt.Close()
				return err
			}
			if s.acme != nil {
				s.acme.stop()
			}
			s.acme = m
		}
		minVer, _ := cfg.TLS.TLSVersion()
		s.tls.Store(s.acme.tlsConfig(minVer))
		if s.metrics != nil {
			s.metrics.Certificates(s.acme.expiries)
		}
		s.acmeNames = acmeNames(cfg)
		s.mu.Lock()
		listening := s.bound != nil
		s.mu.Unlock()
		if listening {
			if err := s.acme.manage(s.acmeNames); err != nil {
				s.log.Error("certificates not managed", "err", err)
			}
		}
	} else if cfg.Listen.HTTPS != "" {
		tc, err := tlsConfig(cfg.TLS)
		if err != nil {
			rt.Close()
			return err
		}
		s.tls.Store(tc)
		if s.metrics != nil {
			expiry := map[string]time.Time{}
			for _, c := range tc.Certificates {
				if c.Leaf != nil {
					name := c.Leaf.Subject.CommonName
					if len(c.Leaf.DNSNames) > 0 {
						name = c.Leaf.DNSNames[0]
					}
					expiry[name] = c.Leaf.NotAfter
				}
			}
			s.metrics.Certificates(func() map[string]time.Time { return expiry })
		}
	}
	s.cacheSizes = cacheSizes(cfg)
	if s.metrics != nil {
		s.metrics.Use(rt)
	}
	if old := s.router.Swap(rt); old != nil {
		// In-flight requests finish on the old router; only its idle
		// connections go now.
		old.Close()
	}
	return nil
}

// accessLogFor returns the access log c asks for: the one open when its
// settings did not change, else a new one (nil for none).
func (s *Server) accessLogFor(c *config.AccessLog) (*accesslog.Logger, error) {
	if c == nil {
		return nil, nil
	}
	if s.accessLog != nil && s.accessLogCfg == *c {
		return s.accessLog, nil
	}
	return accesslog.Open(c.Path, c.Format, c.Buffer)
}

// ReopenLogs reopens the access log file, after it was moved for rotation.
func (s *Server) ReopenLogs() error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.accessLog == nil {
		return nil
	}
	return s.accessLog.Reopen()
}

func tlsConfig(c config.TLS) (*tls.Config, error) {
	minVer, _ := c.TLSVersion()
	tc := &tls.Config{MinVersion: minVer, NextProtos: []string{"h2", "http/1.1"}}
	for _, cert := range c.Certificates {
		kp, err := tls.LoadX509KeyPair(cert.CertFile, cert.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", cert.CertFile, err)
		}
		tc.Certificates = append(tc.Certificates, kp)
	}
	return tc, nil
}

// Router returns the config in force.
func (s *Server) Router() *edge.Router { return s.router.Load() }

// Reload reads and compiles the config again and swaps it in. A config with
// problems is refused and the one in force keeps serving.
func (s *Server) Reload() error {
	if s.load == nil {
		return errors.New("this server has no config file to reload")
	}
	cfg, err := s.load()
	if err == nil {
		err = s.reloadWith(cfg)
	}
	if s.metrics != nil {
		result := "ok"
		if err != nil {
			result = "refused"
		}
		s.metrics.Reloads.WithLabelValues(result).Inc()
	}
	ev := ReloadEvent{Time: time.Now().UTC().Truncate(time.Second), OK: err == nil}
	if err != nil {
		ev.Error = err.Error()
	}
	s.applyMu.Lock()
	s.reloads = append(s.reloads, ev)
	if len(s.reloads) > 20 {
		s.reloads = s.reloads[1:]
	}
	s.applyMu.Unlock()
	return err
}

// Reloads are the last reloads, newest last.
func (s *Server) Reloads() []ReloadEvent {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return slices.Clone(s.reloads)
}

// reloadWith swaps cfg in. A listener whose address changed is opened
// before the config is swapped and the old one closed after, letting its
// requests finish; when the new address cannot be bound, the reload is
// refused and everything stays as it was.
func (s *Server) reloadWith(cfg *config.Config) error {
	s.mu.Lock()
	bound := maps.Clone(s.bound)
	s.mu.Unlock()
	want := map[string]string{"http": cfg.Listen.HTTP, "https": cfg.Listen.HTTPS}
	opened := map[string]net.Listener{}
	closeOpened := func() {
		for _, ln := range opened {
			ln.Close()
		}
	}
	if bound != nil {
		for _, kind := range []string{"http", "https"} {
			if want[kind] == bound[kind] || want[kind] == "" {
				continue
			}
			ln, err := net.Listen("tcp", want[kind])
			if err != nil {
				closeOpened()
				return fmt.Errorf("listen.%s: %w", kind, err)
			}
			opened[kind] = ln
		}
	}
	if err := s.apply(cfg); err != nil {
		closeOpened()
		return err
	}
	if bound == nil {
		return nil // not listening yet
	}
	for _, kind := range []string{"http", "https"} {
		if want[kind] == bound[kind] {
			continue
		}
		s.mu.Lock()
		old := s.viewer[kind]
		delete(s.viewer, kind)
		s.mu.Unlock()
		if ln := opened[kind]; ln != nil {
			s.serveViewer(kind, want[kind], ln)
		} else {
			s.mu.Lock()
			delete(s.bound, kind)
			s.mu.Unlock()
		}
		if old != nil {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
				defer cancel()
				if err := old.Shutdown(ctx); err != nil {
					old.Close()
				}
			}()
		}
	}
	return nil
}

// DrainTimeout is how long a listener that closes lets its requests finish.
const DrainTimeout = 30 * time.Second

// listenHTTP3 serves HTTP/3 on the UDP port of the HTTPS listener at addr.
func (s *Server) listenHTTP3(addr net.Addr) error {
	pc, err := net.ListenPacket("udp", addr.String())
	if err != nil {
		return fmt.Errorf("listen.http3: %w", err)
	}
	l := s.limits.Resolved()
	h3 := &http3.Server{
		Handler:        s,
		TLSConfig:      http3.ConfigureTLSConfig(&tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return s.tls.Load(), nil }}),
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
		s.serveLoop(loop, s.limited(ln))
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

func (s *Server) serveLoop(loop *h1.Server, ln net.Listener) {
	s.mu.Lock()
	s.servers = append(s.servers, loop)
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := loop.Serve(ln); err != nil && !errors.Is(err, h1.ErrServerClosed) {
			s.errs <- err
		}
	}()
}

// Metrics are the server's metrics, nil when it has no admin listener.
func (s *Server) Metrics() *edge.Metrics { return s.metrics }

// ServeHTTP hands the request to the config in force.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.router.Load().ServeHTTP(w, r)
}

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
			return s.tls.Load(), nil
		},
	}
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

func (s *Server) serve(srv *http.Server, ln net.Listener) {
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

// Err returns a channel that receives a listener's fatal error.
func (s *Server) Err() <-chan error { return s.errs }

// Shutdown stops accepting, lets in-flight requests finish until ctx ends,
// then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	servers := s.servers
	s.servers = nil
	h3 := s.h3
	s.mu.Unlock()
	if h3 != nil {
		if err := h3.Shutdown(ctx); err != nil {
			h3.Close()
		}
	}
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
			srv.Close()
		}
	}
	s.wg.Wait()
	if rt := s.router.Load(); rt != nil {
		rt.Close()
	}
	s.applyMu.Lock()
	if s.accessLog != nil {
		errs = append(errs, s.accessLog.Close())
	}
	if s.acme != nil {
		s.acme.stop()
	}
	s.applyMu.Unlock()
	return errors.Join(errs...)
}
