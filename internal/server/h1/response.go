package h1

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// response is the loop's http.ResponseWriter. It frames answers as
// net/http's does (Content-Length when the handler's whole body is known
// at its end, chunked otherwise, Date, Content-Type sniffing, the fields a
// status forbids removed), so that a request gets the same answer on
// either path.
type response struct {
	cn     *conn
	req    *http.Request
	header http.Header

	status        int
	wroteHeader   bool // WriteHeader was called (or implied)
	headSent      bool // the head is in the connection's buffer
	handlerDone   bool
	chunked       bool
	closeAfter    bool
	contentLength int64 // declared, -1 when not
	written       int64
	held          []byte // body held back until the head is decided
}

// hold is how much body is held back before the head is written, as
// net/http's bufferBeforeChunkingSize.
const hold = 2048

// sniffLen is what http.DetectContentType reads.
const sniffLen = 512

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// An informational answer goes out at once, with the fields set so
		// far, and the final one follows.
		w.cn.bw.statusLine(code)
		writeFields(&w.cn.bw, w.header, nil)
		w.cn.bw.writeString("\r\n")
		w.cn.bw.flush()
		return
	}
	w.wroteHeader, w.status = true, code
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.contentLength = n
		} else {
			w.header.Del("Content-Length")
		}
	}
}

func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.contentLength != -1 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	if w.req.Method == http.MethodHead {
		// A HEAD's body is not sent, but frames the head as a GET's
		// would: held, it gives the length; past what is held, the head
		// leaves without one, as net/http's does.
		if !w.headSent {
			if len(w.held)+len(p) <= hold {
				w.held = append(w.held, p...)
			} else {
				w.sendHead(append(w.held, p[:min(len(p), sniffLen)]...))
				w.held = nil
			}
		}
		return len(p), nil
	}
	if !w.headSent {
		if len(w.held)+len(p) <= hold {
			w.held = append(w.held, p...)
			return len(p), nil
		}
		// The head sees the start of the body (to sniff its type); the
		// body itself is not copied.
		start := p
		if len(w.held) > 0 {
			start = append(w.held, p[:min(len(p), sniffLen)]...)
		}
		w.sendHead(start)
		held := w.held
		w.held = nil
		if err := w.body(held); err != nil {
			return 0, err
		}
		if err := w.body(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if err := w.body(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteString spares io.WriteString a copy.
func (w *response) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// Flush sends what is held and what is buffered.
func (w *response) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headSent {
		held := w.held
		w.sendHead(held)
		w.held = nil
		if w.req.Method != http.MethodHead {
			w.body(held)
		}
	}
	w.cn.bw.flush()
}

// FlushError is Flush that says how it went (http.ResponseController).
func (w *response) FlushError() error {
	w.Flush()
	return w.cn.bw.err
}

// SetWriteDeadline lets http.ResponseController move the write deadline.
// The next write then arms the send timeout afresh.
func (w *response) SetWriteDeadline(t time.Time) error {
	w.cn.bw.wd.Forget()
	return w.cn.c.SetWriteDeadline(t)
}

// SetReadDeadline: the loop's requests have no body to read. The wait for
// the next request sets its own.
func (w *response) SetReadDeadline(t time.Time) error {
	w.cn.rd.Forget()
	return w.cn.c.SetReadDeadline(t)
}

// finish ends the answer once the handler has returned.
func (w *response) finish() {
	w.handlerDone = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headSent {
		held := w.held
		w.sendHead(held)
		if w.req.Method != http.MethodHead {
			w.body(held)
		}
	}
	if w.chunked {
		w.cn.bw.writeString("0\r\n")
		w.trailers()
		w.cn.bw.writeString("\r\n")
	}
	if w.req.Method != http.MethodHead && w.contentLength != -1 && bodyAllowed(w.status) && w.written != w.contentLength {
		w.closeAfter = true // the answer is shorter than it said: the connection cannot go on
	}
	if w.cn.bw.err != nil {
		w.closeAfter = true
	}
}

// body writes body bytes after the head, framed.
func (w *response) body(p []byte) error {
	if len(p) == 0 || !bodyAllowed(w.status) || w.req.Method == http.MethodHead {
		return w.cn.bw.err
	}
	bw := &w.cn.bw
	if w.chunked {
		bw.writeString(strconv.FormatInt(int64(len(p)), 16))
		bw.writeString("\r\n")
		bw.write(p)
		bw.writeString("\r\n")
	} else {
		bw.write(p)
	}
	return bw.err
}

// sendHead decides the framing and writes the status line and the
// fields, as net/http's chunkWriter.writeHeader does; p is the start of
// the body (all of it when the handler is done).
func (w *response) sendHead(p []byte) {
	w.headSent = true
	h := w.header
	isHEAD := w.req.Method == http.MethodHead
	trailers := len(h["Trailer"]) > 0
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			trailers = true
		}
	}
	te := h.Get("Transfer-Encoding")
	hasTE := te != ""
	var extra []string // name, value pairs net/http adds
	if w.handlerDone && !trailers && !hasTE && bodyAllowed(w.status) && w.contentLength == -1 && (!isHEAD || len(p) > 0) {
		w.contentLength = int64(len(p))
		extra = append(extra, "Content-Length", strconv.Itoa(len(p)))
	}
	if h.Get("Connection") == "close" {
		w.closeAfter = true
	}
	exclude := map[string]bool{}
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			exclude[k] = true
		}
	}
	if bodyAllowed(w.status) {
		if _, haveType := h["Content-Type"]; !haveType && h.Get("Content-Encoding") == "" && !hasTE && len(p) > 0 {
			extra = append(extra, "Content-Type", http.DetectContentType(p))
		}
	} else {
		for _, k := range suppressed(w.status) {
			exclude[k] = true
		}
	}
	if _, ok := h["Date"]; !ok {
		extra = append([]string{"Date", date()}, extra...)
	}
	hasCL := w.contentLength != -1
	if hasCL && hasTE && te != "identity" {
		exclude["Content-Length"] = true
		hasCL = false
	}
	switch {
	case isHEAD || !bodyAllowed(w.status) || w.status == http.StatusNoContent:
		exclude["Transfer-Encoding"] = true
	case hasCL:
		exclude["Transfer-Encoding"] = true
	case hasTE && te == "identity":
		w.closeAfter = true
		exclude["Transfer-Encoding"] = true
	default:
		w.chunked = true
		extra = append(extra, "Transfer-Encoding", "chunked")
		if hasTE {
			exclude["Transfer-Encoding"] = true
		}
	}
	if w.chunked {
		exclude["Content-Length"] = true
	}
	if w.closeAfter && !hasToken(h.Get("Connection"), "close") {
		exclude["Connection"] = true
		extra = append(extra, "Connection", "close")
	}
	bw := &w.cn.bw
	bw.statusLine(w.status)
	writeFields(bw, h, exclude)
	for i := 0; i+1 < len(extra); i += 2 {
		bw.writeString(extra[i])
		bw.writeString(": ")
		bw.writeString(extra[i+1])
		bw.writeString("\r\n")
	}
	bw.writeString("\r\n")
}

// trailers writes the declared trailer fields after the last chunk.
func (w *response) trailers() {
	h := w.header
	var declared []string
	for _, v := range h["Trailer"] {
		for _, name := range strings.Split(v, ",") {
			if name = http.CanonicalHeaderKey(strings.TrimSpace(name)); name != "" {
				declared = append(declared, name)
			}
		}
	}
	t := http.Header{}
	for _, name := range declared {
		if vs, ok := h[name]; ok {
			t[name] = vs
		}
	}
	for k, vs := range h {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			t[http.CanonicalHeaderKey(name)] = vs
		}
	}
	writeFields(&w.cn.bw, t, nil)
}

func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199 || status == http.StatusNoContent || status == http.StatusNotModified)
}

func suppressed(status int) []string {
	if status == http.StatusNotModified {
		return []string{"Content-Type", "Content-Length", "Transfer-Encoding"}
	}
	return []string{"Content-Length", "Transfer-Encoding"}
}

func hasToken(v, token string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// writeFields writes h as net/http's Header.WriteSubset does, invalid
// names dropped and line breaks in values turned into spaces, but in the
// map's order: no client depends on the order of distinct fields, and
// sorting them is a tenth of a small answer's cost.
func writeFields(bw *bufWriter, h http.Header, exclude map[string]bool) {
	for k, vs := range h {
		if exclude[k] || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vs {
			if strings.IndexByte(v, '\r') >= 0 || strings.IndexByte(v, '\n') >= 0 {
				v = newlineToSpace.Replace(v)
			}
			bw.writeString(k)
			bw.writeString(": ")
			bw.writeString(strings.TrimSpace(v))
			bw.writeString("\r\n")
		}
	}
}
