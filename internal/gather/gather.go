// Package gather gathers the writes that many goroutines make to one
// connection into fewer system calls, for the HTTP/2 connections on both
// sides of the edge.
package gather

import (
	"net"
	"sync"
	"time"
)

// An HTTP/2 connection carries many streams at once, and net/http's
// client and server flush each stream's frames with writes of their
// own: for one small gRPC call the client writes a HEADERS frame, a DATA
// frame and the empty DATA frame that ends the stream, three system
// calls (and TLS records) where grpc-go, whose one writer goroutine
// drains every stream's frames, makes a fraction of one. Conn does the
// same below net/http: a write is copied into a pending buffer and
// returns, and a writer goroutine started for the burst sends whatever
// has gathered by the time it runs, then ends when nothing is left.
// Under load the writes of many streams leave in one system call; alone,
// a write waits only for the writer to be scheduled.

// gatherMax is how much may wait to be sent before a write blocks: the
// peer's pace still governs the writers, as on a plain connection.
const gatherMax = 256 << 10

// buffers hold what is pending. A connection holds one only while it has
// something to send, so that thousands of idle HTTP/2 connections hold
// none.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func putBuffer(b *[]byte) {
	if cap(*b) <= 2*gatherMax {
		*b = (*b)[:0]
		buffers.Put(b)
	}
}

// closeGrace bounds how long the pending writes (a GOAWAY, say) may take
// to go out after Close before the connection is closed under them.
const closeGrace = 100 * time.Millisecond

// Conn is a connection whose writes are gathered once Start is called;
// until then it is the connection as it is (a TLS handshake, say, and an
// HTTP/1.1 connection that stays one).
type Conn struct {
	net.Conn
	mu      sync.Mutex
	drained sync.Cond // signalled as pending empties and the writer ends
	pending *[]byte   // from buffers while anything is pending, else nil
	on      bool      // Start was called
	writing bool      // a writer goroutine is running
	closing bool      // Close was called
	err     error     // the first write error: sticky
	grace   *time.Timer
}

// New is c, its writes passed through until Start.
func New(c net.Conn) *Conn {
	g := &Conn{Conn: c}
	g.drained.L = &g.mu
	return g
}

// Start gathers the writes from now on. It is called before the writes
// that follow it begin, on the goroutine that hands the connection on.
func (g *Conn) Start() { g.on = true }

// NetConn is the connection beneath.
func (g *Conn) NetConn() net.Conn { return g.Conn }

// pendingLen is how much waits to be sent.
func (g *Conn) pendingLen() int {
	if g.pending == nil {
		return 0
	}
	return len(*g.pending)
}

func (g *Conn) Write(p []byte) (int, error) {
	if !g.on {
		return g.Conn.Write(p)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.err == nil && !g.closing && g.pendingLen() >= gatherMax {
		g.drained.Wait()
	}
	switch {
	case g.closing:
		return 0, net.ErrClosed
	case g.err != nil:
		return 0, g.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if g.pending == nil {
		g.pending = buffers.Get().(*[]byte)
	}
	*g.pending = append(*g.pending, p...)
	if !g.writing {
		g.writing = true
		go g.write()
	}
	return len(p), nil
}

// write sends what has gathered until nothing is left or a write fails;
// after Close, it closes the connection once it is done.
func (g *Conn) write() {
	g.mu.Lock()
	for g.pending != nil && g.err == nil {
		buf := g.pending
		g.pending = nil
		g.drained.Broadcast()
		g.mu.Unlock()
		_, err := g.Conn.Write(*buf)
		putBuffer(buf)
		g.mu.Lock()
		if err != nil && g.err == nil {
			g.err = err
		}
	}
	if g.pending != nil { // a write failed: what is left is not sent
		putBuffer(g.pending)
		g.pending = nil
	}
	g.writing = false
	g.drained.Broadcast()
	closing := g.closing
	if closing && g.grace != nil {
		g.grace.Stop()
	}
	g.mu.Unlock()
	if closing {
		g.Conn.Close()
	}
}

// Close refuses writes from now on and closes the connection: at once
// when nothing is pending, else once the writer has sent it, or after
// closeGrace if the peer does not take it. It does not wait for that:
// a peer that stops reading does not hold up the closer.
func (g *Conn) Close() error {
	if !g.on {
		return g.Conn.Close()
	}
	g.mu.Lock()
	if g.closing {
		g.mu.Unlock()
		return net.ErrClosed
	}
	g.closing = true
	g.drained.Broadcast() // writers held back end with net.ErrClosed
	if g.writing {
		g.grace = time.AfterFunc(closeGrace, func() { g.Conn.Close() })
		g.mu.Unlock()
		return nil
	}
	g.mu.Unlock()
	return g.Conn.Close()
}

// SetWriteDeadline does nothing once writes are gathered: they return
// once copied, and the writer sends them later. A connection whose peer
// stops reading still blocks its writers once gatherMax is pending, and
// a deadline beneath (the server's send_timeout) or the client's pings
// end it.
func (g *Conn) SetWriteDeadline(t time.Time) error {
	if !g.on {
		return g.Conn.SetWriteDeadline(t)
	}
	return nil
}

// SetDeadline sets the read deadline only once writes are gathered, for
// SetWriteDeadline's reason.
func (g *Conn) SetDeadline(t time.Time) error {
	if !g.on {
		return g.Conn.SetDeadline(t)
	}
	return g.Conn.SetReadDeadline(t)
}
