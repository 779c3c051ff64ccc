package edge

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/edgefront/edgefront/internal/cache"
)

// Compression at the edge, with CloudFront's conditions: the behavior has
// compress on, the viewer accepts gzip, br or zstd, the answer is a 200,
// 403 or 404 of a compressible type with a Content-Length between 1,000
// and 10,000,000 bytes, and the origin did not encode it.
const (
	compressMin = 1000
	compressMax = 10_000_000
)

// compressibleTypes are the media types CloudFront compresses.
var compressibleTypes = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`application/dash+xml application/eot application/font
		application/font-sfnt application/javascript application/json application/opentype
		application/otf application/pkcs7-mime application/protobuf application/rss+xml
		application/truetype application/ttf application/vnd.apple.mpegurl
		application/vnd.mapbox-vector-tile application/vnd.ms-fontobject application/wasm
		application/xhtml+xml application/xml application/x-font-opentype
		application/x-font-truetype application/x-font-ttf application/x-httpd-cgi
		application/x-javascript application/x-mpegurl application/x-opentype application/x-otf
		application/x-perl application/x-ttf application/geo+json application/ld+json
		application/manifest+json font/eot font/opentype font/otf font/ttf image/svg+xml
		text/css text/csv text/html text/javascript text/js text/plain text/richtext
		text/tab-separated-values text/xml text/x-script text/x-component text/x-java-source`) {
		compressibleTypes[t] = true
	}
}

// compressible reports whether an answer may be compressed at the edge.
func compressible(status int, h http.Header) bool {
	if status != http.StatusOK && status != http.StatusForbidden && status != http.StatusNotFound {
		return false
	}
	if h.Get("Content-Encoding") != "" || strings.Contains(strings.ToLower(strings.Join(h["Cache-Control"], ",")), "no-transform") {
		return false
	}
	if !compressibleTypes[mediaType(h.Get("Content-Type"))] {
		return false
	}
	n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	return err == nil && n >= compressMin && n <= compressMax
}

// mediaType is a Content-Type's type and subtype, lower-cased, its
// parameters left out (as nginx's gzip_types matches it).
func mediaType(v string) string {
	v, _, _ = strings.Cut(v, ";")
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		if 'A' <= v[i] && v[i] <= 'Z' {
			return strings.ToLower(v)
		}
	}
	return v
}

// addVary adds field to an answer's Vary, unless it is there or Vary is *.
func addVary(h http.Header, field string) {
	for _, line := range h["Vary"] {
		for _, n := range strings.Split(line, ",") {
			if n = strings.TrimSpace(n); strings.EqualFold(n, field) || n == "*" {
				return
			}
		}
	}
	h["Vary"] = append(h["Vary"][:len(h["Vary"]):len(h["Vary"])], field)
}

// encodedHeader turns the header of an answer into that of its encoding:
// Content-Encoding set, Content-Length gone (the caller knows it, or the
// body is streamed), a strong ETag made weak as CloudFront does.
func encodedHeader(h http.Header, enc string) {
	h["Content-Encoding"] = []string{enc}
	delete(h, "Content-Length")
	addVary(h, "Accept-Encoding")
	if et := h.Get("Etag"); et != "" && !strings.HasPrefix(et, "W/") {
		h["Etag"] = []string{"W/" + et}
	}
}

// encoder is a pooled compressor of one encoding.
type encoder interface {
	io.WriteCloser
	Flush() error
	Reset(io.Writer)
}

var encoders = map[string]*sync.Pool{
	"gzip": {New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression); return w }},
	"br":   {New: func() any { return brotli.NewWriterLevel(nil, 5) }},
	"zstd": {New: func() any {
		w, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
		return &zstdEncoder{w}
	}},
}

// zstdEncoder gives zstd's Reset the shape of the others.
type zstdEncoder struct{ *zstd.Encoder }

func (z *zstdEncoder) Reset(w io.Writer) { z.Encoder.Reset(w) }

func getEncoder(enc string, w io.Writer) encoder {
	e := encoders[enc].Get().(encoder)
	e.Reset(w)
	return e
}

func putEncoder(enc string, e encoder) {
	e.Reset(nil)
	encoders[enc].Put(e)
}

// encodeCount counts whole bodies encoded, for tests.
var encodeCount atomic.Int64

// encode compresses a whole body.
func encode(enc string, body io.Reader, size int64) []byte {
	encodeCount.Add(1)
	var buf bytes.Buffer
	buf.Grow(int(size / 3))
	e := getEncoder(enc, &buf)
	io.Copy(e, body)
	e.Close()
	putEncoder(enc, e)
	return buf.Bytes()
}

// compressWriter compresses an answer on its way to the viewer when the
// conditions hold, deciding when the header is written.
type compressWriter struct {
	http.ResponseWriter
	enc   string // what the viewer accepts: br, zstd, gzip or "" (identity)
	head  bool
	wrote bool
	e     encoder
}

// compressing wraps w when the behavior compresses and the viewer did not
// ask for a range. The writer is the exchange's own.
func (b *Behavior) compressing(w http.ResponseWriter, r *http.Request, ex *exchange) *compressWriter {
	if !b.compress || r.Header["Range"] != nil {
		return nil
	}
	ex.cw = compressWriter{ResponseWriter: w, enc: cache.NormalizeAcceptEncoding(r.Header.Get("Accept-Encoding")), head: r.Method == http.MethodHead}
	return &ex.cw
}

func (cw *compressWriter) WriteHeader(code int) {
	if cw.wrote || code < 200 {
		cw.ResponseWriter.WriteHeader(code)
		return
	}
	cw.wrote = true
	if h := cw.Header(); compressible(code, h) {
		addVary(h, "Accept-Encoding")
		if cw.enc != "" {
			encodedHeader(h, cw.enc)
			if !cw.head {
				cw.e = getEncoder(cw.enc, cw.ResponseWriter)
			}
		}
	}
	cw.ResponseWriter.WriteHeader(code)
}

func (cw *compressWriter) Write(p []byte) (int, error) {
	if !cw.wrote {
		cw.WriteHeader(http.StatusOK)
	}
	if cw.e != nil {
		return cw.e.Write(p)
	}
	return cw.ResponseWriter.Write(p)
}

func (cw *compressWriter) Flush() {
	if cw.e != nil {
		cw.e.Flush()
	}
	if f, ok := cw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (cw *compressWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

// findCompressWriter finds the compressing writer among the writers an
// answer goes through, nil when there is none.
func findCompressWriter(w http.ResponseWriter) *compressWriter {
	for {
		if cw, ok := w.(*compressWriter); ok {
			return cw
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
}

// finish ends the compressed stream. On an aborted answer it drops the
// encoder without writing its end, so a cut body stays visibly cut.
func (cw *compressWriter) finish(aborted bool) {
	if cw.e == nil {
		return
	}
	if !aborted {
		cw.e.Close()
	}
	putEncoder(cw.enc, cw.e)
	cw.e = nil
}

// encoded returns the encoding enc of the object stored at key, made once
// per object and encoding and cached beside it.
func (b *Behavior) encoded(key string, o *cache.Object, enc string) *cache.Object {
	return b.cache.Encoded(key, o, enc, func() *cache.Object {
		h := o.Header.Clone()
		encodedHeader(h, enc)
		body := encode(enc, o.BodyReader(), o.BodySize())
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		return cache.NewObject(h, body, cache.Meta{Status: o.Status()})
	})
}
