package edge

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgefront/edgefront/internal/cache"
	"github.com/edgefront/edgefront/internal/origin"
)

// Explain writes, for people, what the edge would do with r: the
// distribution, the behavior chosen and why the earlier ones were not, the
// origin URL, the TTLs and the error pages that could apply. It sends
// nothing anywhere.
func (rt *Router) Explain(w io.Writer, r *http.Request) { rt.explain(w, r, false) }

// ExplainLive is Explain in a running edge: it also says what the cache
// holds for the request, with its age, TTL and cache tags.
func (rt *Router) ExplainLive(w io.Writer, r *http.Request) { rt.explain(w, r, true) }

func (rt *Router) explain(w io.Writer, r *http.Request, live bool) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("request:      %s %s", r.Method, requestURL(r))
	d := rt.Select(r.Host)
	if d == nil {
		p("distribution: none answers for host %q: the edge answers 404", stripPort(r.Host))
		return
	}
	how := "it has no aliases and takes every other host"
	if len(d.aliases) > 0 {
		how = "aliases " + strings.Join(d.aliases, ", ")
		if rt.fallback == d {
			how += "; it also takes every other host"
		}
	}
	p("distribution: %s (%s)", d.Name, how)
	if cd := d.deploy; cd != nil {
		p("staging:      %s", cd.describe())
		if cd.header != "" && r.Header.Get(cd.header) == cd.value {
			p("this request: %s answers (its %s matches); what follows is %s's", cd.name, cd.header, cd.name)
			d = cd.staging
		} else if cd.header != "" {
			p("this request: %s answers (no %s: %s)", d.Name, cd.header, cd.value)
		} else {
			p("this request: a draw decides; what follows is %s's", d.Name)
		}
	}
	path, ok := cleanPath(r.URL.Path)
	if !ok {
		p("answer:       400: the path is not valid")
		return
	}
	if r.TLS == nil && d.policy != "allow-all" {
		if d.policy == "https-only" {
			p("answer:       403: viewer_protocol_policy is https-only and the request is plain HTTP")
		} else {
			r2 := withPath(r, path)
			p("answer:       301 redirect to %s (viewer_protocol_policy redirect-to-https)", d.httpsURL(r2))
		}
		return
	}
	if d.rootObject != "" && path == "/" {
		path = "/" + d.rootObject
		p("root object:  / is asked for as %s (default_root_object)", path)
	}
	b := d.Match(path)
	p("behaviors:")
	for _, o := range d.behaviors {
		if o == b {
			p("  #%d %-20s matches %s", o.index, o.pattern.String(), path)
			break
		}
		p("  #%d %-20s does not match %s", o.index, o.pattern.String(), path)
	}
	if b == d.def {
		p("  default_behavior     takes %s", path)
	}
	if !b.methods.has(r.Method) {
		p("answer:       403: method %s is not among the allowed methods (%s)", r.Method, b.methods)
		return
	}
	p("methods:      %s allowed (%s)", r.Method, b.methods)
	viewer := withPath(r, path)
	o, oName, oURL := b.origin, b.originName, b.originURL
	if f := b.viewerRequest; f != nil {
		// The function runs here as it would at the edge, on a viewer at
		// 127.0.0.1; nothing is sent.
		ex := &exchange{in: viewer, id: "explain", client: netip.AddrFrom4([4]byte{127, 0, 0, 1})}
		ev := b.event(viewer, ex, "viewer-request")
		res, err := f.Run(&ev)
		if err == nil && res.Origin != nil {
			err = b.chooseOrigin(ex, res.Origin)
		}
		switch {
		case err != nil:
			p("function:     %s fails: %v; the edge answers 503", f.Name, err)
			return
		case res.Response != nil:
			p("function:     %s answers %d at the edge%s", f.Name, res.Response.StatusCode, locationOf(res.Response.Header))
			return
		}
		next := applyRequest(viewer, res.Request)
		if next.URL.RequestURI() != viewer.URL.RequestURI() {
			p("function:     %s asks for %s instead of %s", f.Name, next.URL.RequestURI(), viewer.URL.RequestURI())
		} else {
			p("function:     %s leaves the URL as it is", f.Name)
		}
		if ex.origin != nil {
			p("function:     %s chooses origin %s (%s)", f.Name, ex.origin.name, res.Origin)
			o, oName, oURL = ex.origin.origin, ex.origin.name, b.dist.originURLs[ex.origin.name]
		}
		viewer = next
	}
	u := viewer.URL
	out := &http.Request{Method: r.Method, URL: &url.URL{}, Header: http.Header{}}
	out.URL.Path, out.URL.RawPath = b.originPath(u)
	out.URL.RawQuery = b.fwd.query(u.RawQuery)
	target := func(o origin.Origin, base string) string {
		req := out.Clone(context.Background())
		o.Prepare(req)
		if req.URL.Scheme == "" {
			return base + req.URL.String()
		}
		return req.URL.String()
	}
	if g, ok := o.(*origin.Group); ok {
		codes := make([]string, len(g.Statuses))
		for i, c := range g.Statuses {
			codes[i] = strconv.Itoa(c)
		}
		p("origin:       %s, a group: fetching %s from %s", oName, target(g.Primary, oURL), g.PrimaryName)
		p("              GET, HEAD and OPTIONS fail over to %s (%s) on connection errors, timeouts and %s",
			g.SecondaryName, target(g.Secondary, b.dist.originURLs[g.SecondaryName]), strings.Join(codes, ", "))
	} else {
		p("origin:       %s, fetching %s", oName, target(o, oURL))
	}
	if d, ok := o.(interface{ Describe() string }); ok {
		p("              %s", d.Describe())
	}
	if b.strip != "" {
		p("strip_prefix: %s", b.strip)
	}
	host := "the origin's own"
	if b.fwd.viewerHost {
		host = "the viewer's (" + r.Host + ")"
	}
	p("forwarded:    headers %s; cookies %s; query strings %s; Host %s", b.fwd.headersString(), b.fwd.cookies, b.fwd.queries, host)
	ttl := fmt.Sprintf("min %ds, default %ds, max %ds", b.minTTL, b.defaultTTL, b.maxTTL)
	if b.cache == nil {
		ttl += " (caching disabled)"
	}
	p("ttl:          %s", ttl)
	if b.cache != nil {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			p("cache:        %s requests are not cached; a successful one removes the stored answer for this URL", r.Method)
		} else {
			key := b.cacheKey(r.TLS != nil, viewer.Host, u, viewer.Header)
			p("cache key:    %q", key)
			p("cache rule:   %s", b.ttls.Rule())
			if d.tagHeader != "" {
				p("cache tags:   the origin's %s field, up to %d of them kept with the object; invalidate them with #TAG", d.tagHeader, cache.MaxTagsOfObject)
			}
			if live {
				p("stored:       %s", describeStored(b.cache, key, viewer.Header))
			}
		}
	}
	if d.geo != nil {
		p("geo:          %s", d.geo.describe())
	}
	if m := d.mtls; m != nil {
		p("viewer mTLS:  %s", m.describe())
	}
	if f := d.connFn; f != nil {
		p("connection:   %s allows or denies each TLS connection once its certificate checked out (a failure, a timeout or no decision denies)", f.Name)
	}
	if b.grpc {
		p("grpc:         calls pass through to the origin over HTTP/2, never cached, streamed both ways with their trailers; grpc-timeout is the deadline; the edge's own answers are grpc-status codes")
	}
	if b.verifier != nil {
		p("signature:    required: a signed URL or signed cookies from key group %s; the signing parameters are not forwarded", strings.Join(b.trusted, ", "))
	} else {
		p("signature:    not required")
	}
	var rules []string
	for _, e := range b.errorRules {
		desc := e.describe("behavior")
		if e.whenAccept != "" {
			if acceptsExplicitly(r.Header.Get("Accept"), e.whenAccept) {
				desc += ": applies to this request"
			} else {
				desc += ": not to this request, whose Accept does not name " + e.whenAccept
			}
		}
		rules = append(rules, desc)
	}
	for _, e := range d.errorRules {
		rules = append(rules, e.describe("distribution"))
	}
	if len(rules) == 0 {
		rules = []string{"none; errors are answered as the origin sends them, edge errors with a built-in page"}
	}
	p("error pages:  %s", strings.Join(rules, "\n              "))
}

// describeStored says what the cache holds under key for a request with
// header h: in a running edge, the object; offline, nothing.
func describeStored(c *cache.Cache, key cache.Key, h http.Header) string {
	o, _ := c.Get(key, h)
	if o == nil {
		return "nothing (the next request is a miss)"
	}
	now := c.Now()
	state := "fresh"
	if !o.Fresh(now) {
		state = "stale"
	}
	where := "memory"
	if o.OnDisk() {
		where = "disk"
	}
	tags := "none"
	if t := o.Tags(); len(t) > 0 {
		tags = strings.Join(t, ", ")
	}
	return fmt.Sprintf("status %d, %d bytes on %s, age %s of a %s TTL (%s); tags %s",
		o.Status(), o.BodySize(), where, o.Age(now).Round(time.Second), o.TTL(), state, tags)
}

func locationOf(h http.Header) string {
	if l := h.Get("Location"); l != "" {
		return " (Location " + l + ")"
	}
	return ""
}

func (e errorRule) describe(scope string) string {
	s := fmt.Sprintf("%d", e.code)
	if e.whenAccept != "" {
		s += " when Accept names " + e.whenAccept
	}
	if e.pagePath != "" {
		s += fmt.Sprintf(" → %s with status %d", e.pagePath, e.respCode)
	}
	return s + " (" + scope + ")"
}

func (p *forwardPolicy) headersString() string {
	if p.allHeaders && len(p.except) > 0 {
		return "all except [" + strings.Join(slices.Sorted(maps.Keys(p.except)), ", ") + "]"
	}
	if p.allHeaders {
		return "all"
	}
	if len(p.headers) == 0 {
		return "none"
	}
	return "[" + strings.Join(slices.Sorted(maps.Keys(p.headers)), ", ") + "]"
}

// ExplainRequest builds the request explain reasons about, from a method,
// a URL and 'Name: value' header lines. A URL without a
// scheme is taken as http://.
func ExplainRequest(method, rawURL string, headers []string) (*http.Request, error) {
	if !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL", rawURL)
	}
	req, err := http.NewRequest(strings.ToUpper(method), u.String(), nil)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "https" {
		req.TLS = &tls.ConnectionState{}
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("header %q is not 'Name: value'", h)
		}
		if strings.EqualFold(strings.TrimSpace(name), "Host") {
			req.Host = strings.TrimSpace(value)
			continue
		}
		req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return req, nil
}
