package origin

import (
	"io"
	"net/http"
	"slices"
)

// Group is an origin group: requests go to the primary origin, and a GET,
// HEAD or OPTIONS that the primary could not answer (a connection error, a
// timeout) or answered with one of the failover statuses goes to the
// secondary, as CloudFront's origin groups do.
type Group struct {
	Primary, Secondary         Origin
	PrimaryName, SecondaryName string
	Statuses                   []int
	// OnFailover, when not nil, is told each failover: the primary's
	// status, or its error.
	OnFailover func(r *http.Request, status int, err error)
}

// Prepare leaves the request as the behavior made it: each member
// addresses its own copy.
func (g *Group) Prepare(out *http.Request) {}

// RoundTrip asks the primary, and the secondary when the primary fails.
func (g *Group) RoundTrip(r *http.Request) (*http.Response, error) {
	failover := r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
	first := r
	if failover {
		first = r.Clone(r.Context())
	}
	g.Primary.Prepare(first)
	resp, err := g.Primary.RoundTrip(first)
	if !failover || r.Context().Err() != nil {
		return resp, err
	}
	status := 0
	if err == nil {
		if !slices.Contains(g.Statuses, resp.StatusCode) {
			return resp, nil
		}
		status = resp.StatusCode
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets a small answer's connection be reused
		resp.Body.Close()
	}
	if g.OnFailover != nil {
		g.OnFailover(r, status, err)
	}
	second := r.Clone(r.Context())
	g.Secondary.Prepare(second)
	return g.Secondary.RoundTrip(second)
}
