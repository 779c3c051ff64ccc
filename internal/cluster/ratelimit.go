package cluster

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
)

// Rate limits are counted in Redis with GCRA (go-redis/redis_rate), by
// Redis's clock, each call bounded by Options.Timeout. After
// fallbackAfter failures in a row the node stops asking and counts
// locally at its share of the limit; once every probeEvery it asks again,
// and goes back when Redis answers.
const fallbackAfter = 3

var probeEvery = time.Second

// ErrCountedLocally is returned by Allow while the node counts alone.
var ErrCountedLocally = errors.New("rate limit counted on this node: Redis does not answer")

type limits struct {
	n  *Node
	rl *redis_rate.Limiter

	mu       sync.Mutex
	failures int
	fallback bool
	probeAt  time.Time
}

func newLimits(n *Node) *limits { return &limits{n: n, rl: redis_rate.NewLimiter(n.rdb)} }

// Allow takes one request for key from a limit of perSecond with burst,
// counted across the cluster, or says how long until one is allowed.
// An error means it could not be counted there: the caller counts it
// locally at Share of the limit.
func (n *Node) Allow(key string, perSecond float64, burst int) (bool, time.Duration, error) {
	l := n.limits
	now := time.Now()
	l.mu.Lock()
	if l.fallback {
		if now.Before(l.probeAt) {
			l.mu.Unlock()
			return false, 0, ErrCountedLocally
		}
		l.probeAt = now.Add(probeEvery) // this call is the probe
	}
	l.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), n.opts.Timeout)
	res, err := l.rl.Allow(ctx, n.keys.ratePrefix+key, gcra(perSecond, burst))
	cancel()

	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failures++
		if !l.fallback && l.failures >= fallbackAfter {
			l.fallback, l.probeAt = true, now.Add(probeEvery)
			n.mu.Lock()
			n.counters.fallbacks++
			n.mu.Unlock()
			n.log.Warn("cluster: rate limits counted on this node at its share until Redis answers", "share", n.Share(), "err", err)
		}
		return false, 0, err
	}
	if l.fallback {
		n.log.Info("cluster: rate limits counted in Redis again")
	}
	l.failures, l.fallback = 0, false
	if res.Allowed > 0 {
		return true, 0, nil
	}
	return false, res.RetryAfter, nil
}

// FallingBack reports whether rate limits are counted on this node.
func (n *Node) FallingBack() bool {
	n.limits.mu.Lock()
	defer n.limits.mu.Unlock()
	return n.limits.fallback
}

// Share is the part of a cluster-wide limit this node allows when it
// counts alone: one over the live members it last saw.
func (n *Node) Share() float64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return 1 / float64(max(1, len(n.members)))
}

// gcra is a limit of perSecond (which may be fractional) with burst, in
// redis_rate's whole-number terms.
func gcra(perSecond float64, burst int) redis_rate.Limit {
	return redis_rate.Limit{Rate: max(1, int(math.Round(perSecond*1000))), Period: 1000 * time.Second, Burst: max(1, burst)}
}
