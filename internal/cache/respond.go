package cache

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Policy is a behavior's rules for storing its answers.
type Policy struct {
	TTLs TTLs
	// ErrorTTL is the error caching TTL of a status (error_caching_min_ttl),
	// -1 when none is set.
	ErrorTTL  func(status int) time.Duration
	AuthInKey bool // Authorization is part of the cache key
	// TagHeader is the canonical name of the field the origin's cache tags
	// come in (the distribution's cache_tag_header), "" for none.
	TagHeader string
}

// The fetch of a fill tells the fill what the origin did, in order:
// Respond with the answer's head (or Revalidated for a 304 to a
// revalidation), Write with its body, End when it is over. The fill
// decides whether the answer is stored, builds the object, stores it and
// settles, so that the order of those steps lives here.

// Begin says, before the fetch, what the fill is for: the origin
// request's header, the stale object it revalidates (nil when none) and
// the behavior's policy. The request time starts now.
func (f *Fill) Begin(req http.Header, stale *Object, p Policy) {
	f.req, f.stale, f.policy, f.requestTime = req, stale, p, f.c.Now()
}

// Respond publishes the origin's answer head: status, header (without
// per-request fields) and Content-Length (-1 unknown). A 304 to a
// revalidation is held until End, which refreshes the stale object.
func (f *Fill) Respond(status int, h http.Header, length int64) {
	f.status, f.header304 = status, nil
	if status == http.StatusNotModified && f.stale != nil {
		f.header304 = h
		return
	}
	f.decision = f.policy.decide(status, f.req, h, f.c.Now())
	f.tags = f.policy.tagsOf(h)
	delete(h, EdgefrontCDNCacheControl) // this edge's own: no viewer sees it
	f.Start(status, h, f.decision.Store, length)
}

// errNoAnswer is a fetch that ended before the origin answered.
var errNoAnswer = errors.New("the origin request ended without an answer")

// End ends the fetch: err is nil when the whole answer arrived. The fill
// stores what it may, a refreshed stale object after a 304, and settles.
// noAnswer is the error when the origin could not be reached at all.
func (f *Fill) End(err error) {
	c := f.c
	switch {
	case f.header304 != nil && err == nil:
		o := f.refreshedObject()
		c.Refresh(f, o)
		f.MarkRefreshed() // its viewers are answered from o
		f.Start(o.Status(), o.Header, true, -1)
		f.Finish(nil)
		f.Settle(o)
		return
	case f.status == 0 && err == nil:
		err = errNoAnswer
	}
	f.Finish(err)
	var stored *Object
	if f.decision.Store && f.status != 0 {
		if body, ok := f.Complete(); ok {
			if o := f.object(body, int64(len(body))); c.Put(f, f.req, o) {
				stored = o
			}
		} else if sink, ok := f.Sink(); ok {
			if o := f.object(nil, sink.Size()); c.Put(f, f.req, o) { // the body is in the disk tier
				stored = o
			}
		}
	}
	f.Settle(stored)
}

// object is the stored object of the answer, its body given or on disk.
func (f *Fill) object(body []byte, size int64) *Object {
	h := f.StartedHeader().Clone()
	h["Content-Length"] = []string{strconv.FormatInt(size, 10)}
	m := f.meta(f.status, h, f.decision, f.c.Now())
	if lm, err := http.ParseTime(h.Get("Last-Modified")); err == nil {
		m.ModTime = lm
	}
	return NewObject(h, body, m)
}

// refreshedObject is the stale object updated by a 304 (RFC 9111 §4.3.4): the
// 304's fields replace the stored ones, and freshness starts again.
func (f *Fill) refreshedObject() *Object {
	stale := f.stale
	h := stale.Header.Clone()
	for k, v := range f.header304 {
		switch k {
		case "Content-Length", "Via", "Content-Encoding", "Transfer-Encoding":
			continue
		}
		h[k] = v
	}
	now := f.c.Now()
	status := stale.Status()
	m := f.meta(status, h, f.policy.decide(status, f.req, h, now), now)
	m.ModTime = stale.ModTime()
	o := NewObject(h, nil, m)
	o.ShareBody(stale)
	f.tags = f.policy.tagsOf(h) // the 304's, or the stored answer's
	return o
}

// meta is what an answer of status with header h, decided dec at now,
// is stored with; its ModTime is the caller's.
func (f *Fill) meta(status int, h http.Header, dec Decision, now time.Time) Meta {
	d, _, _ := DirectivesOf(h)
	// s-maxage forbids serving stale as proxy-revalidate does (RFC 9111
	// §5.2.2.10).
	return Meta{
		Status: status, ResponseTime: now, TTL: dec.TTL, SWR: dec.SWR, SIE: dec.SIE,
		InitialAge: CorrectedInitialAge(h, f.requestTime, now), MustReval: d.MustRevalidate || d.ProxyRevalidate || d.SMaxAge >= 0,
	}
}

// decide applies the policy to an answer of status with header h to a
// request with header req.
func (p Policy) decide(status int, req, h http.Header, now time.Time) Decision {
	errTTL := time.Duration(-1)
	if p.ErrorTTL != nil {
		errTTL = p.ErrorTTL(status)
	}
	return Decide(status, req, h, p.TTLs, errTTL, p.AuthInKey, now)
}

// tagsOf is the cache tags an answer with header h carries under the
// policy's tag field; nil without one.
func (p Policy) tagsOf(h http.Header) []string {
	if p.TagHeader == "" {
		return nil
	}
	return ParseTags(h[p.TagHeader])
}

// Revalidating reports whether the origin answered 304 to the fill's
// revalidation: the body it sends, if any, is not the object's.
func (f *Fill) Revalidating() bool { return f.header304 != nil }
