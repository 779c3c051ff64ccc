package edge

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgefront/edgefront/internal/config"
)

// errorRule is a compiled error response.
type errorRule struct {
	code       int
	whenAccept string // "" for any request
	pagePath   string
	respCode   int
	minTTL     time.Duration // error_caching_min_ttl, -1 when not set
}

func compileErrorRules(cs []config.ErrorResponse) []errorRule {
	rules := make([]errorRule, 0, len(cs))
	for _, c := range cs {
		r := errorRule{code: c.ErrorCode, whenAccept: strings.ToLower(c.WhenAccept), pagePath: c.ResponsePagePath, respCode: c.ResponseCode}
		if r.respCode == 0 {
			r.respCode = r.code
		}
		r.minTTL = -1
		if c.ErrorCachingMinTTL != nil {
			r.minTTL = c.ErrorCachingMinTTL.Duration()
		}
		rules = append(rules, r)
	}
	return rules
}

// rule returns the error response for status: the behavior's rules first
// (those with when_accept only for requests that accept that type), then
// the distribution's. nil when none applies.
func (d *Distribution) rule(b *Behavior, status int, accept string) *errorRule {
	if b != nil {
		for i := range b.errorRules {
			r := &b.errorRules[i]
			if r.code == status && (r.whenAccept == "" || acceptsExplicitly(accept, r.whenAccept)) {
				return r
			}
		}
	}
	for i := range d.errorRules {
		if r := &d.errorRules[i]; r.code == status {
			return r
		}
	}
	return nil
}

// acceptsExplicitly reports whether an Accept header names the media type
// want (or a range of it such as text/*). "*/*" does not count: a script's
// fetch accepts anything, and must not be answered with an HTML page.
func acceptsExplicitly(accept, want string) bool {
	wantType, _, _ := strings.Cut(want, "/")
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt == "*/*" {
			continue
		}
		if q, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue
			}
		}
		if mt == want || (strings.HasSuffix(mt, "/*") && strings.TrimSuffix(mt, "/*") == wantType) ||
			(strings.HasSuffix(want, "/*") && strings.HasPrefix(mt, wantType+"/")) {
			return true
		}
	}
	return false
}

// replaceError swaps an origin's error answer for the page of the rule that
// applies to it, if any. When the page cannot be fetched the origin's own
// answer stands.
func (d *Distribution) replaceError(resp *http.Response, ex *exchange) {
	r := d.rule(ex.behavior, resp.StatusCode, ex.accept)
	if r == nil || r.pagePath == "" {
		return
	}
	page, err := d.fetchPage(resp.Request.Context(), r.pagePath)
	if err != nil {
		d.log.Warn("error page not served", "distribution", d.Name, "page", r.pagePath, "status", resp.StatusCode, "err", err)
		return
	}
	resp.Body.Close()
	resp.StatusCode, resp.Status = r.respCode, strconv.Itoa(r.respCode)+" "+http.StatusText(r.respCode)
	resp.Header, resp.Body, resp.ContentLength = page.Header, page.Body, page.ContentLength
	resp.Header.Del("X-Edge-Request-Id")
	ex.stamp(resp.Header, outcomeError)
}

// fetchPage gets an error page through the behavior that its path matches,
// as CloudFront does, with none of the viewer's headers.
func (d *Distribution) fetchPage(ctx context.Context, path string) (*http.Response, error) {
	b := d.Match(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://edge"+path, nil)
	if err != nil {
		return nil, err
	}
	req.URL.Path, req.URL.RawPath = b.originPath(req.URL)
	req.URL.RawQuery = ""
	req.Host = ""
	req.Header.Set("Via", "1.1 edgefront")
	b.origin.Prepare(req)
	resp, err := b.origin.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("origin %q: %w", b.originName, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("origin %q answered %s", b.originName, resp.Status)
	}
	return resp, nil
}

// originError answers a request whose origin could not be reached; r is
// the request as it was sent to the origin.
func (b *Behavior) originError(w http.ResponseWriter, r *http.Request, err error) {
	ex := exchangeOf(r)
	if ex.behavior == nil {
		ex.behavior = b
	}
	if ex.body != nil && ex.body.Err() != nil {
		err = ex.body.Err() // the viewer's body broke: that is the answer
	} else if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the viewer went away; nobody is left to answer
	}
	if ex.fill != nil {
		ex.fill.originErr = err // each viewer of the fill answers for itself
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		b.dist.fail(w, r, ex, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit))
		return
	}
	if errors.Is(err, errBodyTimeout) {
		b.dist.fail(w, r, ex, http.StatusRequestTimeout, "the request body stopped arriving")
		return
	}
	b.reportOriginError(r, ex, err)
	status, why := originErrorStatus(err)
	b.dist.fail(w, r, ex, status, why)
}

func (b *Behavior) reportOriginError(r *http.Request, ex *exchange, err error) {
	status, _ := originErrorStatus(err)
	b.dist.log.Warn("origin request failed", "distribution", b.dist.Name, "origin", b.originName,
		"url", requestURL(ex.in), "status", status, "request_id", ex.id, "err", err)
}

// fail answers with an error made by the edge itself: the page of an error
// rule when one applies, else a short built-in page. r may be the origin
// request; what the viewer sent is ex.in.
func (d *Distribution) fail(w http.ResponseWriter, r *http.Request, ex *exchange, status int, why string) {
	if b := ex.behavior; b != nil && b.grpc && isGRPC(ex.in) {
		writeGRPCError(w, ex, status, why)
		return
	}
	if rule := d.rule(ex.behavior, status, ex.accept); rule != nil && rule.pagePath != "" {
		if page, err := d.fetchPage(r.Context(), rule.pagePath); err == nil {
			defer page.Body.Close()
			h := w.Header()
			for k, v := range page.Header {
				h[k] = v
			}
			ex.stamp(h, outcomeError)
			w.WriteHeader(rule.respCode)
			if ex.in.Method != http.MethodHead {
				io.Copy(w, page.Body)
			}
			return
		}
	}
	writeErrorPage(w, ex.in, ex, status, why)
}

// writeErrorPage writes the small built-in error page: HTML for browsers,
// one line of text for everything else.
func writeErrorPage(w http.ResponseWriter, r *http.Request, ex *exchange, status int, why string) {
	h := w.Header()
	ex.stamp(h, outcomeError)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	id := h.Get("X-Edge-Request-Id")
	title := fmt.Sprintf("%d %s", status, http.StatusText(status))
	var body string
	if acceptsExplicitly(r.Header.Get("Accept"), "text/html") {
		h.Set("Content-Type", "text/html; charset=utf-8")
		body = fmt.Sprintf("<!doctype html>\n<title>%s</title>\n<h1>%s</h1>\n<p>%s.</p>\n<hr><p>edgefront · request id %s</p>\n",
			title, title, html.EscapeString(why), html.EscapeString(id))
	} else {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		body = title + ": " + why + ".\n"
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("Content-Encoding")
	h.Del("Etag")
	h.Del("Last-Modified")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}
