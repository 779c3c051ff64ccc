package admin

import (
	"embed"
	"io/fs"
	"net/http"
	"sort"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/edgefront/edgefront/internal/cluster"
	"github.com/edgefront/edgefront/internal/server"
)

//go:embed dashboard
var dashboardFS embed.FS

// Stats is what the dashboard shows: running totals, from which it
// computes rates between two polls.
type Stats struct {
	Time          int64                `json:"time"` // unix milliseconds
	Requests      float64              `json:"requests"`
	Hits          float64              `json:"hits"`
	Misses        float64              `json:"misses"`
	Status        map[string]float64   `json:"status"`
	Origins       []OriginStats        `json:"origins"`
	Certificates  []CertStats          `json:"certificates"`
	Reloads       []server.ReloadEvent `json:"reloads"`
	Invalidations []Invalidation       `json:"invalidations"`
	CacheObjects  float64              `json:"cache_objects"`
	CacheBytes    float64              `json:"cache_bytes"`
	Connections   float64              `json:"connections"`
	Cluster       *ClusterStats        `json:"cluster,omitempty"`
}

// ClusterStats is the node's view of its cluster.
type ClusterStats struct {
	Node string `json:"node"`
	Up   bool   `json:"up"`
	// DownFor is how long Redis has not answered, in seconds; 0 while up.
	DownFor    float64          `json:"down_for"`
	LagSeconds float64          `json:"lag_seconds"`
	Members    []cluster.Member `json:"members"`
}

// OriginStats are one origin's totals.
type OriginStats struct {
	Distribution string  `json:"distribution"`
	Origin       string  `json:"origin"`
	Requests     float64 `json:"requests"`
	Errors       float64 `json:"errors"`
	Seconds      float64 `json:"seconds"` // sum of latencies
}

// CertStats is a certificate and when it expires.
type CertStats struct {
	Name    string `json:"name"`
	Expires int64  `json:"expires"` // unix seconds
}

// reloader is the part of the server that keeps its reloads.
type reloader interface{ Reloads() []server.ReloadEvent }

func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	st := Stats{Time: time.Now().UnixMilli(), Status: map[string]float64{}}
	if m := a.edge.Metrics(); m != nil {
		families, _ := m.Registry.Gather()
		origins := map[[2]string]*OriginStats{}
		origin := func(labels []*dto.LabelPair) *OriginStats {
			k := [2]string{label(labels, "distribution"), label(labels, "origin")}
			if origins[k] == nil {
				origins[k] = &OriginStats{Distribution: k[0], Origin: k[1]}
			}
			return origins[k]
		}
		for _, f := range families {
			for _, mt := range f.GetMetric() {
				switch f.GetName() {
				case "edgefront_requests_total":
					v := mt.GetCounter().GetValue()
					st.Requests += v
					st.Status[label(mt.GetLabel(), "status")] += v
					switch label(mt.GetLabel(), "cache") {
					case "Hit", "RefreshHit":
						st.Hits += v
					case "Miss":
						st.Misses += v
					}
				case "edgefront_origin_duration_seconds":
					o := origin(mt.GetLabel())
					o.Requests += float64(mt.GetHistogram().GetSampleCount())
					o.Seconds += mt.GetHistogram().GetSampleSum()
				case "edgefront_origin_errors_total":
					origin(mt.GetLabel()).Errors += mt.GetCounter().GetValue()
				case "edgefront_certificate_expiry_timestamp_seconds":
					st.Certificates = append(st.Certificates, CertStats{label(mt.GetLabel(), "name"), int64(mt.GetGauge().GetValue())})
				case "edgefront_cache_objects":
					st.CacheObjects = mt.GetGauge().GetValue()
				case "edgefront_cache_bytes":
					st.CacheBytes = mt.GetGauge().GetValue()
				case "edgefront_connections":
					st.Connections = mt.GetGauge().GetValue()
				}
			}
		}
		for _, o := range origins {
			st.Origins = append(st.Origins, *o)
		}
		sort.Slice(st.Origins, func(i, j int) bool {
			return st.Origins[i].Distribution+st.Origins[i].Origin < st.Origins[j].Distribution+st.Origins[j].Origin
		})
	}
	if rl, ok := a.edge.(reloader); ok {
		st.Reloads = rl.Reloads()
	}
	if n := a.edge.Cluster(); n != nil {
		h := n.Health()
		cs := &ClusterStats{Node: n.Name(), Up: h.Up, LagSeconds: h.Lag.Seconds(), Members: h.Members}
		if !h.Up && !h.DownSince.IsZero() {
			cs.DownFor = time.Since(h.DownSince).Seconds()
		}
		st.Cluster = cs
	}
	a.mu.Lock()
	for i := len(a.order) - 1; i >= 0 && len(st.Invalidations) < 10; i-- {
		st.Invalidations = append(st.Invalidations, *a.invs[a.order[i]])
	}
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

func label(ls []*dto.LabelPair, name string) string {
	for _, l := range ls {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// dashboard serves the page and its assets; the page asks /api/stats.
func dashboard() http.Handler {
	sub, _ := fs.Sub(dashboardFS, "dashboard")
	return http.FileServerFS(sub)
}
