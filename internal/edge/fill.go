package edge

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/edgefront/edgefront/internal/cache"
)

// unkeyedOverrides are request fields that some origin frameworks obey to
// change what they answer. A cached answer must depend only on its key, so
// they are not sent on a cache fill unless the cache key lists them.
var unkeyedOverrides = []string{
	"X-Original-Url", "X-Rewrite-Url", "X-Http-Method-Override", "X-Http-Method", "X-Method-Override",
	"X-Forwarded-Host", "X-Forwarded-Scheme", "X-Forwarded-Server", "X-Host", "Forwarded",
}

// fillRequest is the origin request of a fill: a copy of the viewer's
// (the fill outlives the viewer's handler, and the viewer's connection
// reuses its request), without its range and conditional fields, with
// Accept-Encoding normalised as the key has it, and with the stale
// object's validators when revalidating.
func (b *Behavior) fillRequest(r *http.Request, stale *cache.Object) *http.Request {
	req := r.Clone(r.Context())
	req.Method = http.MethodGet
	h := req.Header
	for _, f := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "Cache-Control", "Pragma"} {
		delete(h, f)
	}
	for _, f := range unkeyedOverrides {
		if !b.key.has(f) {
			delete(h, f)
		}
	}
	if ae := cache.NormalizeAcceptEncoding(h.Get("Accept-Encoding")); ae != "" {
		h["Accept-Encoding"] = []string{ae}
	} else {
		delete(h, "Accept-Encoding")
	}
	if stale != nil {
		etag, lm := stale.Validators()
		if etag != "" {
			h["If-None-Match"] = []string{etag}
		}
		if lm != "" {
			h["If-Modified-Since"] = []string{lm}
		}
	}
	return req
}

// fillWriter is the ResponseWriter the proxy writes a fill's origin
// response to: it tells the fill, which decides the rest.
type fillWriter struct {
	f      *cache.Fill
	header http.Header

	started   bool
	length    int64 // Content-Length of the origin's answer, -1 unknown
	originErr error // the origin could not be reached
}

func (fw *fillWriter) Header() http.Header { return fw.header }

func (fw *fillWriter) WriteHeader(code int) {
	if fw.started || code < 200 {
		return
	}
	fw.started = true
	h := fw.header.Clone() // the proxy has stamped Via already
	delete(h, "X-Edge-Request-Id")
	delete(h, "X-Cache")
	fw.f.Respond(code, h, fw.length)
}

func (fw *fillWriter) Write(p []byte) (int, error) {
	if !fw.started {
		fw.WriteHeader(http.StatusOK)
	}
	if fw.f.Revalidating() {
		return len(p), nil // a 304's body, if it sends one, is not the object's
	}
	return fw.f.Write(p)
}

// Flush is a no-op: readers see every write at once.
func (fw *fillWriter) Flush() {}

// startFill starts the origin fetch of f, which r's viewer leads, on a
// goroutine of the cache's (Cache.Go), detached from the viewer: its
// context ends only when shutting down stops waiting. The origin request
// is made here, while r is the viewer's.
func (b *Behavior) startFill(f *cache.Fill, r *http.Request, ex *exchange, stale *cache.Object) {
	req := b.fillRequest(r, stale)
	b.cache.Go(f, r.Context(), func(ctx context.Context) { b.fill(f, req.WithContext(ctx), ex, stale) })
}

// fill runs one origin fetch for f with req; the cache stores what it may.
func (b *Behavior) fill(f *cache.Fill, req *http.Request, ex *exchange, stale *cache.Object) {
	f.Begin(req.Header, stale, b.storePolicy)
	fw := &fillWriter{f: f, header: http.Header{}, length: -1}
	if answered, err := b.fillFromOwner(f, req, ex, fw); answered {
		f.End(err)
		return
	}
	fex := &exchange{in: req, w: fw, id: ex.id, accept: ex.accept, behavior: b, fill: fw, origin: ex.origin, viaProxy: ex.viaProxy}
	err := runProxy(b.proxy, fw, req.WithContext(withExchange(req.Context(), fex)))
	if fw.originErr != nil {
		err = fw.originErr
	}
	f.End(err)
}

// runProxy runs the proxy into a fill. A body cut short makes the proxy
// panic with http.ErrAbortHandler (the request carries the server's
// context); here that is an error like any other.
func runProxy(p http.Handler, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			err = errors.New("the origin's body was cut short")
		}
	}()
	p.ServeHTTP(w, r)
	return nil
}

// errorTTL is the error_caching_min_ttl the distribution sets for status,
// -1 when none.
func (b *Behavior) errorTTL(status int) time.Duration {
	for _, rules := range [][]errorRule{b.errorRules, b.dist.errorRules} {
		for _, r := range rules {
			if r.code == status && r.minTTL >= 0 {
				return r.minTTL
			}
		}
	}
	return -1
}
