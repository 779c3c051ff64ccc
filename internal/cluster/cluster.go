// Package cluster is what edgefront nodes share through Redis (or
// Valkey): the invalidation stream, the members and how far each has
// applied it, and rate-limit counters. Redis being away never stops a node
// from serving: it goes on alone, says so, and catches up when Redis
// answers again.
package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options is what a node needs to join its cluster.
type Options struct {
	// URL is redis://[user:password@]host:port[/db] or rediss://.
	URL string
	// CAFile is a PEM file of extra roots for rediss://.
	CAFile string
	// Node is this node's name, unique in the cluster.
	Node string
	// Advertise is where other nodes reach this node's HTTP listener.
	Advertise string
	// State is the folder for the stream cursor and the outbox; "" keeps
	// them in memory.
	State string
	// Timeout bounds each rate-limit call.
	Timeout time.Duration
	// Prefix starts every key edgefront writes ("edgefront:" when empty).
	Prefix string

	// Apply makes the local cache drop what an invalidation covers:
	// patterns as the cache matches them (paths and #tags).
	Apply func(dist string, patterns []string)
	// Objects is how many objects the local cache holds.
	Objects func() int
	// MarkStale makes every object stored now stale: it is revalidated
	// before it is served again. It returns how many there were.
	MarkStale func() int
	// Log is where the node logs (slog.Default() when nil).
	Log *slog.Logger
}

// Timing of the node's loops; variables so that tests can shorten them.
var (
	heartbeatEvery = time.Second
	memberTTL      = 5 * time.Second
	readBlock      = 2 * time.Second
	retryMin       = 100 * time.Millisecond
	retryMax       = 2 * time.Second
	// StartWait is how long Open waits for the node to catch up with the
	// stream before it serves; past it the node's objects are marked stale.
	StartWait = 5 * time.Second
)

// Node is this process's membership of a cluster.
type Node struct {
	opts   Options
	rdb    *redis.Client
	log    *slog.Logger
	keys   keys
	state  *state
	limits *limits

	mu        sync.Mutex
	up        bool
	downSince time.Time
	members   []Member
	started   time.Time
	// confirmed is when the node last knew it had applied every entry;
	// live is true while it waits on the stream with nothing missed.
	confirmed time.Time
	live      bool
	ready     chan struct{} // closed once the node first caught up
	readyOnce sync.Once
	wake      chan struct{} // the outbox has entries to publish
	// stopFollow ends the reader's current pass, to sync again.
	stopFollow context.CancelFunc

	counters counters
	joined   atomic.Bool // Redis has answered once

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// counters are what the node counts, for metrics.
type counters struct {
	applied, published, staleMarks, staleObjects, fallbacks uint64
}

// Member is a live node of the cluster.
type Member struct {
	Name      string `json:"name"`
	Advertise string `json:"advertise,omitempty"`
	// Applied is the id of the last stream entry the node applied.
	Applied string    `json:"applied"`
	Started time.Time `json:"started"`
}

// Open joins the cluster: it connects to Redis, catches up with the
// invalidation stream (waiting up to StartWait), and starts the loops that
// keep the node's membership and cache current. A Redis that cannot be
// reached does not stop it: the node starts alone, its objects marked
// stale, and joins when Redis answers. Wrong credentials do.
func Open(ctx context.Context, o Options) (*Node, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Prefix == "" {
		o.Prefix = "edgefront:"
	}
	if o.Timeout <= 0 {
		o.Timeout = 50 * time.Millisecond
	}
	quietOnce.Do(func() { redis.SetLogger(redisLog{}) })
	rdb, addr, err := newClient(o.URL, o.CAFile)
	if err != nil {
		return nil, err
	}
	st, err := openState(o.State)
	if err != nil {
		return nil, err
	}
	n := &Node{opts: o, rdb: rdb, log: o.Log, keys: keysOf(o.Prefix, o.Node), state: st,
		ready: make(chan struct{}), wake: make(chan struct{}, 1), downSince: time.Now()}
	n.limits = newLimits(n)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err = n.rdb.Ping(pctx).Err()
	cancel()
	if isAuthError(err) {
		n.rdb.Close()
		return nil, fmt.Errorf("cluster.redis: Redis at %s refused the credentials (%v): check the user and password in the URL", addr, err)
	}
	if err != nil {
		o.Log.Warn("cluster: Redis does not answer; serving alone until it does", "redis", addr, "err", err)
	}
	if o.State == "" {
		o.Log.Info("cluster: no state folder (cluster.state or a disk tier): invalidations taken while Redis is away are kept in memory only")
	}
	runCtx, stop := context.WithCancel(context.Background())
	n.cancel = stop
	n.wg.Add(3)
	go n.readLoop(runCtx)
	go n.heartbeatLoop(runCtx)
	go n.outboxLoop(runCtx)
	if len(n.state.outbox()) > 0 {
		n.kick()
	}
	t := time.NewTimer(StartWait)
	defer t.Stop()
	select {
	case <-n.ready:
	case <-t.C:
		// The stream could not be read: what the node holds may have
		// been invalidated meanwhile.
		n.markStale("the invalidation stream could not be read at start")
	case <-ctx.Done():
		n.Close()
		return nil, ctx.Err()
	}
	return n, nil
}

// Close leaves the cluster: the loops stop and the node's membership is
// withdrawn.
func (n *Node) Close() {
	n.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	n.rdb.Del(ctx, n.keys.member)
	n.rdb.SRem(ctx, n.keys.members, n.opts.Node)
	cancel()
	// Closing the client ends the read blocked on the stream.
	n.rdb.Close()
	n.wg.Wait()
}

// Name is this node's name.
func (n *Node) Name() string { return n.opts.Node }

// Health is the node's view of the cluster.
type Health struct {
	Up bool
	// DownSince is when Redis stopped answering; zero while up.
	DownSince time.Time
	Members   []Member
	// Lag is how long the node may have missed invalidations for: 0
	// while it follows the stream.
	Lag time.Duration
}

// Health says whether Redis answers, who the members are and how far
// behind the stream the node may be.
func (n *Node) Health() Health {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := Health{Up: n.up, Members: append([]Member(nil), n.members...)}
	if !n.up {
		h.DownSince = n.downSince
	}
	if !(n.up && n.live) && !n.confirmed.IsZero() {
		h.Lag = time.Since(n.confirmed)
	} else if !n.up {
		h.Lag = time.Since(n.downSince)
	}
	return h
}

// Counts are the node's counters: entries applied and published, times
// every object was marked stale and how many objects that was, rate-limit
// fallbacks.
func (n *Node) Counts() (applied, published, staleMarks, staleObjects, fallbacks uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.counters
	return c.applied, c.published, c.staleMarks, c.staleObjects, c.fallbacks
}

// setUp records whether Redis answered the last call.
func (n *Node) setUp(up bool, err error) {
	n.mu.Lock()
	was := n.up
	n.up = up
	if !up {
		n.live = false
		if was {
			n.downSince = time.Now()
		}
	}
	since := n.downSince
	n.mu.Unlock()
	switch {
	case was && !up:
		n.log.Warn("cluster: Redis stopped answering; serving alone", "err", err)
	case !was && up && n.joined.Swap(true):
		n.log.Info("cluster: Redis answers again", "after", time.Since(since).Round(time.Millisecond))
		n.kick()
	case !was && up:
		n.log.Info("cluster: joined", "node", n.opts.Node)
	}
}

// markStale makes every object the node holds stale, and counts it.
func (n *Node) markStale(why string) {
	count := 0
	if n.opts.MarkStale != nil {
		count = n.opts.MarkStale()
	}
	n.mu.Lock()
	n.counters.staleMarks++
	n.counters.staleObjects += uint64(count)
	n.mu.Unlock()
	n.log.Warn("cluster: every stored object marked stale; each is revalidated before it is served", "why", why, "objects", count)
}

func (n *Node) kick() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// newClient connects to the Redis a URL names, with short deadlines: a
// node never waits long on Redis. redis:// and rediss:// name one server;
// redis+sentinel:// (rediss+sentinel:// for TLS) names Sentinels, as
// redis+sentinel://[user:password@]host:port[,host:port...]/MASTER[/DB],
// and the client follows the primary they point at. It returns a name
// for the server, for messages.
func newClient(raw, caFile string) (*redis.Client, string, error) {
	var roots *x509.CertPool
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, "", fmt.Errorf("cluster.ca_file: %v", err)
		}
		if roots, err = x509.SystemCertPool(); err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, "", fmt.Errorf("cluster.ca_file: %s holds no PEM certificate", caFile)
		}
	}
	if strings.HasPrefix(raw, "redis+sentinel://") || strings.HasPrefix(raw, "rediss+sentinel://") {
		fo, err := sentinelOptions(raw)
		if err != nil {
			return nil, "", err
		}
		fo.DialTimeout, fo.ReadTimeout, fo.WriteTimeout, fo.PoolTimeout = time.Second, time.Second, time.Second, time.Second
		fo.ContextTimeoutEnabled, fo.MaxRetries, fo.PoolSize, fo.DisableIdentity = true, -1, 16, true
		if fo.TLSConfig != nil && roots != nil {
			fo.TLSConfig.RootCAs = roots
		}
		return redis.NewFailoverClient(fo), "primary " + fo.MasterName + " of the Sentinels at " + strings.Join(fo.SentinelAddrs, ","), nil
	}
	ro, err := redis.ParseURL(raw)
	if err != nil {
		return nil, "", fmt.Errorf("cluster.redis: %v", err)
	}
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = time.Second, time.Second, time.Second, time.Second
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = -1 // callers retry as suits them
	ro.PoolSize = 16
	ro.DisableIdentity = true
	if roots != nil {
		if ro.TLSConfig == nil {
			ro.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		ro.TLSConfig.RootCAs = roots
	}
	return redis.NewClient(ro), ro.Addr, nil
}

// sentinelOptions reads a redis+sentinel:// URL. The user and password
// are Redis's; ?sentinel_password= is the Sentinels' own, when they
// have one.
func sentinelOptions(raw string) (*redis.FailoverOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("cluster.redis: %v", err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if u.Host == "" || parts[0] == "" || len(parts) > 2 {
		return nil, errors.New("cluster.redis: a Sentinel URL is redis+sentinel://[:password@]host:port[,host:port...]/MASTER[/DB]")
	}
	fo := &redis.FailoverOptions{MasterName: parts[0], SentinelAddrs: strings.Split(u.Host, ","),
		SentinelPassword: u.Query().Get("sentinel_password")}
	if len(parts) == 2 {
		if fo.DB, err = strconv.Atoi(parts[1]); err != nil {
			return nil, fmt.Errorf("cluster.redis: database %q is not a number", parts[1])
		}
	}
	if u.User != nil {
		fo.Username = u.User.Username()
		fo.Password, _ = u.User.Password()
	}
	if strings.HasPrefix(u.Scheme, "rediss") {
		fo.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return fo, nil
}

func isAuthError(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.HasPrefix(s, "WRONGPASS") || strings.HasPrefix(s, "NOAUTH") || strings.Contains(s, "invalid username-password") ||
		strings.HasPrefix(s, "NOPERM")
}

// redisLog sends go-redis's own lines (a pool that cannot dial, say) to
// the debug level: the node reports Redis's state itself.
type redisLog struct{}

func (redisLog) Printf(ctx context.Context, format string, v ...any) {
	slog.Debug("redis client: " + fmt.Sprintf(format, v...))
}

var quietOnce sync.Once

// keys are the Redis keys a node uses.
type keys struct {
	epoch, stream, members, member, invPrefix, memberPrefix, ratePrefix string
}

func keysOf(prefix, node string) keys {
	return keys{
		epoch:        prefix + "epoch",
		stream:       prefix + "invalidations",
		members:      prefix + "members",
		member:       prefix + "member:" + node,
		memberPrefix: prefix + "member:",
		invPrefix:    prefix + "invalidation:",
		ratePrefix:   prefix + "rate:",
	}
}
