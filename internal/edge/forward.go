package edge

import (
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/edgefront/edgefront/internal/config"
)

// forwardPolicy says which headers, cookies and query strings of the viewer
// request reach the origin.
type forwardPolicy struct {
	allHeaders bool
	headers    map[string]bool // canonical names, when !allHeaders
	except     map[string]bool // canonical names left out, when allHeaders
	viewerHost bool            // send the viewer's Host instead of the origin's
	cookies    config.List
	cookieSet  map[string]bool
	queries    config.List
	querySet   map[string]bool
}

// keptHeaders reach the origin whatever the list says: without them a body
// could not be read, nor a range or conditional request answered.
var keptHeaders = map[string]bool{
	"Content-Length": true, "Content-Type": true, "Content-Encoding": true,
	"Accept-Encoding": true, "Range": true, "If-Range": true,
	"If-None-Match": true, "If-Modified-Since": true, "If-Match": true, "If-Unmodified-Since": true,
	"Cookie": true, // filtered by the cookie policy instead
}

// newForwardPolicy compiles a behavior's forward block. Without one,
// everything end-to-end is forwarded, with the origin's own Host; inside
// one, a part left out is forwarded whole.
func newForwardPolicy(f *config.Forward) forwardPolicy {
	p := forwardPolicy{allHeaders: true, cookies: config.List{Mode: "all"}, queries: config.List{Mode: "all"}}
	if f == nil {
		return p
	}
	hs := f.Headers.Or("all")
	switch hs.Mode {
	case "all":
		p.viewerHost = f.Headers.Mode == "all"
	case "all_except":
		p.viewerHost = true
		p.except = map[string]bool{}
		for _, h := range hs.Items {
			name := textproto.CanonicalMIMEHeaderKey(h)
			p.viewerHost = p.viewerHost && name != "Host"
			p.except[name] = true
		}
	case "none", "list":
		p.allHeaders = false
		p.headers = map[string]bool{}
		for _, h := range hs.Items {
			name := textproto.CanonicalMIMEHeaderKey(h)
			if name == "Host" {
				p.viewerHost = true
				continue
			}
			p.headers[name] = true
		}
	}
	p.cookies, p.cookieSet = f.Cookies.Or("all"), set(f.Cookies.Items)
	p.queries, p.querySet = f.QueryStrings.Or("all"), set(f.QueryStrings.Items)
	return p
}

func set(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, it := range items {
		m[it] = true
	}
	return m
}

// filter removes from h the headers and cookies the policy does not forward.
func (p *forwardPolicy) filter(h http.Header) {
	if !p.allHeaders || len(p.except) > 0 {
		for name := range h {
			if (p.except[name] || !p.allHeaders && !p.headers[name]) && !keptHeaders[name] {
				delete(h, name)
			}
		}
	}
	switch p.cookies.Mode {
	case "none":
		h.Del("Cookie")
	case "list", "all_except":
		p.filterCookies(h)
	}
}

func (p *forwardPolicy) filterCookies(h http.Header) {
	var kept []string
	for _, line := range h.Values("Cookie") {
		for _, c := range strings.Split(line, ";") {
			c = strings.TrimSpace(c)
			name, _, _ := strings.Cut(c, "=")
			if p.cookieSet[name] == (p.cookies.Mode == "list") {
				kept = append(kept, c)
			}
		}
	}
	if len(kept) == 0 {
		h.Del("Cookie")
		return
	}
	h.Set("Cookie", strings.Join(kept, "; "))
}

// query returns the query string to send, keeping the viewer's encoding and
// order of the parameters it forwards.
func (p *forwardPolicy) query(raw string) string {
	switch p.queries.Mode {
	case "none":
		return ""
	case "list", "all_except":
		var kept []string
		for _, kv := range strings.Split(raw, "&") {
			k, _, _ := strings.Cut(kv, "=")
			if name, err := url.QueryUnescape(k); err == nil && p.querySet[name] == (p.queries.Mode == "list") {
				kept = append(kept, kv)
			}
		}
		return strings.Join(kept, "&")
	}
	return raw
}
