// Package origin holds the places a behavior's requests go: http origins
// (any HTTP/1.1 or HTTPS server) and dir origins (a directory served like a
// bucket). Each is an Origin: the edge prepares the outgoing request, the
// origin addresses it and sends it.
package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Origin fetches requests that the edge has rewritten for it: the URL path
// and query are those to ask the origin for.
type Origin interface {
	// Prepare addresses out to the origin (scheme, host, custom headers).
	// out belongs to the caller, who sends it with RoundTrip next.
	Prepare(out *http.Request)
	// RoundTrip sends a prepared request, as http.RoundTripper does.
	RoundTrip(out *http.Request) (*http.Response, error)
}

// IsTimeout reports whether err means the origin did not answer in time, as
// opposed to refusing or breaking the connection: 504 rather than 502.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// prefixPath puts prefix (an unescaped path with no trailing slash) before
// u's path, keeping u's own escaping.
func prefixPath(u *url.URL, prefix string) {
	if prefix == "" {
		return
	}
	if u.RawPath != "" {
		u.RawPath = (&url.URL{Path: prefix}).EscapedPath() + u.RawPath
	}
	u.Path = prefix + u.Path
}

// WithPath returns a copy of o that puts prefix (an origin path, as
// CloudFront's OriginPath: "" or "/x" without a trailing slash) before
// request paths instead of its own. Groups and origins without a path
// return false.
func WithPath(o Origin, prefix string) (Origin, bool) {
	switch v := o.(type) {
	case *HTTP:
		c := *v
		u := *v.target
		u.Path, u.RawPath = prefix, ""
		c.target = &u
		return &c, true
	case *S3:
		c := *v
		c.prefix = strings.Trim(prefix, "/")
		return &c, true
	case *Dir:
		c := *v
		c.prefix = prefix
		return &c, true
	}
	return nil, false
}

// WithHeaders returns o adding h to each request it prepares, after its
// own custom headers.
func WithHeaders(o Origin, h http.Header) Origin { return withHeaders{o, h} }

type withHeaders struct {
	Origin
	h http.Header
}

func (o withHeaders) Prepare(out *http.Request) {
	o.Origin.Prepare(out)
	for k, v := range o.h {
		out.Header[k] = v
	}
}

// WithResponseTimeout returns o giving up on a request whose response
// header has not come within d: a 504, as for the origin's own timeout.
func WithResponseTimeout(o Origin, d time.Duration) Origin { return responseTimeout{o, d} }

type responseTimeout struct {
	Origin
	d time.Duration
}

func (o responseTimeout) RoundTrip(out *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(out.Context())
	t := time.AfterFunc(o.d, func() { cancel(context.DeadlineExceeded) })
	resp, err := o.Origin.RoundTrip(out.WithContext(ctx))
	if !t.Stop() && err != nil {
		cancel(nil)
		return nil, fmt.Errorf("no response header within %v: %w", o.d, context.DeadlineExceeded)
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}
