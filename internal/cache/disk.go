package cache

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Disk is the disk tier: one file an object, named by a hash of its key,
// in 256 folders. A file holds the body, then the object's key, header and
// metadata, then a footer with their lengths and a CRC-32C of both.
//
// Files are written under a temporary name in tmp/ and renamed into place
// once complete, so a crash never leaves a partial object under a final
// name; tmp/ is emptied at start. At start the tier serves at once: a
// lookup opens the file its key names, and the index of sizes (for the
// size limit) is read from the folders in the background, without reading
// any object. A file read for the first time since start is checked
// against its CRC before it is served.
type Disk struct {
	dir string
	max uint64
	log *slog.Logger

	mu       sync.Mutex
	index    map[string]*diskEntry // by file name
	bytes    uint64
	verified map[string]bool // files whose CRC was checked, or written, by this process
	scanned  chan struct{}   // closed when the index is complete

	evictions atomic.Uint64
}

type diskEntry struct {
	size int64
	used atomic.Int64 // unix seconds of the last hit
	seq  uint64       // invalidation sequence number when written; 0 when found at start
}

const (
	diskMagic  = 0x45464331 // "EFC1"
	footerSize = 8 + 4 + 4 + 4
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// OpenDisk opens (creating it when needed) the disk tier at dir, holding
// at most max bytes.
func OpenDisk(dir string, max uint64, log *slog.Logger) (*Disk, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, fmt.Errorf("cache.disk: %w", err)
	}
	// Whatever is in tmp/ was being written when the last process stopped.
	if entries, err := os.ReadDir(filepath.Join(dir, "tmp")); err == nil {
		for _, e := range entries {
			os.Remove(filepath.Join(dir, "tmp", e.Name()))
		}
	}
	d := &Disk{dir: dir, max: max, log: log, index: map[string]*diskEntry{}, verified: map[string]bool{}, scanned: make(chan struct{})}
	go d.scan()
	return d, nil
}

// scan builds the index from the folders: names and sizes only.
func (d *Disk) scan() {
	defer close(d.scanned)
	start := time.Now()
	n := 0
	for i := range 256 {
		sub := fmt.Sprintf("%02x", i)
		entries, err := os.ReadDir(filepath.Join(d.dir, sub))
		if err != nil {
			continue
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() {
				continue
			}
			name := sub + "/" + e.Name()
			d.mu.Lock()
			if _, ok := d.index[name]; !ok {
				de := &diskEntry{size: info.Size()}
				de.used.Store(info.ModTime().Unix())
				d.index[name] = de
				d.bytes += uint64(info.Size())
				n++
			}
			d.mu.Unlock()
		}
	}
	d.log.Info("disk cache found", "dir", d.dir, "objects", n, "took", time.Since(start).Round(time.Millisecond))
	d.evict()
}

// WaitScanned waits until the index holds every file found at start.
func (d *Disk) WaitScanned() { <-d.scanned }

func fileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return h[:2] + "/" + h[2:]
}

func (d *Disk) path(name string) string { return filepath.Join(d.dir, filepath.FromSlash(name)) }

// diskBody is a body held in a file: the object's body is the file's
// first size bytes.
type diskBody struct {
	f    *os.File
	size int64
}

// BodyReader returns a reader of the whole body, at any offset: from
// memory, or from the disk tier's file.
func (o *Object) BodyReader() io.ReadSeeker {
	if o.ext != nil && o.ext.disk != nil {
		return io.NewSectionReader(o.ext.disk.f, 0, o.ext.disk.size)
	}
	return bytesReader(o.Body)
}

// BodySize is the body's length.
func (o *Object) BodySize() int64 {
	if o.ext != nil && o.ext.disk != nil {
		return o.ext.disk.size
	}
	return int64(len(o.Body))
}

// BodyFile is the disk tier's file holding the body, and the body's
// length, for a writer that sends it with sendfile; ok is false for a
// body in memory. The file is shared: read it at offsets, never by
// moving its offset.
func (o *Object) BodyFile() (f *os.File, size int64, ok bool) {
	if o.ext != nil && o.ext.disk != nil {
		return o.ext.disk.f, o.ext.disk.size, true
	}
	return nil, 0, false
}

// OnDisk reports whether the body is read from the disk tier.
func (o *Object) OnDisk() bool { return o.ext != nil && o.ext.disk != nil }

func attachFile(o *Object, f *os.File, size int64) {
	if o.ext == nil {
		o.ext = &objectExt{}
	}
	// The file closes when nothing uses it any more (os.File's own
	// cleanup): objects, and readers of them, may outlive the store.
	o.ext.disk = &diskBody{f: f, size: size}
}

// ShareBody gives o the body of from: an object a 304 refreshed keeps the
// body it had, in memory or on disk.
func (o *Object) ShareBody(from *Object) {
	o.Body = from.Body
	if from.ext != nil && from.ext.disk != nil {
		if o.ext == nil {
			o.ext = &objectExt{}
		}
		o.ext.disk = from.ext.disk
	}
}

// Get reads the object stored at key. A body of at most inline bytes is
// read into memory; a larger one stays in the file.
func (d *Disk) Get(key string, inline int64) (*Object, bool) {
	name := fileName(key)
	f, err := os.Open(d.path(name))
	if err != nil {
		return nil, false
	}
	o, err := d.read(f, key, name, inline)
	if err != nil {
		f.Close()
		if !errors.Is(err, errOtherKey) {
			d.log.Warn("disk cache object unreadable; removed", "file", d.path(name), "err", err)
			d.remove(name)
		}
		return nil, false
	}
	if !o.OnDisk() {
		f.Close()
	}
	d.mu.Lock()
	if de := d.index[name]; de != nil {
		de.used.Store(time.Now().Unix())
		o.seq.Store(de.seq)
	}
	d.mu.Unlock()
	return o, true
}

// touch marks key's object used now, for eviction by use.
func (d *Disk) touch(key string) {
	name := fileName(key)
	d.mu.Lock()
	if de := d.index[name]; de != nil {
		de.used.Store(time.Now().Unix())
	}
	d.mu.Unlock()
}

var errOtherKey = errors.New("the file holds another key")

func (d *Disk) read(f *os.File, key, name string, inline int64) (*Object, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := info.Size()
	if size < footerSize {
		return nil, errors.New("shorter than its footer")
	}
	var foot [footerSize]byte
	if _, err := f.ReadAt(foot[:], size-footerSize); err != nil {
		return nil, err
	}
	bodyLen := int64(binary.LittleEndian.Uint64(foot[0:]))
	metaLen := int64(binary.LittleEndian.Uint32(foot[8:]))
	sum := binary.LittleEndian.Uint32(foot[12:])
	if binary.LittleEndian.Uint32(foot[16:]) != diskMagic || bodyLen < 0 || bodyLen+metaLen+footerSize != size {
		return nil, errors.New("bad footer")
	}
	meta := make([]byte, metaLen)
	if _, err := f.ReadAt(meta, bodyLen); err != nil {
		return nil, err
	}
	o, gotKey, err := decodeMeta(meta)
	if err != nil {
		return nil, err
	}
	if gotKey != key {
		return nil, errOtherKey
	}
	d.mu.Lock()
	verified := d.verified[name]
	d.mu.Unlock()
	if !verified {
		crc := crc32.New(crcTable)
		if _, err := io.Copy(crc, io.NewSectionReader(f, 0, bodyLen)); err != nil {
			return nil, err
		}
		crc.Write(meta)
		if crc.Sum32() != sum {
			return nil, errors.New("checksum mismatch")
		}
		d.mu.Lock()
		d.verified[name] = true
		d.mu.Unlock()
	}
	if bodyLen <= inline {
		o.Body = make([]byte, bodyLen)
		if _, err := f.ReadAt(o.Body, 0); err != nil {
			return nil, err
		}
		return o, nil
	}
	attachFile(o, f, bodyLen)
	return o, nil
}

// DiskWriter writes one object into the disk tier: the body as it
// arrives, then its metadata on Commit.
type DiskWriter struct {
	d    *Disk
	tmp  string
	f    *os.File
	crc  hash.Hash32
	size int64
}

// Create starts writing an object under a temporary name.
func (d *Disk) Create() (*DiskWriter, error) {
	var b [12]byte
	rand.Read(b[:])
	tmp := filepath.Join(d.dir, "tmp", hex.EncodeToString(b[:]))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &DiskWriter{d: d, tmp: tmp, f: f, crc: crc32.New(crcTable)}, nil
}

func (w *DiskWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.crc.Write(p[:n])
	w.size += int64(n)
	return n, err
}

// Size is the number of body bytes written.
func (w *DiskWriter) Size() int64 { return w.size }

// ReadAt reads the body written so far.
func (w *DiskWriter) ReadAt(p []byte, off int64) (int, error) { return w.f.ReadAt(p, off) }

// Commit writes o's metadata after the body and moves the file into
// place as the object of key. o gets the file as its body when the body is
// larger than inline.
func (w *DiskWriter) Commit(key string, o *Object, seq uint64, inline int64) error {
	meta := encodeMeta(key, o)
	w.crc.Write(meta)
	var foot [footerSize]byte
	binary.LittleEndian.PutUint64(foot[0:], uint64(w.size))
	binary.LittleEndian.PutUint32(foot[8:], uint32(len(meta)))
	binary.LittleEndian.PutUint32(foot[12:], w.crc.Sum32())
	binary.LittleEndian.PutUint32(foot[16:], diskMagic)
	if _, err := w.f.Write(append(meta, foot[:]...)); err != nil {
		w.Abort()
		return err
	}
	name := fileName(key)
	final := w.d.path(name)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		w.Abort()
		return err
	}
	if err := os.Rename(w.tmp, final); err != nil {
		w.Abort()
		return err
	}
	total := w.size + int64(len(meta)) + footerSize
	w.d.indexed(name, total, seq)
	if w.size > inline && o.Body == nil {
		if o.ext != nil {
			o.ext.disk = nil
		}
		attachFile(o, w.f, w.size)
	} else {
		w.f.Close()
	}
	w.f = nil
	w.d.evict()
	return nil
}

// Abort drops what was written.
func (w *DiskWriter) Abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	os.Remove(w.tmp)
}

// Put writes an object. One whose body is on disk already (refreshed by a
// 304) is written anew, body and all, and takes the new file.
func (d *Disk) Put(key string, o *Object) error {
	w, err := d.Create()
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, o.BodyReader()); err != nil {
		w.Abort()
		return err
	}
	return w.Commit(key, o, o.seq.Load(), 0)
}

func (d *Disk) indexed(name string, size int64, seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if old := d.index[name]; old != nil {
		d.bytes -= uint64(old.size)
	}
	de := &diskEntry{size: size, seq: seq}
	de.used.Store(time.Now().Unix())
	d.index[name] = de
	d.bytes += uint64(size)
	d.verified[name] = true
}

// Delete removes the object stored at key.
func (d *Disk) Delete(key string) { d.remove(fileName(key)) }

func (d *Disk) remove(name string) {
	os.Remove(d.path(name))
	d.mu.Lock()
	if de := d.index[name]; de != nil {
		d.bytes -= uint64(de.size)
		delete(d.index, name)
	}
	delete(d.verified, name)
	d.mu.Unlock()
}

// evict removes the least recently used objects, sampled, until the tier
// fits in its size. It waits for the index to be complete.
func (d *Disk) evict() {
	select {
	case <-d.scanned:
	default:
		return
	}
	for {
		d.mu.Lock()
		if d.bytes <= d.max {
			d.mu.Unlock()
			return
		}
		victim, oldest, n := "", int64(1<<62), 0
		for name, de := range d.index {
			if u := de.used.Load(); u < oldest {
				victim, oldest = name, u
			}
			if n++; n == 16 {
				break
			}
		}
		d.mu.Unlock()
		if victim == "" {
			return
		}
		d.remove(victim)
		d.evictions.Add(1)
	}
}

// Range calls f with the key of every object on disk, after the index is
// complete, until f returns false. It reads each object's metadata.
func (d *Disk) Range(f func(key string, seq uint64) bool) {
	<-d.scanned
	d.mu.Lock()
	names := make([]string, 0, len(d.index))
	seqs := make([]uint64, 0, len(d.index))
	for name, de := range d.index {
		names = append(names, name)
		seqs = append(seqs, de.seq)
	}
	d.mu.Unlock()
	for i, name := range names {
		key, err := d.keyOf(name)
		if err != nil {
			continue
		}
		if !f(key, seqs[i]) {
			return
		}
	}
}

func (d *Disk) keyOf(name string) (string, error) {
	f, err := os.Open(d.path(name))
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.Size() < footerSize {
		return "", errors.New("short")
	}
	var foot [footerSize]byte
	if _, err := f.ReadAt(foot[:], info.Size()-footerSize); err != nil {
		return "", err
	}
	bodyLen := int64(binary.LittleEndian.Uint64(foot[0:]))
	metaLen := int64(binary.LittleEndian.Uint32(foot[8:]))
	if binary.LittleEndian.Uint32(foot[16:]) != diskMagic || bodyLen+metaLen+footerSize != info.Size() {
		return "", errors.New("bad footer")
	}
	var lenBuf [binary.MaxVarintLen64]byte
	n, _ := f.ReadAt(lenBuf[:], bodyLen)
	kl, k := binary.Uvarint(lenBuf[:n])
	if k <= 0 || int64(kl) > metaLen {
		return "", errors.New("bad key")
	}
	key := make([]byte, kl)
	if _, err := f.ReadAt(key, bodyLen+int64(k)); err != nil {
		return "", err
	}
	return string(key), nil
}

// Evictions is how many objects the tier dropped to stay in its size.
func (d *Disk) Evictions() uint64 { return d.evictions.Load() }

// Len and Bytes are the number of objects and what they weigh on disk.
func (d *Disk) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.index)
}

func (d *Disk) Bytes() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bytes
}

// encodeMeta lays out an object's key, header and metadata.
func encodeMeta(key string, o *Object) []byte {
	b := make([]byte, 0, 256+len(key))
	b = appendString(b, key)
	b = binary.LittleEndian.AppendUint16(b, o.status)
	b = binary.LittleEndian.AppendUint64(b, uint64(o.responseTime))
	b = binary.LittleEndian.AppendUint64(b, uint64(o.modTime))
	b = binary.LittleEndian.AppendUint64(b, o.gen)
	for _, v := range []uint32{o.initialAge, o.ttl, o.swr, o.sie} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	if o.mustReval {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	vs := o.Variants()
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = appendString(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(o.Header)))
	for k, vs := range o.Header {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

type metaReader struct {
	b   []byte
	err error
}

var errBadMeta = errors.New("bad metadata")

func (r *metaReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errBadMeta, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *metaReader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.err, r.b = errBadMeta, nil
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *metaReader) string() string { return string(r.bytes(int(min(r.uvarint(), 1<<30)))) }

func (r *metaReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err, r.b = errBadMeta, nil
		return 0
	}
	return int(n)
}

func decodeMeta(b []byte) (*Object, string, error) {
	r := &metaReader{b: b}
	key := r.string()
	o := &Object{}
	fixed := r.bytes(2 + 8 + 8 + 8 + 16 + 1)
	if r.err != nil {
		return nil, "", r.err
	}
	o.status = binary.LittleEndian.Uint16(fixed)
	o.responseTime = int64(binary.LittleEndian.Uint64(fixed[2:]))
	o.modTime = int64(binary.LittleEndian.Uint64(fixed[10:]))
	o.gen = binary.LittleEndian.Uint64(fixed[18:])
	o.initialAge = binary.LittleEndian.Uint32(fixed[26:])
	o.ttl = binary.LittleEndian.Uint32(fixed[30:])
	o.swr = binary.LittleEndian.Uint32(fixed[34:])
	o.sie = binary.LittleEndian.Uint32(fixed[38:])
	o.mustReval = fixed[42] == 1
	if n := r.count(); n > 0 {
		vs := make([]string, n)
		for i := range vs {
			vs[i] = r.string()
		}
		o.ext = &objectExt{variants: vs}
	}
	n := r.count()
	o.Header = make(http.Header, n)
	for range n {
		k := r.string()
		vs := make([]string, r.count())
		for i := range vs {
			vs[i] = r.string()
		}
		o.Header[k] = vs
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, "", errBadMeta
	}
	return o, key, nil
}
