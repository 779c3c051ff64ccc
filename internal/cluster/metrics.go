package cluster

import "github.com/prometheus/client_golang/prometheus"

// Collectors are the node's metrics, for the admin listener's /metrics.
func (n *Node) Collectors() []prometheus.Collector {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	counter := func(name, help string, pick func(c counters) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
			n.mu.Lock()
			defer n.mu.Unlock()
			return float64(pick(n.counters))
		})
	}
	return []prometheus.Collector{
		gauge("edgefront_cluster_up", "1 while Redis answers this node, 0 while it serves alone.", func() float64 {
			if n.Health().Up {
				return 1
			}
			return 0
		}),
		gauge("edgefront_cluster_members", "Live members of the cluster, as this node last read them.", func() float64 {
			return float64(len(n.Health().Members))
		}),
		gauge("edgefront_cluster_invalidation_lag_seconds", "How long this node may have missed invalidations for: 0 while it follows the stream.", func() float64 {
			return n.Health().Lag.Seconds()
		}),
		gauge("edgefront_cluster_rate_limit_local", "1 while rate limits are counted on this node at its share, because Redis does not answer.", func() float64 {
			if n.FallingBack() {
				return 1
			}
			return 0
		}),
		counter("edgefront_cluster_rate_limit_fallbacks_total", "Times rate limits fell back to this node's share.", func(c counters) uint64 { return c.fallbacks }),
		counter("edgefront_cluster_invalidations_applied_total", "Stream entries this node applied.", func(c counters) uint64 { return c.applied }),
		counter("edgefront_cluster_invalidations_published_total", "Invalidations this node published to the stream.", func(c counters) uint64 { return c.published }),
		counter("edgefront_cluster_stale_marks_total", "Times every stored object was marked stale because the node could not know what it missed.", func(c counters) uint64 { return c.staleMarks }),
		counter("edgefront_cluster_stale_objects_total", "Objects marked stale by those times.", func(c counters) uint64 { return c.staleObjects }),
	}
}
