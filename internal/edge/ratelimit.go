package edge

import (
	"hash/maphash"
	"math"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/edgefront/edgefront/internal/config"
)

// rateLimiter limits each client address to a rate with a burst, with one
// token bucket (golang.org/x/time/rate) per address. Its memory is
// bounded whatever the number of clients: at most maxClients buckets are
// kept; a full bucket holds no state and is dropped first, and when every
// bucket is in use a new client takes the place of another.
type rateLimiter struct {
	limit      rate.Limit
	burst      int
	perShard   int
	seed       maphash.Seed
	shards     [rateShards]rateShard
	maxClients int
}

const (
	rateShards = 64
	// DefaultMaxRateClients is how many client addresses a rate limit
	// keeps state for.
	DefaultMaxRateClients = 1 << 17
)

type rateShard struct {
	mu sync.Mutex
	m  map[netip.Addr]*rate.Limiter
	_  [40]byte // one shard a cache line
}

func newRateLimiter(perSecond float64, burst, maxClients int) *rateLimiter {
	if maxClients <= 0 {
		maxClients = DefaultMaxRateClients
	}
	rl := &rateLimiter{limit: rate.Limit(perSecond), burst: burst, seed: maphash.MakeSeed(),
		perShard: max(1, maxClients/rateShards), maxClients: maxClients}
	for i := range rl.shards {
		rl.shards[i].m = map[netip.Addr]*rate.Limiter{}
	}
	return rl
}

// allow takes a token for client, or says how long until one is there.
func (rl *rateLimiter) allow(client netip.Addr, now time.Time) (bool, time.Duration) {
	b := client.As16()
	sh := &rl.shards[maphash.Bytes(rl.seed, b[:])%rateShards]
	sh.mu.Lock()
	lim := sh.m[client]
	if lim == nil {
		if len(sh.m) >= rl.perShard {
			sh.makeRoom(now, rl.burst, rl.perShard)
		}
		lim = rate.NewLimiter(rl.limit, rl.burst)
		sh.m[client] = lim
	}
	sh.mu.Unlock()
	if lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - lim.TokensAt(now)
	return false, time.Duration(math.Ceil(missing / float64(rl.limit) * float64(time.Second)))
}

// makeRoom drops buckets that are full again (they hold no state), and
// when none is, one bucket in use.
func (sh *rateShard) makeRoom(now time.Time, burst, perShard int) {
	seen := 0
	var victim netip.Addr
	for a, lim := range sh.m {
		if lim.TokensAt(now) >= float64(burst) {
			delete(sh.m, a)
		} else if !victim.IsValid() {
			victim = a
		}
		if seen++; seen == 64 {
			break
		}
	}
	if len(sh.m) >= perShard && victim.IsValid() {
		delete(sh.m, victim)
	}
}

// clients is how many addresses have a bucket.
func (rl *rateLimiter) clients() int {
	n := 0
	for i := range rl.shards {
		sh := &rl.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// SharedLimits counts rate limits across the nodes of a cluster
// (cluster.Node).
type SharedLimits interface {
	// Allow takes one request for key from a limit of perSecond with
	// burst, or says how long until one is allowed. An error means it
	// could not be counted across the cluster.
	Allow(key string, perSecond float64, burst int) (bool, time.Duration, error)
	// Share is the part of a limit this node allows when it counts alone.
	Share() float64
}

// sharedLimit is a distribution's rate limit: counted across the cluster
// when there is one, and on this node, at its share of the limit, when
// the cluster cannot count it.
type sharedLimit struct {
	dist      string
	perSecond float64
	burst     int
	max       int
	shared    SharedLimits
	local     atomic.Pointer[localLimit]
}

// localLimit is the node's own limiter at a share of the limit.
type localLimit struct {
	share float64
	rl    *rateLimiter
}

func newSharedLimit(dist string, c *config.RateLimit, shared SharedLimits) *sharedLimit {
	l := &sharedLimit{dist: dist, perSecond: c.RequestsPerSecond, burst: c.Burst, max: c.MaxClients, shared: shared}
	l.local.Store(&localLimit{share: 1, rl: newRateLimiter(c.RequestsPerSecond, c.Burst, c.MaxClients)})
	return l
}

// allow takes a request of client, or says how long until one is allowed.
func (l *sharedLimit) allow(client netip.Addr, now time.Time) (bool, time.Duration) {
	if l.shared != nil {
		ok, wait, err := l.shared.Allow(l.dist+"|"+client.String(), l.perSecond, l.burst)
		if err == nil {
			return ok, wait
		}
		return l.atShare(l.shared.Share()).allow(client, now)
	}
	return l.local.Load().rl.allow(client, now)
}

// atShare is the local limiter at share of the limit, made anew when the
// share changed (a member joined or left).
func (l *sharedLimit) atShare(share float64) *rateLimiter {
	cur := l.local.Load()
	if cur.share == share {
		return cur.rl
	}
	burst := max(1, int(math.Ceil(float64(l.burst)*share)))
	next := &localLimit{share: share, rl: newRateLimiter(l.perSecond*share, burst, l.max)}
	if l.local.CompareAndSwap(cur, next) {
		return next.rl
	}
	return l.local.Load().rl
}

// retryAfter is the Retry-After value: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
