package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"

	"github.com/edgefront/edgefront/internal/functions"
	"github.com/edgefront/edgefront/internal/pathpattern"
	"github.com/edgefront/edgefront/internal/signedurl"
)

// validate checks what decoding cannot: references, ranges, files, and
// behaviors that could never match. It fills in defaults as it goes.
func (c *Config) validate() Problems {
	v := &validator{c: c}
	if c.Listen.HTTP == "" && c.Listen.HTTPS == "" {
		c.Listen.HTTP = ":8080"
	}
	v.addr("listen.http", c.Listen.HTTP)
	v.addr("listen.https", c.Listen.HTTPS)
	if c.Listen.HTTP3 && c.Listen.HTTPS == "" {
		v.add("listen.http3", "http3 is served on the HTTPS port: it needs listen.https")
	}
	v.tls()
	v.admin()
	v.keyValueStores()
	v.geoIP()
	v.cache()
	v.serving()
	v.keyGroups()
	if len(c.Distributions) == 0 {
		v.add("distributions", "at least one distribution is needed")
	}
	names := map[string]string{}
	hosts := map[string]string{}
	catchAll := ""
	for i := range c.Distributions {
		d := &c.Distributions[i]
		at := fmt.Sprintf("distributions[%d]", i)
		if d.Name == "" {
			d.Name = fmt.Sprintf("distribution%d", i+1)
		}
		if prev, dup := names[d.Name]; dup {
			v.add(at+".name", "distribution name %q is already used at line %d", d.Name, c.Line(prev))
		}
		names[d.Name] = at + ".name"
		if len(d.Aliases) == 0 {
			if catchAll != "" {
				v.add(at, "distribution %q has no aliases, and neither has %q: only one distribution can take the Host names no other claims", d.Name, catchAll)
			}
			catchAll = d.Name
		}
		for j, a := range d.Aliases {
			ap := fmt.Sprintf("%s.aliases[%d]", at, j)
			h := strings.ToLower(a)
			if !validHost(h) {
				v.add(ap, "alias %q is not a host name (a leading *. wildcard is allowed)", a)
			}
			if prev, dup := hosts[h]; dup {
				v.add(ap, "alias %q is already used at line %d", a, c.Line(prev))
			}
			hosts[h] = ap
		}
		v.distribution(at, d)
	}
	return v.probs
}

type validator struct {
	c     *Config
	probs Problems
}

func (v *validator) add(path, format string, args ...any) {
	v.probs = append(v.probs, Problem{v.c.File, v.c.Line(path), oneLine(fmt.Sprintf(format, args...))})
}

// file resolves a path in the config against the config's directory.
func (v *validator) file(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(v.c.File), name)
}

func (v *validator) addr(path, addr string) {
	if addr == "" {
		return
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		v.add(path, "%q is not a listen address such as :8080 or 127.0.0.1:8080", addr)
	}
}

// admin checks the admin listener: a token is needed unless it listens on
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
	return functions.Budget
}

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

// Resolved returns the limits with defaults filled in.
func (l Limits) Resolved() (readHeader, clientBody, idle time.Duration, maxHeader int, maxConns, maxConnsPerIP int) {
	readHeader, clientBody, idle = DefaultReadHeaderTimeout, DefaultClientBodyTimeout, DefaultIdleTimeout
	maxHeader, maxConns, maxConnsPerIP = DefaultMaxHeaderBytes, DefaultMaxConnections, DefaultMaxConnectionsPerIP
	if l.ReadHeaderTimeout != nil {
		readHeader = time.Duration(*l.ReadHeaderTimeout)
	}
	if l.ClientBodyTimeout != nil {
		clientBody = time.Duration(*l.ClientBodyTimeout)
	}
	if l.IdleTimeout != nil {
		idle = time.Duration(*l.IdleTimeout)
	}
	if l.MaxHeaderBytes != nil {
		maxHeader = int(*l.MaxHeaderBytes)
	}
	if l.MaxConnections != nil {
		maxConns = *l.MaxConnections
	}
	if l.MaxConnectionsPerIP != nil {
		maxConnsPerIP = *l.MaxConnectionsPerIP
	}
	return
}

// functions checks a behavior's functions: the files exist and compile.
func (v *validator) functions(at string, fn *Functions) {
	for _, f := range []struct {
		key  string
		file *string
	}{{"viewer_request", &fn.ViewerRequest}, {"viewer_response", &fn.ViewerResponse}} {
		if *f.file == "" {
			continue
		}
		*f.file = v.file(*f.file)
		src, err := os.ReadFile(*f.file)
		if err != nil {
			v.add(at+"."+f.key, "%v", err)
			continue
		}
		if _, err := functions.Compile(*f.file, string(src)); err != nil {
			v.add(at+"."+f.key, "%v", err)
		}
	}
	if fn.KeyValueStore != "" {
		if _, ok := v.c.KeyValueStores[fn.KeyValueStore]; !ok {
			v.add(at+".key_value_store", "key value store %q is not in key_value_stores", fn.KeyValueStore)
		}
	}
}

// keyValueStores checks the stores' files.
func (v *validator) keyValueStores() {
	for name, s := range v.c.KeyValueStores {
		s.File = v.file(s.File)
		v.c.KeyValueStores[name] = s
		if _, err := LoadKeyValueStore(s.File); err != nil {
			v.add("key_value_stores."+name, "%v", err)
		}
	}
}

// geoIP checks that the databases open.
func (v *validator) geoIP() {
	g := v.c.GeoIP
	if g == nil {
		return
	}
	for _, f := range []struct {
		at   string
		file *string
	}{{"geoip.database", &g.Database}, {"geoip.asn_database", &g.ASNDatabase}} {
		if *f.file == "" {
			continue
		}
		*f.file = v.file(*f.file)
		if _, err := os.Stat(*f.file); err != nil {
			v.add(f.at, "%v", err)
			continue
		}
		db, err := maxminddb.Open(*f.file)
		if err != nil {
			v.add(f.at, "%s is not a MaxMind database: %v", *f.file, err)
			continue
		}
		db.Close()
	}
	if g.Database == "" && g.ASNDatabase == "" {
		v.add("geoip", "geoip names no database (database, asn_database)")
	}
}

// LoadKeyValueStore reads a key value store in CloudFront's import format:
// {"data": [{"key": "...", "value": "..."}, ...]}.
func LoadKeyValueStore(file string) (map[string]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Data []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s is not a key value store (CloudFront's import format, {\"data\": [{\"key\": ..., \"value\": ...}]}): %v", file, err)
	}
	m := make(map[string]string, len(doc.Data))
	for _, e := range doc.Data {
		m[e.Key] = e.Value
	}
	return m, nil
}

// ManagedResponseHeadersPolicies are CloudFront's managed response headers
// policies: id by name.
var ManagedResponseHeadersPolicies = map[string]string{
	"SimpleCORS":                                    "60669652-455b-4ae9-85a4-c4c02393f86c",
	"CORS-With-Preflight":                           "5cc3b908-e619-4b99-88e5-2cf7f45965bd",
	"SecurityHeadersPolicy":                         "67f7725c-6f97-4210-82d7-5512b31e9d03",
	"CORS-and-SecurityHeadersPolicy":                "e61eb60c-9c35-4d20-a928-2b84e02af89c",
	"CORS-with-preflight-and-SecurityHeadersPolicy": "eaab4381-ed33-4a86-88ca-d9558dc6cd63",
}

// ManagedPolicyName returns the name of a managed response headers policy
// given by name or id.
func ManagedPolicyName(s string) (string, bool) {
	for name, id := range ManagedResponseHeadersPolicies {
		if strings.EqualFold(s, name) || s == id {
			return name, true
		}
	}
	return "", false
}

// unremovable are the fields a response headers policy may not remove, as
// CloudFront.
var unremovable = []string{"Connection", "Content-Encoding", "Content-Length", "Expect", "Host", "Keep-Alive",
	"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Trailer", "Transfer-Encoding", "Upgrade", "Via", "Warning",
	"X-Accel-Buffering", "X-Accel-Charset", "X-Accel-Limit-Rate", "X-Accel-Redirect", "X-Cache", "X-Edge-Request-Id"}

func (v *validator) responseHeaders(at string, rh *ResponseHeaders) {
	if rh.Policy != "" {
		name, ok := ManagedPolicyName(rh.Policy)
		if !ok {
			names := make([]string, 0, len(ManagedResponseHeadersPolicies))
			for n := range ManagedResponseHeadersPolicies {
				names = append(names, n)
			}
			sort.Strings(names)
			v.add(at+".policy", "%q is not a managed response headers policy: one of %s, or write a custom one", rh.Policy, strings.Join(names, ", "))
		}
		rh.Policy = name
		if rh.CORS != nil || rh.Security != nil || rh.Custom != nil || rh.Remove != nil || rh.ServerTiming != nil {
			v.add(at+".policy", "a managed policy cannot be combined with custom settings: write the whole policy instead")
		}
	}
	if c := rh.CORS; c != nil {
		for i, m := range c.AllowMethods {
			c.AllowMethods[i] = strings.ToUpper(m)
			if c.AllowMethods[i] != "ALL" && !contains(KnownMethods, c.AllowMethods[i]) {
				v.add(fmt.Sprintf("%s.cors.allow_methods[%d]", at, i), "method %q is not one of %s, or ALL", m, strings.Join(KnownMethods, ", "))
			}
		}
		if c.AllowCredentials && contains(c.AllowOrigins, "*") {
			v.add(at+".cors", "allow_credentials cannot go with allow_origins \"*\" (browsers refuse it)")
		}
	}
	if s := rh.Security; s != nil && s.FrameOptions != nil {
		if f := strings.ToUpper(s.FrameOptions.Value); f != "DENY" && f != "SAMEORIGIN" {
			v.add(at+".security.frame_options", "frame_options %q is not DENY or SAMEORIGIN", s.FrameOptions.Value)
		}
	}
	for i, h := range rh.Custom {
		if !ValidFieldName(h.Header) {
			v.add(fmt.Sprintf("%s.custom[%d]", at, i), "header %q is not a valid field name", h.Header)
		}
	}
	for i, h := range rh.Remove {
		if !ValidFieldName(h) {
			v.add(fmt.Sprintf("%s.remove[%d]", at, i), "header %q is not a valid field name", h)
		} else if contains(unremovable, http.CanonicalHeaderKey(h)) {
			v.add(fmt.Sprintf("%s.remove[%d]", at, i), "%s cannot be removed, as on CloudFront", h)
		}
	}
	if st := rh.ServerTiming; st != nil && (st.SamplingRate < 0 || st.SamplingRate > 100) {
		v.add(at+".server_timing.sampling_rate", "sampling_rate is a percentage, 0 to 100")
	}
}

// IsLoopback reports whether a listen address binds loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
			s.PublicKeyFile = v.file(s.PublicKeyFile)
			if _, err := os.Stat(s.PublicKeyFile); errors.Is(err, fs.ErrNotExist) {
				v.add(at+".public_key_file", "key group %q, key %q: %s does not exist; put the key's public key there (PEM, as `openssl rsa -pubout` or `openssl ec -pubout` writes it)", name, s.ID, s.PublicKeyFile)
			} else if _, err := signedurl.LoadPublicKey(s.PublicKeyFile); err != nil {
				v.add(at+".public_key_file", "key group %q, key %q: %v", name, s.ID, err)
			}
		}
	}
}

var policies = []string{"allow-all", "redirect-to-https", "https-only"}

func (v *validator) distribution(at string, d *Distribution) {
	if d.ViewerProtocolPolicy == "" {
		d.ViewerProtocolPolicy = "allow-all"
	}
	if !contains(policies, d.ViewerProtocolPolicy) {
		v.add(at+".viewer_protocol_policy", "viewer_protocol_policy %q is not one of %s", d.ViewerProtocolPolicy, strings.Join(policies, ", "))
	} else if d.ViewerProtocolPolicy != "allow-all" && v.c.Listen.HTTPS == "" {
		v.add(at+".viewer_protocol_policy", "viewer_protocol_policy %s needs an https listener (listen.https)", d.ViewerProtocolPolicy)
	}
	d.DefaultRootObject = strings.TrimPrefix(d.DefaultRootObject, "/")
	if rl := d.RateLimit; rl != nil {
		if rl.RequestsPerSecond <= 0 {
			v.add(at+".rate_limit", "rate_limit needs requests_per_second above 0")
		}
		if rl.MaxClients < 0 {
			v.add(at+".rate_limit.max_clients", "max_clients must be 0 (the default) or more")
		}
		if rl.Burst < 0 {
			v.add(at+".rate_limit.burst", "burst must be 0 or more")
		}
		if rl.Burst == 0 {
			rl.Burst = max(1, int(math.Ceil(rl.RequestsPerSecond)))
		}
		if rl.By == "" {
			rl.By = "client_ip"
		}
		if rl.By != "client_ip" {
			v.add(at+".rate_limit.by", "rate_limit by %q: only client_ip is supported", rl.By)
		}
	}
	if len(d.Origins) == 0 {
		v.add(at, "distribution %q has no origins", d.Name)
	}
	names := make([]string, 0, len(d.Origins))
	for name := range d.Origins {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		o := d.Origins[name]
		v.origin(at+".origins."+name, name, &o)
		if o.Type == "group" {
			v.group(at+".origins."+name, name, &o, d.Origins)
		}
		d.Origins[name] = o
	}
	var pats []pathpattern.Pattern
	for i := range d.Behaviors {
		bp := fmt.Sprintf("%s.behaviors[%d]", at, i)
		b := &d.Behaviors[i]
		if b.PathPattern == "" {
			v.add(bp, "a behavior needs a path_pattern (the default_behavior has none)")
			pats = append(pats, pathpattern.Pattern{})
		} else {
			p, err := pathpattern.Compile(b.PathPattern)
			if err != nil {
				v.add(bp+".path_pattern", "%v", err)
			}
			for j, q := range pats {
				if q.Covers(p) {
					v.add(bp+".path_pattern", "behavior %q can never match: %q at line %d comes first and matches every path it would", b.PathPattern, q.String(), v.c.Line(fmt.Sprintf("%s.behaviors[%d].path_pattern", at, j)))
					break
				}
			}
			pats = append(pats, p)
			if b.StripPrefix != "" && err == nil {
				lit := "/" + strings.TrimPrefix(b.PathPattern, "/")
				if k := strings.IndexAny(lit, "*?"); k >= 0 {
					lit = lit[:k]
				}
				if !strings.HasPrefix(lit, b.StripPrefix) {
					v.add(bp+".strip_prefix", "strip_prefix %q does not begin every path that %q matches", b.StripPrefix, b.PathPattern)
				}
			}
		}
		v.behavior(bp, d, b)
	}
	if d.DefaultBehavior == nil {
		v.add(at, "distribution %q has no default_behavior", d.Name)
	} else {
		if d.DefaultBehavior.PathPattern != "" {
			v.add(at+".default_behavior.path_pattern", "the default_behavior matches every path and takes no path_pattern")
		}
		v.behavior(at+".default_behavior", d, d.DefaultBehavior)
	}
	v.errorResponses(at+".custom_error_responses", d.CustomErrorResponses, false)
}

func (v *validator) origin(at, name string, o *Origin) {
	switch o.Type {
	case "http":
		u, err := url.Parse(o.URL)
		switch {
		case o.URL == "":
			v.add(at, "origin %q needs a url", name)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			v.add(at+".url", "origin %q: url %q is not an http:// or https:// URL", name, o.URL)
		case u.RawQuery != "" || u.Fragment != "":
			v.add(at+".url", "origin %q: url %q may not have a query or fragment", name, o.URL)
		}
		if o.CAFile != "" {
			o.CAFile = v.file(o.CAFile)
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				v.add(at+".ca_file", "origin %q: %v", name, err)
			} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
				v.add(at+".ca_file", "origin %q: %s holds no PEM certificate", name, o.CAFile)
			}
		}
		if o.Root != "" {
			v.add(at+".root", "origin %q: root is for dir origins", name)
		}
	case "dir":
		if o.Root == "" {
			v.add(at, "origin %q needs a root directory", name)
			break
		}
		o.Root = v.file(o.Root)
		if fi, err := os.Stat(o.Root); err != nil || !fi.IsDir() {
			v.add(at+".root", "origin %q: root %s is not a directory", name, o.Root)
		}
		if o.URL != "" {
			v.add(at+".url", "origin %q: url is for http origins", name)
		}
	case "s3":
		v.s3(at, name, o)
	case "group":
		// Checked with the distribution's other origins (groupOrigins).
	case "":
		v.add(at, "origin %q needs a type (http, s3, dir or group)", name)
	default:
		v.add(at+".type", "origin %q: type %q is not http, s3, dir or group", name, o.Type)
	}
	if o.Type != "group" && (o.Primary != "" || o.Secondary != "" || o.FailoverStatusCodes != nil) {
		v.add(at, "origin %q: primary, secondary and failover_status_codes are for group origins", name)
	}
	if o.Type != "s3" {
		for key, set := range map[string]bool{"bucket": o.Bucket != "", "region": o.Region != "", "endpoint": o.Endpoint != "",
			"website": o.Website != nil, "anonymous": o.Anonymous, "access_key_id": o.AccessKeyID != "", "secret_access_key": o.SecretAccessKey != ""} {
			if set {
				v.add(at+"."+key, "origin %q: %s is for s3 origins", name, key)
			}
		}
	}
	if o.Path != "" && (!strings.HasPrefix(o.Path, "/") || strings.HasSuffix(o.Path, "/")) {
		v.add(at+".path", "origin %q: path %q must begin with / and not end with one", name, o.Path)
	}
	for h := range o.CustomHeaders {
		if !ValidFieldName(h) {
			v.add(at+".custom_headers."+h, "origin %q: %q is not a header name", name, h)
		}
	}
	if o.MaxIdleConns < 0 {
		v.add(at+".max_idle_conns", "max_idle_conns cannot be negative")
	}
}

// FailoverStatuses are the statuses an origin group may fail over on, as
// CloudFront allows.
var FailoverStatuses = []int{400, 403, 404, 416, 500, 502, 503, 504}

func (v *validator) group(at, name string, o *Origin, origins map[string]Origin) {
	for _, m := range []struct{ key, member string }{{"primary", o.Primary}, {"secondary", o.Secondary}} {
		mo, ok := origins[m.member]
		switch {
		case m.member == "":
			v.add(at, "origin group %q needs a %s origin", name, m.key)
		case !ok:
			v.add(at+"."+m.key, "origin group %q: %s %q is not an origin of the distribution", name, m.key, m.member)
		case mo.Type == "group":
			v.add(at+"."+m.key, "origin group %q: %s %q is a group itself", name, m.key, m.member)
		}
	}
	if o.Primary != "" && o.Primary == o.Secondary {
		v.add(at+".secondary", "origin group %q: primary and secondary are the same origin", name)
	}
	if len(o.FailoverStatusCodes) == 0 {
		o.FailoverStatusCodes = []int{500, 502, 503, 504}
	}
	for i, c := range o.FailoverStatusCodes {
		if !slices.Contains(FailoverStatuses, c) {
			v.add(fmt.Sprintf("%s.failover_status_codes[%d]", at, i), "origin group %q: %d is not a status CloudFront fails over on (400, 403, 404, 416, 500, 502, 503, 504)", name, c)
		}
	}
	for key, set := range map[string]bool{"url": o.URL != "", "root": o.Root != "", "path": o.Path != "", "custom_headers": o.CustomHeaders != nil} {
		if set {
			v.add(at+"."+key, "origin group %q: %s belongs on its member origins", name, key)
		}
	}
}

// s3Domain is an S3 REST or website endpoint's host name: the bucket and
// the region.
var s3Domain = regexp.MustCompile(`^(.+?)\.s3(?:[.-]website)?(?:[.-]([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$`)

// SplitS3Domain reads the bucket and region of an S3 endpoint host name,
// as CloudFront's templates give it (bucket.s3.region.amazonaws.com,
// website endpoints too). ok is false, and bucket the name itself, for
// anything else.
func SplitS3Domain(host string) (bucket, region string, ok bool) {
	m := s3Domain.FindStringSubmatch(host)
	if m == nil {
		return host, "", false
	}
	if region = m[2]; region == "external-1" {
		region = ""
	}
	return m[1], region, true
}

func (v *validator) s3(at, name string, o *Origin) {
	if o.Bucket == "" {
		v.add(at, "origin %q needs a bucket", name)
	}
	// A bucket given as its domain name, as templates give it.
	if b, region, ok := SplitS3Domain(o.Bucket); ok {
		o.Bucket = b
		if o.Region == "" {
			o.Region = region
		}
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			v.add(at+".endpoint", "origin %q: endpoint %q is not an http:// or https:// URL without a path", name, o.Endpoint)
		}
	}
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		v.add(at, "origin %q: access_key_id and secret_access_key go together", name)
	}
	if o.Anonymous && o.AccessKeyID != "" {
		v.add(at+".anonymous", "origin %q: an anonymous origin takes no credentials", name)
	}
	if o.URL != "" || o.Root != "" {
		v.add(at, "origin %q: url and root are not for s3 origins (use bucket and endpoint)", name)
	}
	if w := o.Website; w != nil {
		if w.IndexDocument == "" {
			v.add(at+".website", "origin %q: website needs an index_document", name)
		} else if strings.Contains(w.IndexDocument, "/") {
			v.add(at+".website.index_document", "origin %q: index_document is a file name without /", name)
		}
		for i, r := range w.RoutingRules {
			rp := fmt.Sprintf("%s.website.routing_rules[%d]", at, i)
			if r.Redirect.ReplaceKeyPrefixWith != "" && r.Redirect.ReplaceKeyWith != "" {
				v.add(rp+".redirect", "a redirect takes replace_key_prefix_with or replace_key_with, not both")
			}
			if c := r.Redirect.HTTPRedirectCode; c != 0 && (c < 300 || c > 399) {
				v.add(rp+".redirect.http_redirect_code", "http_redirect_code %d is not a 3xx status", c)
			}
			if p := r.Redirect.Protocol; p != "" && p != "http" && p != "https" {
				v.add(rp+".redirect.protocol", "protocol %q is not http or https", p)
			}
			if c := r.Condition.HTTPErrorCodeReturnedEquals; c != 0 && (c < 400 || c > 599) {
				v.add(rp+".condition.http_error_code_returned_equals", "http_error_code_returned_equals %d is not a 4xx or 5xx status", c)
			}
		}
	}
}

func (v *validator) behavior(at string, d *Distribution, b *Behavior) {
	if rh := b.ResponseHeaders; rh != nil {
		v.responseHeaders(at+".response_headers", rh)
	}
	if fn := b.Functions; fn != nil {
		v.functions(at+".functions", fn)
	}
	if b.TargetOrigin == "" {
		v.add(at, "behavior needs a target_origin")
	} else if _, ok := d.Origins[b.TargetOrigin]; !ok {
		v.add(at+".target_origin", "target_origin %q is not an origin of distribution %q", b.TargetOrigin, d.Name)
	}
	if len(b.AllowedMethods) == 0 {
		b.AllowedMethods = []string{"GET", "HEAD"}
	}
	for i, m := range b.AllowedMethods {
		b.AllowedMethods[i] = strings.ToUpper(m)
		if !contains(KnownMethods, b.AllowedMethods[i]) {
			v.add(fmt.Sprintf("%s.allowed_methods[%d]", at, i), "method %q is not one of %s", m, strings.Join(KnownMethods, ", "))
		}
	}
	min, def, max := b.TTLs()
	if min > def {
		v.add(at+".min_ttl", "min_ttl (%d) is greater than default_ttl (%d)", min, def)
	}
	if def > max {
		v.add(at+".max_ttl", "default_ttl (%d) is greater than max_ttl (%d)", def, max)
	}
	if b.StripPrefix != "" && (!strings.HasPrefix(b.StripPrefix, "/") || b.StripPrefix == "/") {
		v.add(at+".strip_prefix", "strip_prefix %q must begin with / and be more than /", b.StripPrefix)
	}
	if f := b.Forward; f != nil {
		for i, h := range f.Headers.Items {
			if !ValidFieldName(h) {
				v.add(fmt.Sprintf("%s.forward.headers[%d]", at, i), "%q is not a header name", h)
			}
		}
	}
	if k := b.CacheKey; k != nil && k.Headers.Mode == "all_except" {
		v.add(at+".cache_key.headers", "cache_key.headers takes none or a list of names, as a CloudFront cache policy")
	}
	v.errorResponses(at+".error_responses", b.ErrorResponses, true)
	for i, g := range b.TrustedKeyGroups {
		if _, ok := v.c.KeyGroups[g]; !ok {
			v.add(fmt.Sprintf("%s.trusted_key_groups[%d]", at, i), "trusted key group %q is not in key_groups", g)
		}
	}
}

func (v *validator) errorResponses(at string, rules []ErrorResponse, perBehavior bool) {
	for i := range rules {
		r := &rules[i]
		rp := fmt.Sprintf("%s[%d]", at, i)
		if r.ErrorCode < 400 || r.ErrorCode > 599 {
			v.add(rp+".error_code", "error_code %d is not a 4xx or 5xx status", r.ErrorCode)
		}
		if r.ResponsePagePath != "" && !strings.HasPrefix(r.ResponsePagePath, "/") {
			v.add(rp+".response_page_path", "response_page_path %q must begin with /", r.ResponsePagePath)
		}
		if r.ResponseCode != 0 && (r.ResponseCode < 200 || r.ResponseCode > 599) {
			v.add(rp+".response_code", "response_code %d is not an HTTP status", r.ResponseCode)
		}
		if r.ResponseCode != 0 && r.ResponsePagePath == "" {
			v.add(rp+".response_code", "response_code needs a response_page_path")
		}
		if r.WhenAccept != "" {
			if !perBehavior {
				v.add(rp+".when_accept", "when_accept is for a behavior's error_responses")
			} else if mt, _, err := mime.ParseMediaType(r.WhenAccept); err != nil || !strings.Contains(mt, "/") {
				v.add(rp+".when_accept", "when_accept %q is not a media type such as text/html", r.WhenAccept)
			}
		}
		for j := 0; j < i; j++ {
			if rules[j].ErrorCode == r.ErrorCode && rules[j].WhenAccept == r.WhenAccept {
				v.add(rp+".error_code", "error_code %d already has a rule at line %d", r.ErrorCode, v.c.Line(fmt.Sprintf("%s[%d]", at, j)))
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func validHost(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// ValidFieldName reports whether s is an HTTP field name (a token).
func ValidFieldName(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	}) < 0
}
