package edge

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// clientAddr is the viewer's address: the connection's peer, or, when the
// peer is a trusted proxy, the nearest address in X-Forwarded-For that is
// not one (read from the right, as each proxy appends). Rate limits,
// signed URLs' IP conditions and the access log all use it. viaProxy says
// whether the peer is one of trusted (false without them).
func clientAddr(r *http.Request, trusted []netip.Prefix) (addr netip.Addr, viaProxy bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	addr = ap.Addr().Unmap()
	if len(trusted) == 0 || !inPrefixes(addr, trusted) {
		return addr, false
	}
	xff := r.Header["X-Forwarded-For"]
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for line != "" {
			var part string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				part, line = line[j+1:], line[:j]
			} else {
				part, line = line, ""
			}
			a, err := netip.ParseAddr(strings.TrimSpace(part))
			if err != nil {
				return addr, true // a malformed entry: trust nothing to its left
			}
			addr = a.Unmap()
			if !inPrefixes(addr, trusted) {
				return addr, true
			}
		}
	}
	return addr, true
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// errBodyTimeout is a request body that stopped arriving.
var errBodyTimeout = errors.New("the request body stopped arriving")

// limitedBody is a viewer's body under the behavior's max_body_size and
// a deadline for each read, as nginx's client_body_timeout: a body may be
// slow, but not stall. Its error, once it has one, decides the answer
// whatever the origin says.
//
// An origin transport may go on reading the body on its own goroutine
// after the answer is out and the handler has returned (an HTTP/2 origin
// that answered first, as gRPC servers do). The deadline belongs to the
// viewer's stream or connection, which is then finished or serving
// another request, so end, called as the handler returns, stops reads
// from touching it.
type limitedBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	max     int64 // 0 is no limit
	n       int64
	err     atomic.Pointer[error]

	mu    sync.Mutex // held while the deadline is set, so end waits for it
	ended bool
}

func (lb *limitedBody) Read(p []byte) (int, error) {
	lb.mu.Lock()
	if lb.ended {
		lb.mu.Unlock()
		return 0, errBodyAfterAnswer
	}
	if lb.timeout > 0 {
		lb.rc.SetReadDeadline(time.Now().Add(lb.timeout))
	}
	lb.mu.Unlock()
	if lb.max > 0 && int64(len(p)) > lb.max-lb.n+1 {
		p = p[:lb.max-lb.n+1]
	}
	n, err := lb.ReadCloser.Read(p)
	lb.n += int64(n)
	switch {
	case lb.max > 0 && lb.n > lb.max:
		err = &http.MaxBytesError{Limit: lb.max}
		n -= int(lb.n - lb.max)
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		err = errBodyTimeout
	}
	if err != nil && err != io.EOF {
		lb.err.CompareAndSwap(nil, &err)
	}
	return n, err
}

// errBodyAfterAnswer ends a read of the body begun after the answer.
var errBodyAfterAnswer = errors.New("the request body is read after the answer was sent")

// end is called as the handler returns: no later read sets a deadline
// on the viewer's connection, and none reads on.
func (lb *limitedBody) end() {
	lb.mu.Lock()
	lb.ended = true
	lb.mu.Unlock()
}

// Err is the body's error, nil while it is fine.
func (lb *limitedBody) Err() error {
	if e := lb.err.Load(); e != nil {
		return *e
	}
	return nil
}

// limitBody applies the behavior's max_body_size and the body timeout. It
// reports false when it answered already (413 for a declared length over
// the limit).
func (b *Behavior) limitBody(w http.ResponseWriter, r *http.Request, ex *exchange) (*http.Request, bool) {
	if b.maxBody > 0 && r.ContentLength > b.maxBody {
		b.dist.fail(w, r, ex, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", b.maxBody))
		return r, false
	}
	t := b.dist.rt.bodyTimeout
	if t <= 0 && b.maxBody <= 0 {
		return r, true
	}
	ex.body = &limitedBody{ReadCloser: r.Body, rc: http.NewResponseController(w), timeout: t, max: b.maxBody}
	r2 := *r
	r2.Body = ex.body
	return &r2, true
}
