package cache

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// Object is a stored response, with what a hit needs worked out when it
// was stored. It is kept small: a memory tier holds millions of them.
type Object struct {
	Header http.Header // as served: no hop-by-hop or per-request fields
	Body   []byte

	responseTime int64 // unix nanoseconds
	modTime      int64 // Last-Modified, unix seconds; 0 when none
	// gen tells the objects stored apart: an encoding made from an object
	// carries its gen, and is stale once the object is replaced.
	gen uint64
	// seq is the invalidation sequence number up to which the object is
	// known to be valid: when its fill started, raised as lookups check it.
	seq atomic.Uint64
	// ext holds what few objects need: a variant index, a body on disk.
	ext *objectExt
	ref ref // what invalidations match it by

	initialAge, ttl, swr, sie uint32 // seconds
	status                    uint16
	mustReval                 bool

	// head is Head's rendering, made on first use: only the objects
	// answered often pay its memory.
	head atomic.Pointer[[]byte]
}

// mustRevalidate is o as an object that is stale now and may not be
// served stale: what MarkStale makes of it until it is revalidated.
func (o *Object) mustRevalidate() *Object {
	c := &Object{Header: o.Header, Body: o.Body, responseTime: o.responseTime, modTime: o.modTime, gen: o.gen,
		ext: o.ext, ref: o.ref, initialAge: o.initialAge, status: o.status, mustReval: true}
	c.seq.Store(o.seq.Load())
	c.head.Store(o.head.Load())
	return c
}

// Tags are the object's cache tags, lower-cased; nil when it has none.
func (o *Object) Tags() []string { return o.ref.tags }

// Head is the object's fields rendered once as the lines of an answer's
// head ("Name: value\r\n"), Content-Length left out, for a writer that
// takes a head as bytes.
func (o *Object) Head() []byte {
	if h := o.head.Load(); h != nil {
		return *h
	}
	var b []byte
	for k, vs := range o.Header {
		if k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			if strings.ContainsAny(v, "\r\n") {
				v = newlineToSpace.Replace(v)
			}
			b = append(b, strings.TrimSpace(v)...)
			b = append(b, "\r\n"...)
		}
	}
	o.head.Store(&b)
	return b
}

// newlineToSpace keeps a field's value on its line, as net/http's writer
// does.
var newlineToSpace = strings.NewReplacer("\r", " ", "\n", " ")

type objectExt struct {
	// variants, on the object stored at a primary key whose response had
	// a Vary header, names the fields that select the variant; such an
	// object has no response of its own.
	variants []string
	// disk, on an object larger than the memory tier takes, is its body
	// in the disk tier.
	disk *diskBody
}

// Meta is what an object records beside its header and body.
type Meta struct {
	Status       int
	ResponseTime time.Time
	InitialAge   time.Duration // RFC 9111 §4.2.3 corrected initial age
	TTL          time.Duration // freshness lifetime
	SWR, SIE     time.Duration // stale-while-revalidate, stale-if-error
	MustReval    bool          // must-revalidate or proxy-revalidate: never served stale
	ModTime      time.Time     // Last-Modified, for conditional requests
}

// NewObject makes an object. Durations are kept in whole seconds.
func NewObject(h http.Header, body []byte, m Meta) *Object {
	o := &Object{Header: h, Body: body}
	o.setMeta(m)
	return o
}

func (o *Object) setMeta(m Meta) {
	o.status = uint16(m.Status)
	o.responseTime = m.ResponseTime.UnixNano()
	o.initialAge, o.ttl, o.swr, o.sie = secs32(m.InitialAge), secs32(m.TTL), secs32(m.SWR), secs32(m.SIE)
	o.mustReval = m.MustReval
	o.modTime = 0
	if !m.ModTime.IsZero() {
		o.modTime = m.ModTime.Unix()
	}
}

func secs32(d time.Duration) uint32 {
	return uint32(min(max(d/time.Second, 0), 1<<32-1))
}

// Meta returns what the object records.
func (o *Object) Meta() Meta {
	m := Meta{
		Status: int(o.status), ResponseTime: time.Unix(0, o.responseTime),
		InitialAge: o.InitialAge(), TTL: o.TTL(), SWR: o.SWR(), SIE: o.SIE(), MustReval: o.mustReval,
	}
	if o.modTime != 0 {
		m.ModTime = time.Unix(o.modTime, 0)
	}
	return m
}

// Status is the response's status code.
func (o *Object) Status() int { return int(o.status) }

// InitialAge is the RFC 9111 corrected initial age.
func (o *Object) InitialAge() time.Duration { return time.Duration(o.initialAge) * time.Second }

// TTL is the freshness lifetime.
func (o *Object) TTL() time.Duration { return time.Duration(o.ttl) * time.Second }

// SWR and SIE are the stale-while-revalidate and stale-if-error windows.
func (o *Object) SWR() time.Duration { return time.Duration(o.swr) * time.Second }
func (o *Object) SIE() time.Duration { return time.Duration(o.sie) * time.Second }

// MustRevalidate is set by must-revalidate or proxy-revalidate: the object
// is never served stale.
func (o *Object) MustRevalidate() bool { return o.mustReval }

// ModTime is Last-Modified, the zero time when none.
func (o *Object) ModTime() time.Time {
	if o.modTime == 0 {
		return time.Time{}
	}
	return time.Unix(o.modTime, 0)
}

// Variants names the fields that select a variant, on a variant index.
func (o *Object) Variants() []string {
	if o.ext == nil {
		return nil
	}
	return o.ext.variants
}

// Age is the object's current age.
func (o *Object) Age(now time.Time) time.Duration {
	return CurrentAge(o.InitialAge(), time.Unix(0, o.responseTime), now)
}

// Fresh reports whether the object may be served without asking the origin.
func (o *Object) Fresh(now time.Time) bool { return o.Age(now) < o.TTL() }

// Staleness is how long the object has been stale.
func (o *Object) Staleness(now time.Time) time.Duration { return o.Age(now) - o.TTL() }

// Validators are the fields to revalidate the object with.
func (o *Object) Validators() (etag, lastModified string) {
	return o.Header.Get("Etag"), o.Header.Get("Last-Modified")
}

// objectOverhead is what an object costs beyond its key, header and body:
// the struct and the memory tier's entry.
const objectOverhead = 200

// Size is what the object costs in memory, roughly.
func (o *Object) Size() int {
	n := objectOverhead + len(o.Body)
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
	// Range calls f with the key of every object, what invalidations
	// match it by, and the invalidation sequence number it is known valid
	// to, until f returns false.
	Range(f func(key string, r ref, seq uint64) bool)
	// Len and Bytes are the number of objects and what they weigh.
	Len() int
	Bytes() uint64
}

// Memory is a Store in memory that evicts by size (W-TinyLFU, otter).
type Memory struct {
	c         *otter.Cache[string, *Object]
	evictions atomic.Uint64
}

// NewMemory returns a memory store holding at most maxBytes.
func NewMemory(maxBytes uint64) *Memory {
	m := &Memory{}
	m.c = otter.Must(&otter.Options[string, *Object]{
		MaximumWeight: maxBytes,
		Weigher: func(k string, o *Object) uint32 {
			w := len(k) + o.Size()
			if o.OnDisk() {
				w += openFileWeight
			}
			return uint32(min(w, 1<<32-1))
		},
		OnDeletion: func(e otter.DeletionEvent[string, *Object]) {
			if e.WasEvicted() {
				m.evictions.Add(1)
			}
		},
	})
	return m
}

func (m *Memory) Get(key string) (*Object, bool) { return m.c.GetIfPresent(key) }
func (m *Memory) Put(key string, o *Object)      { m.c.Set(key, o) }
func (m *Memory) Delete(key string)              { m.c.Invalidate(key) }
func (m *Memory) Len() int                       { return m.c.EstimatedSize() }
func (m *Memory) Bytes() uint64                  { return m.c.WeightedSize() }

// lookup is Get by a key that may be a view of memory the caller reuses:
// nothing keeps it. It returns the key the object is stored under.
func (m *Memory) lookup(key string) (string, *Object, bool) {
	e, ok := m.c.GetEntry(key)
	return e.Key, e.Value, ok
}

// Evictions is how many objects the memory tier dropped to make room.
func (m *Memory) Evictions() uint64 { return m.evictions.Load() }

func (m *Memory) Range(f func(key string, r ref, seq uint64) bool) {
	for k, o := range m.c.All() {
		if !f(k, o.ref, o.seq.Load()) {
			return
		}
	}
}

// Tiered is the memory tier in front of the disk tier. Every object is
// written to disk, so that a restart finds it; bodies up to inline bytes
// are also kept in memory, larger ones are read from their file.
type Tiered struct {
	Mem    *Memory
	Disk   *Disk
	inline int64
	log    *slog.Logger
}

// NewTiered puts mem in front of disk; bodies larger than inline bytes
// stay on disk only.
func NewTiered(mem *Memory, disk *Disk, inline int64, log *slog.Logger) *Tiered {
	if log == nil {
		log = slog.Default()
	}
	return &Tiered{Mem: mem, Disk: disk, inline: inline, log: log}
}

// Get finds key in memory, else on disk. An object found on disk is kept
// in memory too: a small body whole, a large one as its fields and its
// open file (an open file cache, as nginx's open_file_cache), so that a
// hit does not open, stat and read the file again.
func (t *Tiered) Get(key string) (*Object, bool) {
	if o, ok := t.Mem.Get(key); ok {
		if o.OnDisk() {
			t.Disk.touch(key) // the disk tier evicts by use
		}
		return o, true
	}
	return t.fromDisk(key)
}

// fromDisk reads key's object from the disk tier into memory.
func (t *Tiered) fromDisk(key string) (*Object, bool) {
	o, ok := t.Disk.Get(key, t.inline)
	if ok {
		t.Mem.Put(key, o)
	}
	return o, ok
}

// lookup is Memory.lookup on the memory tier: an object on disk that
// memory does not hold is for Get, with a key that may be kept.
func (t *Tiered) lookup(key string) (string, *Object, bool) {
	stored, o, ok := t.Mem.lookup(key)
	if ok && o.OnDisk() {
		t.Disk.touch(stored)
	}
	return stored, o, ok
}

// openFileWeight is what an object whose body stays on disk weighs in the
// memory tier beside its fields: it holds the file open, and the weight
// bounds how many it holds (4096 with 256 MiB of memory).
const openFileWeight = 64 << 10

func (t *Tiered) Put(key string, o *Object) {
	if o.OnDisk() {
		// Refreshed: written anew, with its new metadata, and it takes
		// the new file; memory holds it, not what was there before.
		if err := t.Disk.Put(key, o); err != nil {
			t.log.Warn("disk cache write failed", "err", err)
			t.Mem.Delete(key)
			return
		}
		t.Mem.Put(key, o)
		return
	}
	t.Mem.Put(key, o)
	if err := t.Disk.Put(key, o); err != nil {
		t.log.Warn("disk cache write failed; the object stays in memory only", "err", err)
	}
}

func (t *Tiered) Delete(key string) {
	t.Mem.Delete(key)
	t.Disk.Delete(key)
}

// Range covers the disk tier, which holds every object.
func (t *Tiered) Range(f func(key string, r ref, seq uint64) bool) {
	t.Mem.Range(f)
	t.Disk.Range(f)
}

func (t *Tiered) Len() int { return t.Disk.Len() }

// Evictions counts both tiers' evictions.
func (t *Tiered) Evictions() uint64 { return t.Mem.Evictions() + t.Disk.Evictions() }
func (t *Tiered) Bytes() uint64     { return t.Mem.Bytes() + t.Disk.Bytes() }

func bytesReader(b []byte) io.ReadSeeker { return bytes.NewReader(b) }
