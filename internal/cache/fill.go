package cache

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// A Fill is one origin fetch for a key that any number of viewers read
// while it arrives (request collapsing). The fetch writes the status,
// header and body; readers wait for the header, then follow the body.
//
// A shared fill keeps the whole body, up to its store limit, to store it
// at the end. A fill that is not shared (the response may not be stored),
// or one that outgrew the limit, keeps only a window ahead of its slowest
// reader and holds the fetch back until the readers catch up; with no
// reader left, it stops the fetch.
type Fill struct {
	Primary Key    // the request's key
	Key     string // where the answer is stored: the primary's, or a variant's
	seq     uint64
	c       *Cache

	// Set by the fetch, which alone touches them (Begin, Respond, End).
	req         http.Header
	stale       *Object
	policy      Policy
	requestTime time.Time
	decision    Decision
	header304   http.Header // a 304's header, when the fill revalidates
	tags        []string    // the answer's cache tags

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	ready   bool
	shared  bool
	storing bool
	status  int
	header  http.Header
	length  int64 // Content-Length, -1 when unknown
	buf     []byte
	base    int64 // body offset of buf[0]
	done    bool
	err     error
	readers map[*Reader]struct{}
	// Result, for readers that wait for the end (ranges, conditionals).
	result *Object
	// refreshed is set when the origin answered 304 to a revalidation.
	refreshed bool
	settled   bool
	hand      *handoff // the body handed to the leader, when it stores nothing

	maxStore int64
	window   int64

	// A body larger than inline goes to the disk tier as it arrives:
	// sink is its file, read by the readers through rf up to fileEnd.
	// Bodies before fileEnd are in the file, after it in buf.
	disk    *Disk
	inline  int64
	sink    *DiskWriter
	rf      *os.File
	fileEnd int64
}

// ErrNoReaders stops a fetch that nobody reads and nothing will store.
var ErrNoReaders = errors.New("every viewer left and the response will not be stored")

// errTruncated is what readers of a fill whose fetch failed get.
var errTruncated = errors.New("the origin's answer was cut short")

const (
	fillWindow = 1 << 20
	fileChunk  = 256 << 10
)

func newFill(c *Cache, primary Key, key string, seq uint64, maxStore int64, disk *Disk, inline int64) *Fill {
	return &Fill{c: c, Primary: primary, Key: key, seq: seq, changed: make(chan struct{}), readers: map[*Reader]struct{}{},
		maxStore: maxStore, window: fillWindow, length: -1, disk: disk, inline: inline}
}

// toDisk moves the body to a file of the disk tier, from now on and for
// what arrived so far. It reports false when the file could not be made.
func (f *Fill) toDisk() bool {
	w, err := f.disk.Create()
	if err != nil {
		f.disk.log.Warn("disk cache file not created; the answer is not stored", "err", err)
		return false
	}
	rf, err := os.Open(w.tmp)
	if err != nil {
		w.Abort()
		return false
	}
	if _, err := w.Write(f.buf); err != nil {
		rf.Close()
		w.Abort()
		return false
	}
	// rf closes when the fill and its readers are gone (os.File's cleanup).
	f.sink, f.rf = w, rf
	f.fileEnd, f.base, f.buf = w.Size(), w.Size(), nil
	return true
}

// dropDisk gives up storing to disk: readers keep what is in the file,
// and the rest goes through the window.
func (f *Fill) dropDisk() {
	if f.sink != nil {
		f.sink.Abort() // the readers' handle stays open
		f.sink = nil
	}
}

func (f *Fill) signal() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// Start publishes the response's status and header. shared says whether
// other viewers may read it and the cache may store it; length is the
// Content-Length, -1 when unknown.
func (f *Fill) Start(status int, header http.Header, shared bool, length int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ready, f.status, f.header, f.shared, f.length = true, status, header, shared, length
	f.storing = shared && length <= f.maxStore
	f.shared = f.storing
	switch {
	case f.storing && f.disk != nil && length > f.inline:
		f.storing = f.toDisk()
		f.shared = f.storing
	case f.storing && length > 0:
		f.buf = make([]byte, 0, length)
	}
	f.signal()
}

// Write appends body bytes; it blocks while a fill that does not store is
// a window ahead of its slowest reader.
func (f *Fill) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sink != nil {
		if f.sink.Size()+int64(len(p)) <= f.maxStore {
			if _, err := f.sink.Write(p); err != nil {
				f.dropDisk()
				return 0, err
			}
			f.fileEnd, f.base = f.sink.Size(), f.sink.Size()
			f.signal()
			return len(p), nil
		}
		f.storing = false // outgrew the limit: what is left goes through the window
		f.dropDisk()
	}
	f.buf = append(f.buf, p...)
	if f.storing && f.base+int64(len(f.buf)) > f.maxStore {
		f.storing = false
	}
	if f.storing && f.disk != nil && f.base+int64(len(f.buf)) > f.inline && f.rf == nil {
		// A body of unknown length outgrew memory: on to disk.
		f.storing = f.toDisk()
	}
	f.signal()
	if f.storing {
		return len(p), nil
	}
	for {
		if len(f.readers) == 0 {
			return 0, ErrNoReaders
		}
		slowest := f.base + int64(len(f.buf))
		for r := range f.readers {
			slowest = min(slowest, r.off)
		}
		if drop := slowest - f.base; drop > 0 {
			f.buf, f.base = f.buf[drop:], slowest
			if len(f.buf) == 0 {
				f.buf = nil
			}
		}
		if int64(len(f.buf)) <= f.window {
			return len(p), nil
		}
		ch := f.changed
		f.mu.Unlock()
		<-ch
		f.mu.Lock()
	}
}

// MarkRefreshed says, before Start, that the answer is a stale object a
// 304 refreshed.
func (f *Fill) MarkRefreshed() {
	f.mu.Lock()
	f.refreshed = true
	f.mu.Unlock()
}

// Finish ends the fill: err is nil when the whole body arrived. A body
// shorter than its Content-Length is an error.
func (f *Fill) Finish(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil && f.length >= 0 && f.base+int64(len(f.buf)) != f.length {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && !f.ready {
		err = errTruncated
	}
	if err != nil || !f.storing {
		f.dropDisk()
	}
	f.done, f.err = true, err
	f.signal()
}

// Sink returns the disk tier's file of a finished fill that stored its
// body there, to commit.
func (f *Fill) Sink() (*DiskWriter, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.done || f.err != nil || !f.storing || f.sink == nil {
		return nil, false
	}
	return f.sink, true
}

// StartedHeader is the header the fill published with Start.
func (f *Fill) StartedHeader() http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.header
}

// Complete returns the whole body when the fill kept and finished it.
func (f *Fill) Complete() ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.done || f.err != nil || !f.storing || f.base != 0 || f.sink != nil {
		return nil, false
	}
	return f.buf, true
}

// Settle records, after Finish, the object the fill stored or refreshed
// (nil when none), and releases the readers that wait for the end.
func (f *Fill) Settle(o *Object) {
	f.mu.Lock()
	f.result, f.settled = o, true
	f.signal()
	f.mu.Unlock()
}

// Reader follows a fill.
type Reader struct {
	f      *Fill
	off    int64
	leader bool
}

// Attach adds a reader; leader marks the viewer whose request started the
// fill, who may read it even when it is not shared.
func (f *Fill) Attach(leader bool) *Reader {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &Reader{f: f, leader: leader}
	f.readers[r] = struct{}{}
	return r
}

// Close detaches the reader.
func (r *Reader) Close() {
	f := r.f
	f.mu.Lock()
	delete(f.readers, r)
	r.release()
	f.signal()
	f.mu.Unlock()
}

// wait blocks until cond holds (checked under the lock) or ctx ends.
func (r *Reader) wait(ctx context.Context, cond func() bool) error {
	f := r.f
	f.mu.Lock()
	for !cond() {
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
	return nil
}

// failed reports whether the fill's fetch ended in an error.
func (f *Fill) failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done && f.err != nil
}

// invalidated reports whether an invalidation since f began covers what
// it fetches (by path, or by the answer's tags once its header came).
func (f *Fill) invalidated() bool {
	if f.c.invSeq.Load() <= f.seq {
		return false // none since: one atomic load
	}
	r := f.Primary.ref()
	f.mu.Lock()
	if f.ready {
		r.tags = f.tags // set before ready, by the fetch
	}
	f.mu.Unlock()
	_, ok := f.c.validSeq(r, f.seq)
	return !ok
}

// Key is the cache key of the reader's fill.
func (r *Reader) Key() string { return r.f.Key }

// Tags are the cache tags of the fill's answer, once its header came.
func (r *Reader) Tags() []string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return r.f.tags
}

// Leader reports whether the reader's viewer started the fill.
func (r *Reader) Leader() bool { return r.leader }

// Header waits for the response's status and header. shared is false when
// the response may not be stored: then only the leader may read it, and
// any other viewer must ask the origin itself. refreshed says a 304
// refreshed a stale object. err is the fetch's error when it failed before
// a header arrived.
func (r *Reader) Header(ctx context.Context) (status int, h http.Header, shared, refreshed bool, err error) {
	f := r.f
	if err := r.wait(ctx, func() bool { return f.ready || f.done }); err != nil {
		return 0, nil, false, false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ready {
		return 0, nil, false, false, f.err
	}
	return f.status, f.header, f.shared, f.refreshed, nil
}

// Next returns the next part of the body, io.EOF at its end, or the error
// that cut it short. The bytes returned are never changed afterwards.
func (r *Reader) Next(ctx context.Context) ([]byte, error) {
	f := r.f
	// The end is reported once the fill has settled: a viewer who has read
	// a whole answer and asks again finds it stored.
	if err := r.wait(ctx, func() bool { return r.off < f.base+int64(len(f.buf)) || f.settled }); err != nil {
		return nil, err
	}
	f.mu.Lock()
	if r.off < f.fileEnd {
		// In the file: read it without holding the fill.
		rf, n := f.rf, min(f.fileEnd-r.off, fileChunk)
		f.mu.Unlock()
		p := make([]byte, n)
		if _, err := rf.ReadAt(p, r.off); err != nil {
			return nil, errTruncated
		}
		f.mu.Lock()
		r.off += n
		f.mu.Unlock()
		return p, nil
	}
	defer f.mu.Unlock()
	if end := f.base + int64(len(f.buf)); r.off < end {
		p := f.buf[r.off-f.base : end-f.base : end-f.base]
		r.off = end
		if !f.storing {
			f.signal() // the fetch may be waiting for readers to catch up
		}
		return p, nil
	}
	if f.err != nil {
		return nil, errTruncated
	}
	return nil, io.EOF
}

// NextSection is Next for a viewer that can send from a file: the part
// of the body in the disk tier's file comes as a section of it, for the
// kernel to send, rather than read into memory. Either the section or
// the bytes are set, or neither at the end.
func (r *Reader) NextSection(ctx context.Context) (*io.SectionReader, []byte, error) {
	f := r.f
	if err := r.wait(ctx, func() bool { return r.off < f.base+int64(len(f.buf)) || f.settled }); err != nil {
		return nil, nil, err
	}
	f.mu.Lock()
	if r.off < f.fileEnd {
		sec := io.NewSectionReader(f.rf, r.off, f.fileEnd-r.off)
		r.off = f.fileEnd
		f.mu.Unlock()
		return sec, nil, nil
	}
	f.mu.Unlock()
	p, err := r.Next(ctx)
	return nil, p, err
}

// Result waits for the end of the fill and returns the object it stored
// or refreshed (nil when it stored nothing) and the fetch's error.
func (r *Reader) Result(ctx context.Context) (*Object, error) {
	f := r.f
	if err := r.wait(ctx, func() bool { return f.settled }); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.result, f.err
}
