package origin

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/edgefront/edgefront/internal/gather"
)

// newH2Transport is t made HTTP/2 only: h2 over TLS for an https://
// origin, h2c (prior knowledge) for http://, as gRPC servers speak it.
// net/http's own HTTP/2 (golang.org/x/net/http2's Transport is
// deprecated in its favour), with pings on a quiet connection, over
// connections that gather the streams' writes (gather.Conn).
func newH2Transport(t *http.Transport, cleartext bool) *http.Transport {
	h2 := t.Clone()
	h2.DialContext, h2.DialTLSContext = gatherDialers(t.DialContext, t.TLSClientConfig, t.TLSHandshakeTimeout)
	h2.Protocols = new(http.Protocols)
	if cleartext {
		h2.Protocols.SetUnencryptedHTTP2(true)
	} else {
		h2.Protocols.SetHTTP2(true)
	}
	h2.HTTP2 = &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second}
	return h2
}

// gatherDialers are the dial functions of an HTTP/2 transport whose
// connections gather their writes: plain (h2c) and TLS, the handshake
// done here over the gathering connection, bounded by handshake.
func gatherDialers(dial func(ctx context.Context, network, addr string) (net.Conn, error), conf *tls.Config, handshake time.Duration) (
	plain, withTLS func(ctx context.Context, network, addr string) (net.Conn, error)) {
	plain = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		g := gather.New(c)
		g.Start()
		return g, nil
	}
	withTLS = func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := gather.New(raw)
		cfg := conf.Clone()
		cfg.NextProtos = []string{"h2"}
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(c, cfg)
		hctx, cancel := context.WithTimeout(ctx, handshake)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			raw.Close()
			return nil, err
		}
		c.Start()
		return tc, nil
	}
	return plain, withTLS
}
