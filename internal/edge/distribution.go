package edge

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/edgefront/edgefront/internal/cache"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/functions"
	"github.com/edgefront/edgefront/internal/pathpattern"
)

// Distribution is one compiled site.
type Distribution struct {
	Name       string
	aliases    []string
	policy     string
	rootObject string
	httpsPort  string
	behaviors  []*Behavior
	def        *Behavior
	errorRules []errorRule
	log        *slog.Logger
	cache      *cache.Cache
	rt         *Router
	limiter    *sharedLimit      // nil without rate_limit
	originURLs map[string]string // for explain
	origins    map[string]namedOrigin
	// originDomains are the origins by the domain names a function may
	// call them by.
	originDomains map[string]string
	tagHeader     string // cache_tag_header, canonical; "" for none
	geo           *geoRule
	deploy        *deployment         // continuous_deployment; nil without
	mtls          *viewerMTLS         // viewer_mtls; nil without
	connFn        *functions.Function // connection_function; nil without
}

// compileDistribution compiles the distribution at config path at, or
// returns nil after adding what is wrong to probs.
func compileDistribution(at string, c *config.Distribution, httpsPort string, groups keyGroups, rt *Router, probs *problems) *Distribution {
	d := &Distribution{
		Name:       c.Name,
		policy:     c.ViewerProtocolPolicy,
		rootObject: c.DefaultRootObject,
		httpsPort:  httpsPort,
		errorRules: compileErrorRules(c.CustomErrorResponses),
		log:        rt.log,
		cache:      rt.cache,
		rt:         rt,
		tagHeader:  canonicalOrEmpty(c.CacheTagHeader),
		geo:        compileGeoRule(c.GeoRestriction),
		deploy:     compileDeployment(c.ContinuousDeployment),
		mtls:       compileViewerMTLS(at+".viewer_mtls", c.ViewerMTLS, probs),
		connFn:     compileConnectionFunction(at+".connection_function", c.ConnectionFunction, rt.kvs, rt.functionTime, probs),
	}
	if rl := c.RateLimit; rl != nil {
		d.limiter = newSharedLimit(c.Name, rl, rt.shared)
	}
	for _, a := range c.Aliases {
		d.aliases = append(d.aliases, strings.ToLower(a))
	}
	origins, err := compileOrigins(c.Origins, rt.log, func(group string) func(*http.Request, int, error) {
		g := c.Origins[group]
		return d.onFailover(group, g.Primary, g.Secondary)
	})
	d.origins, d.originDomains = origins, originDomains(origins)
	d.originURLs = map[string]string{}
	for name, o := range origins {
		rt.origins = append(rt.origins, o.Origin)
		d.originURLs[name] = o.url
	}
	if err != nil {
		probs.addf(at+".origins", "distribution %q: %v", c.Name, err)
		return nil
	}
	ok := true
	for i := range c.Behaviors {
		bp := fmt.Sprintf("%s.behaviors[%d]", at, i)
		p, err := pathpattern.Compile(c.Behaviors[i].PathPattern)
		if err != nil {
			probs.add(bp+".path_pattern", err)
			ok = false
			continue
		}
		for _, earlier := range d.behaviors {
			if earlier.pattern.Covers(p) {
				probs.addf(bp+".path_pattern", "behavior %q can never match: %q at line %d comes first and matches every path it would",
					p.String(), earlier.pattern.String(), rt.line(fmt.Sprintf("%s.behaviors[%d].path_pattern", at, earlier.index)))
				ok = false
				break
			}
		}
		b, err := compileBehavior(bp, d, i, p, &c.Behaviors[i], origins, groups)
		if err != nil {
			probs.add(bp, err)
			ok = false
		}
		d.behaviors = append(d.behaviors, b)
	}
	if c.DefaultBehavior == nil {
		probs.addf(at, "distribution %q has no default_behavior", c.Name)
		return nil
	}
	d.def, err = compileBehavior(at+".default_behavior", d, -1, pathpattern.Pattern{}, c.DefaultBehavior, origins, groups)
	if err != nil {
		probs.add(at+".default_behavior", err)
		return nil
	}
	if !ok {
		return nil
	}
	return d
}

// TagHeader is the field the distribution reads cache tags from, "" when
// it keeps none (invalidations by #tag need one).
func (d *Distribution) TagHeader() string { return d.tagHeader }

func canonicalOrEmpty(h string) string {
	if h == "" {
		return ""
	}
	return http.CanonicalHeaderKey(h)
}

// Match returns the first behavior whose pattern matches path, or the
// default behavior.
func (d *Distribution) Match(path string) *Behavior {
	for _, b := range d.behaviors {
		if b.pattern.Match(path) {
			return b
		}
	}
	return d.def
}

// ServeHTTP walks a viewer request through the distribution's stages.
func (d *Distribution) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec, observed := w.(*recorder)
	var ex *exchange
	if observed && rec.ex == nil {
		ex = &rec.own
	} else {
		ex = new(exchange)
	}
	if observed {
		rec.ex = ex // the log and metrics read the last distribution's
	}
	ex.in, ex.w, ex.accept, ex.dist = r, w, r.Header.Get("Accept"), d
	ex.newID()
	ex.client, ex.viaProxy = clientAddr(r, d.rt.trusted)
	w.Header()["X-Edge-Request-Id"] = ex.idField[:]
	if viewer, node, refused := d.rt.peers.fromNode(r); refused {
		w.Header()[refusedHeader] = []string{"token"}
		d.fail(w, r, ex, http.StatusForbidden, "this request claims to come from a node of the cluster without its token")
		return
	} else if node {
		// Another node asks for an object this one owns (or shields): it
		// has done what concerns the viewer, and gets the answer as an
		// origin's, to serve it itself.
		ex.node, ex.viaProxy = true, true
		if viewer.IsValid() {
			ex.client = viewer
			r.RemoteAddr = netip.AddrPortFrom(viewer, 0).String()
		}
	} else {
		d.dropViewerHeaders(r, ex)
	}
	// Dot segments are resolved before matching, so "/api/../storage/x"
	// is matched, and fetched, as "/storage/x".
	if p, ok := cleanPath(r.URL.Path); !ok {
		d.fail(w, r, ex, http.StatusBadRequest, "the path is not valid")
		return
	} else if p != r.URL.Path {
		r = withPath(r, p)
	}

	if r.TLS == nil && d.policy != "allow-all" && !ex.node {
		if d.policy == "https-only" {
			d.fail(w, r, ex, http.StatusForbidden, "this distribution is served over HTTPS only")
			return
		}
		d.redirectToHTTPS(w, r, ex)
		return
	}
	if d.rootObject != "" && r.URL.Path == "/" {
		r = withPath(r, "/"+d.rootObject)
	}
	b := d.Match(r.URL.Path)
	ex.behavior = b
	if ex.node {
		d.serveNode(w, r, ex, b)
		return
	}
	// Answers pass, from the outside in: the viewer-response function, the
	// response headers policy, compression.
	if cw := b.compressing(w, r, ex); cw != nil {
		w, ex.w = cw, cw
		defer func() {
			v := recover()
			cw.finish(v != nil)
			if v != nil {
				panic(v)
			}
		}()
	}
	if b.headers != nil {
		hw := b.headers.wrap(w, r, ex)
		w, ex.w = hw, hw
		if c := b.headers.cors; c != nil && c.answerPreflight && isPreflight(r) && c.allowOrigin(r.Header.Get("Origin")) != "" {
			answerPreflight(w, ex)
			return
		}
	}
	if !b.methods.has(r.Method) {
		d.fail(w, r, ex, http.StatusForbidden, fmt.Sprintf("method %s is not allowed here", r.Method))
		return
	}
	if refused, country := d.geo.refuses(d.rt.geo, ex.client); refused {
		d.fail(w, r, ex, http.StatusForbidden, "this content is not served in your country ("+country+")")
		return
	}
	if d.limiter != nil {
		if ok, wait := d.limiter.allow(ex.client, time.Now()); !ok {
			w.Header()["Retry-After"] = []string{retryAfter(wait)}
			d.fail(w, r, ex, http.StatusTooManyRequests, "too many requests from this address; try again later")
			ex.outcome = outcomeLimitExceeded
			return
		}
	}
	if b.verifier != nil {
		if err := b.verifier.VerifyFrom(ex.in, ex.client); err != nil {
			d.log.Info("signature refused", "distribution", d.Name, "behavior", b.pattern.String(), "url", requestURL(ex.in),
				"client", ex.client.String(), "request_id", ex.id, "reason", err)
			d.fail(w, r, ex, http.StatusForbidden, err.Error())
			return
		}
	}
	if b.viewerHeaders != 0 {
		b.addViewerHeaders(r, ex)
	}
	if b.viewerRequest != nil {
		var ok bool
		if r, ok = b.runViewerRequest(w, r, ex); !ok {
			return
		}
	}
	if b.viewerResponse != nil {
		fw := &hookWriter{ResponseWriter: w, hook: b.runViewerResponse(w, r, ex)}
		w, ex.w = fw, fw
	}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		var ok bool
		if r, ok = b.limitBody(w, r, ex); !ok {
			return
		}
		ex.in = r
		if ex.body != nil {
			defer ex.body.end()
		}
	}
	if b.cacheable(r) {
		b.serveCached(w, r, ex)
		return
	}
	b.pass(w, r, ex)
}

// serveNode answers another node of the cluster: from the cache, or
// through to the origin, with none of the viewer's stages (limits,
// signatures, functions, header policies, compression, error pages),
// which the asking node applies.
func (d *Distribution) serveNode(w http.ResponseWriter, r *http.Request, ex *exchange, b *Behavior) {
	if !b.methods.has(r.Method) {
		d.fail(w, r, ex, http.StatusForbidden, fmt.Sprintf("method %s is not allowed here", r.Method))
		return
	}
	if b.cacheable(r) {
		b.serveCached(w, r, ex)
		return
	}
	b.pass(w, r, ex)
}

func (d *Distribution) redirectToHTTPS(w http.ResponseWriter, r *http.Request, ex *exchange) {
	h := w.Header()
	h.Set("Location", d.httpsURL(r))
	ex.stamp(h, outcomeRedirect)
	// 301 as CloudFront; a method with a body keeps it with 308.
	code := http.StatusMovedPermanently
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		code = http.StatusPermanentRedirect
	}
	w.WriteHeader(code)
}

// httpsURL is r's URL on the distribution's HTTPS listener.
func (d *Distribution) httpsURL(r *http.Request) string {
	host := stripPort(r.Host)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if d.httpsPort != "" && d.httpsPort != "443" {
		host += ":" + d.httpsPort
	}
	return "https://" + host + r.URL.RequestURI()
}

// withPath returns a shallow copy of r asking for another path.
func withPath(r *http.Request, path string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = path, ""
	if esc := u.EscapedPath(); esc != path {
		u.RawPath = esc
	}
	r2.URL = &u
	return r2
}

// cleanPath removes "." and ".." segments as RFC 3986 does. It refuses a
// path that climbs above the root or holds a NUL byte.
func cleanPath(p string) (string, bool) {
	if p == "" {
		return "/", true
	}
	if p[0] != '/' || strings.IndexByte(p, 0) >= 0 {
		return "", false
	}
	if !strings.Contains(p, "/.") {
		return p, true
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) == 0 {
				return "", false
			}
			out = out[:len(out)-1]
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/"), true
}

// Request ids are a random prefix drawn once per process and a counter:
// unique, 28 characters as before, and free of a crypto/rand read per
// request, which the hit path cannot afford.
var (
	idPrefix  [13]byte
	idCounter atomic.Uint64
)

func init() {
	rand.Read(idPrefix[:])
}

// newID gives the exchange a new request id, kept in the exchange itself
// with the field value that carries it: no allocation of its own.
func (ex *exchange) newID() {
	var b [21]byte
	copy(b[:], idPrefix[:])
	binary.BigEndian.PutUint64(b[13:], idCounter.Add(1))
	base64.URLEncoding.Encode(ex.idBuf[:], b[:])
	ex.id = unsafe.String(&ex.idBuf[0], len(ex.idBuf))
	ex.idField[0] = ex.id
}

// requestURL is the URL the viewer asked for, for messages.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}).String()
}
