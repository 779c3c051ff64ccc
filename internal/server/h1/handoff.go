package h1

import (
	"io"
	"net"
	"sync"
)

// prefixConn reads the bytes the loop read before the connection.
type prefixConn struct {
	net.Conn
	read []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.read) > 0 {
		n := copy(b, p.read)
		p.read = p.read[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// handoffListener is the fallback's listener: the connections the loop
// gives it.
type handoffListener struct {
	addr   net.Addr
	ch     chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

var _ io.Reader = (*prefixConn)(nil)
