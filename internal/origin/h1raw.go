package origin

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"

	"github.com/edgefront/edgefront/internal/httpsyntax"
)

// RawResponse is an origin's answer as its head arrived, for a caller that
// passes it on without building a header map: the status, the header
// lines, and what framing needs. When the head could not be taken raw
// (too large, or sent by the standard transport), Resp holds it parsed
// instead and the rest is unset.
type RawResponse struct {
	Status int
	// Fields are the header lines, each ending in CRLF, without the status
	// line and the blank line. They are the caller's until Release.
	Fields []byte
	// Length is the Content-Length, -1 when there is none or the answer is
	// chunked (Chunked).
	Length  int64
	Chunked bool
	Body    io.ReadCloser

	Resp *http.Response

	head *rawHead // the storage it is part of, when pooled
}

// Release gives back the storage of an answer whose body was read to its
// end and closed, and of which the caller keeps nothing (its Fields
// included), for the next answer's head. Any other answer it leaves to
// the collector.
func (r *RawResponse) Release() {
	h := r.head
	if h == nil || cap(h.Fields) > maxPooledFields {
		return
	}
	h.body.mu.Lock()
	done := h.body.done
	h.body.mu.Unlock()
	if !done {
		return
	}
	fields := h.Fields[:0]
	*h = rawHead{}
	h.Fields = fields
	rawHeads.Put(h)
}

// maxPooledFields bounds the field storage a pooled head keeps.
const maxPooledFields = 4 << 10

var rawHeads = sync.Pool{New: func() any { return new(rawHead) }}

// RawRoundTripper sends a prepared request, with edits to its fields
// when e is not nil, and returns the answer raw.
type RawRoundTripper interface {
	RoundTripRaw(out *http.Request, e *Edits) (*RawResponse, error)
}

// RoundTripRaw sends out, edited by e, over the origin's pool, answering
// with its head raw when the small HTTP/1.1 client sends it.
func (o *HTTP) RoundTripRaw(out *http.Request, e *Edits) (*RawResponse, error) {
	if !o.transport.fits(out) {
		resp, err := o.transport.std.RoundTrip(e.apply(out))
		if err != nil {
			return nil, err
		}
		return &RawResponse{Resp: resp}, nil
	}
	return o.transport.h1.roundTripRaw(out, e)
}

func (c *h1Client) roundTripRaw(req *http.Request, e *Edits) (*RawResponse, error) {
	return roundTripOn(c, req, func(req *http.Request, addr string, pc *h1Conn) (*RawResponse, error) {
		return c.exchangeRaw(req, e, addr, pc)
	})
}

func (c *h1Client) exchangeRaw(req *http.Request, e *Edits, addr string, pc *h1Conn) (*RawResponse, error) {
	stop := afterFunc(req.Context(), pc.abort)
	fail := func(err error) (*RawResponse, error) {
		stop()
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	pc.headDeadline(c.responseTimeout)
	if !writeRequest(pc.bw, req, e) {
		if err := e.apply(req).Write(pc.bw); err != nil {
			return fail(err)
		}
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(err)
	}
	var raw *rawHead
	var head []byte
	for {
		head = bufferedHead(pc.br)
		if head == nil {
			// Larger than the buffer (or the connection failed): parsed.
			resp, err := readFinalResponse(pc.br, req)
			if err != nil {
				return fail(err)
			}
			pc.noDeadline()
			return &RawResponse{Resp: c.wrapBody(resp, req, addr, pc, stop)}, nil
		}
		var ok bool
		var err error
		if raw, ok, err = parseRawHead(head); err != nil {
			return fail(err)
		} else if !ok {
			if err := checkFraming(head); err != nil {
				return fail(err)
			}
			resp, err := readFinalResponse(pc.br, req) // net/http says what is wrong with it
			if err == nil {
				resp.Body.Close()
				err = errors.New("the origin's answer head is not understood")
			}
			return fail(err)
		}
		if raw.Status >= 100 && raw.Status <= 199 && raw.Status != http.StatusSwitchingProtocols {
			pc.br.Discard(len(head) + 2)
			continue // 100 Continue, 103 Early Hints: the final answer follows
		}
		break
	}
	bodiless := noBody(req.Method, raw.Status)
	if !bodiless && (raw.Chunked || raw.Length < 0) {
		// Chunked, or delimited by the connection's end: net/http reads it.
		resp, err := readFinalResponse(pc.br, req)
		if err != nil {
			return fail(err)
		}
		pc.noDeadline()
		return &RawResponse{Resp: c.wrapBody(resp, req, addr, pc, stop)}, nil
	}
	pc.br.Discard(len(head) + 2)
	if !bodiless && int64(pc.br.Buffered()) < raw.Length {
		// The body is read from the socket after the head: the response
		// timeout is for the head. (One that came whole with it needs no
		// more reads; the next request sets the deadline afresh.)
		pc.noDeadline()
	}
	raw.body = h1Body{client: c, addr: addr, pc: pc, stop: stop, reusable: !raw.close, fixed: true}
	body := &raw.body
	if !bodiless {
		body.remaining = raw.Length
	}
	raw.Body = body
	if body.remaining == 0 {
		body.finish(nil)
	}
	return &raw.RawResponse, nil
}

// wrapBody gives a parsed answer the pool's body: read from the socket
// when its length is known, returned to the pool once read whole.
func (c *h1Client) wrapBody(resp *http.Response, req *http.Request, addr string, pc *h1Conn, stop func() bool) *http.Response {
	body := &h1Body{client: c, addr: addr, pc: pc, stop: stop, orig: resp.Body, reusable: !resp.Close}
	if resp.ContentLength >= 0 && len(resp.TransferEncoding) == 0 {
		body.remaining, body.fixed = resp.ContentLength, true
	}
	if noBody(req.Method, resp.StatusCode) {
		body.fixed, body.remaining = true, 0
	}
	resp.Body = body
	if body.fixed && body.remaining == 0 {
		body.finish(nil)
	}
	return resp
}

// noBody reports whether an answer to method with status has no body,
// whatever its fields say.
func noBody(method string, status int) bool {
	return method == http.MethodHead || status == http.StatusNotModified || status == http.StatusNoContent
}

func hostPort(host string) string {
	if _, _, err := net.SplitHostPort(host); err != nil {
		return net.JoinHostPort(strings.Trim(host, "[]"), "80")
	}
	return host
}

// writeRequest writes a GET or HEAD without a body, its fields edited by
// e when it is not nil, as net/http's Request.Write would write the
// request with the edits made, its fields in the map's order (their order
// does not matter, nor does it need sorting). It reports false, having
// written nothing, for a request it leaves to Request.Write: a value with
// a line break, or a target it does not write itself.
func writeRequest(bw *bufio.Writer, req *http.Request, e *Edits) bool {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if req.URL.Opaque != "" || hasCRLF(host) || strings.IndexByte(host, ' ') >= 0 {
		return false
	}
	// The head is made in the writer's free space and written whole, so
	// that a field refused on the way leaves nothing written.
	b := bw.AvailableBuffer()
	b = append(b, req.Method...)
	b = append(b, ' ')
	// The target as URL.RequestURI makes it, without the string.
	if p := req.URL.EscapedPath(); p != "" {
		b = append(b, p...)
	} else {
		b = append(b, '/')
	}
	if req.URL.ForceQuery || req.URL.RawQuery != "" {
		b = append(b, '?')
		b = append(b, req.URL.RawQuery...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	for k, vs := range req.Header {
		if k == "Host" || k == "Content-Length" || k == "Transfer-Encoding" || k == "Trailer" ||
			(k == "User-Agent" && len(vs) == 1 && vs[0] == "") || (e != nil && e.skips(k)) {
			continue // net/http writes these itself, or leaves an empty User-Agent out
		}
		if !fieldName(k) {
			return false
		}
		for _, v := range vs {
			if hasCRLF(v) {
				return false
			}
			b = appendField(b, k, v)
		}
	}
	if e != nil {
		for i := 0; i+1 < len(e.Extra); i += 2 {
			if !fieldName(e.Extra[i]) || hasCRLF(e.Extra[i+1]) {
				return false
			}
			b = appendField(b, e.Extra[i], e.Extra[i+1])
		}
	}
	if _, ok := req.Header["User-Agent"]; !ok && e == nil {
		b = append(b, "User-Agent: Go-http-client/1.1\r\n"...) // as Request.Write
	}
	if req.Close {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	bw.Write(b)
	return true
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, strings.TrimSpace(value)...)
	return append(b, "\r\n"...)
}

func hasCRLF(s string) bool {
	return strings.IndexByte(s, '\r') >= 0 || strings.IndexByte(s, '\n') >= 0
}

// fieldName reports whether k may be written as a field's name: nothing
// that would end or split the line.
func fieldName(k string) bool {
	for i := 0; i < len(k); i++ {
		switch k[i] {
		case ' ', ':', '\r', '\n':
			return false
		}
	}
	return true
}

// rawHead is a parsed answer head and whether its connection closes
// after. It holds its body's reader, so that the two are one allocation.
type rawHead struct {
	RawResponse
	close bool
	body  h1Body
}

// parseRawHead reads a head as bufferedHead returns it (the status line,
// the fields, each line ending in CRLF). It accepts only what it fully
// understands: HTTP/1.x, a three-digit status, fields with a token name.
// The fields are copied: the head's buffer is the connection's. A head
// it accepts whose framing checkFraming refuses gets checkFraming's error
// instead; one it does not accept, false (the caller asks checkFraming,
// then net/http, what is wrong with it).
func parseRawHead(head []byte) (*rawHead, bool, error) {
	line, fields, ok := cutLine(head)
	if !ok || len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return nil, false, nil
	}
	minor := line[7]
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil || status < 100 || (minor != '0' && minor != '1') {
		return nil, false, nil
	}
	h := rawHeads.Get().(*rawHead)
	fieldsBuf := h.Fields[:0]
	*h = rawHead{RawResponse: RawResponse{Status: status, Length: -1}, close: minor == '0'}
	h.head = h
	keepAlive := false
	var f framing
	for rest := fields; len(rest) > 0; {
		var l []byte
		if l, rest, ok = cutLine(rest); !ok {
			return nil, false, nil
		}
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 || !httpsyntax.Token(l[:colon]) {
			return nil, false, nil
		}
		name, value := l[:colon], httpsyntax.TrimOWS(l[colon+1:])
		switch {
		case httpsyntax.NameIs(name, "Content-Length"):
			if err := f.contentLength(value); err != nil {
				return nil, false, err
			}
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return nil, false, nil
			}
			h.Length = n
		case httpsyntax.NameIs(name, "Transfer-Encoding"):
			f.te = true
			if !httpsyntax.NameIs(value, "chunked") {
				return nil, false, nil
			}
			h.Chunked = true
		case httpsyntax.NameIs(name, "Connection"):
			for t := range httpsyntax.Elements(value) {
				h.close = h.close || httpsyntax.NameIs(t, "close")
				keepAlive = keepAlive || httpsyntax.NameIs(t, "keep-alive")
			}
		}
	}
	if err := f.end(); err != nil {
		return nil, false, err
	}
	if minor == '0' && keepAlive {
		h.close = false
	}
	if h.Chunked {
		h.Length = -1
	} else if h.Length < 0 && status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified {
		h.close = true // the body ends with the connection
	}
	h.Fields = append(fieldsBuf, fields...)
	return h, true, nil
}

// cutLine splits the first line off b: the line without its CRLF, and
// what follows it. A line that does not end in CRLF, or holds a control
// byte other than a tab (net/http reads those otherwise or refuses them),
// is not one: ok is false.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	for i := 0; i < len(b); i++ {
		if c := b[i]; (c >= ' ' && c != 0x7f) || c == '\t' {
			continue
		} else if c == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			return b[:i], b[i+2:], true
		}
		return nil, nil, false
	}
	return nil, nil, false
}

// Response is the answer parsed, for a caller that needs its header as
// a map after all.
func (r *RawResponse) Response(req *http.Request) *http.Response {
	h, err := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(r.Fields), strings.NewReader("\r\n")))).ReadMIMEHeader()
	if err != nil {
		h = textproto.MIMEHeader{} // parseRawHead accepted them: not reached
	}
	resp := &http.Response{
		Status: strconv.Itoa(r.Status) + " " + http.StatusText(r.Status), StatusCode: r.Status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header(h),
		ContentLength: r.Length, Body: r.Body, Request: req,
	}
	if noBody(req.Method, r.Status) {
		resp.ContentLength = max(r.Length, -1)
	}
	return resp
}
