package edge

import (
	"context"
	"net/http"
	"net/netip"
)

// exchange is the one record of a viewer request: what the stages after
// the origin request need to know of it, and what the edge did with it.
type exchange struct {
	in       *http.Request // as the viewer sent it
	client   netip.Addr    // the viewer's address (trusted_proxies considered)
	viaProxy bool          // the peer is one of trusted_proxies
	w        http.ResponseWriter
	id       string
	accept   string
	dist     *Distribution
	behavior *Behavior
	fill     *fillWriter   // set on the origin request of a cache fill
	body     *limitedBody  // the viewer's body, when it is limited
	origin   *chosenOrigin // chosen by a function; nil for the behavior's own
	outcome  outcome
	answered *http.Response // the origin's answer, received by the raw pass, for the proxy to finish
	tags     []string       // the cache tags of the object answered from or filled, for the log
	node     bool           // the request comes from another node of the cluster
	shardTo  string         // the owner a fill asks, on a request to it
	shardErr error          // why the owner did not answer

	cw      compressWriter // the answer's, when the behavior compresses
	idBuf   [28]byte       // id's bytes (newID)
	idField [1]string      // X-Edge-Request-Id's value
}

type exchangeKey struct{}

// withExchange is ctx carrying ex, for the requests the edge sends on.
func withExchange(ctx context.Context, ex *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, ex)
}

// exchangeOf returns the exchange of a request the edge sends on (to the
// proxy, to a fill). It never returns nil: a request that carries none
// gets a record of its own, made from what it holds.
func exchangeOf(r *http.Request) *exchange {
	if ex, ok := r.Context().Value(exchangeKey{}).(*exchange); ok {
		return ex
	}
	return &exchange{in: r, accept: r.Header.Get("Accept")}
}

// outcome is what the edge did with a request. It writes X-Cache, and the
// access log (x-edge-result-type), the metrics and Server-Timing read it.
type outcome uint8

const (
	outcomeUnset         outcome = iota // nothing said: judged by the status
	outcomeHit                          // from the cache, fresh or allowed stale
	outcomeRefreshHit                   // from the cache, revalidated with the origin
	outcomeMiss                         // from the origin
	outcomeError                        // an error answered by the edge
	outcomeRedirect                     // redirected to HTTPS by the edge
	outcomeLimitExceeded                // refused by a rate limit
)

// xcache holds X-Cache's values, shared by every answer.
var xcache = [...][]string{
	outcomeHit:           {"Hit from edgefront"},
	outcomeRefreshHit:    {"RefreshHit from edgefront"},
	outcomeMiss:          {"Miss from edgefront"},
	outcomeError:         {"Error from edgefront"},
	outcomeRedirect:      {"Redirect from edgefront"},
	outcomeLimitExceeded: {"Error from edgefront"},
}

var outcomeNames = [...]string{
	outcomeHit: "Hit", outcomeRefreshHit: "RefreshHit", outcomeMiss: "Miss", outcomeError: "Error",
	outcomeRedirect: "Redirect", outcomeLimitExceeded: "LimitExceeded",
}

// result is x-edge-result-type: the outcome, or for an answer that said
// none (one the router refused before any distribution), by its status.
func (o outcome) result(status int) string {
	if o != outcomeUnset {
		return outcomeNames[o]
	}
	if status >= 400 {
		return "Error"
	}
	return "Miss"
}

// serverTiming is the outcome as Server-Timing's cdn-cache names it.
func (o outcome) serverTiming() string {
	switch o {
	case outcomeHit:
		return "cdn-cache-hit"
	case outcomeRefreshHit:
		return "cdn-cache-refresh"
	}
	return "cdn-cache-miss"
}

// stamp records the outcome and sets the fields every answer carries in
// h. ex may be nil, for answers given before any distribution.
func (ex *exchange) stamp(h http.Header, o outcome) {
	if ex != nil {
		ex.outcome = o
	}
	h["X-Cache"] = xcache[o]
	h.Add("Via", "1.1 edgefront")
}

// setOutcome records the outcome and writes X-Cache, for an answer that
// carries Via already (a stored one).
func (ex *exchange) setOutcome(h http.Header, o outcome) {
	ex.outcome = o
	h["X-Cache"] = xcache[o]
}
