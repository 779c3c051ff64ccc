package cache

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

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
