package origin

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// cannedOrigin answers each path with its bytes as they are (a HEAD with
// the final head alone), on keep-alive connections until an HTTP/1.0
// answer; it returns its address and the connections it accepted.
func cannedOrigin(t *testing.T, answers map[string]string) (string, *atomic.Int64) {
	return rawListener(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			a := answers[req.URL.Path]
			if req.Method == http.MethodHead {
				final := strings.LastIndex(a, "HTTP/1.")
				a = a[:final+strings.Index(a[final:], "\r\n\r\n")+4]
			}
			io.WriteString(c, a)
			if strings.HasPrefix(a, "HTTP/1.0") {
				return
			}
		}
	})
}

// rawListener serves each connection to a loopback listener with serve,
// closing it after, until the test ends; it returns the listener's
// address and the connections it accepted.
func rawListener(t *testing.T, serve func(net.Conn)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String(), &conns
}

// rawFields parses raw header lines as net/http would.
func rawFields(t testing.TB, fields []byte) http.Header {
	t.Helper()
	h, err := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(fields), strings.NewReader("\r\n")))).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("raw fields %q: %v", fields, err)
	}
	return http.Header(h)
}

// The raw round trip answers as the parsed one: status, fields, body,
// framing refused the same, connections reused the same.
func TestRawRoundTripMatchesParsed(t *testing.T) {
	answers := map[string]string{
		"/":         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Two: a\r\nX-Two: b\r\nContent-Length: 5\r\n\r\nhello",
		"/continue": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"/hints":    "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhints",
		"/chunked":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\n",
		"/304":      "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\n\r\n",
		"/empty":    "HTTP/1.1 204 No Content\r\n\r\n",
		"/old":      "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold",
		"/cl-te":    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"/two-cl":   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"/big-head": "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("h", 20<<10) + "\r\nContent-Length: 3\r\n\r\nbig",
	}
	addr, _ := cannedOrigin(t, answers)
	base := "http://" + addr
	parsed := newH1Client(time.Second, 2*time.Second, time.Minute, 4)
	raw := newH1Client(time.Second, 2*time.Second, time.Minute, 4)
	defer parsed.CloseIdleConnections()
	defer raw.CloseIdleConnections()
	for _, method := range []string{"GET", "HEAD"} {
		for path := range answers {
			req, _ := http.NewRequest(method, base+path, nil)
			want, werr := parsed.RoundTrip(req)
			req, _ = http.NewRequest(method, base+path, nil)
			got, gerr := raw.roundTripRaw(req, nil)
			if (werr != nil) != (gerr != nil) || (werr != nil && errors.Is(werr, ErrFraming) != errors.Is(gerr, ErrFraming)) {
				t.Errorf("%s %s: error %v, parsed %v", method, path, gerr, werr)
				continue
			}
			if werr != nil {
				continue
			}
			wb, _ := io.ReadAll(want.Body)
			want.Body.Close()
			status, header, length, body := 0, http.Header(nil), int64(-1), io.ReadCloser(nil)
			if got.Resp != nil {
				status, header, length, body = got.Resp.StatusCode, got.Resp.Header, got.Resp.ContentLength, got.Resp.Body
			} else {
				status, header, length, body = got.Status, rawFields(t, got.Fields), got.Length, got.Body
				delete(header, "Content-Length")
				if got.Chunked && method == "GET" {
					t.Errorf("%s %s: a chunked answer came raw", method, path)
				}
			}
			gb, _ := io.ReadAll(body)
			body.Close()
			for _, h := range []http.Header{header, want.Header} {
				for _, k := range []string{"Content-Length", "Transfer-Encoding", "Connection"} {
					delete(h, k) // framing, which each reports apart
				}
			}
			if status != want.StatusCode || !reflect.DeepEqual(header, want.Header) || string(gb) != string(wb) {
				t.Errorf("%s %s: %d %.200v %q; parsed %d %.200v %q", method, path, status, header, gb, want.StatusCode, want.Header, wb)
			}
			if method == "GET" && want.ContentLength >= 0 && length != want.ContentLength && got.Resp == nil && status != 304 && status != 204 {
				t.Errorf("%s %s: length %d, parsed %d", method, path, length, want.ContentLength)
			}
		}
	}
	// A plain answer last (the map's order is random): its connection stays.
	req, _ := http.NewRequest("GET", base+"/", nil)
	if got, err := raw.roundTripRaw(req, nil); err != nil {
		t.Fatal(err)
	} else {
		io.Copy(io.Discard, got.Body)
		got.Body.Close()
	}
	raw.mu.Lock()
	idle := len(raw.idle[addr])
	raw.mu.Unlock()
	if idle == 0 {
		t.Error("the raw round trips left no connection to reuse")
	}
}

// Every head parseRawHead accepts, net/http reads alike: status, framing,
// whether the connection goes on, and the fields; one whose framing it
// refuses, checkFraming refuses alike.
func FuzzParseRawHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n",
		"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n",
		"HTTP/1.1 200\r\nContent-Length: 2\r\n",
		"HTTP/1.1 204 No Content\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		if !bytes.HasSuffix(head, []byte("\r\n")) {
			head = append(head, '\r', '\n')
		}
		if bytes.Contains(head, []byte("\r\n\r\n")) {
			return // bufferedHead ends a head at its blank line
		}
		// The parse's framing check is checkFraming's, on the heads it
		// accepts.
		h, ok, err := parseRawHead(head)
		framing := checkFraming(head)
		if err != nil && (framing == nil || err.Error() != framing.Error()) || ok && framing != nil {
			t.Fatalf("%q: parsed %v, framing %v; checkFraming %v", head, ok, err, framing)
		}
		if !ok {
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(bytes.NewReader(head), strings.NewReader("\r\n"))), &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("accepted %q, which net/http refuses: %v", head, err)
		}
		if resp.StatusCode != h.Status || resp.Close != h.close {
			t.Fatalf("%q: status %d close %v; net/http %d %v", head, h.Status, h.close, resp.StatusCode, resp.Close)
		}
		bodiless := h.Status < 200 || h.Status == 204 || h.Status == 304
		if chunked := len(resp.TransferEncoding) > 0; !bodiless && (chunked != h.Chunked || (!chunked && resp.ContentLength != h.Length)) {
			t.Fatalf("%q: length %d chunked %v; net/http %d %v", head, h.Length, h.Chunked, resp.ContentLength, resp.TransferEncoding)
		}
		got := rawFields(t, h.Fields)
		for _, k := range []string{"Content-Length", "Transfer-Encoding", "Connection"} {
			delete(got, k) // framing, compared above
			delete(resp.Header, k)
		}
		if !reflect.DeepEqual(got, resp.Header) {
			t.Fatalf("%q: fields %v; net/http %v", head, got, resp.Header)
		}
	})
}

// writeRequest writes what Request.Write would: the same method, target,
// Host and fields, read back by net/http.
func TestWriteRequestAsNetHTTP(t *testing.T) {
	reqs := []*http.Request{}
	for _, c := range []struct {
		method, url, host string
		header            http.Header
	}{
		{"GET", "http://o.example/a%20b?x=1&y=%7C", "", http.Header{"Accept": {"*/*"}, "X-Two": {"a", "b"}}},
		{"HEAD", "http://o.example:8080/", "viewer.example", http.Header{"User-Agent": {"curl/8"}}},
		{"GET", "http://o.example/", "", http.Header{"User-Agent": {""}, "Via": {"1.1 edgefront"}}},
		{"GET", "http://[::1]:9000/p", "", http.Header{"Cookie": {"a=1; b=2"}}},
		{"GET", "http://o.example", "", http.Header{}},                    // no path
		{"GET", "http://o.example/p?", "", http.Header{}},                 // an empty query kept
		{"GET", "http://o.example/a%2Fb/%C3%A9?q=%2F", "", http.Header{}}, // a path kept as escaped
	} {
		r, _ := http.NewRequest(c.method, c.url, nil)
		r.Host, r.Header = c.host, c.header
		reqs = append(reqs, r)
	}
	for _, r := range reqs {
		var mine, theirs bytes.Buffer
		bw := bufio.NewWriter(&mine)
		if !writeRequest(bw, r, nil) {
			t.Fatalf("%s %s: refused", r.Method, r.URL)
		}
		bw.Flush()
		r.Write(&theirs)
		a, err1 := http.ReadRequest(bufio.NewReader(&mine))
		b, err2 := http.ReadRequest(bufio.NewReader(&theirs))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s %s: %v / %v", r.Method, r.URL, err1, err2)
		}
		if a.Method != b.Method || a.RequestURI != b.RequestURI || a.Host != b.Host || !reflect.DeepEqual(a.Header, b.Header) {
			t.Errorf("%s %s: %s %s %s %v; Request.Write %s %s %s %v", r.Method, r.URL, a.Method, a.RequestURI, a.Host, a.Header, b.Method, b.RequestURI, b.Host, b.Header)
		}
	}
	// A refused request leaves nothing in the writer, whatever field
	// refuses it and whichever edit.
	bad, _ := http.NewRequest("GET", "http://o.example/", nil)
	for _, c := range []struct {
		what   string
		header http.Header
		e      *Edits
	}{
		{"a value with a line break", http.Header{"A": {"ok"}, "X": {"a\r\nInjected: 1"}}, nil},
		{"a name with a colon", http.Header{"A": {"ok"}, "X: Injected": {"1"}}, nil},
		{"an edit's value with a line break", http.Header{"A": {"ok"}}, &Edits{Extra: []string{"Via", "1.1 a\nInjected: 1"}}},
		{"an edit's name with a space", http.Header{"A": {"ok"}}, &Edits{Extra: []string{"Via Injected", "1"}}},
	} {
		bad.Header = c.header
		bw := bufio.NewWriter(io.Discard)
		if writeRequest(bw, bad, c.e) || bw.Buffered() != 0 {
			t.Errorf("%s was written (%d bytes buffered)", c.what, bw.Buffered())
		}
	}
	// A field the edits leave out is not written, nor checked.
	bad.Header = http.Header{"X": {"a\r\nInjected: 1"}, "A": {"ok"}}
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	if !writeRequest(bw, bad, &Edits{Named: []string{"x"}}) {
		t.Error("a request whose bad field is left out was refused")
	}
	bw.Flush()
	if strings.Contains(out.String(), "Injected") || !strings.Contains(out.String(), "A: ok\r\n") {
		t.Errorf("wrote %q", out.String())
	}
}

// A released answer's storage serves the next answer's head; an answer
// whose body was not read to its end keeps its own, fields intact.
func TestRawResponseRelease(t *testing.T) {
	answers := map[string]string{
		"/a": "HTTP/1.1 200 OK\r\nContent-Type: text/a\r\nContent-Length: 1\r\n\r\na",
		"/b": "HTTP/1.1 200 OK\r\nContent-Type: text/b\r\nX-B: b\r\nContent-Length: 1\r\n\r\nb",
	}
	addr, _ := cannedOrigin(t, answers)
	c := newH1Client(time.Second, 2*time.Second, time.Minute, 4)
	defer c.CloseIdleConnections()
	get := func(path string) *RawResponse {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		raw, err := c.roundTripRaw(req, nil)
		if err != nil || raw.Resp != nil {
			t.Fatalf("%s: %v %v", path, err, raw)
		}
		return raw
	}
	for range 20 {
		a := get("/a")
		fieldsA := string(a.Fields)
		a.Release() // its body is unread: not given back
		b := get("/b")
		if string(a.Fields) != fieldsA || a.Body == nil {
			t.Fatalf("an unread answer's fields became %q", a.Fields)
		}
		io.Copy(io.Discard, b.Body)
		b.Body.Close()
		if got := rawFields(t, b.Fields).Get("X-B"); got != "b" {
			t.Fatalf("X-B %q", got)
		}
		b.Release()
		a.Body.Close()
		next := get("/a")
		if got := rawFields(t, next.Fields); got.Get("Content-Type") != "text/a" || got.Get("X-B") != "" {
			t.Fatalf("the answer after a released one has %v", got)
		}
		io.Copy(io.Discard, next.Body)
		next.Body.Close()
		next.Release()
	}
}
