package origin

import (
	"io"
	"net/http"
	"strings"

	"github.com/edgefront/edgefront/internal/config"
)

// website emulates S3 static website hosting over the REST API, which
// works for private buckets too: index documents, folder redirects, an
// error document, per-object redirects and routing rules.
//
// Redirects are relative references computed from the key, so that they
// stay right below whatever prefix the behavior strips or the origin adds.
type website struct {
	index    string
	errorDoc string
	rules    []config.RoutingRule
}

func newWebsite(c *config.Website) *website {
	return &website{index: c.IndexDocument, errorDoc: strings.TrimPrefix(c.ErrorDocument, "/"), rules: c.RoutingRules}
}

func (w *website) roundTrip(o *S3, out *http.Request) (*http.Response, error) {
	key := o.keyOf(out)
	rel := o.relative(key)
	if r := w.rule(rel, 0); r != nil {
		return w.redirect(out, rel, r), nil
	}
	asked := key
	if asked == "" || strings.HasSuffix(asked, "/") {
		asked += w.index
		o.address(out, asked)
	}
	resp, err := o.send(out)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode < 400:
		if loc := resp.Header.Get("X-Amz-Website-Redirect-Location"); loc != "" {
			resp.Body.Close()
			return redirectResponse(out, http.StatusMovedPermanently, w.location(rel, loc)), nil
		}
		return resp, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden:
		status := resp.StatusCode
		// "/docs" is a folder when "docs/index.html" exists: S3 answers
		// 302 to "/docs/".
		if status == http.StatusNotFound && key != "" && !strings.HasSuffix(key, "/") && o.exists(out, key+"/"+w.index) {
			resp.Body.Close()
			return redirectResponse(out, http.StatusFound, lastSegment(key)+"/"), nil
		}
		if r := w.rule(rel, status); r != nil {
			resp.Body.Close()
			return w.redirect(out, rel, r), nil
		}
		if w.errorDoc != "" && out.Method == http.MethodGet {
			if page := o.fetch(out, http.MethodGet, o.key(w.errorDoc)); page != nil {
				resp.Body.Close()
				page.StatusCode, page.Status = status, resp.Status
				return page, nil
			}
		}
	}
	return resp, nil
}

// relative is a key less the origin's path prefix: what routing rules and
// redirect locations speak of.
func (o *S3) relative(key string) string {
	if o.prefix == "" {
		return key
	}
	return strings.TrimPrefix(key, o.prefix+"/")
}

// exists asks whether an object is there, with a HEAD.
func (o *S3) exists(like *http.Request, key string) bool {
	resp := o.fetch(like, http.MethodHead, key)
	if resp != nil {
		resp.Body.Close()
	}
	return resp != nil
}

// fetch sends a request for key on its own, returning nil unless the
// bucket answers 200.
func (o *S3) fetch(like *http.Request, method, key string) *http.Response {
	req, err := http.NewRequestWithContext(like.Context(), method, "http://s3/", nil)
	if err != nil {
		return nil
	}
	o.address(req, key)
	resp, err := o.send(req)
	if err != nil {
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil
	}
	return resp
}

// rule returns the first routing rule whose condition holds for a key and
// a status (0 before the object is fetched).
func (w *website) rule(rel string, status int) *config.RoutingRule {
	for i := range w.rules {
		c := w.rules[i].Condition
		if c.KeyPrefixEquals != "" && !strings.HasPrefix(rel, c.KeyPrefixEquals) {
			continue
		}
		if c.HTTPErrorCodeReturnedEquals != status {
			continue
		}
		return &w.rules[i]
	}
	return nil
}

func (w *website) redirect(out *http.Request, rel string, r *config.RoutingRule) *http.Response {
	to := rel
	switch {
	case r.Redirect.ReplaceKeyWith != "":
		to = r.Redirect.ReplaceKeyWith
	case r.Redirect.ReplaceKeyPrefixWith != "":
		to = r.Redirect.ReplaceKeyPrefixWith + strings.TrimPrefix(rel, r.Condition.KeyPrefixEquals)
	}
	code := r.Redirect.HTTPRedirectCode
	if code == 0 {
		code = http.StatusMovedPermanently
	}
	loc := relativeRef(rel, to)
	if r.Redirect.HostName != "" {
		proto := r.Redirect.Protocol
		if proto == "" {
			proto = "https"
		}
		loc = proto + "://" + r.Redirect.HostName + "/" + escapeKey(to)
	}
	return redirectResponse(out, code, loc)
}

// location turns an object's website redirect metadata into a Location:
// a full URL stays; "/path" names a key below the origin's prefix.
func (w *website) location(rel, loc string) string {
	if strings.HasPrefix(loc, "/") {
		return relativeRef(rel, strings.TrimPrefix(loc, "/"))
	}
	return loc
}

// relativeRef is the relative reference that leads from the viewer's URL
// for key from to the one for key to.
func relativeRef(from, to string) string {
	ref := strings.Repeat("../", strings.Count(from, "/")) + escapeKey(to)
	if ref == "" {
		return "./"
	}
	return ref
}

func lastSegment(key string) string {
	return escapeKey(key[strings.LastIndexByte(key, '/')+1:])
}

func redirectResponse(req *http.Request, code int, location string) *http.Response {
	r := textResponse(req, code, "moved to "+location)
	r.Header.Set("Location", location)
	if req.Method == http.MethodHead {
		r.Body = io.NopCloser(strings.NewReader(""))
	}
	return r
}
