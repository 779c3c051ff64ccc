// Package edge is the request pipeline: a compiled config (Router) chooses a
// distribution by Host, and each distribution walks a request through its
// stages (viewer protocol policy, behavior match, allowed methods, origin
// request, error responses) to an answer.
package edge

import (
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/edgefront/edgefront/internal/cache"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/functions"
	"github.com/edgefront/edgefront/internal/origin"
	"github.com/edgefront/edgefront/internal/signedurl"
)

// Router is a compiled config: immutable, safe for concurrent use, replaced
// whole on reload.
type Router struct {
	dists    []*Distribution
	byHost   map[string]*Distribution
	wildcard map[string]*Distribution // "*.example.org" keyed by ".example.org"
	fallback *Distribution
	origins  []origin.Origin
	log      *slog.Logger
	cache    *cache.Cache
	obs      *Observer
	trusted  []netip.Prefix               // trusted_proxies
	kvs      map[string]map[string]string // key value stores by name
	cfg      *config.Config               // for the lines of problems found compiling it
	geo      *geoDB                       // nil without geoip
	// functionTime is how long a CloudFront Function may run.
	functionTime time.Duration
	// bodyTimeout is limits.client_body_timeout.
	bodyTimeout time.Duration
	// shared counts rate limits across a cluster; nil on one node.
	shared SharedLimits
	// peers are the other nodes of a cluster; nil without a cluster token.
	peers *peering
}

// Options are what a compiled config takes from outside it.
type Options struct {
	// Observer, when not nil, gets every request: the access log, metrics.
	Observer *Observer
	// Log is where the edge logs (slog.Default() when nil).
	Log *slog.Logger
	// Cache is the edge cache to use, so that it outlives a reload; when
	// nil, Compile makes one sized by the config.
	Cache *cache.Cache
	// Limits, when not nil, counts rate limits across a cluster.
	Limits SharedLimits
	// ClusterToken marks the requests nodes of a cluster send each other;
	// Shards, with it, makes each miss go to its object's owner first.
	ClusterToken string
	Shards       Shards
}

// NewCache makes the edge cache a config asks for: the memory tier, and
// the disk tier when there is one.
func NewCache(cfg *config.Config, log *slog.Logger) (*cache.Cache, error) {
	s := cfg.Cache.Sizes()
	mem := cache.NewMemory(uint64(s.Memory))
	if s.DiskPath == "" {
		return cache.New(mem, s.MaxObject, nil), nil
	}
	disk, err := cache.OpenDisk(s.DiskPath, uint64(s.Disk), log)
	if err != nil {
		return nil, err
	}
	return cache.New(cache.NewTiered(mem, disk, s.MaxMemoryObject, log), s.MaxObject, nil), nil
}

// Compile turns a validated config into ready distributions: it compiles
// the path patterns and the functions, loads the keys, the key value
// stores and the GeoIP databases, and builds the origins, each once. It
// returns every problem at once, as config.Problems with the FILE:LINE of
// the setting, or the error that stopped it.
func Compile(cfg *config.Config, opts Options) (*Router, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Cache == nil {
		c, err := NewCache(cfg, opts.Log)
		if err != nil {
			return nil, err
		}
		opts.Cache = c
	}
	rt := &Router{byHost: map[string]*Distribution{}, wildcard: map[string]*Distribution{}, log: opts.Log, cache: opts.Cache, obs: opts.Observer, shared: opts.Limits,
		peers: newPeering(opts.ClusterToken, opts.Shards)}
	rt.bodyTimeout = cfg.Limits.Resolved().ClientBody
	rt.cfg = cfg
	probs := &problems{cfg: cfg}
	rt.kvs = loadKeyValueStores(cfg.KeyValueStores, probs)
	rt.functionTime = cfg.Limits.Function()
	rt.geo = openGeo(cfg.GeoIP, probs)
	for _, p := range cfg.TrustedProxies {
		if pfx, err := config.ParsePrefix(p); err == nil {
			rt.trusted = append(rt.trusted, pfx)
		}
	}
	httpsPort := ""
	if cfg.Listen.HTTPS != "" {
		_, httpsPort, _ = net.SplitHostPort(cfg.Listen.HTTPS)
	}
	groups := loadKeyGroups(cfg.KeyGroups, probs)
	staging := cfg.StagingDistributions()
	for i := range cfg.Distributions {
		d := compileDistribution(fmt.Sprintf("distributions[%d]", i), &cfg.Distributions[i], httpsPort, groups, rt, probs)
		if d == nil {
			continue
		}
		rt.dists = append(rt.dists, d)
		if _, ok := staging[d.Name]; ok {
			continue // reached through its primary only
		}
		if len(d.aliases) == 0 && rt.fallback == nil {
			rt.fallback = d
		}
		for _, a := range d.aliases {
			if strings.HasPrefix(a, "*.") {
				rt.wildcard[a[1:]] = d
			} else {
				rt.byHost[a] = d
			}
		}
	}
	for _, d := range rt.dists {
		if d.deploy != nil {
			d.deploy.staging = rt.Distribution(d.deploy.name)
			if d.deploy.staging == nil {
				d.deploy = nil // config.Parse said so
			}
		}
	}
	if err := probs.err(); err != nil {
		rt.Close()
		return nil, err
	}
	return rt, nil
}

// keyGroups maps a key group's name to its keys by key pair id.
type keyGroups map[string]map[string]crypto.PublicKey

func loadKeyGroups(c map[string][]config.Signer, probs *problems) keyGroups {
	groups := keyGroups{}
	for name, signers := range c {
		groups[name] = map[string]crypto.PublicKey{}
		for i, s := range signers {
			if s.PublicKeyFile == "" {
				continue // config.Parse said so
			}
			at := fmt.Sprintf("key_groups.%s[%d].public_key_file", name, i)
			key, err := signedurl.LoadPublicKey(s.PublicKeyFile)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				probs.addf(at, "key group %q, key %q: %s does not exist; put the key's public key there (PEM, as `openssl rsa -pubout` or `openssl ec -pubout` writes it)", name, s.ID, s.PublicKeyFile)
			case err != nil:
				probs.addf(at, "key group %q, key %q: %v", name, s.ID, err)
			default:
				groups[name][s.ID] = key
			}
		}
	}
	return groups
}

// line is the config line of a setting, for messages.
func (rt *Router) line(path string) int { return rt.cfg.Line(path) }

// loadKeyValueStores reads each key value store once.
func loadKeyValueStores(c map[string]config.KeyValueStore, probs *problems) map[string]map[string]string {
	out := map[string]map[string]string{}
	for name, s := range c {
		kvs, err := functions.LoadKeyValueStore(s.File)
		if err != nil {
			probs.add("key_value_stores."+name+".file", err)
			continue
		}
		out[name] = kvs
	}
	return out
}

// verifier returns a verifier trusting the keys of the named groups, or nil
// when there are none to trust.
func (g keyGroups) verifier(names []string) *signedurl.Verifier {
	if len(names) == 0 {
		return nil
	}
	keys := map[string]crypto.PublicKey{}
	for _, n := range names {
		for id, k := range g[n] {
			keys[id] = k
		}
	}
	return signedurl.NewVerifier(keys, nil)
}

// Warnings are what is wrong with the compiled config that does not stop
// it from serving (an S3 origin without credentials), one sentence each.
func (rt *Router) Warnings() []string {
	var w []string
	for _, o := range rt.origins {
		if ow, ok := o.(interface{ Warning() string }); ok && ow.Warning() != "" {
			w = append(w, ow.Warning())
		}
	}
	return w
}

// Close releases the origins' idle connections.
func (rt *Router) Close() {
	for _, o := range rt.origins {
		if c, ok := o.(interface{ Close() }); ok {
			c.Close()
		}
	}
}

// Cache is the edge cache the router uses.
func (rt *Router) Cache() *cache.Cache { return rt.cache }

// TrustedProxies are the config's trusted_proxies.
func (rt *Router) TrustedProxies() []netip.Prefix { return rt.trusted }

// Distribution is the compiled distribution of that name, nil when none.
func (rt *Router) Distribution(name string) *Distribution {
	for _, d := range rt.dists {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Distributions lists the compiled distributions in config order.
func (rt *Router) Distributions() []*Distribution { return rt.dists }

// Select returns the distribution for a Host header: an exact alias, then a
// wildcard alias one label up, then the distribution without aliases.
func (rt *Router) Select(host string) *Distribution {
	host = strings.ToLower(stripPort(host))
	if d, ok := rt.byHost[host]; ok {
		return d
	}
	if i := strings.IndexByte(host, '.'); i > 0 {
		if d, ok := rt.wildcard[host[i:]]; ok {
			return d
		}
	}
	return rt.fallback
}

// stripPort is host without its port and an IPv6 literal's brackets. It
// allocates nothing: it runs on every request.
func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 && (i == len(host)-1 || host[i+1] == ':') {
			return host[1:i]
		}
		return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if i := strings.IndexByte(host, ':'); i >= 0 && strings.IndexByte(host[i+1:], ':') < 0 {
		return host[:i]
	}
	return host
}

// MaxURLLength is the longest request URL accepted, as CloudFront's.
const MaxURLLength = 8192

// ServeHTTP answers a viewer request.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt.obs != nil {
		rt.observe(w, r, rt.serve)
		return
	}
	rt.serve(w, r)
}

func (rt *Router) serve(w http.ResponseWriter, r *http.Request) {
	if len(r.TransferEncoding) > 0 && r.ProtoMajor == 1 {
		// A chunked request may have come with a Content-Length too, which
		// a proxy in front may have read instead: whatever follows it on
		// this connection is not trusted to be a request (RFC 9112 §6.3).
		w.Header()["Connection"] = []string{"close"}
	}
	if r.Host == "" {
		writeErrorPage(w, r, nil, http.StatusBadRequest, "the request has no Host header")
		return
	}
	if len(r.RequestURI) > MaxURLLength {
		writeErrorPage(w, r, nil, http.StatusRequestURITooLong, fmt.Sprintf("the URL is longer than %d bytes", MaxURLLength))
		return
	}
	d := rt.Select(r.Host)
	if d == nil {
		writeErrorPage(w, r, nil, http.StatusNotFound, "no distribution answers for this host")
		return
	}
	if nd := rt.peers.distributionOf(r, rt); nd != nil {
		d = nd // another node chose it, staging or not
	} else if cd := d.deploy; cd != nil && cd.toStaging(w, r, time.Now()) {
		d = cd.staging
	}
	d.ServeHTTP(w, r)
}
