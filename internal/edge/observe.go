package edge

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/edgefront/edgefront/internal/accesslog"
	"github.com/edgefront/edgefront/internal/cache"
	"github.com/edgefront/edgefront/internal/clock"
)

// Observer receives what the edge did with each request: the access log
// and the metrics. A nil Observer costs the hit path nothing.
type Observer struct {
	Log      *accesslog.Logger // nil when there is no access log
	Location string            // x-edge-location
	Metrics  *Metrics          // nil when there are no metrics
}

// DefaultLocation is the x-edge-location of an access log that names none:
// this machine's host name, without its domain.
func DefaultLocation() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "edgefront"
	}
	h, _, _ = strings.Cut(h, ".")
	return h
}

// recorder follows an answer on its way to the viewer: its status, its
// size and when its first byte left.
type recorder struct {
	http.ResponseWriter
	status      int
	headerBytes int64
	bodyBytes   int64
	firstByte   time.Time

	ex *exchange // set by the distribution that answers; nil before one
	// own is the exchange record the distribution takes: one allocation
	// for both.
	own exchange

	// The stored object's fields a stored answer did not put in the
	// header map, for the access log.
	storedType, storedLength, storedRange string
}

// storedWriter is a writer that takes a stored object's answer in one go
// (the HTTP/1.1 loop's): the handler's fields, the object's rendered
// fields, its body. It reports false, having written nothing, when it
// cannot.
type storedWriter interface {
	WriteStored(status int, head []byte, hasDate bool, body []byte) bool
	// WriteStoredFile sends a body that lives in the disk tier's file
	// (sendfile, at offsets: the file is shared).
	WriteStoredFile(status int, head []byte, hasDate bool, f *os.File, size int64) bool
}

// proxied records an answer passed on from the origin's head lines,
// written in one go below; its body goes through Write as any other.
func (rec *recorder) proxied(status, fieldBytes int, info fieldInfo, length string) {
	rec.status, rec.firstByte = status, clock.Mono()
	rec.headerBytes = headBytes(rec.Header(), fieldBytes+lengthLine(length))
	rec.storedType, rec.storedLength, rec.storedRange = string(info.contentType), length, string(info.contentRange)
}

// writerBelow finds the writer of kind T that w is, or that w records
// for; rec is the recorder between them, nil when there is none.
func writerBelow[T any](w http.ResponseWriter) (rec *recorder, below T, ok bool) {
	if r, isRec := w.(*recorder); isRec {
		below, ok = r.ResponseWriter.(T)
		return r, below, ok
	}
	below, ok = w.(T)
	return nil, below, ok
}

// stored records a stored object's answer, written in one go below, as
// WriteHeader and Write would have.
func (rec *recorder) stored(o *cache.Object, r *http.Request) {
	rec.status, rec.firstByte = o.Status(), clock.Mono()
	length := first(o.Header["Content-Length"])
	rec.headerBytes = headBytes(rec.Header(), len(o.Head())+lengthLine(length))
	if r.Method != http.MethodHead {
		rec.bodyBytes += o.BodySize()
	}
	rec.storedType, rec.storedLength = first(o.Header["Content-Type"]), length
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 && code >= 200 {
		rec.status = code
		rec.firstByte = clock.Mono()
		rec.headerBytes = headBytes(rec.Header(), 0)
	}
	rec.ResponseWriter.WriteHeader(code)
}

// lengthLine is the size of the Content-Length line a writer adds to
// rendered fields that leave it out.
func lengthLine(length string) int { return len("Content-Length: \r\n") + len(length) }

// headBytes is the size of an answer's head with the fields of h and
// rendered more bytes of fields.
func headBytes(h http.Header, rendered int) int64 {
	n := int64(len("HTTP/1.1 200 OK\r\n\r\n") + rendered)
	for k, vs := range h {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	return n
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	n, err := rec.ResponseWriter.Write(p)
	rec.bodyBytes += int64(n)
	return n, err
}

// ReadFrom keeps the kernel's copy (splice, sendfile) of the writer below.
func (rec *recorder) ReadFrom(r io.Reader) (int64, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	var n int64
	var err error
	if rf, ok := rec.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(rec.ResponseWriter, r)
	}
	rec.bodyBytes += n
	return n, err
}

func (rec *recorder) Flush() {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	if f, ok := rec.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// observe answers r through next, then logs and counts it.
func (rt *Router) observe(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request)) {
	start := clock.Mono() // for intervals only: one clock read
	rec := &recorder{ResponseWriter: w}
	defer func() {
		v := recover()
		rt.record(rec, r, start, v != nil)
		if v != nil {
			panic(v)
		}
	}()
	next(rec, r)
}

func (rt *Router) record(rec *recorder, r *http.Request, start time.Time, aborted bool) {
	l := rt.obs.Log
	var end time.Time
	if l != nil {
		end = time.Now() // the log line's time, read off the system clock
	} else {
		end = clock.Mono()
	}
	h := rec.Header()
	ex := rec.ex
	if ex == nil {
		ex = &exchange{}
	}
	result := ex.outcome.result(rec.status)
	final := result
	if aborted {
		final = "Error" // the answer was cut short
	}
	in := requestBytes(r)
	if m := rt.obs.Metrics; m != nil {
		m.request(rec, ex, in, result, end.Sub(start))
	}
	if l == nil {
		return
	}
	e := accesslog.Entry{
		Time: end, Location: rt.obs.Location, BytesOut: rec.headerBytes + rec.bodyBytes,
		Method: r.Method, Path: r.URL.EscapedPath(), Status: rec.status, Client: ex.client,
		Referer: first(r.Header["Referer"]), UserAgent: first(r.Header["User-Agent"]), Query: r.URL.RawQuery,
		Result: final, RequestID: first(h["X-Edge-Request-Id"]),
		Host: r.Host, Protocol: "http", BytesIn: in, TimeTaken: end.Sub(start),
		Response: result, ProtoVersion: protoVersion(r), ContentType: orElse(first(h["Content-Type"]), rec.storedType), ContentLength: orElse(first(h["Content-Length"]), rec.storedLength),
	}
	if c := r.Header["Cookie"]; len(c) > 0 {
		e.Cookie = strings.Join(c, "; ")
	}
	if x := r.Header["X-Forwarded-For"]; len(x) > 0 {
		e.ForwardedFor = strings.Join(x, ", ")
	}
	if ex.dist != nil {
		e.Distribution = ex.dist.Name
	}
	if i := strings.LastIndexByte(r.RemoteAddr, ':'); i >= 0 {
		e.ClientPort = r.RemoteAddr[i+1:]
		if !e.Client.IsValid() {
			e.ClientIP = strings.Trim(r.RemoteAddr[:i], "[]")
		}
	}
	if r.TLS != nil {
		e.Protocol = "https"
		e.TLSProtocol = tlsVersionName(r.TLS.Version)
		e.TLSCipher = cipherName(r.TLS.CipherSuite)
	}
	if _, ok := r.Header["Upgrade"]; ok {
		e.Protocol = "ws"
		if r.TLS != nil {
			e.Protocol = "wss"
		}
	}
	if !rec.firstByte.IsZero() {
		e.TTFB = rec.firstByte.Sub(start)
	}
	e.Detailed = final
	e.CacheTags = ex.tags
	if cr := orElse(first(h["Content-Range"]), rec.storedRange); cr != "" {
		if rng, ok := strings.CutPrefix(cr, "bytes "); ok {
			rng, _, _ = strings.Cut(rng, "/")
			e.RangeStart, e.RangeEnd, _ = strings.Cut(rng, "-")
		}
	}
	l.Log(&e)
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// requestBytes is what the viewer sent: the request line, the header
// fields, and the body's declared length.
func requestBytes(r *http.Request) int64 {
	n := int64(len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + 2)
	n += int64(len("Host: \r\n") + len(r.Host))
	for k, vs := range r.Header {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	if r.ContentLength > 0 {
		n += r.ContentLength
	}
	return n
}

func protoVersion(r *http.Request) string {
	switch r.ProtoMajor {
	case 2:
		return "HTTP/2.0"
	case 3:
		return "HTTP/3.0"
	}
	if r.ProtoMinor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return ""
}

// openSSLNames are the OpenSSL names CloudFront logs for TLS 1.2 suites;
// TLS 1.3 suites have one name in both.
var openSSLNames = map[uint16]string{
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
}

func cipherName(id uint16) string {
	if n, ok := openSSLNames[id]; ok {
		return n
	}
	return tls.CipherSuiteName(id)
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
