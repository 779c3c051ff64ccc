package edge

import (
	"context"
	"errors"
	"net/http"
	"strconv"
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

// fillRequest is the origin request of a fill: the viewer's, on the
// fill's context (not the viewer's: other viewers may be waiting), without its range and
// conditional fields, with Accept-Encoding normalised as the key has it,
// and with the stale object's validators when revalidating.
func (b *Behavior) fillRequest(ctx context.Context, r *http.Request, stale *cache.Object) *http.Request {
	req := r.Clone(ctx)
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
// response to.
type fillWriter struct {
	b           *Behavior
	f           *cache.Fill
	req         *http.Request
	stale       *cache.Object
	header      http.Header
	requestTime time.Time

	started     bool
	decision    cache.Decision
	status      int
	length      int64 // Content-Length of the origin's answer, -1 unknown
	notModified bool  // 304 to a revalidation
	originErr   error // the origin could not be reached
}

func (fw *fillWriter) Header() http.Header { return fw.header }

func (fw *fillWriter) WriteHeader(code int) {
	if fw.started || code < 200 {
		return
	}
	fw.started = true
	fw.status = code
	if code == http.StatusNotModified && fw.stale != nil {
		fw.notModified = true
		return
	}
	b := fw.b
	now := b.cache.Now()
	fw.decision = cache.Decide(code, fw.req.Header, fw.header, b.ttls, b.errorTTL(code), b.key.has("Authorization"), now)
	h := fw.header.Clone() // the proxy has stamped Via already
	delete(h, "X-Edge-Request-Id")
	delete(h, "X-Cache")
	fw.f.Start(code, h, fw.decision.Store, fw.length)
}

func (fw *fillWriter) Write(p []byte) (int, error) {
	if !fw.started {
		fw.WriteHeader(http.StatusOK)
	}
	if fw.notModified {
		return len(p), nil
	}
	return fw.f.Write(p)
}

// Flush is a no-op: readers see every write at once.
func (fw *fillWriter) Flush() {}

// fill runs one origin fetch for f and stores what it may. It runs on a
// goroutine of the cache's (Cache.Go), detached from the viewer that
// started it: ctx ends only when shutting down stops waiting.
func (b *Behavior) fill(ctx context.Context, f *cache.Fill, r *http.Request, ex *exchange, stale *cache.Object) {
	c := b.cache
	req := b.fillRequest(ctx, r, stale)
	fw := &fillWriter{b: b, f: f, req: req, stale: stale, header: http.Header{}, requestTime: c.Now(), length: -1}
	fex := &exchange{in: req, w: fw, id: ex.id, accept: ex.accept, behavior: b, fill: fw, origin: ex.origin, viaProxy: ex.viaProxy}
	err := runProxy(b.proxy, fw, req.WithContext(context.WithValue(req.Context(), exchangeKey{}, fex)))
	switch {
	case fw.originErr != nil:
		f.Finish(fw.originErr)
		f.Settle(nil)
	case fw.notModified:
		o := b.refreshed(stale, fw)
		c.Refresh(f, o)
		f.MarkRefreshed() // its viewers are answered from o
		f.Start(o.Status(), o.Header, true, -1)
		f.Finish(nil)
		f.Settle(o)
	default:
		if !fw.started {
			err = errors.Join(err, errors.New("the origin request ended without an answer"))
		}
		f.Finish(err)
		var stored *cache.Object
		if body, ok := f.Complete(); ok && fw.decision.Store {
			o := b.newObject(fw, body, int64(len(body)))
			if c.Put(f, req.Header, o) {
				stored = o
			}
		} else if sink, ok := f.Sink(); ok && fw.decision.Store {
			o := b.newObject(fw, nil, sink.Size()) // the body is in the disk tier
			if c.Put(f, req.Header, o) {
				stored = o
			}
		}
		f.Settle(stored)
	}
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

// newObject makes the stored object of a fill.
func (b *Behavior) newObject(fw *fillWriter, body []byte, size int64) *cache.Object {
	h := fw.f.StartedHeader().Clone()
	h["Content-Length"] = []string{strconv.FormatInt(size, 10)}
	now := b.cache.Now()
	m := cache.Meta{
		Status: fw.status, ResponseTime: now, TTL: fw.decision.TTL, SWR: fw.decision.SWR, SIE: fw.decision.SIE,
		InitialAge: cache.CorrectedInitialAge(h, fw.requestTime, now),
	}
	d := cache.ParseCacheControl(h["Cache-Control"])
	m.MustReval = d.MustRevalidate || d.ProxyRevalidate
	if lm, err := http.ParseTime(h.Get("Last-Modified")); err == nil {
		m.ModTime = lm
	}
	return cache.NewObject(h, body, m)
}

// refreshed is the stale object updated by a 304 (RFC 9111 §4.3.4): the
// 304's fields replace the stored ones, and freshness starts again.
func (b *Behavior) refreshed(stale *cache.Object, fw *fillWriter) *cache.Object {
	h := stale.Header.Clone()
	for k, v := range fw.header {
		switch k {
		case "Content-Length", "X-Edge-Request-Id", "X-Cache", "Via", "Content-Encoding", "Transfer-Encoding":
			continue
		}
		h[k] = v
	}
	now := b.cache.Now()
	status := stale.Status()
	dec := cache.Decide(status, fw.req.Header, h, b.ttls, b.errorTTL(status), b.key.has("Authorization"), now)
	d := cache.ParseCacheControl(h["Cache-Control"])
	o := cache.NewObject(h, nil, cache.Meta{
		Status: status, ResponseTime: now, TTL: dec.TTL, SWR: dec.SWR, SIE: dec.SIE, ModTime: stale.ModTime(),
		InitialAge: cache.CorrectedInitialAge(h, fw.requestTime, now), MustReval: d.MustRevalidate || d.ProxyRevalidate,
	})
	o.ShareBody(stale)
	return o
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
