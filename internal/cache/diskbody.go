package cache

import (
	"io"
	"os"
)

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
