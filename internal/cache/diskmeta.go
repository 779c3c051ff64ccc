package cache

import (
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
)

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
	// What invalidations match, last: files written before it have none.
	b = appendString(b, o.ref.dist)
	b = appendString(b, o.ref.path)
	b = binary.AppendUvarint(b, uint64(len(o.ref.tags)))
	for _, t := range o.ref.tags {
		b = appendString(b, t)
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
	if len(r.b) > 0 {
		o.ref.dist, o.ref.path = r.string(), r.string()
		if len(r.b) > 0 { // files written before tags were kept have none
			for n := r.count(); n > 0; n-- {
				o.ref.tags = append(o.ref.tags, r.string())
			}
		}
	} else {
		o.ref = legacyRef(key)
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, "", errBadMeta
	}
	return o, key, nil
}

// legacyRef is what invalidations match an object by, for files written
// before the metadata held it: read from the key's layout (Key.String).
func legacyRef(key string) ref {
	dist, rest, _ := strings.Cut(key, "\x00")
	_, rest, _ = strings.Cut(rest, "\x00")
	if i := strings.IndexAny(rest, "?\x00"); i >= 0 {
		rest = rest[:i]
	}
	return Key{Dist: dist, Path: rest}.ref()
}
