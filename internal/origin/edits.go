package origin

import (
	"net/http"

	"github.com/edgefront/edgefront/internal/httpsyntax"
)

// Edits turn a viewer's request into an origin request without a field
// map of its own: the request's Header is the viewer's, read and never
// changed; the fields Skip or Named name are left out (Named without
// regard to ASCII case, as a Connection field lists them and as the
// edge's copy compares them), and Extra's lines are written after the
// viewer's. An origin request with Edits gets no default User-Agent: a
// viewer that sent none is proxied without one.
type Edits struct {
	Skip  func(name string) bool // name is canonical, as a map's key
	Named []string
	Extra []string // name, value, name, value...
}

func (e *Edits) skips(name string) bool {
	if e.Skip != nil && e.Skip(name) {
		return true
	}
	for _, n := range e.Named {
		if httpsyntax.NameIs(n, name) {
			return true
		}
	}
	return false
}

// apply returns req with its edits made on a copy of its fields, for the
// clients that write a request from its map.
func (e *Edits) apply(req *http.Request) *http.Request {
	if e == nil {
		return req
	}
	out := req.Clone(req.Context())
	for name := range out.Header {
		if e.skips(name) {
			delete(out.Header, name)
		}
	}
	for i := 0; i+1 < len(e.Extra); i += 2 {
		out.Header[e.Extra[i]] = append(out.Header[e.Extra[i]], e.Extra[i+1])
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = []string{""} // none, as writeRequest sends it
	}
	return out
}

// PrepareEdits points out at the origin as Prepare does, with the
// origin's custom fields added to e rather than set in out's map: each
// replaces the viewer's field of its name and an edit's of that name.
func (o *HTTP) PrepareEdits(out *http.Request, e *Edits) {
	o.point(out)
	for k, vs := range o.headers {
		e.Named = append(e.Named, k)
		kept := e.Extra[:0]
		for i := 0; i+1 < len(e.Extra); i += 2 {
			if !httpsyntax.NameIs(e.Extra[i], k) {
				kept = append(kept, e.Extra[i], e.Extra[i+1])
			}
		}
		e.Extra = kept
		for _, v := range vs {
			e.Extra = append(e.Extra, k, v)
		}
	}
}
