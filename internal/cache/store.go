package cache

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// Object is a stored response, with what a hit needs worked out when it
// was stored.
type Object struct {
	Dist, Path string // the distribution and viewer path, for invalidations
	Status     int
	Header     http.Header // as served: no hop-by-hop or per-request fields
	Body       []byte

	ResponseTime time.Time
	InitialAge   time.Duration // RFC 9111 §4.2.3 corrected initial age
	TTL          time.Duration // freshness lifetime
	SWR, SIE     time.Duration // stale-while-revalidate, stale-if-error
	MustReval    bool          // must-revalidate or proxy-revalidate: never served stale
	ModTime      time.Time     // Last-Modified, for conditional requests

	// Variants, on the object stored at a primary key whose response had
	// a Vary header, names the fields that select the variant; such an
	// object has no response of its own.
	Variants []string

	// gen tells the objects stored apart: an encoding made from an object
	// carries its gen, and is stale once the object is replaced.
	gen uint64

	// seq is the invalidation sequence number up to which the object is
	// known to be valid: when its fill started, raised as lookups check it.
	seq atomic.Uint64
}

// Age is the object's current age.
func (o *Object) Age(now time.Time) time.Duration {
	return CurrentAge(o.InitialAge, o.ResponseTime, now)
}

// Fresh reports whether the object may be served without asking the origin.
func (o *Object) Fresh(now time.Time) bool { return o.Age(now) < o.TTL }

// Staleness is how long the object has been stale.
func (o *Object) Staleness(now time.Time) time.Duration { return o.Age(now) - o.TTL }

// Validators are the fields to revalidate the object with.
func (o *Object) Validators() (etag, lastModified string) {
	return o.Header.Get("Etag"), o.Header.Get("Last-Modified")
}

// Size is what the object costs in memory, roughly.
func (o *Object) Size() int {
	n := 256 + len(o.Body) + len(o.Path)
	for k, vs := range o.Header {
		n += len(k) + 16
		for _, v := range vs {
			n += len(v) + 16
		}
	}
	return n
}

// Store keeps objects by key. Implementations are safe for concurrent use.
type Store interface {
	Get(key string) (*Object, bool)
	Put(key string, o *Object)
	Delete(key string)
	// Range calls f for every object until f returns false.
	Range(f func(key string, o *Object) bool)
	// Len and Bytes are the number of objects and what they weigh.
	Len() int
	Bytes() uint64
}

// Memory is a Store in memory that evicts by size (W-TinyLFU, otter).
type Memory struct {
	c *otter.Cache[string, *Object]
}

// NewMemory returns a memory store holding at most maxBytes.
func NewMemory(maxBytes uint64) *Memory {
	return &Memory{c: otter.Must(&otter.Options[string, *Object]{
		MaximumWeight: maxBytes,
		Weigher: func(k string, o *Object) uint32 {
			return uint32(min(len(k)+o.Size(), 1<<32-1))
		},
	})}
}

func (m *Memory) Get(key string) (*Object, bool) { return m.c.GetIfPresent(key) }
func (m *Memory) Put(key string, o *Object)      { m.c.Set(key, o) }
func (m *Memory) Delete(key string)              { m.c.Invalidate(key) }
func (m *Memory) Len() int                       { return m.c.EstimatedSize() }
func (m *Memory) Bytes() uint64                  { return m.c.WeightedSize() }

func (m *Memory) Range(f func(key string, o *Object) bool) {
	for k, o := range m.c.All() {
		if !f(k, o) {
			return
		}
	}
}
