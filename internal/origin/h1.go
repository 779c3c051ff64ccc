package origin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/edgefront/edgefront/internal/clock"
	"github.com/edgefront/edgefront/internal/httpsyntax"
)

// h1Client is a small HTTP/1.1 client for plain-HTTP origins whose bodies
// have a known length. Its bodies can hand the origin's TCP connection to
// the viewer's with WriteTo, so that on Linux the kernel splices the bytes
// from one socket to the other without copying them through the edge.
// Requests it does not fit (with a body, or a TLS origin) go to the
// standard transport instead.
type h1Client struct {
	dialer          net.Dialer
	responseTimeout time.Duration
	idleTimeout     time.Duration
	maxIdle         int
	mu              sync.Mutex
	idle            map[string][]*h1Conn
}

type h1Conn struct {
	tcp *net.TCPConn
	br  *bufio.Reader
	bw  *bufio.Writer
	// idle closes the connection once it has been idle too long. It is
	// not stopped when a request takes the connection, nor set again each
	// time it goes idle: when it fires it closes a connection idle for
	// the client's idleTimeout, sets itself again for one idle since less
	// long, and stops for one in use, which put sets it again for.
	idle  *time.Timer
	armed bool      // idle is set (under the client's lock)
	since time.Time // when the connection last went idle (under the client's lock; clock.Mono)
	// rd is the read deadline, the response timeout armed lazily.
	rd clock.Deadline
	// abort ends what the connection is doing (its deadline passes): what
	// a request's context ending calls, made once for the connection.
	abort func()
}

func newH1Client(connect, response, idle time.Duration, maxIdle int) *h1Client {
	return &h1Client{
		dialer:          net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second},
		responseTimeout: response,
		idleTimeout:     idle,
		maxIdle:         maxIdle,
		idle:            map[string][]*h1Conn{},
	}
}

// fits reports whether the client can send req.
func (c *h1Client) fits(req *http.Request) bool {
	return req.URL.Scheme == "http" && (req.Body == nil || req.Body == http.NoBody) &&
		(req.Method == http.MethodGet || req.Method == http.MethodHead) && req.Header.Get("Upgrade") == ""
}

func (c *h1Client) get(ctx context.Context, addr string) (*h1Conn, bool, error) {
	c.mu.Lock()
	if list := c.idle[addr]; len(list) > 0 {
		pc := list[len(list)-1]
		c.idle[addr] = list[:len(list)-1]
		c.mu.Unlock()
		return pc, true, nil
	}
	c.mu.Unlock()
	conn, err := c.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	tcp := conn.(*net.TCPConn)
	pc := &h1Conn{tcp: tcp, br: bufio.NewReaderSize(tcp, 16<<10), bw: bufio.NewWriterSize(tcp, 4<<10)}
	pc.abort = func() { pc.tcp.SetDeadline(time.Unix(1, 0)) }
	return pc, false, nil
}

func (c *h1Client) put(addr string, pc *h1Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.idle[addr]) >= c.maxIdle {
		pc.close()
		return
	}
	c.idle[addr] = append(c.idle[addr], pc)
	pc.since = clock.Mono()
	if !pc.armed {
		pc.armed = true
		if pc.idle == nil {
			pc.idle = time.AfterFunc(c.idleTimeout, func() { c.expire(addr, pc) })
		} else {
			pc.idle.Reset(c.idleTimeout)
		}
	}
}

// expire closes a connection that has been idle for idleTimeout, sets its
// timer again for one idle since less long, and leaves one in use.
func (c *h1Client) expire(addr string, pc *h1Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.idle[addr]
	i := slices.Index(list, pc)
	if i < 0 {
		pc.armed = false // in use, or closed: put sets the timer again
		return
	}
	if idle := time.Since(pc.since); idle < c.idleTimeout {
		pc.idle.Reset(c.idleTimeout - idle)
		return
	}
	c.idle[addr] = slices.Delete(list, i, i+1)
	pc.armed = false
	pc.tcp.Close()
}

// close closes a connection that is not in the pool, and its timer.
func (pc *h1Conn) close() {
	if pc.idle != nil {
		pc.idle.Stop()
	}
	pc.tcp.Close()
}

// CloseIdleConnections closes the pooled connections.
func (c *h1Client) CloseIdleConnections() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for addr, list := range c.idle {
		for _, pc := range list {
			pc.close()
		}
		delete(c.idle, addr)
	}
}

func (c *h1Client) RoundTrip(req *http.Request) (*http.Response, error) {
	return roundTripOn(c, req, c.exchange)
}

// roundTripOn runs one exchange on a pooled connection, and once more on
// a new one when a pooled connection the origin closed while it was idle
// fails at once: the request is safe to send again.
func roundTripOn[T any](c *h1Client, req *http.Request, exchange func(*http.Request, string, *h1Conn) (T, error)) (T, error) {
	addr := hostPort(req.URL.Host)
	for attempt := 0; ; attempt++ {
		pc, reused, err := c.get(req.Context(), addr)
		if err != nil {
			var zero T
			return zero, err
		}
		v, err := exchange(req, addr, pc)
		if err == nil {
			return v, nil
		}
		pc.close()
		if reused && attempt == 0 && req.Context().Err() == nil && !IsTimeout(err) && !errors.Is(err, ErrFraming) {
			continue
		}
		return v, err
	}
}

func (c *h1Client) exchange(req *http.Request, addr string, pc *h1Conn) (*http.Response, error) {
	stop := afterFunc(req.Context(), pc.abort)
	pc.headDeadline(c.responseTimeout)
	if err := req.Write(pc.bw); err != nil {
		stop()
		return nil, err
	}
	if err := pc.bw.Flush(); err != nil {
		stop()
		return nil, err
	}
	resp, err := readFinalResponse(pc.br, req)
	if err != nil {
		stop()
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	pc.noDeadline()
	return c.wrapBody(resp, req, addr, pc, stop), nil
}

// headDeadline gives the origin d to answer with its head, lazily: the
// deadline fires no sooner than d from now, and at most a sixteenth of d
// (300 ms at most) later, so that a connection answering request after
// request updates its runtime timer once every many (clock.Deadline).
func (pc *h1Conn) headDeadline(d time.Duration) {
	if d > 0 {
		if t, set := pc.rd.Extend(d); set {
			pc.tcp.SetReadDeadline(t)
		}
	}
}

// noDeadline lifts the read deadline: a body read from the socket has
// none.
func (pc *h1Conn) noDeadline() {
	if pc.rd.Clear() {
		pc.tcp.SetReadDeadline(time.Time{})
	}
}

// ErrFraming is an origin answer whose framing cannot be trusted.
var ErrFraming = errors.New("the origin's answer is framed ambiguously")

// readFinalResponse reads the origin's answer strictly: interim (1xx)
// answers are skipped, and a head with both Content-Length and
// Transfer-Encoding (which net/http reads by dropping the length) or two
// different lengths is refused, and its connection not reused.
func readFinalResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for {
		if head := bufferedHead(br); head != nil {
			if err := checkFraming(head); err != nil {
				return nil, err
			}
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode <= 199 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue // 100 Continue, 103 Early Hints: the final answer follows
		}
		return resp, nil
	}
}

// bufferedHead returns the next response head as it sits in br, reading
// more until it is whole; nil when it does not fit in br's buffer.
func bufferedHead(br *bufio.Reader) []byte {
	n := 1
	for {
		b, err := br.Peek(n)
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			return b[:i+2]
		}
		if err != nil || len(b) >= br.Size() {
			return nil
		}
		n = len(b) + 1
		if more := br.Buffered(); more > n {
			n = more
		}
	}
}

// checkFraming refuses a head with both Content-Length and
// Transfer-Encoding, or with Content-Lengths that disagree. It allocates
// nothing: it runs on every origin answer.
func checkFraming(head []byte) error {
	var f framing
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = bytes.TrimSuffix(head[:i], []byte("\r")), head[i+1:]
		} else {
			head = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name, value := bytes.TrimSpace(line[:colon]), bytes.TrimSpace(line[colon+1:])
		switch {
		case httpsyntax.NameIs(name, "Content-Length"):
			if err := f.contentLength(value); err != nil {
				return err
			}
		case httpsyntax.NameIs(name, "Transfer-Encoding"):
			f.te = true
		}
	}
	return f.end()
}

// framing is what a head's fields say of how its body ends, taken as
// they come, for checkFraming and for the raw parse alike.
type framing struct {
	length        []byte
	hasLength, te bool // te: a Transfer-Encoding came
}

// contentLength takes a Content-Length's value, refusing one that
// disagrees with an earlier one.
func (f *framing) contentLength(value []byte) error {
	if f.hasLength && !bytes.Equal(f.length, value) {
		return fmt.Errorf("%w: Content-Lengths %s and %s", ErrFraming, f.length, value)
	}
	f.length, f.hasLength = value, true
	return nil
}

// end refuses a head with both a Content-Length and a Transfer-Encoding.
func (f *framing) end() error {
	if f.te && f.hasLength {
		return fmt.Errorf("%w: both Content-Length and Transfer-Encoding", ErrFraming)
	}
	return nil
}

// h1Body is a response body read straight from the origin's connection.
type h1Body struct {
	client    *h1Client
	addr      string
	pc        *h1Conn
	stop      func() bool
	orig      io.ReadCloser // for bodies without a known length
	fixed     bool          // the length is known: the body is read from the socket
	reusable  bool          // the origin keeps the connection open after it
	remaining int64
	done      bool
	mu        sync.Mutex
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if !b.fixed {
		n, err := b.orig.Read(p)
		if err != nil {
			b.finish(err)
		}
		return n, err
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	var n int
	var err error
	if b.pc.br.Buffered() > 0 {
		n, err = b.pc.br.Read(p)
	} else {
		n, err = b.pc.tcp.Read(p)
	}
	b.remaining -= int64(n)
	if b.remaining == 0 {
		b.finish(nil)
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.finish(err)
	}
	return n, err
}

// WriteTo copies the rest of the body to w. When w can read from a TCP
// connection (the viewer's, through http.ResponseWriter), the bytes go
// from socket to socket in the kernel.
func (b *h1Body) WriteTo(w io.Writer) (int64, error) {
	if b.done {
		return 0, nil
	}
	if !b.fixed {
		n, err := io.Copy(w, onlyReader{b.orig})
		b.finish(err)
		return n, err
	}
	var total int64
	if k := b.pc.br.Buffered(); k > 0 {
		if int64(k) > b.remaining {
			k = int(b.remaining)
		}
		buf, _ := b.pc.br.Peek(k)
		n, err := w.Write(buf)
		b.pc.br.Discard(n)
		total += int64(n)
		b.remaining -= int64(n)
		if err != nil {
			b.finish(err)
			return total, err
		}
	}
	var err error
	if b.remaining > 0 { // the rest from the socket (a body that came with its head needs none)
		var n int64
		n, err = io.Copy(w, &io.LimitedReader{R: b.pc.tcp, N: b.remaining})
		total += n
		b.remaining -= n
		if err == nil && b.remaining > 0 {
			err = io.ErrUnexpectedEOF
		}
	}
	b.finish(err)
	return total, err
}

type onlyReader struct{ io.Reader }

// afterFunc is context.AfterFunc, through the context's own AfterFunc
// method when it has one (the HTTP/1.1 loop's request context does: it
// holds the function without a WithCancel, and stays reusable).
func afterFunc(ctx context.Context, f func()) (stop func() bool) {
	if a, ok := ctx.(interface{ AfterFunc(func()) func() bool }); ok {
		return a.AfterFunc(f)
	}
	return context.AfterFunc(ctx, f)
}

// finish returns the connection to the pool when the whole body was read,
// and closes it otherwise.
func (b *h1Body) finish(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	stopped := b.stop()
	if err == nil && b.fixed && b.reusable && b.remaining == 0 && stopped {
		b.client.put(b.addr, b.pc)
		return
	}
	b.pc.close()
}

func (b *h1Body) Close() error {
	b.finish(errors.New("closed early"))
	return nil
}

// splitTransport sends what the h1 client fits through it (plain-HTTP GET
// and HEAD without a body or an upgrade), the rest through the standard
// transport, with the same timeouts and pool size. An HTTP/2 origin has
// no h1 client: everything goes through its HTTP/2 transport.
type splitTransport struct {
	h1  *h1Client // nil for an HTTP/2 origin
	std interface {
		http.RoundTripper
		CloseIdleConnections()
	}
}

func newSplitTransport(t *http.Transport) splitTransport {
	return splitTransport{newH1Client(t.TLSHandshakeTimeout, t.ResponseHeaderTimeout, t.IdleConnTimeout, t.MaxIdleConnsPerHost), t}
}

func (t splitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.fits(req) {
		return t.h1.RoundTrip(req)
	}
	return t.std.RoundTrip(req)
}

// fits reports whether the h1 client takes req.
func (t splitTransport) fits(req *http.Request) bool { return t.h1 != nil && t.h1.fits(req) }

func (t splitTransport) CloseIdleConnections() {
	if t.h1 != nil {
		t.h1.CloseIdleConnections()
	}
	t.std.CloseIdleConnections()
}
