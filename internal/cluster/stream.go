package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The stream keeps at least this many entries; older ones are trimmed. A
// node that falls further behind marks its objects stale instead.
const streamKeep = 100_000

// invalidationTTL is how long an invalidation's record is kept for GET.
const invalidationTTL = 7 * 24 * time.Hour

// publishScript adds an invalidation to the stream and records it, once:
// an outbox entry published again after a lost answer is not added twice.
var publishScript = redis.NewScript(`
local have = redis.call('HGET', KEYS[2], 'entry')
if have then return have end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2])
redis.call('HSET', KEYS[2], 'entry', id, 'e', ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return id
`)

// Invalidate hands an invalidation to the cluster: it is published to the
// stream before Invalidate returns, or while Redis is away kept in the
// outbox on disk, to be published when Redis answers. The caller applies
// it on this node itself; the other nodes apply it from the stream.
// items are as the cache matches them, paths as the request named them.
func (n *Node) Invalidate(id, dist string, items, paths []string, created time.Time) error {
	e := entry{ID: id, Dist: dist, Items: items, Paths: paths, Node: n.opts.Node, Created: created}
	if n.Health().Up && len(n.state.outbox()) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
		_, err := n.publish(ctx, e)
		cancel()
		if err == nil {
			n.mu.Lock()
			n.counters.published++
			n.mu.Unlock()
			return nil
		}
		n.setUp(false, err)
	}
	err := n.state.hold(e)
	n.kick()
	if err != nil {
		return fmt.Errorf("not published (Redis does not answer) and not kept in the outbox: other nodes may never apply it: %w", err)
	}
	return nil
}

// publishTimeout bounds publishing an invalidation as it is taken.
const publishTimeout = 500 * time.Millisecond

// publish adds e to the stream and returns its entry id.
func (n *Node) publish(ctx context.Context, e entry) (string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	return publishScript.Run(ctx, n.rdb, []string{n.keys.stream, n.keys.invPrefix + e.ID},
		streamKeep, b, int64(invalidationTTL/time.Second)).Text()
}

// outboxLoop publishes the outbox whenever it has entries and Redis
// answers.
func (n *Node) outboxLoop(ctx context.Context) {
	defer n.wg.Done()
	t := time.NewTicker(retryMax)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		case <-t.C:
		}
		for _, e := range n.state.outbox() {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := n.publish(pctx, e)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					n.setUp(false, err)
				}
				break
			}
			if err := n.state.release(e.ID); err != nil {
				n.log.Error("cluster: outbox not rewritten", "err", err)
			}
			n.mu.Lock()
			n.counters.published++
			n.mu.Unlock()
		}
	}
}

// readLoop follows the stream from the node's cursor, applying every
// entry, and after any break in the link checks what it may have missed
// first.
func (n *Node) readLoop(ctx context.Context) {
	defer n.wg.Done()
	wait := retryMin
	for ctx.Err() == nil {
		fctx, cancel := context.WithCancel(ctx)
		n.mu.Lock()
		n.stopFollow = cancel
		n.mu.Unlock()
		began := time.Now()
		err := n.follow(fctx)
		if time.Since(began) > retryMax {
			wait = retryMin // it followed a while: this is a new break
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		if fctx.Err() != nil {
			wait = retryMin // resync asked for: at once
			continue
		}
		n.setUp(false, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, retryMax)
	}
}

// follow syncs with the stream, then reads it until an error.
func (n *Node) follow(ctx context.Context) error {
	epoch, last, err := n.sync(ctx)
	if err != nil {
		return err
	}
	n.setUp(true, nil)
	for {
		rctx, cancel := context.WithTimeout(ctx, readBlock+time.Second)
		streams, err := n.rdb.XRead(rctx, &redis.XReadArgs{Streams: []string{n.keys.stream, last}, Count: readBatch, Block: readBlock}).Result()
		cancel()
		if errors.Is(err, redis.Nil) {
			n.setLive(true)
			continue
		}
		if err != nil {
			return err
		}
		got := 0
		for _, s := range streams {
			for _, m := range s.Messages {
				n.apply(m)
				last = m.ID
				got++
			}
		}
		if err := n.state.setCursor(epoch, last); err != nil {
			n.log.Error("cluster: cursor not written", "err", err)
		}
		n.report(ctx, last)
		n.setLive(got < readBatch)
	}
}

// readBatch is how many entries one read takes at most.
const readBatch = 1000

// resync makes the reader check the stream against its cursor again.
func (n *Node) resync() {
	n.mu.Lock()
	stop := n.stopFollow
	n.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// setLive records whether the reader has every entry the stream had when
// its last read returned. The node is ready once it first has.
func (n *Node) setLive(live bool) {
	n.mu.Lock()
	n.live = live
	if live {
		n.confirmed = time.Now()
	}
	n.mu.Unlock()
	if live {
		n.readyOnce.Do(func() { close(n.ready) })
	}
}

// apply applies one stream entry to the local cache, unless this node
// made it (it applied it when it took it).
func (n *Node) apply(m redis.XMessage) {
	raw, _ := m.Values["e"].(string)
	var e entry
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		n.log.Error("cluster: a stream entry is not an invalidation; skipped", "entry", m.ID, "err", err)
		return
	}
	if e.Node != n.opts.Node && n.opts.Apply != nil {
		n.opts.Apply(e.Dist, e.Items)
	}
	n.mu.Lock()
	n.counters.applied++
	n.mu.Unlock()
}

// sync checks the stream against the node's cursor before reading it:
// Redis emptied (a new epoch) or entries trimmed past the cursor mean the
// node cannot know what it missed, so everything it holds is marked
// stale and it reads on from the stream's end. It returns the epoch and
// the id to read after.
func (n *Node) sync(ctx context.Context) (epoch, last string, err error) {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	fresh := newEpoch()
	if err := n.rdb.SetNX(sctx, n.keys.epoch, fresh, 0).Err(); err != nil {
		return "", "", err
	}
	epoch, err = n.rdb.Get(sctx, n.keys.epoch).Result()
	if err != nil {
		return "", "", err
	}
	ends, err := n.streamEnds(sctx)
	if err != nil {
		return "", "", err
	}
	repl, err := n.replication(sctx)
	if err != nil {
		return "", "", err
	}
	mine, last := n.state.cursor()
	was := n.state.replication()
	switch {
	case mine == "":
		// A node new to the cluster: what it holds (a disk tier kept
		// from before) predates what it can read.
		if n.objects() > 0 {
			n.markStale("the node joins the cluster with objects stored before")
		}
		last = ends.last
	case mine != epoch:
		// Everything in this epoch's stream came after the emptying.
		n.markStale("Redis was emptied (a new epoch)")
		last = "0-0"
	case !ends.exists && last != "0-0":
		n.markStale("the stream is gone from Redis")
	case ends.trimmedPast(last):
		n.markStale("entries were trimmed from the stream before this node read them")
		last = ends.last
	case was != "" && repl != "" && was != repl:
		// A replica took over (or the server restarted from its files):
		// it may lack the last entries the old primary took, and this
		// node cannot tell which. It reads on from where both agree.
		n.markStale("Redis failed over or restarted: the last invalidations it took may be lost")
		if less(ends.last, last) {
			last = ends.last
		}
	}
	if err := n.state.setReplication(repl); err != nil {
		n.log.Error("cluster: cursor not written", "err", err)
	}
	if err := n.state.setCursor(epoch, last); err != nil {
		n.log.Error("cluster: cursor not written", "err", err)
	}
	return epoch, last, nil
}

// replication is the id of the replication history of the server the
// node talks to (INFO's master_replid): a failover or a restart starts a
// new one. "" when the server does not say.
func (n *Node) replication(ctx context.Context) (string, error) {
	info, err := n.rdb.Info(ctx, "replication").Result()
	if err != nil {
		if strings.Contains(err.Error(), "unknown command") || strings.Contains(err.Error(), "NOPERM") {
			return "", nil // a managed Redis may not offer INFO
		}
		return "", err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "master_replid:"); ok {
			return v, nil
		}
	}
	return "", nil
}

// ends is what the stream holds: its last id, its first, and how many
// entries it holds of how many were ever added.
type ends struct {
	exists        bool
	last, first   string
	length, added int64
}

// trimmedPast reports whether entries after id may have been trimmed: id
// (an entry the node read) is gone from the stream's head, or the node
// read nothing and the stream has lost some.
func (e ends) trimmedPast(id string) bool {
	if !e.exists {
		return false
	}
	if id == "0-0" {
		return e.added > e.length
	}
	return e.length > 0 && less(id, e.first)
}

func (n *Node) streamEnds(ctx context.Context) (ends, error) {
	info, err := n.rdb.XInfoStream(ctx, n.keys.stream).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return ends{last: "0-0", first: "0-0"}, nil
		}
		return ends{}, err
	}
	return ends{exists: true, last: info.LastGeneratedID, first: info.FirstEntry.ID, length: info.Length, added: info.EntriesAdded}, nil
}

// objects is how many objects the node holds.
func (n *Node) objects() int {
	if n.opts.Objects == nil {
		return 0
	}
	return n.opts.Objects()
}

// report tells the cluster how far this node has applied the stream.
func (n *Node) report(ctx context.Context, last string) {
	n.mu.Lock()
	for i := range n.members {
		if n.members[i].Name == n.opts.Node {
			n.members[i].Applied = last
		}
	}
	n.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	n.beat(rctx, last)
}

func newEpoch() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// less reports whether stream id a is before b.
func less(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	return am < bm || am == bm && as < bs
}

func splitID(id string) (ms, seq uint64) {
	l, r, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(l, 10, 64)
	seq, _ = strconv.ParseUint(r, 10, 64)
	return ms, seq
}

func validID(id string) bool {
	l, r, ok := strings.Cut(id, "-")
	_, e1 := strconv.ParseUint(l, 10, 64)
	_, e2 := strconv.ParseUint(r, 10, 64)
	return ok && e1 == nil && e2 == nil
}
