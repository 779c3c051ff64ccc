package server

import (
	"context"

	"github.com/caddyserver/certmagic"

	"github.com/edgefront/edgefront/internal/cache"
	"github.com/edgefront/edgefront/internal/cluster"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/edge"
)

// joinCluster makes the cache and joins the cluster before the first
// router exists, so that the node has applied what it missed before it
// serves from that cache.
func (s *Server) joinCluster(cfg *config.Config) error {
	c, err := edge.NewCache(cfg, s.log)
	if err != nil {
		return err
	}
	s.firstCache = c
	cc := cfg.Cluster
	state := cc.State
	if state == "" {
		state = cfg.Cache.Sizes().DiskPath
	}
	n, err := cluster.Open(context.Background(), cluster.Options{
		URL: cc.Redis, CAFile: cc.CAFile, Node: cc.NodeName(), Advertise: cc.Advertise,
		State: state, Timeout: cc.TimeoutOrDefault(), Log: s.log,
		Apply:     func(dist string, patterns []string) { s.cache().Invalidate(dist, patterns) },
		Objects:   func() int { return s.cache().Len() },
		MarkStale: func() int { return s.cache().MarkStale() },
	})
	if err != nil {
		return err
	}
	s.cluster, s.clusterCfg = n, *cc
	if cc.TokenFile != "" {
		token, err := config.ReadToken(cc.TokenFile)
		if err == nil {
			s.clusterToken = token
			s.certs, err = n.CertStorage(token)
		}
		if err != nil {
			n.Close()
			return err
		}
	}
	if s.metrics != nil {
		s.metrics.Registry.MustRegister(n.Collectors()...)
	}
	return nil
}

// certStorage is where ACME keeps accounts, certificates, locks and
// challenge tokens: Redis for a cluster, else the storage folder (nil).
func (s *Server) certStorage() certmagic.Storage {
	if s.certs == nil {
		return nil
	}
	return s.certs
}

// cache is the cache in force: the router's, or before the first router
// the one made for it.
func (s *Server) cache() *cache.Cache {
	if rt := s.router.Load(); rt != nil {
		return rt.Cache()
	}
	return s.firstCache
}

// Cluster is this node's membership of its cluster; nil on one node.
func (s *Server) Cluster() *cluster.Node { return s.cluster }
