package edge

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/functions"
)

// viewerMTLS is a distribution's viewer_mtls, compiled: the handshake
// settings its viewers get (chosen by SNI) and how their certificates are
// verified.
type viewerMTLS struct {
	mode         string // required, optional, passthrough
	roots        *x509.CertPool
	advertise    bool
	ignoreExpiry bool
	crls         []*x509.RevocationList
	// made is the handshake config derived from the listener's config in
	// force; a new one when that changes.
	made atomic.Pointer[madeTLS]
	// verified are the chains that checked out, by their hash, until
	// when: a viewer that reconnects with the same certificate is not
	// verified again (its handshake still proves it holds the key).
	mu       sync.Mutex
	verified map[[32]byte]time.Time
}

// maxVerified bounds the chains remembered; verifiedFor is how long one
// is, at most.
const (
	maxVerified = 16384
	verifiedFor = 5 * time.Minute
)

type madeTLS struct{ base, cfg *tls.Config }

func compileViewerMTLS(at string, c *config.ViewerMTLS, probs *problems) *viewerMTLS {
	if c == nil {
		return nil
	}
	m := &viewerMTLS{mode: c.Mode}
	if ts := c.TrustStore; ts != nil {
		m.advertise, m.ignoreExpiry = ts.AdvertiseCANames, ts.IgnoreCertificateExpiry
		if ts.CAFile != "" {
			b, err := os.ReadFile(ts.CAFile)
			m.roots = x509.NewCertPool()
			if err != nil || !m.roots.AppendCertsFromPEM(b) {
				probs.addf(at+".trust_store.ca_file", "viewer_mtls trust store %s: no PEM certificate (%v)", ts.CAFile, err)
			}
		}
		if ts.CRLFile != "" {
			b, err := os.ReadFile(ts.CRLFile)
			if err == nil {
				m.crls, err = config.ParseCRLs(b)
			}
			if err != nil {
				probs.addf(at+".trust_store.crl_file", "viewer_mtls CRL %s: %v", ts.CRLFile, err)
			}
		}
	}
	return m
}

// describe is the setting, for explain.
func (m *viewerMTLS) describe() string {
	var s string
	switch m.mode {
	case "required":
		s = "required: no handshake without a certificate that chains to the trust store"
	case "optional":
		s = "optional: viewers are served with or without a certificate; one presented must chain to the trust store"
	default:
		s = "passthrough: a certificate is asked for and passed on unverified"
	}
	if m.ignoreExpiry {
		s += "; expiry ignored"
	}
	if len(m.crls) > 0 {
		s += fmt.Sprintf("; %d revocation list(s)", len(m.crls))
	}
	return s + "; CloudFront-Viewer-Cert-* headers for forward and cache_key (Validity and Pem for the origin only)"
}

// ViewerTLS is the handshake config for the viewer of hello: the
// listener's base, with the client certificate settings of the
// distribution that answers its SNI, and its connection function; nil
// when it has none.
func (rt *Router) ViewerTLS(hello *tls.ClientHelloInfo, base *tls.Config) *tls.Config {
	if hello.ServerName == "" {
		return nil
	}
	d := rt.Select(hello.ServerName)
	if d == nil || d.mtls == nil {
		return nil
	}
	cfg := d.mtls.config(base)
	if d.connFn == nil {
		return cfg
	}
	// The connection function decides once the certificate checked out:
	// a config of this handshake's own, which knows the viewer.
	cfg = cfg.Clone()
	ip := ""
	if hello.Conn != nil {
		if host, _, err := net.SplitHostPort(hello.Conn.RemoteAddr().String()); err == nil {
			ip = host
		}
	}
	check := cfg.VerifyConnection // the trust store's, when there is one
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if check != nil {
			if err := check(cs); err != nil {
				return err // an invalid certificate never reaches the function
			}
		}
		return d.runConnectionFunction(ip, cs)
	}
	return cfg
}

// runConnectionFunction lets the distribution's connection function
// allow or deny a handshake. One that fails, runs past its budget or
// decides nothing denies it.
func (d *Distribution) runConnectionFunction(ip string, cs tls.ConnectionState) error {
	c := &functions.Connection{ClientIP: ip, ServerName: cs.ServerName, TLSVersion: tlsVersionName(cs.Version), Cipher: cipherName(cs.CipherSuite)}
	if len(cs.PeerCertificates) > 0 {
		c.Cert = cs.PeerCertificates[0]
	}
	allowed, logs, err := d.connFn.RunConnection(c)
	for _, l := range logs {
		d.log.Info("connection function log", "distribution", d.Name, "function", d.connFn.Name, "client", ip, "line", l)
	}
	switch {
	case err != nil:
		d.log.Warn("connection function failed; the connection is denied", "distribution", d.Name, "function", d.connFn.Name, "client", ip, "err", err)
		return fmt.Errorf("connection function: %w", err)
	case !allowed:
		return errors.New("the connection function denied the connection")
	}
	return nil
}

// compileConnectionFunction compiles a distribution's connection_function.
func compileConnectionFunction(at string, c *config.ConnectionFunction, stores map[string]map[string]string, budget time.Duration, probs *problems) *functions.Function {
	if c == nil || c.Code == "" {
		return nil
	}
	src, err := os.ReadFile(c.Code)
	if err == nil {
		var f *functions.Function
		if f, err = functions.CompileConnection(c.Code, string(src)); err == nil {
			f.KVS, f.Budget = stores[c.KeyValueStore], budget
			return f
		}
	}
	probs.add(at, err)
	return nil
}

func (m *viewerMTLS) config(base *tls.Config) *tls.Config {
	if made := m.made.Load(); made != nil && made.base == base {
		return made.cfg
	}
	cfg := base.Clone()
	cfg.ClientAuth = tls.RequestClientCert
	if m.mode == "required" {
		cfg.ClientAuth = tls.RequireAnyClientCert
	}
	if m.advertise && m.roots != nil {
		// With Request/RequireAny, Go names these CAs in the handshake
		// and verifies nothing against them: verify does.
		cfg.ClientCAs = m.roots
	}
	if m.mode != "passthrough" {
		// The certificates as the handshake parsed them: checked once.
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return m.verifyChain(cs.PeerCertificates) }
	}
	m.made.Store(&madeTLS{base: base, cfg: cfg})
	return cfg
}

// verify is verifyChain of the certificates as sent, for tests.
func (m *viewerMTLS) verify(raw [][]byte, _ [][]*x509.Certificate) error {
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("viewer_mtls: %w", err)
		}
		certs[i] = c
	}
	return m.verifyChain(certs)
}

// verifyChain checks a viewer's chain against the trust store, its
// revocation lists and (unless ignored) its validity; no certificate is
// an error in required mode only.
func (m *viewerMTLS) verifyChain(certs []*x509.Certificate) error {
	if len(certs) == 0 {
		if m.mode == "required" {
			return errors.New("viewer_mtls: a client certificate is required")
		}
		return nil
	}
	h := sha256.New()
	for _, c := range certs {
		h.Write(c.Raw)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	now := time.Now()
	m.mu.Lock()
	until, ok := m.verified[sum]
	m.mu.Unlock()
	if ok && now.Before(until) {
		return nil
	}
	if err := m.verifyNow(certs); err != nil {
		return err
	}
	until = now.Add(verifiedFor)
	if !m.ignoreExpiry && certs[0].NotAfter.Before(until) {
		until = certs[0].NotAfter
	}
	m.mu.Lock()
	if m.verified == nil || len(m.verified) >= maxVerified {
		m.verified = map[[32]byte]time.Time{}
	}
	m.verified[sum] = until
	m.mu.Unlock()
	return nil
}

// verifyNow checks a chain: the trust store, the validity (unless
// ignored), the revocation lists.
func (m *viewerMTLS) verifyNow(certs []*x509.Certificate) error {
	opts := x509.VerifyOptions{Roots: m.roots, Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if m.ignoreExpiry {
		// A moment inside the leaf's own validity: the chain is judged as
		// it was then.
		opts.CurrentTime = certs[0].NotBefore.Add(time.Second)
	}
	chains, err := certs[0].Verify(opts)
	if err != nil {
		return fmt.Errorf("viewer_mtls: %w", err)
	}
	for _, chain := range chains {
		for i := 0; i+1 < len(chain); i++ {
			if m.revoked(chain[i], chain[i+1]) {
				return fmt.Errorf("viewer_mtls: certificate %s of %s is revoked", functions.DescribeCert(chain[i]).SerialNumber, chain[i].Subject)
			}
		}
	}
	return nil
}

// revoked reports whether a CRL that issuer signed lists c.
func (m *viewerMTLS) revoked(c, issuer *x509.Certificate) bool {
	for _, crl := range m.crls {
		if crl.CheckSignatureFrom(issuer) != nil {
			continue
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(c.SerialNumber) == 0 {
				return true
			}
		}
	}
	return false
}

// viewerCertHeaders are the CloudFront-Viewer-Cert-* values among want
// of the viewer's certificate on a connection with viewer_mtls; only
// those are worked out.
func viewerCertHeaders(cs *tls.ConnectionState, want uint32) map[uint32][2]string {
	out := map[uint32][2]string{}
	if cs == nil || len(cs.PeerCertificates) == 0 {
		out[hdrCertPresent] = [2]string{"Cloudfront-Viewer-Cert-Present", "0"}
		return out
	}
	leaf := cs.PeerCertificates[0]
	out[hdrCertPresent] = [2]string{"Cloudfront-Viewer-Cert-Present", "1"}
	if want&(hdrCert&^(hdrCertPresent|hdrCertPEM)) != 0 {
		ci := functions.DescribeCert(leaf)
		out[hdrCertSerial] = [2]string{"Cloudfront-Viewer-Cert-Serial-Number", ci.SerialNumber}
		out[hdrCertIssuer] = [2]string{"Cloudfront-Viewer-Cert-Issuer", ci.Issuer}
		out[hdrCertSubject] = [2]string{"Cloudfront-Viewer-Cert-Subject", ci.Subject}
		out[hdrCertSHA256] = [2]string{"Cloudfront-Viewer-Cert-Sha256", ci.SHA256}
		out[hdrCertValidity] = [2]string{"Cloudfront-Viewer-Cert-Validity", "NotBefore=" + ci.NotBefore + ";NotAfter=" + ci.NotAfter}
	}
	if want&hdrCertPEM != 0 {
		p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
		out[hdrCertPEM] = [2]string{"Cloudfront-Viewer-Cert-Pem", strings.ReplaceAll(url.QueryEscape(string(p)), "+", "%20")}
	}
	return out
}
