package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// heartbeatLoop keeps the node's membership alive in Redis, with how far
// it has applied the stream, and reads who else is there.
func (n *Node) heartbeatLoop(ctx context.Context) {
	defer n.wg.Done()
	started := time.Now().UTC().Truncate(time.Second)
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		n.mu.Lock()
		if n.started.IsZero() {
			n.started = started
		}
		n.mu.Unlock()
		bctx, cancel := context.WithTimeout(ctx, heartbeatEvery)
		_, last := n.state.cursor()
		err := n.beat(bctx, last)
		var members []Member
		if err == nil {
			members, err = n.listMembers(bctx)
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			n.mu.Lock()
			n.members = members
			n.mu.Unlock()
		}
		n.setUp(err == nil, err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// beat writes this node's member record, which lives memberTTL by Redis's
// clock unless renewed.
func (n *Node) beat(ctx context.Context, applied string) error {
	n.mu.Lock()
	m := Member{Name: n.opts.Node, Advertise: n.opts.Advertise, Applied: applied, Started: n.started}
	n.mu.Unlock()
	b, _ := json.Marshal(m)
	var epoch *redis.StringCmd
	_, err := n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, n.keys.member, b, memberTTL)
		p.SAdd(ctx, n.keys.members, n.opts.Node)
		epoch = p.Get(ctx, n.keys.epoch)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	if mine, _ := n.state.cursor(); err == nil && mine != "" && epoch.Val() != mine {
		// Redis was emptied under a connection that stayed up: the reader
		// must check what it missed.
		n.resync()
	}
	return err
}

// listMembers reads the live members, sorted by name, and forgets those
// whose record expired.
func (n *Node) listMembers(ctx context.Context) ([]Member, error) {
	names, err := n.rdb.SMembers(ctx, n.keys.members).Result()
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, nil
	}
	ks := make([]string, len(names))
	for i, name := range names {
		ks[i] = n.keys.memberPrefix + name
	}
	vals, err := n.rdb.MGet(ctx, ks...).Result()
	if err != nil {
		return nil, err
	}
	var out []Member
	var gone []any
	for i, v := range vals {
		s, ok := v.(string)
		var m Member
		if !ok || json.Unmarshal([]byte(s), &m) != nil {
			gone = append(gone, names[i])
			continue
		}
		out = append(out, m)
	}
	if len(gone) > 0 {
		n.rdb.SRem(ctx, n.keys.members, gone...)
	}
	return out, nil
}

// Status is an invalidation as the cluster knows it.
type Status struct {
	ID           string
	Distribution string
	Paths        []string
	Created      time.Time
	// Completed is true once every live member has applied it.
	Completed bool
	// Waiting are the live members that have not applied it yet.
	Waiting []string
}

// ErrUnknown is returned by Invalidation for an id the cluster does not
// know.
var ErrUnknown = errors.New("no invalidation has that id")

// Invalidation looks an invalidation up, whichever node took it: it is
// completed when every live member has applied it.
func (n *Node) Invalidation(ctx context.Context, id string) (Status, error) {
	for _, e := range n.state.outbox() {
		if e.ID == id {
			return Status{ID: e.ID, Distribution: e.Dist, Paths: e.Paths, Created: e.Created, Waiting: []string{"redis"}}, nil
		}
	}
	rec, err := n.rdb.HGetAll(ctx, n.keys.invPrefix+id).Result()
	if err != nil {
		return Status{}, err
	}
	if rec["entry"] == "" {
		return Status{}, ErrUnknown
	}
	var e entry
	if err := json.Unmarshal([]byte(rec["e"]), &e); err != nil {
		return Status{}, err
	}
	members, err := n.listMembers(ctx)
	if err != nil {
		return Status{}, err
	}
	st := Status{ID: e.ID, Distribution: e.Dist, Paths: e.Paths, Created: e.Created}
	for _, m := range members {
		if less(m.Applied, rec["entry"]) {
			st.Waiting = append(st.Waiting, m.Name)
		}
	}
	st.Completed = len(st.Waiting) == 0
	return st, nil
}
