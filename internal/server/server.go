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
	"net"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/edgefront/edgefront/internal/accesslog"
	"github.com/edgefront/edgefront/internal/cache"
	"github.com/edgefront/edgefront/internal/cluster"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/edge"
)

// Server is the running edge.
type Server struct {
	router  atomic.Pointer[edge.Router]
	workers *workers // HTTP/2 and HTTP/3 handlers (workers.go)
	tls     atomic.Pointer[tls.Config]
	load    func() (*config.Config, error)
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
	// cluster is this node's membership; nil on one node. Its settings
	// are read at start: a reload keeps them.
	cluster    *cluster.Node
	clusterCfg config.Cluster
	// firstCache is the cache made before the first router, for a cluster
	// to catch up on before anything is served.
	firstCache *cache.Cache
	certs      *cluster.CertStorage // the cluster's ACME storage; nil without
	// clusterToken marks node-to-node requests; "" without token_file.
	clusterToken string
}

func cacheSizes(cfg *config.Config) config.CacheSizes { return cfg.Cache.Sizes() }

// New compiles cfg. load, when not nil, reads the config again on Reload.
// The server and its edge log to log (slog.Default() when nil).
func New(cfg *config.Config, load func() (*config.Config, error), log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{load: load, errs: make(chan error, 2), log: log, workers: newWorkers()}
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
	if cfg.Cluster != nil {
		if err := s.joinCluster(cfg); err != nil {
			return nil, err
		}
	}
	if err := s.apply(cfg); err != nil {
		if s.cluster != nil {
			s.cluster.Close()
		}
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
	} else if old == nil {
		opts.Cache = s.firstCache
	}
	if s.cluster != nil {
		opts.Limits, opts.ClusterToken = s.cluster, s.clusterToken
		if s.clusterCfg.Shard {
			opts.Shards = s.cluster
		}
		if cfg.Cluster == nil || *cfg.Cluster != s.clusterCfg {
			s.log.Warn("cluster settings changed: they take effect at the next start; this node keeps its membership")
		}
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
			m, err := newACME(*a, portOf(cfg.Listen.HTTP), portOf(cfg.Listen.HTTPS), s.certStorage(), s.log)
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
		if c := old.Cache(); c != rt.Cache() {
			// A cache of another size replaced it: its fills still end
			// before the process does.
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
				defer cancel()
				c.Close(ctx)
			}()
		}
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

// Metrics are the server's metrics, nil when it has no admin listener.
func (s *Server) Metrics() *edge.Metrics { return s.metrics }

// ServeHTTP hands the request to the config in force.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor >= 2 {
		s.workers.serve(s.router.Load(), w, r)
		return
	}
	s.router.Load().ServeHTTP(w, r)
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
	s.workers.close()
	if rt := s.router.Load(); rt != nil {
		// Fills detached from their viewers end before the process does.
		if err := rt.Cache().Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("cache fills cut short: %w", err))
		}
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
	if s.cluster != nil {
		s.cluster.Close()
	}
	return errors.Join(errs...)
}
