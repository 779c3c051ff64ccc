package h1

import (
	"context"
	"net/http"
	"sync"
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
// nobody asked about its end during this one (Done, Err, AfterFunc, which
// WithCancel and AfterFunc call): a context nobody asked about cannot be
// seen to end, or not to. One that was asked about is ended for good and
// replaced, so that nothing waiting on it sees it live again.
type reqCtx struct {
	context.Context // the connection's: its values, no end of its own

	mu     sync.Mutex
	asked  bool
	done   chan struct{} // made by the first Done
	err    error
	first  [2]afterFunc // the AfterFuncs, the first two without allocating
	n      int
	afters []*afterFunc // the rest

	tmpl http.Request // empty, but for its context: this
}

type afterFunc struct {
	c       *reqCtx
	f       func()
	stopped bool
}

// stop is AfterFunc's stop.
func (a *afterFunc) stop() bool {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	if a.stopped || a.c.err != nil {
		return false
	}
	a.stopped = true
	return true
}

func (c *reqCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = true
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

func (c *reqCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = true
	return c.err
}

// AfterFunc is what context.AfterFunc and context.WithCancel use for a
// parent that has it: f runs on its own goroutine when the request ends,
// unless stop comes first.
func (c *reqCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = true
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	var a *afterFunc
	if c.n < len(c.first) {
		a = &c.first[c.n]
		c.n++
	} else {
		a = new(afterFunc)
		c.afters = append(c.afters, a)
	}
	*a = afterFunc{c: c, f: f}
	return a.stop
}

// end ends the request's context. It reports whether the context may
// serve the next request (nobody asked about it).
func (c *reqCtx) end() (reusable bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.asked {
		return true
	}
	c.err = context.Canceled
	if c.done != nil {
		close(c.done)
	}
	for i := range c.n {
		if a := &c.first[i]; !a.stopped {
			go a.f()
		}
	}
	for _, a := range c.afters {
		if !a.stopped {
			go a.f()
		}
	}
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
	cn.url = h.url
	r := cn.req
	*r = cn.rctx.tmpl
	r.Method, r.URL, r.Proto, r.ProtoMajor, r.ProtoMinor = h.method, &cn.url, "HTTP/1.1", 1, 1
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
