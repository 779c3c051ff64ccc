package origin

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// An HTTP/2 connection to an origin carries many streams at once, and
// net/http's client flushes each stream's frames with a write of its
// own: for one small gRPC call a HEADERS frame, a DATA frame and the
// empty DATA frame that ends the stream, three system calls (and TLS
// records) per call where grpc-go's own client, whose one writer
// goroutine drains every stream's frames, makes a fraction of one.
// gatherConn does the same below the client: a write is copied into a
// pending buffer and returns, and a writer goroutine started for the
// burst sends whatever has gathered by the time it runs, then ends when
// nothing is left. Under load the writes of many streams leave in one
// system call; alone, a write waits only for the writer to be scheduled.

// gatherMax is how much may wait to be sent before a write blocks: the
// peer's pace still governs the writers, as on a plain connection.
const gatherMax = 256 << 10

// closeGrace bounds how long Close lets the pending writes (a GOAWAY,
// say) go out before it closes the connection under them.
const closeGrace = 100 * time.Millisecond

type gatherConn struct {
	net.Conn
	mu      sync.Mutex
	drained sync.Cond // signalled as pending empties and the writer ends
	pending []byte
	spare   []byte
	writing bool // a writer goroutine is running
	closing bool
	err     error // the first write error, or net.ErrClosed: sticky
}

func newGatherConn(c net.Conn) *gatherConn {
	g := &gatherConn{Conn: c}
	g.drained.L = &g.mu
	return g
}

func (g *gatherConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.err == nil && len(g.pending) >= gatherMax {
		g.drained.Wait()
	}
	if g.err != nil {
		return 0, g.err
	}
	g.pending = append(g.pending, p...)
	if !g.writing {
		g.writing = true
		go g.write()
	}
	return len(p), nil
}

// write sends what has gathered until nothing is left or a write fails.
func (g *gatherConn) write() {
	g.mu.Lock()
	for len(g.pending) > 0 && g.err == nil {
		buf := g.pending
		g.pending, g.spare = g.spare[:0], nil
		g.drained.Broadcast()
		g.mu.Unlock()
		_, err := g.Conn.Write(buf)
		g.mu.Lock()
		if cap(buf) <= 2*gatherMax {
			g.spare = buf[:0]
		}
		if err != nil && g.err == nil {
			g.err = err
		}
	}
	g.pending = g.pending[:0]
	g.writing = false
	g.drained.Broadcast()
	g.mu.Unlock()
}

// Close lets what is pending go out within closeGrace, then closes.
func (g *gatherConn) Close() error {
	g.mu.Lock()
	if !g.closing {
		g.closing = true
		g.Conn.SetWriteDeadline(time.Now().Add(closeGrace))
		for g.writing {
			g.drained.Wait()
		}
		if g.err == nil {
			g.err = net.ErrClosed
		}
		g.drained.Broadcast()
	}
	g.mu.Unlock()
	return g.Conn.Close()
}

// SetWriteDeadline does nothing: writes return once gathered, and the
// writer sends them later. A connection whose peer stops reading still
// blocks its writers once gatherMax is pending, and the client's pings
// close it.
func (g *gatherConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets the read deadline only, for SetWriteDeadline's reason.
func (g *gatherConn) SetDeadline(t time.Time) error { return g.Conn.SetReadDeadline(t) }

// gatherDialers are the dial functions of an HTTP/2 transport whose
// connections gather their writes: plain (h2c) and TLS, the handshake
// done here over the gathering connection, bounded by handshake.
func gatherDialers(dial func(ctx context.Context, network, addr string) (net.Conn, error), conf *tls.Config, handshake time.Duration) (
	plain, withTLS func(ctx context.Context, network, addr string) (net.Conn, error)) {
	plain = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newGatherConn(c), nil
	}
	withTLS = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := plain(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cfg := conf.Clone()
		cfg.NextProtos = []string{"h2"}
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(c, cfg)
		hctx, cancel := context.WithTimeout(ctx, handshake)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			c.Close()
			return nil, err
		}
		return tc, nil
	}
	return plain, withTLS
}
