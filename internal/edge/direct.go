package edge

import (
	"net/http"

	"github.com/edgefront/edgefront/internal/httpsyntax"
	"github.com/edgefront/edgefront/internal/origin"
	"golang.org/x/net/http/httpguts"
)

// directPreparer is an origin that takes a direct request's edits (an
// HTTP origin).
type directPreparer interface {
	PrepareEdits(out *http.Request, e *origin.Edits)
}

// directs reports the origin that prepares b's direct requests: a raw
// pass whose rewrite is only what every pass does (the forwarded fields,
// Via, the path, the origin's own fields), so that the origin request
// can be the viewer's fields, read in place, less the connection's and
// the forwarded ones, and with those the rewrite sets written after
// them. A behavior that filters fields or cookies, verifies signed
// URLs, proxies gRPC or adds the viewer's certificate takes the copy
// (originRequest) instead.
func (b *Behavior) directs() directPreparer {
	dp, ok := b.origin.(directPreparer)
	if !ok || b.raw == nil || b.grpc || b.verifier != nil || !b.fwd.allHeaders || len(b.fwd.except) > 0 ||
		b.fwd.cookies.Mode != "all" || (b.viewerHeaders&hdrCertPEM != 0 && b.dist.mtls != nil) {
		return nil
	}
	return dp
}

// directSkip names the viewer's fields a direct request leaves out: the
// connection's and the forwarded ones, as the copy does, and Via, which
// the edits write with the edge's added.
func directSkip(k string) bool { return k == "Via" || notForwarded(k) }

// directRequest is the origin request of a pass as originRequest makes
// it, as the viewer's request and edits: the request, with its URL, built
// in pr and with the viewer's field map; the edits in pr's storage.
func (b *Behavior) directRequest(in *http.Request, ex *exchange, pr *passRequest) (*http.Request, *origin.Edits) {
	out := &pr.req
	*out = *in
	pr.url = *in.URL
	out.URL = &pr.url
	out.Body, out.Close = nil, false
	out.URL.Path, out.URL.RawPath = b.originPath(in.URL)
	out.URL.RawQuery = b.fwd.query(in.URL.RawQuery)
	out.Host = ""
	if b.fwd.viewerHost {
		out.Host = in.Host
	}
	e := &pr.edits
	e.Skip = directSkip
	for _, v := range in.Header["Connection"] {
		for name := range httpsyntax.Elements(v) {
			e.Named = append(e.Named, name)
		}
	}
	if httpguts.HeaderValuesContainsToken(in.Header["Te"], "trailers") {
		e.Extra = append(e.Extra, "Te", "trailers")
	}
	xff, hasXFF, host, proto := b.forwarded(in, ex)
	if hasXFF {
		e.Extra = append(e.Extra, "X-Forwarded-For", xff)
	}
	e.Extra = append(e.Extra, "X-Forwarded-Host", host, "X-Forwarded-Proto", proto)
	for _, v := range in.Header["Via"] {
		e.Extra = append(e.Extra, "Via", v)
	}
	e.Extra = append(e.Extra, "Via", viaEdge[0])
	b.direct.PrepareEdits(out, e)
	return out, e
}
