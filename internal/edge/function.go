package edge

import (
	"errors"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/functions"
)

// behaviorFunctions compiles a behavior's CloudFront Functions.
// compileFunctions reads and compiles a behavior's functions (at is the
// behavior's config path), with the key value store they read.
func compileFunctions(at string, c *config.Functions, stores map[string]map[string]string, budget time.Duration, probs *problems) (req, resp *functions.Function) {
	if c == nil {
		return nil, nil
	}
	kvs := stores[c.KeyValueStore]
	load := func(key, file string) *functions.Function {
		if file == "" {
			return nil
		}
		src, err := os.ReadFile(file)
		if err != nil {
			probs.add(at+".functions."+key, err)
			return nil
		}
		f, err := functions.Compile(file, string(src))
		if err != nil {
			probs.add(at+".functions."+key, err)
			return nil
		}
		f.KVS, f.Budget = kvs, budget
		return f
	}
	return load("viewer_request", c.ViewerRequest), load("viewer_response", c.ViewerResponse)
}

// event is CloudFront's event for r.
func (b *Behavior) event(r *http.Request, ex *exchange, eventType string) functions.Event {
	return functions.Event{Type: eventType, DistributionDomainName: stripPort(r.Host), DistributionID: b.dist.Name,
		RequestID: ex.id, Viewer: ex.client, Method: r.Method, URI: r.URL.Path, RawQuery: r.URL.RawQuery,
		Host: r.Host, Header: r.Header}
}

// applyRequest makes the request a viewer-request function returned,
// copying only what it changed.
func applyRequest(r *http.Request, res *functions.Request) *http.Request {
	if !res.QueryChanged && !res.HeaderChanged && res.Host == r.Host {
		if res.URI == r.URL.Path {
			return r
		}
		return withPath(r, res.URI)
	}
	r2 := withPath(r, res.URI)
	r2.URL.RawQuery = res.RawQuery
	r2.Host = res.Host
	if res.HeaderChanged {
		r2.Header = res.Header
	}
	return r2
}

// writeFunctionResponse answers with the response a function built.
func writeFunctionResponse(w http.ResponseWriter, ex *exchange, res *functions.Response, head bool) {
	h := w.Header()
	for k, v := range res.Header {
		h[k] = v
	}
	ex.stamp(h, outcomeMiss)
	h["Content-Length"] = []string{strconv.Itoa(len(res.Body))}
	w.WriteHeader(res.StatusCode)
	if !head {
		w.Write(res.Body)
	}
}

func (b *Behavior) functionLogs(f *functions.Function, ex *exchange, logs []string) {
	for _, l := range logs {
		b.dist.log.Info("function log", "function", f.Name, "request_id", ex.id, "line", l)
	}
}

var errBadFunctionResult = errors.New("the function returned no response")

// functionFailed answers 503 for a function that threw, ran out of time or
// returned something that is not a request or a response.
func (b *Behavior) functionFailed(w http.ResponseWriter, r *http.Request, ex *exchange, f string, err error) {
	b.dist.log.Warn("function failed", "distribution", b.dist.Name, "function", f, "request_id", ex.id, "err", err)
	b.dist.fail(w, r, ex, http.StatusServiceUnavailable, "the distribution's function failed")
}

// runViewerRequest runs the behavior's viewer-request function. It returns
// the request to go on with, or false when the function (or its failure)
// answered.
func (b *Behavior) runViewerRequest(w http.ResponseWriter, r *http.Request, ex *exchange) (*http.Request, bool) {
	f := b.viewerRequest
	ev := b.event(r, ex, "viewer-request")
	out, err := f.Run(&ev)
	b.functionLogs(f, ex, out.Logs)
	if err != nil {
		b.functionFailed(w, r, ex, f.Name, err)
		return nil, false
	}
	if out.Response != nil {
		writeFunctionResponse(w, ex, out.Response, r.Method == http.MethodHead)
		return nil, false
	}
	if out.Origin != nil {
		if err := b.chooseOrigin(ex, out.Origin); err != nil {
			b.functionFailed(w, r, ex, f.Name, err)
			return nil, false
		}
	}
	return applyRequest(r, out.Request), true
}

// keptFields are the answer's fields a viewer-response function cannot
// take away: they describe the body and the edge's handling of it.
var keptFields = []string{"X-Cache", "Via", "X-Edge-Request-Id", "Content-Length", "Content-Encoding", "Transfer-Encoding"}

// runViewerResponse is the hook that runs the viewer-response function as
// the answer's header is written. It returns the status to send, or false
// when the function failed and the 503 was sent instead.
func (b *Behavior) runViewerResponse(w http.ResponseWriter, r *http.Request, ex *exchange) func(int) (int, bool) {
	return func(code int) (int, bool) {
		f := b.viewerResponse
		h := w.Header()
		ev := b.event(r, ex, "viewer-response")
		ev.Response = &functions.Response{StatusCode: code, Header: h}
		out, err := f.Run(&ev)
		b.functionLogs(f, ex, out.Logs)
		if err == nil && out.Response == nil {
			err = errBadFunctionResult
		}
		if err != nil {
			clear(h)
			b.functionFailed(w, r, ex, f.Name, err)
			return 0, false
		}
		if out.HeaderChanged {
			next := out.Response.Header
			for _, k := range keptFields {
				if v, ok := h[k]; ok {
					next[k] = v
				}
			}
			clear(h)
			for k, v := range next {
				h[k] = v
			}
		}
		return out.Response.StatusCode, true
	}
}
