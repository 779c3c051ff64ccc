package edge

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgefront/edgefront/internal/clock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics counts what the edge does, for the admin listener's /metrics.
// One Metrics lives as long as the process; each config compiled reports
// into it, and the cache it reads is the one in force.
type Metrics struct {
	Registry *prometheus.Registry

	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	bytesOut      *prometheus.CounterVec
	bytesIn       *prometheus.CounterVec
	originSeconds *prometheus.HistogramVec
	originErrors  *prometheus.CounterVec
	rateLimited   *prometheus.CounterVec
	failovers     *prometheus.CounterVec
	Reloads       *prometheus.CounterVec
	Connections   prometheus.Gauge
	certs         certCollector

	counters sync.Map // reqKey → prometheus.Counter, so a request costs no label hashing
	perDist  sync.Map // distribution → *distMetrics

	router       atomic.Pointer[Router] // the config in force, for the cache's gauges
	hits, misses atomic.Uint64
}

type reqKey struct {
	dist, behavior string
	class          uint8
	result         string
}

// NewMetrics registers edgefront's metrics, and Go's, in a new registry.
// dropped, when not nil, reports the access log's dropped lines.
func NewMetrics(dropped func() uint64) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.Registry.MustRegister(c) }
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgefront_requests_total",
		Help: "Viewer requests by distribution, behavior, status class and cache result."},
		[]string{"distribution", "behavior", "status", "cache"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "edgefront_request_duration_seconds",
		Help: "Time from a request to the last byte of its answer, by distribution.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9)},
		[]string{"distribution"})
	m.bytesOut = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgefront_response_bytes_total",
		Help: "Body bytes sent to viewers, by distribution."}, []string{"distribution"})
	m.bytesIn = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgefront_request_bytes_total",
		Help: "Bytes viewers sent (request line, header fields, declared body), by distribution."}, []string{"distribution"})
	m.originSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "edgefront_origin_duration_seconds",
		Help: "Time from an origin request to its response header, by origin.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9)},
		[]string{"distribution", "origin"})
	m.originErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgefront_origin_errors_total",
		Help: "Origin requests that got no response (refused, timed out, cut), by origin."}, []string{"distribution", "origin"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgefront_rate_limited_total",
		Help: "Requests refused with 429 by a rate limit, by distribution."}, []string{"distribution"})
	m.failovers = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgefront_origin_failovers_total",
		Help: "Requests an origin group sent to its secondary origin, by group."}, []string{"distribution", "group"})
	m.Reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgefront_reloads_total",
		Help: "Config reloads, by result (ok or refused)."}, []string{"result"})
	m.Connections = prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgefront_connections",
		Help: "Viewer connections open."})
	m.certs.desc = prometheus.NewDesc("edgefront_certificate_expiry_timestamp_seconds",
		"When the certificate served for each name expires.", []string{"name"}, nil)
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.bytesOut, m.bytesIn, m.originSeconds,
		m.originErrors, m.rateLimited, m.failovers, m.Reloads, m.Connections, &m.certs} {
		f(c)
	}
	cacheStat := func(pick func(objects int, bytes, evictions uint64) float64) func() float64 {
		return func() float64 {
			rt := m.router.Load()
			if rt == nil || rt.cache == nil {
				return 0
			}
			return pick(rt.cache.Stats())
		}
	}
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgefront_cache_objects", Help: "Objects in the cache."},
		cacheStat(func(o int, _, _ uint64) float64 { return float64(o) })))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgefront_cache_bytes", Help: "Bytes the cache holds, in memory and on disk."},
		cacheStat(func(_ int, b, _ uint64) float64 { return float64(b) })))
	f(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edgefront_cache_evictions_total", Help: "Objects the cache dropped to make room."},
		cacheStat(func(_ int, _, e uint64) float64 { return float64(e) })))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgefront_cache_hit_ratio",
		Help: "Hits and refresh hits over every answer that went through the cache, since start."}, m.hitRatio))
	if dropped != nil {
		f(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edgefront_access_log_dropped_total",
			Help: "Access log lines dropped because the disk did not keep up."}, func() float64 { return float64(dropped()) }))
	}
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// certCollector reports the expiry of the certificates in use, asking
// where they come from (files, ACME) at each scrape.
type certCollector struct {
	desc   *prometheus.Desc
	source atomic.Pointer[func() map[string]time.Time]
}

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.source.Load()
	if f == nil {
		return
	}
	for name, t := range (*f)() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(t.Unix()), name)
	}
}

// Certificates sets where the certificates' expiry times come from.
func (m *Metrics) Certificates(f func() map[string]time.Time) { m.certs.source.Store(&f) }

// Use makes rt the config whose cache the gauges read.
func (m *Metrics) Use(rt *Router) { m.router.Store(rt) }

func (m *Metrics) hitRatio() float64 {
	h, ms := m.hits.Load(), m.misses.Load()
	if h+ms == 0 {
		return 0
	}
	return float64(h) / float64(h+ms)
}

var statusClasses = [...]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

type distMetrics struct {
	duration        prometheus.Observer
	bytesOut, bytes prometheus.Counter
	rateLimited     prometheus.Counter
}

func (m *Metrics) dist(name string) *distMetrics {
	if d, ok := m.perDist.Load(name); ok {
		return d.(*distMetrics)
	}
	d, _ := m.perDist.LoadOrStore(name, &distMetrics{m.duration.WithLabelValues(name), m.bytesOut.WithLabelValues(name),
		m.bytesIn.WithLabelValues(name), m.rateLimited.WithLabelValues(name)})
	return d.(*distMetrics)
}

func (m *Metrics) request(rec *recorder, ex *exchange, bytesIn int64, result string, took time.Duration) {
	dist, behavior := "-", "-"
	if ex.dist != nil {
		dist = ex.dist.Name
	}
	if ex.behavior != nil {
		behavior = ex.behavior.pattern.String()
		if behavior == "" {
			behavior = "default"
		}
	}
	class := uint8(0)
	if c := rec.status / 100; c >= 1 && c <= 5 {
		class = uint8(c)
	}
	key := reqKey{dist, behavior, class, result}
	c, ok := m.counters.Load(key)
	if !ok {
		c, _ = m.counters.LoadOrStore(key, m.requests.WithLabelValues(dist, behavior, statusClasses[class], result))
	}
	c.(prometheus.Counter).Inc()
	switch result {
	case "Hit", "RefreshHit":
		m.hits.Add(1)
	case "Miss":
		if ex.behavior != nil && ex.behavior.cache != nil {
			m.misses.Add(1)
		}
	}
	d := m.dist(dist)
	if result == "LimitExceeded" {
		d.rateLimited.Inc()
	}
	d.duration.Observe(took.Seconds())
	d.bytesOut.Add(float64(rec.bodyBytes))
	d.bytes.Add(float64(bytesIn))
}

func (m *Metrics) failover(dist, group string) { m.failovers.WithLabelValues(dist, group).Inc() }

// timedTransport measures an origin's latency and counts its failures.
type timedTransport struct {
	http.RoundTripper
	seconds prometheus.Observer
	errors  prometheus.Counter
}

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := clock.Mono()
	resp, err := t.RoundTripper.RoundTrip(r)
	t.account(r, start, err)
	return resp, err
}

// account counts an origin request that started at start and ended with
// err: its latency, or a failure that was not the viewer's leaving.
func (t *timedTransport) account(r *http.Request, start time.Time, err error) {
	if err != nil {
		if r.Context().Err() == nil {
			t.errors.Inc()
		}
		return
	}
	t.seconds.Observe(time.Since(start).Seconds())
}

func (m *Metrics) transport(rt http.RoundTripper, dist, originName string) http.RoundTripper {
	return &timedTransport{RoundTripper: rt, seconds: m.originSeconds.WithLabelValues(dist, originName),
		errors: m.originErrors.WithLabelValues(dist, originName)}
}
