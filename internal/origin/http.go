package origin

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/edgefront/edgefront/internal/config"
)

// Defaults, as CloudFront's for custom origins, but for the pool size.
const (
	DefaultConnectTimeout   = 10 * time.Second
	DefaultReadTimeout      = 30 * time.Second
	DefaultKeepaliveTimeout = 5 * time.Second
	// DefaultMaxIdleConns is how many idle keep-alive connections are kept to
	// one origin. Go's default of 2 makes a busy edge open and close
	// connections on almost every request.
	DefaultMaxIdleConns = 1024
)

// HTTP is an origin reached over HTTP/1.1 or HTTPS.
type HTTP struct {
	target    *url.URL
	headers   http.Header
	transport splitTransport
	http2     bool // http2: true
}

// NewHTTP builds an http origin from its configuration.
func NewHTTP(name string, c config.Origin) (*HTTP, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("origin %q: %w", name, err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + c.Path
	u.RawPath = ""
	h := make(http.Header, len(c.CustomHeaders))
	for k, v := range c.CustomHeaders {
		h.Set(k, v)
	}
	t, err := NewTransport(c)
	if err != nil {
		return nil, fmt.Errorf("origin %q: %w", name, err)
	}
	if c.HTTP2 {
		return &HTTP{target: u, headers: h, transport: splitTransport{std: newH2Transport(t, u.Scheme == "http")}, http2: true}, nil
	}
	return &HTTP{target: u, headers: h, transport: newSplitTransport(t)}, nil
}

// HTTP2 reports whether the origin is reached over HTTP/2 only.
func (o *HTTP) HTTP2() bool { return o.http2 }

// NewTransport builds the standard pooled keep-alive transport an origin
// uses for HTTPS, bodies and upgrades; plain-HTTP GET and HEAD go through
// the smaller h1 client in front of it. Both sit behind http.RoundTripper,
// so the edge does not know which answered.
func NewTransport(c config.Origin) (*http.Transport, error) {
	connect := or(time.Duration(c.ConnectTimeout), DefaultConnectTimeout)
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", c.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	idle := c.MaxIdleConns
	if idle == 0 {
		idle = DefaultMaxIdleConns
	}
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: or(time.Duration(c.ReadTimeout), DefaultReadTimeout),
		IdleConnTimeout:       or(time.Duration(c.KeepaliveTimeout), DefaultKeepaliveTimeout),
		ExpectContinueTimeout: time.Second,
		MaxIdleConnsPerHost:   idle,
		// The viewer's Accept-Encoding goes to the origin as it is, and the
		// origin's encoding comes back untouched.
		DisableCompression: true,
		ForceAttemptHTTP2:  true,
		WriteBufferSize:    64 << 10,
		ReadBufferSize:     64 << 10,
	}, nil
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Target is the origin's base URL, its path prefix included.
func (o *HTTP) Target() *url.URL { return o.target }

// Prepare points out at the origin, below its path prefix, and adds the
// origin's custom headers.
func (o *HTTP) Prepare(out *http.Request) {
	o.point(out)
	for k, v := range o.headers {
		out.Header[k] = v
	}
}

// point aims out's URL at the origin, under its path.
func (o *HTTP) point(out *http.Request) {
	out.URL.Scheme = o.target.Scheme
	out.URL.Host = o.target.Host
	prefixPath(out.URL, o.target.Path)
}

// RoundTrip sends the request over the origin's connection pool.
func (o *HTTP) RoundTrip(out *http.Request) (*http.Response, error) {
	return o.transport.RoundTrip(out)
}

// Close closes the idle connections, for a reload or shutdown.
func (o *HTTP) Close() {
	o.transport.CloseIdleConnections()
}

// Domains are the names a function may call the origin by.
func (o *HTTP) Domains() []string { return []string{o.target.Host, o.target.Hostname()} }
