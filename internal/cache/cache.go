package cache

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Cache is the edge cache shared by every distribution of a config: a
// store, the fills in flight and the invalidations.
type Cache struct {
	store Store
	now   func() time.Time
	// MaxObject is the largest body stored, in bytes.
	MaxObject int64

	disk   *Disk // nil without a disk tier
	inline int64 // bodies larger than this go to disk only

	mu       sync.Mutex
	fills    map[string]*Fill
	encoding map[string]chan struct{} // encodings being made

	fetches fetches

	invSeq atomic.Uint64 // sequence number of the newest invalidation
	// staleBefore: objects received at or before it (unix nanoseconds)
	// are stale whatever their TTLs; 0 for none.
	staleBefore atomic.Int64
	invMu       sync.RWMutex
	invs        []invalidation
}

type invalidation struct {
	seq     uint64
	dist    string
	pattern string // an exact path, a prefix ending in *, or a #tag
}

// New returns a cache over store. now may be nil for time.Now.
func New(store Store, maxObject int64, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	c := &Cache{store: store, now: now, MaxObject: maxObject, fills: map[string]*Fill{}, encoding: map[string]chan struct{}{}}
	if t, ok := store.(*Tiered); ok {
		c.disk, c.inline = t.Disk, t.inline
	}
	return c
}

// Stats are the cache's size and evictions, for metrics.
func (c *Cache) Stats() (objects int, bytes uint64, evictions uint64) {
	if e, ok := c.store.(interface{ Evictions() uint64 }); ok {
		evictions = e.Evictions()
	}
	return c.store.Len(), c.store.Bytes(), evictions
}

// Now is the cache's clock.
func (c *Cache) Now() time.Time { return c.now() }

// Get returns the object stored for a request with header h at primary,
// following the variant index when the stored response varied, and the
// key it was found at. Invalidated objects are never returned.
func (c *Cache) Get(primary Key, h http.Header) (*Object, string) {
	var scratch [256]byte
	key, o, ok := c.lookup(primary.appendTo(scratch[:0]))
	if !ok {
		return nil, key
	}
	if vs := o.Variants(); vs != nil {
		if key, o, ok = c.lookup(appendVariant(scratch[:0], key, vs, h)); !ok {
			return nil, key
		}
	}
	if !c.valid(o) {
		c.store.Delete(key)
		return nil, key
	}
	if sb := c.staleBefore.Load(); sb != 0 && o.responseTime <= sb {
		o = o.mustRevalidate()
	}
	return o, key
}

// lookup finds the object stored under the key whose bytes are b, and
// returns the key as a string. A hit in memory costs no allocation: b is
// looked up as it is and the string returned is the one the object is
// stored under. Anywhere else the key is made a string of its own, which
// the store may keep.
func (c *Cache) lookup(b []byte) (string, *Object, bool) {
	view := unsafe.String(unsafe.SliceData(b), len(b))
	switch s := c.store.(type) {
	case *Memory:
		if stored, o, ok := s.lookup(view); ok {
			return stored, o, true
		}
		return string(b), nil, false
	case *Tiered:
		if stored, o, ok := s.lookup(view); ok {
			return stored, o, true
		}
		key := string(b)
		o, ok := s.fromDisk(key)
		return key, o, ok
	}
	key := string(b)
	o, ok := c.store.Get(key)
	return key, o, ok
}

// MarkStale makes every object stored until now stale, whatever its TTLs,
// stale-while-revalidate and stale-if-error say: each is revalidated with
// its origin before it is served again. It is what a node does when it
// cannot know which invalidations it missed. It returns how many objects
// the cache holds.
func (c *Cache) MarkStale() int {
	c.staleBefore.Store(c.now().UnixNano())
	return c.store.Len()
}

// Len is how many objects the cache holds.
func (c *Cache) Len() int { return c.store.Len() }

// Join returns the fill in flight for key (primary's, or the variant's
// Get found), or starts one; leader is true for the caller that must run
// the fetch. A fill that an invalidation has covered since it began is
// not joined: its answer predates the invalidation, so a request that
// comes after it starts a fill of its own (the old one ends for the
// viewers it has, storing nothing). Nor is one whose fetch already
// failed: a request that comes after the failure goes to the origin
// again rather than read the error, as one that comes once it is left.
func (c *Cache) Join(primary Key, key string) (f *Fill, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.fills[key]; f != nil && !f.invalidated() && !f.failed() {
		return f, false
	}
	f = newFill(c, primary, key, c.invSeq.Load(), c.MaxObject, c.disk, c.inline)
	c.fills[key] = f
	return f, true
}

// Leave forgets a fill once its fetch is over; later requests start anew.
func (c *Cache) Leave(f *Fill) {
	c.mu.Lock()
	if c.fills[f.Key] == f {
		delete(c.fills, f.Key)
	}
	c.mu.Unlock()
}

// Put stores the object a fill produced under its primary key, with a
// variant index when it varies. An object whose path was invalidated while it was
// being fetched is not stored. It reports whether it stored o.
//
// When the fill wrote its body to the disk tier, o has no body: the file
// is committed under the object's key and becomes its body.
func (c *Cache) Put(f *Fill, req http.Header, o *Object) bool {
	primary, r := f.Primary.String(), f.Primary.ref()
	r.tags = f.tags
	o.seq.Store(f.seq)
	o.gen, o.ref = rand.Uint64(), r
	sink, onDisk := f.Sink()
	if !c.valid(o) {
		if onDisk {
			sink.Abort()
		}
		return false
	}
	key := primary
	if vary := Vary(o.Header); len(vary) > 0 {
		idx := &Object{ext: &objectExt{variants: vary}, ttl: o.ttl, responseTime: o.responseTime, ref: r}
		idx.seq.Store(f.seq)
		c.store.Put(primary, idx)
		key = VariantKey(primary, vary, req)
	}
	if onDisk {
		if err := sink.Commit(key, o, f.seq, c.inline); err != nil {
			c.disk.log.Warn("disk cache write failed; the answer is not stored", "err", err)
			return false
		}
		if t, ok := c.store.(*Tiered); ok {
			t.Mem.Delete(key) // what memory holds for the key is older
		}
		return true
	}
	c.store.Put(key, o)
	return true
}

// Refresh stores o, the stale object a fill revalidated, again at the key
// the fill is for.
func (c *Cache) Refresh(f *Fill, o *Object) {
	o.gen, o.ref = rand.Uint64(), f.Primary.ref()
	o.ref.tags = f.tags
	c.store.Put(f.Key, o)
}

// Encoded returns the encoding enc of the object src stored at key: the
// one stored, when it was made from src, or one build makes now (once,
// however many viewers ask at the same time). build returns the status,
// header, body and status; the rest comes from src.
func (c *Cache) Encoded(key string, src *Object, enc string, build func() *Object) *Object {
	var scratch [256]byte
	b := append(append(append(scratch[:0], key...), "\x00Content-Encoding="...), enc...)
	ekey, o, ok := c.lookup(b) // ekey is a string of its own unless o was in memory
	for {
		if ok && o.gen == src.gen && c.valid(o) {
			return o
		}
		c.mu.Lock()
		ch := c.encoding[ekey]
		if ch == nil {
			break // c.mu held: this caller makes it
		}
		c.mu.Unlock()
		<-ch
		o, ok = c.store.Get(ekey) // made meanwhile by another caller
	}
	ch := make(chan struct{})
	c.encoding[ekey] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.encoding, ekey)
		c.mu.Unlock()
		close(ch)
	}()
	o = build()
	o.gen, o.responseTime, o.modTime, o.ref = src.gen, src.responseTime, src.modTime, src.ref
	o.initialAge, o.ttl, o.swr, o.sie, o.mustReval = src.initialAge, src.ttl, src.swr, src.sie, src.mustReval
	o.seq.Store(src.seq.Load())
	if c.valid(o) {
		c.store.Put(ekey, o)
	}
	return o
}

// Delete removes what is stored at primary.
func (c *Cache) Delete(primary Key) { c.store.Delete(primary.String()) }

// Invalidate makes every object of dist whose path matches one of paths
// unservable, including those being fetched now, and removes them from the
// store. A path is exact, or ends in * to match every path it starts; an
// item #tag (lower-cased) matches every object tagged with it, each of
// its variants included.
func (c *Cache) Invalidate(dist string, paths []string) {
	c.invMu.Lock()
	for _, p := range paths {
		seq := c.invSeq.Add(1)
		c.invs = append(c.invs, invalidation{seq: seq, dist: dist, pattern: p})
	}
	c.invMu.Unlock()
	c.store.Range(func(key string, r ref, seq uint64) bool {
		if _, ok := c.validSeq(r, seq); !ok {
			c.store.Delete(key)
		}
		return true
	})
	c.compact()
}

// valid reports whether no invalidation newer than the fill of o covers
// it. The common case, no invalidation since, costs one atomic load.
func (c *Cache) valid(o *Object) bool {
	seq := o.seq.Load()
	cur, ok := c.validSeq(o.ref, seq)
	if ok && cur != seq {
		// Checked against every invalidation up to cur at least: later
		// lookups start from there.
		o.seq.CompareAndSwap(seq, cur)
	}
	return ok
}

// validSeq reports whether no invalidation newer than seq covers the
// object r names, and the sequence number it checked up to.
func (c *Cache) validSeq(r ref, seq uint64) (uint64, bool) {
	cur := c.invSeq.Load()
	if cur <= seq {
		return seq, true
	}
	c.invMu.RLock()
	defer c.invMu.RUnlock()
	for i := len(c.invs) - 1; i >= 0 && c.invs[i].seq > seq; i-- {
		if inv := c.invs[i]; inv.dist == r.dist && r.covers(inv.pattern) {
			return cur, false
		}
	}
	return cur, true
}

// compact drops invalidations that no object or fill can predate any more:
// those older than every fill in flight, once the store has been swept.
func (c *Cache) compact() {
	c.mu.Lock()
	oldest := c.invSeq.Load()
	for _, f := range c.fills {
		oldest = min(oldest, f.seq)
	}
	c.mu.Unlock()
	c.invMu.Lock()
	defer c.invMu.Unlock()
	// Objects stored before the sweep were removed by it; only fills that
	// started before an invalidation still need it.
	i := 0
	for i < len(c.invs) && c.invs[i].seq <= oldest {
		i++
	}
	if i > 0 && i == len(c.invs) {
		c.invs = c.invs[:0]
		return
	}
	c.invs = append(c.invs[:0], c.invs[i:]...)
}

// Covers reports whether an invalidation path covers a viewer path, with
// CloudFront's rule: * only as the last character, matching any rest.
func Covers(pattern, path string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(path, prefix)
	}
	return pattern == path
}
