package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// loopback only, and its file must hold one.
func (v *validator) admin() {
	a := &v.c.Admin
	if a.Listen == "" {
		if a.TokenFile != "" {
			v.add("admin.token_file", "token_file is set but admin.listen is not")
		}
		return
	}
	v.addr("admin.listen", a.Listen)
	if a.TokenFile == "" {
		if !IsLoopback(a.Listen) {
			v.add("admin.listen", "admin listener %q is reachable from other machines: set admin.token_file, or listen on 127.0.0.1", a.Listen)
		}
		return
	}
	a.TokenFile = v.file(a.TokenFile)
	if _, err := ReadToken(a.TokenFile); err != nil {
		v.add("admin.token_file", "%v", err)
	}
}

// cache checks the disk tier's folder and the sizes.
func (v *validator) cache() {
	c := &v.c.Cache
	if c.Disk != nil {
		if c.Disk.Path == "" {
			v.add("cache.disk", "the disk tier needs a path")
		} else {
			c.Disk.Path = v.file(c.Disk.Path)
			if info, err := os.Stat(c.Disk.Path); err == nil && !info.IsDir() {
				v.add("cache.disk.path", "%s is not a folder", c.Disk.Path)
			} else if err != nil && !os.IsNotExist(err) {
				v.add("cache.disk.path", "%v", err)
			}
		}
	}
	s := c.Sizes()
	if s.Memory < 1<<20 {
		v.add("cache.memory", "the memory tier needs at least 1MiB")
	}
	if c.Disk != nil && s.Disk < 1<<20 {
		v.add("cache.disk.size", "the disk tier needs at least 1MiB")
	}
	if c.MaxMemoryObjectSize != nil && c.Disk == nil {
		v.add("cache.max_memory_object_size", "max_memory_object_size only applies with a disk tier (cache.disk)")
	}
	if s.MaxMemoryObject > s.Memory {
		v.add("cache.max_memory_object_size", "max_memory_object_size (%d bytes) is larger than the memory tier (%d bytes)", s.MaxMemoryObject, s.Memory)
	}
	if s.MaxObject > s.Memory && c.Disk == nil {
		v.add("cache.max_object_size", "max_object_size (%d bytes) is larger than the memory tier (%d bytes); add a disk tier for larger objects", s.MaxObject, s.Memory)
	}
}

// serving checks logging, limits and trusted proxies.
func (v *validator) serving() {
	c := v.c
	switch c.Log.Format {
	case "", "text", "json":
	default:
		v.add("log.format", "log format %q is not text or json", c.Log.Format)
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		v.add("log.level", "log level %q is not debug, info, warn or error", c.Log.Level)
	}
	if al := c.AccessLog; al != nil {
		if al.Path == "" {
			v.add("access_log", "access_log needs a path (a file, or - for stdout)")
		} else if al.Path != "-" {
			al.Path = v.file(al.Path)
		}
		if al.Format == "" {
			al.Format = "cloudfront"
		}
		if al.Format != "cloudfront" && al.Format != "json" {
			v.add("access_log.format", "access_log format %q is not cloudfront or json", al.Format)
		}
		if strings.ContainsAny(al.EdgeLocation, " \t\n") {
			v.add("access_log.edge_location", "edge_location %q may not hold spaces", al.EdgeLocation)
		}
		if al.Buffer < 0 {
			v.add("access_log.buffer", "buffer must be 0 or more")
		}
	}
	for i, p := range c.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			v.add(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not an IP address or a CIDR such as 10.0.0.0/8", p)
		}
	}
	l := c.Limits
	for name, d := range map[string]*Duration{"read_header_timeout": l.ReadHeaderTimeout, "client_body_timeout": l.ClientBodyTimeout, "idle_timeout": l.IdleTimeout, "send_timeout": l.SendTimeout} {
		if d != nil && *d <= 0 {
			v.add("limits."+name, "%s must be above 0", name)
		}
	}
	for name, n := range map[string]*int{"max_connections": l.MaxConnections, "max_connections_per_ip": l.MaxConnectionsPerIP} {
		if n != nil && *n < 0 {
			v.add("limits."+name, "%s must be 0 (no limit) or more", name)
		}
	}
	if l.MaxHeaderBytes != nil && *l.MaxHeaderBytes < 4096 {
		v.add("limits.max_header_bytes", "max_header_bytes below 4KiB would refuse ordinary browsers")
	}
	if d := l.FunctionTime; d != nil && (time.Duration(*d) < time.Millisecond || time.Duration(*d) > 10*time.Second) {
		v.add("limits.function_time", "function_time must be from 1ms to 10s")
	}
}

// Function is limits.function_time with its default.
func (l Limits) Function() time.Duration {
	if l.FunctionTime != nil {
		return time.Duration(*l.FunctionTime)
	}
	return DefaultFunctionTime
}

// DefaultFunctionTime is how long a CloudFront Function may run when
// limits.function_time does not say.
const DefaultFunctionTime = 20 * time.Millisecond

// ParsePrefix reads a CIDR, or an address as the prefix of that one address.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Defaults of limits.
const (
	DefaultReadHeaderTimeout   = 10 * time.Second
	DefaultClientBodyTimeout   = 60 * time.Second
	DefaultIdleTimeout         = 120 * time.Second
	DefaultMaxHeaderBytes      = 64 << 10
	DefaultMaxConnections      = 16384
	DefaultMaxConnectionsPerIP = 256
)

// DefaultSendTimeout is how long a write to a viewer may wait.
const DefaultSendTimeout = 60 * time.Second

// Send is limits.send_timeout with its default.
func (l Limits) Send() time.Duration {
	if l.SendTimeout != nil {
		return time.Duration(*l.SendTimeout)
	}
	return DefaultSendTimeout
}

// ResolvedLimits are the limits with their defaults filled in.
type ResolvedLimits struct {
	ReadHeader, ClientBody, Idle time.Duration
	MaxHeaderBytes               int
	MaxConns, MaxConnsPerIP      int // 0 is no limit
}

// Resolved returns the limits with defaults filled in.
func (l Limits) Resolved() ResolvedLimits {
	r := ResolvedLimits{
		ReadHeader: DefaultReadHeaderTimeout, ClientBody: DefaultClientBodyTimeout, Idle: DefaultIdleTimeout,
		MaxHeaderBytes: DefaultMaxHeaderBytes, MaxConns: DefaultMaxConnections, MaxConnsPerIP: DefaultMaxConnectionsPerIP,
	}
	if l.ReadHeaderTimeout != nil {
		r.ReadHeader = time.Duration(*l.ReadHeaderTimeout)
	}
	if l.ClientBodyTimeout != nil {
		r.ClientBody = time.Duration(*l.ClientBodyTimeout)
	}
	if l.IdleTimeout != nil {
		r.Idle = time.Duration(*l.IdleTimeout)
	}
	if l.MaxHeaderBytes != nil {
		r.MaxHeaderBytes = int(*l.MaxHeaderBytes)
	}
	if l.MaxConnections != nil {
		r.MaxConns = *l.MaxConnections
	}
	if l.MaxConnectionsPerIP != nil {
		r.MaxConnsPerIP = *l.MaxConnectionsPerIP
	}
	return r
}

// IsLoopback reports whether a listen address binds loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && isLoopbackHost(host)
}

// ReadToken reads an admin token file: its first line, at least 16
// characters.
func ReadToken(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	tok = strings.TrimSpace(tok)
	if len(tok) < 16 {
		return "", fmt.Errorf("admin token file %s must hold a token of at least 16 characters on its first line (openssl rand -hex 32 > %s)", file, filepath.Base(file))
	}
	return tok, nil
}

var tlsVersions = map[string]uint16{"TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13}

// TLSVersion returns the minimum TLS version, TLS 1.2 when not set.
// CloudFront's dated policy names ("TLSv1.2_2021") are accepted.
func (t TLS) TLSVersion() (uint16, bool) {
	if t.MinimumProtocolVersion == "" {
		return tls.VersionTLS12, true
	}
	name, _, _ := strings.Cut(t.MinimumProtocolVersion, "_")
	ver, ok := tlsVersions[name]
	return ver, ok
}

func (v *validator) tls() {
	c := v.c
	if _, ok := c.TLS.TLSVersion(); !ok {
		v.add("tls.minimum_protocol_version", "minimum_protocol_version %q is not one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3", c.TLS.MinimumProtocolVersion)
	}
	if c.Listen.HTTPS != "" && len(c.TLS.Certificates) == 0 && c.TLS.ACME == nil {
		v.add("listen.https", "an https listener needs tls.certificates or tls.acme")
	}
	if a := c.TLS.ACME; a != nil {
		switch {
		case len(c.TLS.Certificates) > 0:
			v.add("tls.acme", "tls.acme and tls.certificates cannot be used together")
		case c.Listen.HTTPS == "":
			v.add("tls.acme", "tls.acme needs an https listener (listen.https)")
		}
		if a.CA == "" {
			a.CA = LetsEncrypt
		} else if u, err := url.Parse(a.CA); err != nil || u.Scheme != "https" {
			v.add("tls.acme.ca", "ca %q is not an https:// ACME directory URL", a.CA)
		}
		if a.CARoot != "" {
			a.CARoot = v.file(a.CARoot)
			if b, err := os.ReadFile(a.CARoot); err != nil {
				v.add("tls.acme.ca_root", "%v", err)
			} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
				v.add("tls.acme.ca_root", "%s holds no PEM certificate", a.CARoot)
			}
		}
		if a.Storage == "" {
			a.Storage = "certs"
		}
		a.Storage = v.file(a.Storage)
		for i, ch := range a.Challenges {
			if ch != "http-01" && ch != "tls-alpn-01" {
				v.add(fmt.Sprintf("tls.acme.challenges[%d]", i), "challenge %q is not http-01 or tls-alpn-01 (DNS-01 is not supported)", ch)
			}
		}
		if contains(a.Challenges, "http-01") && len(a.Challenges) == 1 && c.Listen.HTTP == "" {
			v.add("tls.acme.challenges", "http-01 needs the http listener (listen.http)")
		}
		names := 0
		for i, d := range c.Distributions {
			for j, al := range d.Aliases {
				if strings.HasPrefix(al, "*.") {
					v.add(fmt.Sprintf("distributions[%d].aliases[%d]", i, j), "alias %q: a wildcard certificate needs DNS-01, which tls.acme does not do", al)
				}
				names++
			}
		}
		if names == 0 {
			v.add("tls.acme", "tls.acme obtains certificates for the distributions' aliases, and none has one")
		}
	}
	for i := range c.TLS.Certificates {
		cert := &c.TLS.Certificates[i]
		at := fmt.Sprintf("tls.certificates[%d]", i)
		if cert.CertFile == "" || cert.KeyFile == "" {
			v.add(at, "a certificate needs cert_file and key_file")
			continue
		}
		cert.CertFile, cert.KeyFile = v.file(cert.CertFile), v.file(cert.KeyFile)
		if _, err := tls.LoadX509KeyPair(cert.CertFile, cert.KeyFile); err != nil {
			v.add(at, "cannot load certificate: %v", err)
		}
	}
}

func (v *validator) keyGroups() {
	ids := map[string]string{}
	names := make([]string, 0, len(v.c.KeyGroups))
	for name := range v.c.KeyGroups {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		group := v.c.KeyGroups[name]
		if len(group) == 0 {
			v.add("key_groups."+name, "key group %q has no keys", name)
		}
		for i := range group {
			s := &group[i]
			at := fmt.Sprintf("key_groups.%s[%d]", name, i)
			if s.ID == "" || s.PublicKeyFile == "" {
				v.add(at, "a key needs an id and a public_key_file")
			}
			if s.PublicKeyFile == "" {
				continue
			}
			if prev, dup := ids[s.ID]; dup && prev != name {
				v.add(at+".id", "key id %q is also in key group %q", s.ID, prev)
			}
			ids[s.ID] = name
			s.PublicKeyFile = v.file(s.PublicKeyFile) // edge.Compile loads it
		}
	}
}

var policies = []string{"allow-all", "redirect-to-https", "https-only"}
