package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
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
func (d *Disk) Range(f func(key string, r ref, seq uint64) bool) {
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
		o, key, err := d.metaOf(name)
		if err != nil {
			continue
		}
		if !f(key, o.ref, seqs[i]) {
			return
		}
	}
}

// metaOf reads the metadata of a file: the object without its body, and
// its key.
func (d *Disk) metaOf(name string) (*Object, string, error) {
	f, err := os.Open(d.path(name))
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.Size() < footerSize {
		return nil, "", errors.New("short")
	}
	var foot [footerSize]byte
	if _, err := f.ReadAt(foot[:], info.Size()-footerSize); err != nil {
		return nil, "", err
	}
	bodyLen := int64(binary.LittleEndian.Uint64(foot[0:]))
	metaLen := int64(binary.LittleEndian.Uint32(foot[8:]))
	if binary.LittleEndian.Uint32(foot[16:]) != diskMagic || bodyLen+metaLen+footerSize != info.Size() {
		return nil, "", errors.New("bad footer")
	}
	meta := make([]byte, metaLen)
	if _, err := f.ReadAt(meta, bodyLen); err != nil {
		return nil, "", err
	}
	return decodeMeta(meta)
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
