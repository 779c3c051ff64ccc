package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/edgefront/edgefront/internal/config"
)

// acmeManager obtains and renews the aliases' certificates with ACME
// (certmagic): HTTP-01 through the http listener, TLS-ALPN-01 through the
// https one, certificates and account kept in the storage folder.
type acmeManager struct {
	settings config.ACME
	magic    *certmagic.Config
	cache    *certmagic.Cache
	issuer   *certmagic.ACMEIssuer
	log      *slog.Logger
	mu       sync.Mutex // names
	names    []string
	cancel   context.CancelFunc
}

// newACME makes the manager; storage, when not nil, replaces the storage
// folder (a cluster's certificates in Redis).
func newACME(a config.ACME, httpPort, httpsPort int, storage certmagic.Storage, log *slog.Logger) (*acmeManager, error) {
	m := &acmeManager{settings: a, log: log}
	check := 10 * time.Minute
	if a.RenewalCheck != nil {
		check = time.Duration(*a.RenewalCheck)
	}
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		RenewCheckInterval: check,
		Logger:             zap.NewNop(),
	})
	if storage == nil {
		storage = &certmagic.FileStorage{Path: a.Storage}
	}
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage: storage,
		Logger:  zap.NewNop(),
		OnEvent: m.event,
	})
	tmpl := certmagic.ACMEIssuer{CA: a.CA, Email: a.Email, Agreed: true, Logger: zap.NewNop(),
		AltHTTPPort: httpPort, AltTLSALPNPort: httpsPort}
	if len(a.Challenges) > 0 {
		tmpl.DisableHTTPChallenge = !slices.Contains(a.Challenges, "http-01")
		tmpl.DisableTLSALPNChallenge = !slices.Contains(a.Challenges, "tls-alpn-01")
	}
	if httpPort == 0 {
		tmpl.DisableHTTPChallenge = true
	}
	if a.CARoot != "" {
		b, err := os.ReadFile(a.CARoot)
		if err != nil {
			return nil, fmt.Errorf("tls.acme.ca_root: %w", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(b)
		tmpl.TrustedRoots = pool
	}
	m.issuer = certmagic.NewACMEIssuer(m.magic, tmpl)
	m.magic.Issuers = []certmagic.Issuer{m.issuer}
	return m, nil
}

// event logs what certmagic does with certificates.
func (m *acmeManager) event(_ context.Context, event string, data map[string]any) error {
	switch event {
	case "cert_obtained":
		m.log.Info("certificate obtained", "name", data["identifier"], "renewal", data["renewal"])
	case "cert_failed":
		m.log.Error("certificate not obtained", "name", data["identifier"], "renewal", data["renewal"], "err", data["error"])
	}
	return nil
}

// tlsConfig serves the managed certificates, and answers TLS-ALPN-01.
func (m *acmeManager) tlsConfig(minVersion uint16) *tls.Config {
	tc := m.magic.TLSConfig()
	tc.MinVersion = minVersion
	tc.NextProtos = append([]string{"h2", "http/1.1"}, tc.NextProtos...)
	return tc
}

// manage starts obtaining and renewing certificates for names, in the
// background: the edge serves meanwhile.
func (m *acmeManager) manage(names []string) error {
	m.mu.Lock()
	same := slices.Equal(names, m.names)
	m.names = names
	m.mu.Unlock()
	if same {
		return nil
	}
	if m.cancel != nil {
		m.cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	return m.magic.ManageAsync(ctx, names)
}

// expiries are when the certificates held for the managed names expire.
func (m *acmeManager) expiries() map[string]time.Time {
	out := map[string]time.Time{}
	m.mu.Lock()
	names := m.names
	m.mu.Unlock()
	for _, name := range names {
		for _, c := range m.cache.AllMatchingCertificates(name) {
			if c.Leaf != nil && c.Leaf.NotAfter.After(out[name]) {
				out[name] = c.Leaf.NotAfter
			}
		}
	}
	return out
}

// httpHandler answers HTTP-01 challenges before h.
func (m *acmeManager) httpHandler(h http.Handler) http.Handler {
	return m.issuer.HTTPChallengeHandler(h)
}

func (m *acmeManager) stop() {
	if m.cancel != nil {
		m.cancel()
	}
	m.cache.Stop()
}

// acmeNames are the names tls.acme gets certificates for: every alias.
func acmeNames(cfg *config.Config) []string {
	var names []string
	for _, d := range cfg.Distributions {
		for _, a := range d.Aliases {
			if a = strings.ToLower(a); !strings.HasPrefix(a, "*.") && !slices.Contains(names, a) {
				names = append(names, a)
			}
		}
	}
	slices.Sort(names)
	return names
}

func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
