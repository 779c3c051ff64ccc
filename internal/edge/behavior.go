package edge

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgefront/edgefront/internal/cache"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/functions"
	"github.com/edgefront/edgefront/internal/origin"
	"github.com/edgefront/edgefront/internal/pathpattern"
	"github.com/edgefront/edgefront/internal/signedurl"
)

// Behavior is a compiled cache behavior: which requests it takes and how it
// sends them to its origin.
type Behavior struct {
	dist       *Distribution
	index      int // position in the distribution; -1 for the default
	pattern    pathpattern.Pattern
	originName string
	originURL  string // for explain
	origin     origin.Origin
	methods    methodSet
	minTTL     int64
	defaultTTL int64
	maxTTL     int64
	strip      string
	fwd        forwardPolicy
	errorRules []errorRule
	verifier   *signedurl.Verifier // nil when no signature is required
	trusted    []string
	proxy      *httputil.ReverseProxy
	cache      *cache.Cache // nil when the behavior does not cache
	ttls       cache.TTLs
	// storePolicy is what the cache stores this behavior's answers by.
	storePolicy cache.Policy
	// raw is the origin's raw round trip, for plain passes; nil when the
	// origin has none (S3, groups, directories).
	raw      origin.RawRoundTripper
	direct   directPreparer // for a raw pass that edits the viewer's fields in place (directs)
	key      keyPolicy
	compress bool
	maxBody  int64         // max_body_size; 0 is no limit
	headers  *headerPolicy // response_headers; nil when none
	// CloudFront Functions; nil when none.
	viewerRequest, viewerResponse *functions.Function
	viewerHeaders                 uint32 // the CloudFront-* headers it asks for
	// shield: the origin is another edgefront (type: edgefront), a tier
	// above this cache that is asked with the same keys.
	shield bool
	grpc   bool // grpc: true
}

type namedOrigin struct {
	origin.Origin
	kind string
	url  string
}

func compileOrigins(cs map[string]config.Origin, log *slog.Logger, onFailover func(group string) func(*http.Request, int, error)) (map[string]namedOrigin, error) {
	out := make(map[string]namedOrigin, len(cs))
	names := make([]string, 0, len(cs))
	for n := range cs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		c := cs[name]
		switch c.Type {
		case "http", "edgefront":
			o, err := origin.NewHTTP(name, c)
			if err != nil {
				return out, err
			}
			out[name] = namedOrigin{o, c.Type, o.Target().String()}
		case "s3":
			o, err := origin.NewS3(name, c, log)
			if err != nil {
				return out, err
			}
			out[name] = namedOrigin{o, "s3", o.Target()}
		case "dir":
			o, err := origin.NewDir(c.Root, c.Path)
			if err != nil {
				return out, fmt.Errorf("origin %q: %w", name, err)
			}
			out[name] = namedOrigin{o, "dir", "file://" + c.Root}
		case "group":
			// After the others: a group is made of them.
		default:
			return out, fmt.Errorf("origin %q: type %q is not supported", name, c.Type)
		}
	}
	for _, name := range names {
		c := cs[name]
		if c.Type != "group" {
			continue
		}
		primary, secondary := out[c.Primary], out[c.Secondary]
		if primary.Origin == nil || secondary.Origin == nil {
			return out, fmt.Errorf("origin group %q: its members are not origins of the distribution", name)
		}
		g := &origin.Group{Primary: primary.Origin, Secondary: secondary.Origin, PrimaryName: c.Primary, SecondaryName: c.Secondary,
			Statuses: c.FailoverStatusCodes}
		g.OnFailover = onFailover(name)
		out[name] = namedOrigin{g, "group", primary.url}
	}
	return out, nil
}

// compileBehavior compiles the behavior at config path at; its error is
// config.Problems at the settings' lines.
func compileBehavior(at string, d *Distribution, index int, p pathpattern.Pattern, c *config.Behavior, origins map[string]namedOrigin, groups keyGroups) (*Behavior, error) {
	b := &Behavior{
		dist:          d,
		index:         index,
		pattern:       p,
		originName:    c.TargetOrigin,
		origin:        origins[c.TargetOrigin].Origin,
		originURL:     origins[c.TargetOrigin].url,
		shield:        origins[c.TargetOrigin].kind == "edgefront",
		grpc:          c.GRPC,
		methods:       newMethodSet(c.AllowedMethods),
		strip:         c.StripPrefix,
		fwd:           newForwardPolicy(c.Forward),
		errorRules:    compileErrorRules(c.ErrorResponses),
		verifier:      groups.verifier(c.TrustedKeyGroups),
		trusted:       c.TrustedKeyGroups,
		compress:      c.Compress,
		headers:       compileHeaderPolicy(c.ResponseHeaders),
		viewerHeaders: viewerHeaders(c.Forward, c.CacheKey),
	}
	probs := &problems{cfg: d.rt.cfg}
	b.viewerRequest, b.viewerResponse = compileFunctions(at, c.Functions, d.rt.kvs, d.rt.functionTime, probs)
	if c.MaxBodySize != nil {
		b.maxBody = int64(*c.MaxBodySize)
	}
	b.minTTL, b.defaultTTL, b.maxTTL = c.TTLs()
	b.ttls = cache.TTLs{Min: time.Duration(b.minTTL) * time.Second, Default: time.Duration(b.defaultTTL) * time.Second, Max: time.Duration(b.maxTTL) * time.Second}
	b.key = newKeyPolicy(c.CacheKey)
	b.storePolicy = cache.Policy{TTLs: b.ttls, ErrorTTL: b.errorTTL, AuthInKey: b.key.has("Authorization"), TagHeader: d.tagHeader}
	if b.maxTTL > 0 || b.minTTL > 0 {
		b.cache = d.cache
	}
	var transport http.RoundTripper = b.origin
	if !b.shield {
		b.raw, _ = b.origin.(origin.RawRoundTripper)
	}
	b.direct = b.directs()
	if obs := d.rt.obs; obs != nil && obs.Metrics != nil {
		transport = obs.Metrics.transport(b.origin, d.Name, c.TargetOrigin)
		if b.raw != nil {
			b.raw = rawTiming{b.raw, transport.(*timedTransport)}
		}
	}
	b.proxy = &httputil.ReverseProxy{
		Rewrite:        b.rewrite,
		Transport:      originTransport{transport},
		ModifyResponse: b.modifyResponse,
		ErrorHandler:   b.originError,
		BufferPool:     bufferPool{},
		ErrorLog:       slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	return b, probs.err()
}

// PathPattern is the behavior's pattern, "" for the default behavior.
func (b *Behavior) PathPattern() string { return b.pattern.String() }

// originPath returns the path to ask the origin for, before the origin's
// own path prefix: the viewer's path less strip_prefix.
func (b *Behavior) originPath(u *url.URL) (path, rawPath string) {
	path, rawPath = u.Path, u.RawPath
	if b.strip == "" || !strings.HasPrefix(path, b.strip) {
		return path, rawPath
	}
	path = ensureSlash(path[len(b.strip):])
	if rawPath != "" {
		if esc := (&url.URL{Path: b.strip}).EscapedPath(); strings.HasPrefix(rawPath, esc) {
			rawPath = ensureSlash(rawPath[len(esc):])
		} else {
			rawPath = ""
		}
	}
	return path, rawPath
}

func ensureSlash(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "/" + p
	}
	return p
}

// rewrite turns the viewer request into the origin request.
func (b *Behavior) rewrite(pr *httputil.ProxyRequest) { b.rewriteFor(pr, exchangeOf(pr.In)) }

func (b *Behavior) rewriteFor(pr *httputil.ProxyRequest, ex *exchange) {
	in, out := pr.In, pr.Out
	out.URL.Path, out.URL.RawPath = b.originPath(in.URL)
	if b.shield && ex.origin == nil {
		// Another edgefront, as a tier of this cache: it gets what the
		// viewer asked for, to find it under the same key.
		out.URL.Path, out.URL.RawPath = in.URL.Path, in.URL.RawPath
	}
	rawQuery := in.URL.RawQuery
	if b.verifier != nil {
		// The signing parameters are the edge's business, not the origin's.
		rawQuery = signedurl.StripQuery(rawQuery)
		signedurl.StripCookies(out.Header)
	}
	out.URL.RawQuery = b.fwd.query(rawQuery)
	if !b.grpc {
		// A gRPC call goes to the origin with every field it has (its
		// content type, te, grpc-timeout, metadata), as CloudFront
		// proxies gRPC directly.
		b.fwd.filter(out.Header)
	}
	if b.fwd.viewerHost {
		out.Host = in.Host
	} else {
		out.Host = ""
	}
	if b.viewerHeaders&hdrCertPEM != 0 && b.dist.mtls != nil {
		// Too large for functions, as on CloudFront: only the origin gets it.
		if pem, ok := viewerCertHeaders(in.TLS, hdrCertPEM)[hdrCertPEM]; ok {
			out.Header[pem[0]] = []string{pem[1]}
		}
	}
	b.setXForwarded(out, in, ex)
	if via := in.Header.Values("Via"); len(via) > 0 {
		out.Header["Via"] = append(via[:len(via):len(via)], "1.1 edgefront")
	} else {
		out.Header["Via"] = viaEdge
	}
	if ex.origin != nil {
		ex.origin.origin.Prepare(out)
	} else {
		b.origin.Prepare(out)
	}
	if b.shield && ex.origin == nil {
		out.Host = in.Host
		if p := b.dist.rt.peers; p != nil {
			p.mark(out.Header, &exchange{client: ex.client, dist: b.dist})
		}
	}
}

var viaEdge = []string{"1.1 edgefront"}

// forwarded is what an origin request's X-Forwarded-For (none when
// hasXFF is false: the viewer's address is not one), X-Forwarded-Host
// and X-Forwarded-Proto say, as httputil.ProxyRequest.SetXForwarded sets
// them. As CloudFront, the viewer's X-Forwarded-For is kept and the
// viewer's address appended to it; with trusted_proxies, only a trusted
// proxy's, so the origin can believe what it gets.
func (b *Behavior) forwarded(in *http.Request, ex *exchange) (xff string, hasXFF bool, host, proto string) {
	proto = "http"
	if in.TLS != nil {
		proto = "https"
	}
	client, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		return "", false, in.Host, proto
	}
	if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 && (len(b.dist.rt.trusted) == 0 || ex.viaProxy) {
		client = strings.Join(prior, ", ") + ", " + client
	}
	return client, true, in.Host, proto
}

// setXForwarded sets the forwarded fields in out's map, their values in
// one slice.
func (b *Behavior) setXForwarded(out, in *http.Request, ex *exchange) {
	xff, hasXFF, host, proto := b.forwarded(in, ex)
	vals := []string{xff, host, proto}
	if hasXFF {
		out.Header["X-Forwarded-For"] = vals[0:1:1]
	} else {
		delete(out.Header, "X-Forwarded-For")
	}
	out.Header["X-Forwarded-Host"] = vals[1:2:2]
	out.Header["X-Forwarded-Proto"] = vals[2:3:3]
}

// modifyResponse stamps the origin's answer and applies the error responses.
func (b *Behavior) modifyResponse(resp *http.Response) error {
	h := resp.Header
	h.Del("X-Edge-Request-Id")
	if exchangeOf(resp.Request).fill == nil {
		// This edge's own cache-control field is for its cache (a fill
		// reads it, then drops it); no viewer sees it.
		delete(h, cache.EdgefrontCDNCacheControl)
	}
	ex := exchangeOf(resp.Request)
	ex.stamp(h, outcomeMiss)
	if ex.behavior == nil {
		return nil // not a viewer's request (an error page's)
	}
	if ex.fill != nil {
		// A cache fill keeps the origin's answer as it is; error pages are
		// chosen per viewer when it is served.
		ex.fill.length = resp.ContentLength
		if resp.ContentLength > 0 {
			resp.Body = &handBody{ReadCloser: resp.Body, f: ex.fill.f}
		}
		return nil
	}
	if ex.body != nil {
		if err := ex.body.Err(); err != nil {
			return err // 413 or 408, whatever the origin answered
		}
	}
	if b.cache != nil && isUnsafe(ex.in.Method) && resp.StatusCode < 400 {
		b.invalidateAfterUnsafe(ex.in, resp)
	}
	if resp.StatusCode >= 400 {
		b.dist.replaceError(resp, ex)
	} else if resp.ContentLength >= spliceMin && ex.in.ProtoMajor == 1 {
		if wt, ok := resp.Body.(io.WriterTo); ok && ex.in.TLS == nil {
			resp.Body = &directBody{ReadCloser: resp.Body, to: wt, w: ex.w}
		} else if resp.ContentLength >= largeCopyMin {
			resp.Body = &directBody{ReadCloser: resp.Body, to: largeCopy{resp.Body}, w: ex.w}
		}
	}
	return nil
}

// spliceMin is the body size from which handing the copy to the kernel pays.
const spliceMin = 64 << 10

// largeCopyMin is the body size from which a body the kernel cannot
// splice (one from an https origin, as S3 itself is, or one to a TLS
// viewer) is copied with 256 KiB reads and writes, as nginx's
// proxy_buffers 8 256k, rather than the proxy's 64 KiB: a quarter of the
// system calls (see benchmarks.md). Only such answers hold one.
const largeCopyMin = 1 << 20

var largeBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// largeCopy copies a body with one of largeBuffers.
type largeCopy struct{ body io.Reader }

func (c largeCopy) WriteTo(w io.Writer) (int64, error) {
	b := largeBuffers.Get().(*[]byte)
	defer largeBuffers.Put(b)
	return io.CopyBuffer(writerOnly{w}, readerOnly{c.body}, *b)
}

// writerOnly and readerOnly hide ReadFrom and WriteTo from io.CopyBuffer,
// which would copy with buffers of their own.
type (
	writerOnly struct{ io.Writer }
	readerOnly struct{ io.Reader }
)

// directBody lets a body that can write itself (an origin connection that
// the kernel can splice) do so into the viewer's connection. The proxy asks
// it to Read; the first Read does the whole copy and reports EOF.
type directBody struct {
	io.ReadCloser
	to   io.WriterTo
	w    http.ResponseWriter
	done bool
}

func (d *directBody) Read(p []byte) (int, error) {
	if d.done {
		return 0, io.EOF
	}
	d.done = true
	if _, err := d.to.WriteTo(d.w); err != nil {
		return 0, err
	}
	return 0, io.EOF
}

// handBody is the origin's body of a fill: when the fill stores nothing,
// its first Read hands the whole body to the fill's leader, who copies it
// to the viewer, and reports the end.
type handBody struct {
	io.ReadCloser
	f       *cache.Fill
	checked bool
}

func (h *handBody) Read(p []byte) (int, error) {
	if !h.checked {
		h.checked = true
		if handed, err := h.f.Hand(h.ReadCloser); handed {
			if err == nil {
				err = io.EOF
			}
			return 0, err
		}
	}
	return h.ReadCloser.Read(p)
}

// methodSet is a set of the seven methods CloudFront knows.
type methodSet uint8

func newMethodSet(methods []string) methodSet {
	var s methodSet
	for _, m := range methods {
		for i, k := range config.KnownMethods {
			if m == k {
				s |= 1 << i
			}
		}
	}
	return s
}

func (s methodSet) has(m string) bool {
	for i, k := range config.KnownMethods {
		if m == k {
			return s&(1<<i) != 0
		}
	}
	return false
}

func (s methodSet) String() string {
	var names []string
	for i, k := range config.KnownMethods {
		if s&(1<<i) != 0 {
			names = append(names, k)
		}
	}
	return strings.Join(names, ", ")
}

// bufferPool lends the proxy its copy buffers. They stay small: one is held
// by every response in flight, and large bodies from plain-HTTP origins
// bypass them by splicing.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
