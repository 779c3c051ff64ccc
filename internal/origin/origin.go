// Package origin holds the places a behavior's requests go: http origins
// (any HTTP/1.1 or HTTPS server) and dir origins (a directory served like a
// bucket). Each is an Origin: the edge prepares the outgoing request, the
// origin addresses it and sends it.
package origin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
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
