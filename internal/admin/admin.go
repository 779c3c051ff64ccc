// Package admin is the admin listener's API: health, invalidations and
// reload. Every endpoint but /healthz asks for the bearer token when one is
// configured.
package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgefront/edgefront/internal/cache"
	"github.com/edgefront/edgefront/internal/cluster"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/edge"
)

// Edge is the running edge the API acts on.
type Edge interface {
	Router() *edge.Router
	Reload() error
	Metrics() *edge.Metrics // nil when there are none
	Cluster() *cluster.Node // nil on one node
}

// Limits of an invalidation request.
const (
	MaxPaths     = 3000
	MaxPathBytes = 4096
	maxBody      = 1 << 20
	keep         = 1000 // invalidations remembered for GET
)

// Invalidation is one invalidation request and its progress.
type Invalidation struct {
	ID           string    `json:"id"`
	Distribution string    `json:"distribution"`
	Paths        []string  `json:"paths"`
	Status       string    `json:"status"` // InProgress or Completed
	CreateTime   time.Time `json:"create_time"`
	// Waiting are, in a cluster, the live nodes that have not applied
	// it yet ("redis" while it waits to be published).
	Waiting []string `json:"waiting,omitempty"`
}

// Statuses of an invalidation, as CloudFront names them.
const (
	InProgress = "InProgress"
	Completed  = "Completed"
)

// API serves the admin endpoints.
type API struct {
	edge  Edge
	token string
	log   *slog.Logger
	mux   *http.ServeMux

	mu    sync.Mutex
	invs  map[string]*Invalidation
	order []string
	wg    sync.WaitGroup
}

// New returns the admin API of e. token, when not empty, is required as a
// bearer token on every endpoint but /healthz.
func New(e Edge, token string, log *slog.Logger) *API {
	if log == nil {
		log = slog.Default()
	}
	a := &API{edge: e, token: token, log: log, mux: http.NewServeMux(), invs: map[string]*Invalidation{}}
	a.mux.HandleFunc("GET /healthz", a.healthz)
	a.mux.HandleFunc("POST /invalidations", a.authed(a.createInvalidation))
	a.mux.HandleFunc("GET /invalidations/{id}", a.authed(a.getInvalidation))
	a.mux.HandleFunc("POST /reload", a.authed(a.reload))
	a.mux.HandleFunc("GET /api/stats", a.authed(a.stats))
	a.mux.HandleFunc("GET /api/explain", a.authed(a.explain))
	a.mux.Handle("GET /", dashboard())
	if m := e.Metrics(); m != nil {
		a.mux.Handle("GET /metrics", a.authed(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}).ServeHTTP))
	}
	// Go's profiler, as Caddy offers it on its admin endpoint.
	a.mux.HandleFunc("GET /debug/pprof/", a.authed(pprof.Index))
	a.mux.HandleFunc("GET /debug/pprof/profile", a.authed(pprof.Profile))
	a.mux.HandleFunc("GET /debug/pprof/trace", a.authed(pprof.Trace))
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Wait waits for the invalidations in progress.
func (a *API) Wait() { a.wg.Wait() }

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
	if n := a.edge.Cluster(); n != nil {
		// A node without Redis still serves: it says so, and stays 200.
		h := n.Health()
		if h.Up {
			fmt.Fprintf(w, "cluster: up, %d members, node %s\n", len(h.Members), n.Name())
		} else {
			fmt.Fprintf(w, "cluster: degraded for %s (Redis does not answer; serving alone), node %s\n", time.Since(h.DownSince).Round(time.Second), n.Name())
		}
	}
}

func (a *API) authed(h http.HandlerFunc) http.HandlerFunc {
	if a.token == "" {
		return h
	}
	want := []byte("Bearer " + a.token)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="edgefront admin"`)
			fail(w, http.StatusUnauthorized, "this endpoint needs the admin token: Authorization: Bearer <the token in admin.token_file>")
			return
		}
		h(w, r)
	}
}

// invalidationRequest is the body of POST /invalidations.
type invalidationRequest struct {
	Distribution string   `json:"distribution"`
	Paths        []string `json:"paths"`
}

func (a *API) createInvalidation(w http.ResponseWriter, r *http.Request) {
	var req invalidationRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "the body must be JSON such as {\"distribution\":\"main\",\"paths\":[\"/images/*\"]}: "+jsonError(err))
		return
	}
	if dec.More() {
		fail(w, http.StatusBadRequest, "the body must hold one JSON object")
		return
	}
	rt := a.edge.Router()
	dist, err := distribution(rt, req.Distribution)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	patterns, err := Patterns(req.Paths)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if d := rt.Distribution(dist); d != nil && d.TagHeader() == "" && slices.ContainsFunc(patterns, func(p string) bool { return strings.HasPrefix(p, "#") }) {
		fail(w, http.StatusBadRequest, fmt.Sprintf("distribution %q keeps no cache tags: set its cache_tag_header to invalidate by #tag", dist))
		return
	}
	inv := &Invalidation{ID: newID(), Distribution: dist, Paths: req.Paths, Status: InProgress, CreateTime: time.Now().UTC().Truncate(time.Second)}
	a.remember(inv)
	a.log.Info("invalidation", "id", inv.ID, "distribution", dist, "paths", len(patterns))
	if n := a.edge.Cluster(); n != nil {
		// Published (or kept for Redis) before the answer: an accepted
		// invalidation reaches every node. GET asks the cluster whether
		// they all applied it.
		if err := n.Invalidate(inv.ID, dist, patterns, inv.Paths, inv.CreateTime); err != nil {
			a.log.Error("invalidation", "id", inv.ID, "err", err)
		}
	}
	c := rt.Cache()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		c.Invalidate(dist, patterns)
		a.mu.Lock()
		inv.Status = Completed
		a.mu.Unlock()
	}()
	w.Header().Set("Location", "/invalidations/"+inv.ID)
	a.reply(w, http.StatusCreated, inv)
}

func (a *API) getInvalidation(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	inv, ok := a.invs[r.PathValue("id")]
	a.mu.Unlock()
	if n := a.edge.Cluster(); n != nil {
		st, err := n.Invalidation(r.Context(), r.PathValue("id"))
		switch {
		case err == nil:
			v := &Invalidation{ID: st.ID, Distribution: st.Distribution, Paths: st.Paths, Status: InProgress, CreateTime: st.Created, Waiting: st.Waiting}
			if st.Completed {
				v.Status = Completed
			}
			a.reply(w, http.StatusOK, v)
			return
		case errors.Is(err, cluster.ErrUnknown):
			ok = false
		case ok:
			// Redis does not answer: what this node knows is all it can say.
			a.mu.Lock()
			v := *inv
			a.mu.Unlock()
			v.Waiting = []string{"redis"}
			a.reply(w, http.StatusOK, &v)
			return
		default:
			fail(w, http.StatusServiceUnavailable, "the cluster's record of invalidations cannot be read (Redis does not answer); try again")
			return
		}
	}
	if !ok {
		fail(w, http.StatusNotFound, "no invalidation has that id")
		return
	}
	a.reply(w, http.StatusOK, inv)
}

// explain says what the running edge does with a request, and what its
// cache holds for it: ?url=URL[&method=GET][&header=Name: value]...
func (a *API) explain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	method := q.Get("method")
	if method == "" {
		method = http.MethodGet
	}
	req, err := edge.ExplainRequest(method, q.Get("url"), q["header"])
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error()+" (explain takes ?url=URL, and method= and header= when needed)")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	a.edge.Router().ExplainLive(w, req)
}

func (a *API) reload(w http.ResponseWriter, r *http.Request) {
	if err := a.edge.Reload(); err != nil {
		var probs config.Problems
		body := map[string]any{"error": "the config was refused; the one in force keeps serving"}
		if errors.As(err, &probs) {
			lines := make([]string, len(probs))
			for i, p := range probs {
				lines[i] = p.Error()
			}
			body["problems"] = lines
		} else {
			body["problems"] = []string{err.Error()}
		}
		a.log.Error("config reload refused; the previous config keeps serving", "err", err)
		writeJSON(w, http.StatusBadRequest, body)
		return
	}
	a.log.Info("config reloaded")
	writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded"})
}

// reply writes an invalidation as it stands.
func (a *API) reply(w http.ResponseWriter, status int, inv *Invalidation) {
	a.mu.Lock()
	v := *inv
	a.mu.Unlock()
	writeJSON(w, status, v)
}

func (a *API) remember(inv *Invalidation) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.invs[inv.ID] = inv
	a.order = append(a.order, inv.ID)
	if len(a.order) > keep {
		delete(a.invs, a.order[0])
		a.order = a.order[1:]
	}
}

// distribution resolves the distribution an invalidation names; it may be
// left out when there is only one.
func distribution(rt *edge.Router, name string) (string, error) {
	var names []string
	for _, d := range rt.Distributions() {
		if d.Name == name {
			return name, nil
		}
		names = append(names, d.Name)
	}
	if name == "" && len(names) == 1 {
		return names[0], nil
	}
	if name == "" {
		return "", fmt.Errorf("name the distribution to invalidate: one of %s", strings.Join(names, ", "))
	}
	return "", fmt.Errorf("there is no distribution %q: the distributions are %s", name, strings.Join(names, ", "))
}

// Patterns checks invalidation paths with CloudFront's rules and returns
// them as the cache matches them: decoded, without a query string. A path
// starts with /, and * may only be its last character; an item that starts
// with # is a cache tag, lower-cased.
func Patterns(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("paths is empty: list at least one path, such as /index.html or /images/*")
	}
	if len(paths) > MaxPaths {
		return nil, fmt.Errorf("%d paths is more than the %d one invalidation may hold", len(paths), MaxPaths)
	}
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if tag, ok := strings.CutPrefix(p, "#"); ok {
			// A cache tag, as CloudFront's: exact, without case, no wildcard.
			tag = strings.ToLower(tag)
			if !cache.ValidTag(tag) {
				return nil, fmt.Errorf("tag %.60q must be 1 to %d visible ASCII characters other than the comma", p, cache.MaxTagBytes)
			}
			if !slices.Contains(out, "#"+tag) {
				out = append(out, "#"+tag)
			}
			continue
		}
		switch {
		case !strings.HasPrefix(p, "/"):
			return nil, fmt.Errorf("path %q must start with / (or # for a cache tag)", p)
		case len(p) > MaxPathBytes:
			return nil, fmt.Errorf("path %.40q... is longer than %d bytes", p, MaxPathBytes)
		case strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
			return nil, fmt.Errorf("path %q holds a control character", p)
		}
		if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
			return nil, fmt.Errorf("path %q has * before its end: a wildcard may only be the last character, as in /images/*", p)
		}
		// Invalidating a path covers every query string of it, so a path
		// with a query string invalidates the whole path.
		pathPart, _, _ := strings.Cut(p, "?")
		dec, err := url.PathUnescape(pathPart)
		if err != nil {
			return nil, fmt.Errorf("path %q has a bad %%-escape", p)
		}
		if !slices.Contains(out, dec) {
			out = append(out, dec)
		}
	}
	return out, nil
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID makes an invalidation id in CloudFront's style: I and 13
// upper-case letters and digits.
func newID() string {
	var b [9]byte
	rand.Read(b[:])
	return "I" + idEncoding.EncodeToString(b[:])[:13]
}

func jsonError(err error) string {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Sprintf("it is larger than %d bytes", mbe.Limit)
	}
	return err.Error()
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
