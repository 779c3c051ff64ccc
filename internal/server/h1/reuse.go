package h1

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
)

// A connection answers one request at a time, so it keeps what each
// request needs (the http.Request, its URL and fields, the answer's
// writer and fields, the request's context) and reuses them for the
// next: a hit then allocates almost nothing. A handler must therefore not
// keep the request, its Header or URL, or the ResponseWriter past its
// return; what outlives it (a cache fill) takes a Clone first.

// reqCtx is the context of the request a connection is answering: the
// connection's values, ended when the handler returns, as net/http's
// request contexts are. A connection reuses it for its next request when
// nobody asked about its end during this one (Done or Err, which
// WithCancel and AfterFunc call): a context nobody asked about cannot be
// seen to end, or not to. The first question makes it a context.WithCancel
// of the connection's, to which it then answers everything, so that
// contexts made from it, directly or through values, are that one's
// children as with any cancelable parent (no goroutine of their own). One
// that was asked about is ended for good and replaced, so that nothing
// waiting on it sees it live again.
type reqCtx struct {
	context.Context // the connection's: its values, no end of its own

	mu    sync.Mutex
	asked atomic.Pointer[cancelable] // &c.made, once the first question made it
	made  cancelable

	// after is the one function AfterFunc holds itself, called as the
	// request ends (the origin client's, which aborts its exchange):
	// held so, it asks nothing, and the context stays reusable. gen
	// counts the requests, so that a stop from an earlier one stops
	// nothing of this one's.
	after func()
	gen   uint64

	tmpl http.Request // empty, but for its context: this
}

type cancelable struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// ask is the context that answers for c once someone asked about its end.
func (c *reqCtx) ask() context.Context {
	if a := c.asked.Load(); a != nil {
		return a.ctx
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.asked.Load()
	if a == nil {
		a = &c.made
		a.ctx, a.cancel = context.WithCancel(c.Context)
		c.asked.Store(a)
	}
	return a.ctx
}

func (c *reqCtx) Done() <-chan struct{} { return c.ask().Done() }
func (c *reqCtx) Err() error            { return c.ask().Err() }

// Value answers from the WithCancel once there is one: it is how
// context's functions find a cancelable parent.
func (c *reqCtx) Value(key any) any {
	if a := c.asked.Load(); a != nil {
		return a.ctx.Value(key)
	}
	return c.Context.Value(key)
}

// AfterFunc is the method context.AfterFunc looks for, and that the
// origin client calls directly: f runs in a goroutine of its own when the
// request ends, unless stop is called first. One function is held by the
// context itself; a second, or any once someone has asked, goes to
// context.AfterFunc on the WithCancel that ask makes.
func (c *reqCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.after != nil || c.asked.Load() != nil || c.Context.Done() != nil {
		c.mu.Unlock()
		return context.AfterFunc(c.ask(), f)
	}
	c.after = f
	gen := c.gen
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.gen != gen || c.after == nil {
			return false
		}
		c.after = nil
		return true
	}
}

// end ends the request's context. It reports whether the context may
// serve the next request (nobody asked about it).
func (c *reqCtx) end() (reusable bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if f := c.after; f != nil {
		c.after = nil
		go f()
	}
	a := c.asked.Load()
	if a == nil {
		return true
	}
	a.cancel()
	return false
}

// newRequestContext gives the connection a fresh request context, with a
// template request carrying it (http.Request keeps its context in a field
// only WithContext sets).
func (cn *conn) newRequestContext() {
	c := &reqCtx{Context: cn.ctx}
	c.tmpl = *new(http.Request).WithContext(c)
	cn.rctx = c
}

// request is the connection's request, reset for the head just parsed.
func (cn *conn) request() *http.Request {
	h := &cn.head
	if cn.rctx == nil {
		cn.newRequestContext()
	}
	if cn.req == nil {
		cn.req = new(http.Request)
	}
	r := cn.req
	*r = cn.rctx.tmpl
	r.Method, r.URL, r.Proto, r.ProtoMajor, r.ProtoMinor = h.method, &h.url, "HTTP/1.1", 1, 1
	cn.hdr, cn.vals = h.headerInto(cn.hdr, cn.vals)
	r.Header, r.Body, r.Host, r.RemoteAddr = cn.hdr, http.NoBody, h.host, cn.remote
	r.RequestURI, r.TLS, r.Close = h.target, cn.tls, h.close
	return r
}

// writer is the connection's answer writer, reset for r.
func (cn *conn) writer(r *http.Request) *response {
	if cn.rhdr == nil {
		cn.rhdr = make(http.Header, 8)
	} else {
		clear(cn.rhdr)
	}
	cn.resp = response{cn: cn, req: r, header: cn.rhdr, contentLength: -1, closeAfter: cn.head.close, held: cn.hold[:0]}
	return &cn.resp
}

// endRequest ends the request's context, and replaces it when someone
// asked about it.
func (cn *conn) endRequest() {
	if !cn.rctx.end() {
		cn.newRequestContext()
	}
}
