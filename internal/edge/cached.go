package edge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgefront/edgefront/internal/cache"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/origin"
	"github.com/edgefront/edgefront/internal/signedurl"
)

// keyPolicy is a behavior's cache_key: what, beyond host and path, varies
// the cache key.
type keyPolicy struct {
	query   config.List
	headers []string // canonical names
	cookies config.List
}

func newKeyPolicy(c *config.CacheKey) keyPolicy {
	p := keyPolicy{query: config.List{Mode: "all"}, cookies: config.List{Mode: "none"}}
	if c == nil {
		return p
	}
	p.query = c.QueryStrings.Or("all")
	p.cookies = c.Cookies.Or("none")
	for _, h := range c.Headers.Items {
		// The Host is always part of the key.
		if h := http.CanonicalHeaderKey(h); h != "Host" {
			p.headers = append(p.headers, h)
		}
	}
	sort.Strings(p.headers)
	return p
}

func (p keyPolicy) has(header string) bool {
	for _, h := range p.headers {
		if h == header {
			return true
		}
	}
	return false
}

// cacheKey is the primary cache key of a request to this behavior: the
// distribution, the scheme (the origin is told it), the Host as sent (lower-cased: a Host with a port or a
// trailing dot is a key of its own, so it cannot poison another), the path
// as it goes to the origin, and the query strings, headers and cookies of
// the behavior's cache_key. Signing parameters are never part of it.
func (b *Behavior) cacheKey(https bool, host string, u *url.URL, h http.Header) cache.Key {
	k := cache.Key{Dist: b.dist.Name, HTTPS: https, Host: strings.ToLower(host), Path: u.EscapedPath(), Query: b.keyQuery(u.RawQuery)}
	if len(b.key.headers) == 0 && b.key.cookies.Mode == "none" {
		return k
	}
	var sb strings.Builder
	for _, name := range b.key.headers {
		sb.WriteByte(0)
		sb.WriteString(name)
		sb.WriteByte(':')
		sb.WriteString(strings.Join(h.Values(name), ","))
	}
	if b.key.cookies.Mode != "none" {
		sb.WriteByte(0)
		sb.WriteString("cookie:")
		for _, c := range parseCookies(h) {
			if signedurl.IsSigningCookie(c.Name) {
				continue
			}
			if b.key.cookies.Includes(c.Name) {
				sb.WriteString(c.Name + "=" + c.Value + ";")
			}
		}
	}
	k.Fields = sb.String()
	return k
}

func (b *Behavior) keyQuery(raw string) string {
	if raw == "" || b.key.query.Mode == "none" {
		return ""
	}
	if b.verifier != nil {
		raw = signedurl.StripQuery(raw)
	}
	if b.key.query.Mode == "all" {
		return raw
	}
	var kept []string
	for _, part := range strings.Split(raw, "&") {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil && b.key.query.Includes(n) {
			kept = append(kept, part)
		}
	}
	sort.Strings(kept)
	return strings.Join(kept, "&")
}

func parseCookies(h http.Header) []*http.Cookie {
	r := http.Request{Header: http.Header{"Cookie": h["Cookie"]}}
	cs := r.Cookies()
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs
}

// cacheable reports whether a request goes through the cache: a GET or
// HEAD on a behavior that caches, without a body.
func (b *Behavior) cacheable(r *http.Request) bool {
	return b.cache != nil && !b.grpc && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		r.Header.Get("Upgrade") == "" && (r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody)
}

// serveCached answers a GET or HEAD from the cache, collapsing concurrent
// misses for one key into one origin request.
func (b *Behavior) serveCached(w http.ResponseWriter, r *http.Request, ex *exchange) {
	c := b.cache
	primary := b.cacheKey(r.TLS != nil, r.Host, r.URL, r.Header)
	now := c.Now()
	obj, key := c.Get(primary, r.Header)
	if obj != nil {
		if obj.Fresh(now) {
			b.serveObject(w, r, ex, key, obj, outcomeHit, now)
			return
		}
		if !obj.MustRevalidate() && obj.Staleness(now) < obj.SWR() {
			// stale-while-revalidate: answer now, refresh once per key.
			if f, leader := c.Join(primary, key); leader {
				b.startFill(f, r, ex, obj)
			}
			b.serveObject(w, r, ex, key, obj, outcomeHit, now)
			return
		}
	}
	if r.Method == http.MethodHead && obj == nil {
		// A HEAD miss goes through: it has no body to store.
		b.pass(w, r, ex)
		return
	}
	f, leader := c.Join(primary, key)
	rd := f.Attach(leader)
	defer rd.Close()
	if leader {
		b.startFill(f, r, ex, obj)
	}
	b.serveFill(w, r, ex, rd, obj)
}

// pass sends a viewer request through the proxy to the origin, uncached.
func (b *Behavior) pass(w http.ResponseWriter, r *http.Request, ex *exchange) {
	if b.grpc {
		var cancel func()
		r, cancel = withGRPCDeadline(r)
		defer cancel()
	} else if b.passRaw(w, r, ex) {
		return
	}
	b.proxy.ServeHTTP(w, r.WithContext(withExchange(r.Context(), ex)))
}

// serveFill answers a viewer from a fill in flight.
func (b *Behavior) serveFill(w http.ResponseWriter, r *http.Request, ex *exchange, rd *cache.Reader, stale *cache.Object) {
	ctx := r.Context()
	key := rd.Key()
	status, h, shared, refreshed, err := rd.Header(ctx)
	if err != nil {
		if ctx.Err() == nil {
			b.fillFailed(w, r, ex, key, stale, err)
		}
		return
	}
	if !shared && !rd.Leader() {
		// Not for sharing (Set-Cookie, no-store, too large): ask for ourselves.
		rd.Close()
		b.pass(w, r, ex)
		return
	}
	if status >= 500 && stale != nil && b.staleOnError(stale) {
		b.serveObject(w, r, ex, key, stale, outcomeHit, b.cache.Now())
		return
	}
	xc := outcomeMiss
	if refreshed {
		xc = outcomeRefreshHit
	}
	if refreshed || (shared && (wantsWhole(r) || b.errorPageFor(status, ex) != nil)) {
		// Ranges, conditionals and error pages are answered from the
		// stored object once the fill has ended.
		obj, err := rd.Result(ctx)
		switch {
		case obj != nil:
			b.serveObject(w, r, ex, key, obj, xc, b.cache.Now())
		case err != nil && ctx.Err() == nil:
			b.fillFailed(w, r, ex, key, stale, err)
		case ctx.Err() == nil:
			// Stored nothing after all (invalidated meanwhile): go on our own.
			rd.Close()
			b.pass(w, r, ex)
		}
		return
	}
	wh := w.Header()
	for k, v := range h {
		wh[k] = v
	}
	ex.setOutcome(wh, xc)
	ex.tags = rd.Tags()
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if !shared {
		if body, done := rd.Take(ctx); body != nil {
			// Stored by nobody and read by this viewer alone: straight
			// from the origin (the kernel splices it when it can).
			n, err := io.Copy(w, body)
			done(n, err)
			if err != nil && ctx.Err() == nil {
				panic(http.ErrAbortHandler) // cut short, visibly
			}
			return
		}
	}
	length, _ := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	streamFill(w, ctx, rd, length, shared)
}

// streamFill follows a fill's body to the viewer as it arrives: what is
// in the disk tier's file by the kernel's copy (sendfile, where the
// viewer's writer can), the rest as it is written.
func streamFill(w http.ResponseWriter, ctx context.Context, rd *cache.Reader, length int64, shared bool) {
	var sent int64
	for {
		sec, p, err := rd.NextSection(ctx)
		n := int64(len(p))
		if sec != nil {
			n = sec.Size()
		}
		if n > 0 {
			if sent += n; sent == length && shared {
				// The last bytes wait until the answer is stored: a viewer
				// who has the whole answer and asks again gets a hit.
				rd.Result(ctx)
			}
			var werr error
			if sec != nil {
				_, werr = io.Copy(w, sec)
			} else {
				_, werr = w.Write(p)
			}
			if werr != nil {
				return // the viewer left; the fill goes on for the others
			}
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush() // what has arrived goes out now, as the proxy's stream would
			}
		}
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, io.EOF) {
				// The origin cut the body short: so must we, visibly.
				panic(http.ErrAbortHandler)
			}
			return
		}
	}
}

// fillFailed answers when a fill got no response: the stale object when
// one may be served, else the edge's 502 or 504.
func (b *Behavior) fillFailed(w http.ResponseWriter, r *http.Request, ex *exchange, key string, stale *cache.Object, err error) {
	if stale != nil && b.staleOnError(stale) {
		b.serveObject(w, r, ex, key, stale, outcomeHit, b.cache.Now())
		return
	}
	b.reportOriginError(r, ex, err)
	status, why := originErrorStatus(err)
	b.dist.fail(w, r, ex, status, why)
}

// staleOnError reports whether a stale object may stand in for a failed
// origin: as CloudFront, unless must-revalidate forbids it or its
// stale-if-error window has passed.
func (b *Behavior) staleOnError(o *cache.Object) bool {
	if o.MustRevalidate() {
		return false
	}
	return o.SIE() == 0 || o.Staleness(b.cache.Now()) < o.SIE()
}

// wantsWhole reports whether answering r needs the whole object: ranges and
// conditional requests.
func wantsWhole(r *http.Request) bool {
	h := r.Header
	return h["Range"] != nil || h["If-None-Match"] != nil || h["If-Modified-Since"] != nil ||
		h["If-Match"] != nil || h["If-Unmodified-Since"] != nil
}

// errorPageFor returns the error rule with a page that applies to this
// viewer for status, or nil.
func (b *Behavior) errorPageFor(status int, ex *exchange) *errorRule {
	if status < 400 || ex.node {
		return nil
	}
	if rule := b.dist.rule(b, status, ex.accept); rule != nil && rule.pagePath != "" {
		return rule
	}
	return nil
}

// serveObject answers from a stored object: the hit path. What it needs
// was worked out when the object was stored; conditional and range
// requests go through http.ServeContent.
func (b *Behavior) serveObject(w http.ResponseWriter, r *http.Request, ex *exchange, key string, o *cache.Object, xc outcome, now time.Time) {
	ex.tags = o.Tags()
	if rule := b.errorPageFor(o.Status(), ex); rule != nil {
		b.dist.fail(w, r, ex, o.Status(), http.StatusText(o.Status()))
		return
	}
	if cw := findCompressWriter(w); cw != nil && cw.enc != "" && compressible(o.Status(), o.Header) {
		// A compressible object is served in the viewer's encoding, made
		// once and cached beside it; the compressing writer lets it pass.
		o = b.encoded(key, o, cw.enc)
	}
	if b.writeStored(w, r, ex, o, xc, now) {
		return
	}
	h := w.Header()
	for k, v := range o.Header {
		h[k] = v
	}
	ex.setOutcome(h, xc)
	h["Age"] = ageField(o.Age(now))
	if o.Status() == http.StatusOK && wantsWhole(r) {
		if _, ok := h["Content-Type"]; !ok {
			h["Content-Type"] = nil // no sniffing
		}
		delete(h, "Content-Length")
		http.ServeContent(w, r, "", o.ModTime(), o.BodyReader())
		return
	}
	w.WriteHeader(o.Status())
	switch {
	case r.Method == http.MethodHead:
	case o.OnDisk():
		io.Copy(w, o.BodyReader())
	default:
		w.Write(o.Body)
	}
}

// writeStored answers with a stored object in one write (sendfile for a
// body on disk) when nothing stands between the handler and a writer
// that takes stored answers but the recorder and a compressing writer
// with nothing to do (no response headers policy or function writer),
// and the answer is a plain one: its
// length and type stored, no range or condition to weigh. It reports
// whether it answered.
func (b *Behavior) writeStored(w http.ResponseWriter, r *http.Request, ex *exchange, o *cache.Object, xc outcome, now time.Time) bool {
	cw, compressing := w.(*compressWriter)
	if compressing {
		if compressible(o.Status(), o.Header) {
			return false // the compressing writer would add to Vary
		}
		// Encoded already, or not to be: the writer lets it pass.
		w = cw.ResponseWriter
	}
	rec, sw, ok := writerBelow[storedWriter](w)
	if !ok || wantsWhole(r) || o.Header["Content-Type"] == nil ||
		!isDecimal(first(o.Header["Content-Length"]), o.BodySize()) || (rec != nil && rec.status != 0) {
		return false
	}
	h := w.Header()
	for k := range h {
		if _, both := o.Header[k]; both {
			return false // the copy below replaces the handler's field with the object's
		}
	}
	ex.setOutcome(h, xc)
	h["Age"] = ageField(o.Age(now))
	_, hasDate := o.Header["Date"]
	var written bool
	if f, size, onDisk := o.BodyFile(); onDisk {
		written = sw.WriteStoredFile(o.Status(), o.Head(), hasDate, f, size)
	} else {
		written = sw.WriteStored(o.Status(), o.Head(), hasDate, o.Body)
	}
	if !written {
		delete(h, "X-Cache")
		delete(h, "Age")
		return false
	}
	if rec != nil {
		rec.stored(o, r)
	}
	if compressing {
		cw.wrote = true
	}
	return true
}

// isDecimal reports whether v is n written in decimal, as FormatInt
// would, without making a string of n.
func isDecimal(v string, n int64) bool {
	var b [20]byte
	return string(strconv.AppendInt(b[:0], n, 10)) == v
}

// smallAges are the values of Age under ten minutes, made once: a hit's
// Age costs no allocation. The slices are shared, never written to.
var smallAges [600][]string

func init() {
	for i := range smallAges {
		smallAges[i] = []string{strconv.Itoa(i)}
	}
}

// ageField is the Age field's value for an object d old.
func ageField(d time.Duration) []string {
	if s := int64(d / time.Second); s >= 0 && s < int64(len(smallAges)) {
		return smallAges[s]
	}
	return []string{ageString(d)}
}

func ageString(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 0 {
		s = 0
	}
	if s < int64(len(smallAges)) {
		return smallAges[s][0]
	}
	return strconv.FormatInt(s, 10)
}

// originErrorStatus is the edge's answer to an origin that failed.
func originErrorStatus(err error) (int, string) {
	if origin.IsTimeout(err) {
		return http.StatusGatewayTimeout, "the origin did not answer in time"
	}
	return http.StatusBadGateway, "the origin could not be reached"
}

// invalidateAfterUnsafe removes what is stored for the URL of a successful
// unsafe request and for its Location and Content-Location on the same
// host (RFC 9111 §4.4).
func (b *Behavior) invalidateAfterUnsafe(in *http.Request, resp *http.Response) {
	c := b.cache
	c.Delete(b.cacheKey(in.TLS != nil, in.Host, in.URL, in.Header))
	for _, f := range []string{"Location", "Content-Location"} {
		v := resp.Header.Get(f)
		if v == "" {
			continue
		}
		u, err := in.URL.Parse(v)
		if err != nil || (u.Host != "" && !strings.EqualFold(u.Host, in.Host)) {
			continue
		}
		target := b.dist.Match(u.Path)
		if target.cache != nil {
			target.cache.Delete(target.cacheKey(in.TLS != nil, in.Host, u, in.Header))
		}
	}
}

// isUnsafe reports whether a method may change the resource.
func isUnsafe(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}
