package config

import (
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// Cluster makes this node one of several that share invalidations, rate
// limits and certificates through Redis (or Valkey).
type Cluster struct {
	// Redis is redis://[user:password@]host:port[/db], or rediss:// for TLS.
	Redis string `yaml:"redis"`
	// CAFile is a PEM file of roots that rediss:// trusts beside the
	// system's, for a private CA.
	CAFile string `yaml:"ca_file"`
	// Node is this node's name, unique in the cluster (the host name when
	// unset).
	Node string `yaml:"node"`
	// Advertise is where the other nodes reach this node's HTTP listener.
	Advertise string `yaml:"advertise"`
	// Shard fetches each object from its origin on one node only.
	Shard bool `yaml:"shard"`
	// TokenFile holds the secret that marks node-to-node requests;
	// required when Redis is not on loopback.
	TokenFile string `yaml:"token_file"`
	// State is the folder that keeps where this node is in the
	// invalidation stream and the invalidations Redis has not taken yet
	// (the disk tier's folder when unset; memory without a disk tier).
	State string `yaml:"state"`
	// Timeout bounds each rate-limit call to Redis (50ms when unset);
	// past it the request is counted locally.
	Timeout *Duration `yaml:"timeout"`
}

// DefaultClusterTimeout bounds a rate-limit call to Redis.
const DefaultClusterTimeout = 50 * time.Millisecond

// TimeoutOrDefault is Timeout, or its default.
func (c *Cluster) TimeoutOrDefault() time.Duration {
	if c.Timeout == nil {
		return DefaultClusterTimeout
	}
	return time.Duration(*c.Timeout)
}

// NodeName is Node, or the host name.
func (c *Cluster) NodeName() string {
	if c.Node != "" {
		return c.Node
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "edgefront"
	}
	return h
}

// cluster checks the cluster block: where Redis is and how it is reached,
// the node's name and address, and the shared token.
func (v *validator) cluster() {
	c := v.c.Cluster
	if c == nil {
		return
	}
	if c.Redis == "" {
		v.add("cluster.redis", "cluster needs redis: the address of the Redis that nodes share, such as redis://:${REDIS_PASSWORD}@10.0.0.5:6379/0")
		return
	}
	u, err := url.Parse(c.Redis)
	sentinel := err == nil && (u.Scheme == "redis+sentinel" || u.Scheme == "rediss+sentinel")
	switch {
	case err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && !sentinel) || u.Host == "":
		v.add("cluster.redis", "redis %q is not a Redis URL such as redis://:password@10.0.0.5:6379/0, rediss://… or redis+sentinel://:password@s1:26379,s2:26379/mymaster/0", redact(c.Redis))
		return
	case sentinel:
		if parts := strings.Split(strings.Trim(u.Path, "/"), "/"); parts[0] == "" || len(parts) > 2 || (len(parts) == 2 && !allDigits(parts[1])) {
			v.add("cluster.redis", "redis %q: a Sentinel URL's path is the primary's name, then the database number, such as /mymaster/0", redact(c.Redis))
		}
	case u.Path != "" && u.Path != "/" && !allDigits(strings.TrimPrefix(u.Path, "/")):
		v.add("cluster.redis", "redis %q: the path is the database number, such as /0", redact(c.Redis))
	}
	_, hasPass := u.User.Password()
	remote := false
	for _, hp := range strings.Split(u.Host, ",") {
		host, _, err := net.SplitHostPort(hp)
		if err != nil {
			host = hp
		}
		remote = remote || !isLoopbackHost(strings.Trim(host, "[]"))
	}
	if remote && !hasPass {
		v.add("cluster.redis", "Redis at %s is reachable from other machines: put its password in the URL (redis://:${REDIS_PASSWORD}@%s) or run it on loopback", u.Host, u.Host)
	}
	if c.CAFile != "" {
		if !strings.HasPrefix(u.Scheme, "rediss") {
			v.add("cluster.ca_file", "ca_file is for TLS: use a rediss:// URL")
		}
		c.CAFile = v.file(c.CAFile)
		if _, err := os.Stat(c.CAFile); err != nil {
			v.add("cluster.ca_file", "%v", err)
		}
	}
	if c.Node != "" && !validNodeName(c.Node) {
		v.add("cluster.node", "node %q must be letters, digits, '.', '_' and '-' (at most 64)", c.Node)
	}
	if c.Advertise != "" {
		if _, port, err := net.SplitHostPort(c.Advertise); err != nil || port == "" {
			v.add("cluster.advertise", "advertise %q is not a host:port where other nodes reach this one", c.Advertise)
		}
	}
	if c.Shard && c.Advertise == "" {
		v.add("cluster.shard", "shard needs cluster.advertise: the address of this node's HTTP listener that the others ask it at")
	}
	if c.Shard && c.TokenFile == "" && !remote {
		v.add("cluster.shard", "shard needs cluster.token_file: nodes mark the requests they send each other with its secret")
	}
	if c.TokenFile != "" {
		c.TokenFile = v.file(c.TokenFile)
		if _, err := ReadToken(c.TokenFile); err != nil {
			v.add("cluster.token_file", "%v", err)
		}
	} else if remote {
		v.add("cluster", "nodes reach each other off loopback: set cluster.token_file to a shared secret (openssl rand -hex 32 > cluster.token)")
	}
	if v.c.TLS.ACME != nil && c.TokenFile == "" && !remote {
		v.add("cluster", "with tls.acme the cluster keeps certificates and their private keys in Redis, sealed with a key derived from cluster.token_file: set it (openssl rand -hex 32 > cluster.token)")
	}
	if c.State != "" {
		c.State = v.file(c.State)
	}
	if c.Timeout != nil && (*c.Timeout <= 0 || time.Duration(*c.Timeout) > 5*time.Second) {
		v.add("cluster.timeout", "timeout must be above 0 and at most 5s (a rate-limit call waits this long)")
	}
}

// isLoopbackHost reports whether a host name or address is this machine's
// loopback.
func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func validNodeName(s string) bool {
	return len(s) <= 64 && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) < 0
}

func allDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// redact hides a URL's password in messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
