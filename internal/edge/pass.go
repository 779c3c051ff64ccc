package edge

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"sync"

	"github.com/edgefront/edgefront/internal/clock"
	"github.com/edgefront/edgefront/internal/httpsyntax"
	"github.com/edgefront/edgefront/internal/origin"
	"golang.org/x/net/http/httpguts"
)

// A plain pass on the HTTP/1.1 loop (GET or HEAD, an HTTP origin, an
// answer with a length) goes to the viewer without a header map: the
// origin's head lines, less the hop-by-hop ones, are the answer's. Any
// other answer is handed to the proxy as it was received, which finishes
// it as for every other pass.

// proxiedWriter is a viewer's writer that takes an answer head as lines
// (the HTTP/1.1 loop's response): the handler's fields, then fields, a
// Content-Length of length, a Date unless hasDate. It reports false,
// having written nothing, when it cannot.
type proxiedWriter interface {
	WriteProxied(status int, fields []byte, hasDate bool, length int64) bool
}

// passRaw answers a pass through the raw round trip when it can; it
// reports false, having done nothing, when the request is not one for it.
func (b *Behavior) passRaw(w http.ResponseWriter, r *http.Request, ex *exchange) bool {
	if b.raw == nil || ex.origin != nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) ||
		(r.Body != nil && r.Body != http.NoBody) || r.Header["Upgrade"] != nil {
		return false
	}
	rec, pw, ok := writerBelow[proxiedWriter](w)
	if !ok {
		return false
	}
	pr := newPassRequest(r)
	var out *http.Request
	var edits *origin.Edits
	if b.direct != nil {
		out, edits = b.directRequest(r, ex, pr)
	} else {
		out = b.originRequest(r, ex, pr)
	}
	raw, err := b.raw.RoundTripRaw(out, edits)
	if err != nil {
		b.originError(w, out.WithContext(withExchange(out.Context(), ex)), err)
		return true // out lives on in the error's request: not reused
	}
	if raw.Resp == nil && b.writeRaw(w, pw, rec, r, ex, raw, &pr.fields) {
		pr.release()  // nothing keeps the request of an answered raw pass
		raw.Release() // nor the answer (the log took its strings)
		return true
	}
	// Anything else the proxy finishes, from the answer received.
	resp := raw.Resp
	if resp == nil {
		resp = raw.Response(out)
	}
	ex.answered = resp
	b.proxy.ServeHTTP(w, r.WithContext(withExchange(r.Context(), ex)))
	return true
}

// passRequest is the storage a raw pass's origin request is built in,
// reused from one pass to the next: the request, its URL, its field map
// and the fields' values. A request with more than passRequestFields
// fields, the viewer's or with the rewrite's added, gets storage that is
// not reused.
//
// The map starts without a size and grows to what the passes need: a
// Go map is walked (writeRequest) and cleared (release) slot by slot,
// used or not, so one made for 32 fields costs an API client's six
// about twice what a map of their size does.
type passRequest struct {
	req    http.Request
	url    url.URL
	h      http.Header
	vals   []string
	edits  origin.Edits // a direct request's
	fields []byte       // the answer's fields for the viewer
	kept   bool
}

const passRequestFields = 32

var passRequests = sync.Pool{New: func() any { return &passRequest{h: make(http.Header)} }}

func newPassRequest(in *http.Request) *passRequest {
	if len(in.Header) > passRequestFields {
		return &passRequest{h: make(http.Header, len(in.Header))}
	}
	pr := passRequests.Get().(*passRequest)
	pr.kept = true
	return pr
}

func (pr *passRequest) release() {
	if !pr.kept || len(pr.h) > passRequestFields {
		return
	}
	clear(pr.h)
	clear(pr.vals[:cap(pr.vals)])
	pr.req, pr.url, pr.vals = http.Request{}, url.URL{}, pr.vals[:0]
	named, extra := pr.edits.Named, pr.edits.Extra
	clear(named[:cap(named)])
	clear(extra[:cap(extra)])
	pr.edits = origin.Edits{Named: named[:0], Extra: extra[:0]}
	if cap(pr.fields) > 4<<10 {
		pr.fields = nil // an answer's rare many fields are not kept
	}
	passRequests.Put(pr)
}

// clone makes pr a copy of in for the origin, as in.Clone(in.Context())
// followed by the proxy's removals: the request, its URL and its fields
// but those of one connection (the hop-by-hop ones and those its
// Connection field names) and the forwarded ones, which the rewrite sets
// afresh. Each field's values are a slice of their own (the rewrite
// replaces and deletes fields, never changes a value in place, and an
// append copies).
func (pr *passRequest) clone(in *http.Request) *http.Request {
	out := &pr.req
	*out = *in
	pr.url = *in.URL
	out.URL = &pr.url
	n := 0
	for _, vs := range in.Header {
		n += len(vs)
	}
	if cap(pr.vals) < n {
		pr.vals = make([]string, 0, n)
	}
	var namedBuf [4]string
	named := namedBuf[:0] // the fields the Connection field names
	for _, v := range in.Header["Connection"] {
		for name := range httpsyntax.Elements(v) {
			named = append(named, name)
		}
	}
	for k, vs := range in.Header {
		if notForwarded(k) || fieldIn(k, named) {
			continue
		}
		if vs == nil {
			pr.h[k] = nil
			continue
		}
		i := len(pr.vals)
		pr.vals = append(pr.vals, vs...)
		pr.h[k] = pr.vals[i:len(pr.vals):len(pr.vals)]
	}
	out.Header = pr.h
	return out
}

// notForwarded reports whether the origin does not get the viewer's field
// k as it is: a field of one connection only (hopHeaders) or a forwarded
// one, which the rewrite sets afresh.
func notForwarded(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer",
		"Transfer-Encoding", "Upgrade", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
		return true
	}
	return false
}

// originRequest is the origin request of a pass, as the proxy makes it,
// built in pr.
func (b *Behavior) originRequest(in *http.Request, ex *exchange, pr *passRequest) *http.Request {
	out := pr.clone(in)
	out.Body, out.Close = nil, false
	if httpguts.HeaderValuesContainsToken(in.Header["Te"], "trailers") {
		out.Header["Te"] = []string{"trailers"}
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = []string{""} // no default one
	}
	b.rewriteFor(&httputil.ProxyRequest{In: in, Out: out}, ex)
	return out
}

// writeRaw writes a plain answer's head and body; it reports false,
// having written nothing, for one the proxy must finish: a status with
// no body or an error page to put in its place, no length, no type (the
// proxy's writer sniffs one).
func (b *Behavior) writeRaw(w http.ResponseWriter, pw proxiedWriter, rec *recorder, r *http.Request, ex *exchange, raw *origin.RawResponse, buf *[]byte) bool {
	if raw.Status < 200 || raw.Length < 0 || (raw.Status >= 400 && b.errorPageFor(raw.Status, ex) != nil) {
		return false
	}
	fields, info := proxiedFields(*buf, raw.Fields)
	*buf = fields[:0] // the writer copies them: the storage serves the next pass
	if !info.typed && raw.Length > 0 {
		return false
	}
	h := w.Header()
	ex.setOutcome(h, outcomeMiss)
	if !pw.WriteProxied(raw.Status, fields, info.dated, raw.Length) {
		delete(h, "X-Cache")
		return false
	}
	if rec != nil {
		rec.proxied(raw.Status, len(fields), info, strconv.FormatInt(raw.Length, 10))
	}
	defer raw.Body.Close()
	if r.Method == http.MethodHead || raw.Length == 0 {
		return true
	}
	if _, err := io.Copy(w, raw.Body); err != nil && r.Context().Err() == nil {
		panic(http.ErrAbortHandler) // the origin or the viewer cut the body short: so must we, visibly
	}
	return true
}

// fieldInfo is what the access log and the writer need to know of the
// origin's fields.
type fieldInfo struct {
	typed, dated              bool
	contentType, contentRange []byte // in the origin's fields: a string only for the log
}

var viaLine = []byte("Via: 1.1 edgefront\r\n")

// proxiedFields is the origin's header lines as the viewer gets them, in
// the origin's order and spelling (as nginx and HAProxy pass them):
// without the hop-by-hop fields (and those Connection names), the length
// (the writer gives it), the edge's own fields, with the edge's Via
// added. The lines are walked once; twice for an origin whose Connection
// field names fields of its own (close and keep-alive name none to drop).
// They are made in dst's storage.
func proxiedFields(dst, raw []byte) (out []byte, info fieldInfo) {
	out, info, ok := filterFields(dst, raw, nil, true)
	if ok {
		return out, info
	}
	var namedBuf [4][]byte
	named := namedBuf[:0]
	for rest := raw; len(rest) > 0; {
		var name, value []byte
		name, value, _, rest = nextField(rest)
		if httpsyntax.NameIs(name, "Connection") {
			for t := range httpsyntax.Elements(value) {
				named = append(named, t)
			}
		}
	}
	out, info, _ = filterFields(dst, raw, named, false)
	return out, info
}

// filterFields is proxiedFields with the fields named dropped too. With
// first, it gives up (ok false) at a Connection field that names more
// than close and keep-alive.
func filterFields(dst, raw []byte, named [][]byte, first bool) (out []byte, info fieldInfo, ok bool) {
	out = slices.Grow(dst[:0], len(raw)+len(viaLine))
	for rest := raw; len(rest) > 0; {
		var name, value, line []byte
		name, value, line, rest = nextField(rest)
		if first && httpsyntax.NameIs(name, "Connection") {
			for t := range httpsyntax.Elements(value) {
				if !httpsyntax.NameIs(t, "close") && !httpsyntax.NameIs(t, "keep-alive") {
					return dst, fieldInfo{}, false
				}
			}
		}
		if notProxied(name) || fieldIn(name, named) {
			continue
		}
		switch {
		case httpsyntax.NameIs(name, "Content-Type"):
			info.typed, info.contentType = true, httpsyntax.TrimOWS(value)
		case httpsyntax.NameIs(name, "Date"):
			info.dated = true
		case httpsyntax.NameIs(name, "Content-Range"):
			info.contentRange = httpsyntax.TrimOWS(value)
		}
		out = append(out, line...)
		out = append(out, '\r', '\n')
	}
	return append(out, viaLine...), info, true
}

// notProxied reports whether the viewer does not get the origin's field
// name: one of one connection only (RFC 9110 §7.6.1, as the proxy removes
// them), the length (the writer gives it) or one of the edge's own.
// Names are told apart by their length first, as most differ in it.
func notProxied(name []byte) bool {
	is := func(s string) bool { return httpsyntax.NameIs(name, s) }
	switch len(name) {
	case 2:
		return is("Te")
	case 7:
		return is("Upgrade") || is("Trailer") || is("X-Cache")
	case 10:
		return is("Connection") || is("Keep-Alive")
	case 14:
		return is("Content-Length")
	case 16:
		return is("Proxy-Connection")
	case 17:
		return is("Transfer-Encoding") || is("X-Edge-Request-Id")
	case 18:
		return is("Proxy-Authenticate")
	case 19:
		return is("Proxy-Authorization")
	case 27:
		return is("Edgefront-Cdn-Cache-Control")
	}
	return false
}

// nextField splits the first field line off fields (lines that each end
// in CRLF, as the origin's head parser leaves them): its name, its value,
// the line without its CRLF, and the lines after it.
func nextField(fields []byte) (name, value, line, rest []byte) {
	line, rest = fields, nil
	if end := bytes.IndexByte(fields, '\n'); end >= 0 {
		line, rest = fields[:end], fields[end+1:]
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if colon := bytes.IndexByte(line, ':'); colon >= 0 {
		return line[:colon], line[colon+1:], line, rest
	}
	return line, nil, line, rest
}

// fieldIn reports whether set holds name, without regard to case.
func fieldIn[N, S ~string | ~[]byte](name N, set []S) bool {
	for _, s := range set {
		if httpsyntax.NameIs(name, s) {
			return true
		}
	}
	return false
}

// rawTiming measures a raw round trip as timedTransport does the others.
type rawTiming struct {
	origin.RawRoundTripper
	t *timedTransport
}

func (rt rawTiming) RoundTripRaw(out *http.Request, e *origin.Edits) (*origin.RawResponse, error) {
	start := clock.Mono()
	raw, err := rt.RawRoundTripper.RoundTripRaw(out, e)
	rt.t.account(out, start, err)
	return raw, err
}
