package server

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// limitListener caps the connections open at once, in all and per client
// address. A connection over a cap is closed as soon as it is accepted, so
// that a flood cannot queue up behind the ones being served. Peers in
// trusted (proxies, load balancers) are not capped per address.
type limitListener struct {
	net.Listener
	max, perIP int // 0 is no limit
	trusted    []netip.Prefix
	send       time.Duration // each write's deadline (send_timeout); 0 none

	open    atomic.Int64
	refused atomic.Int64
	mu      sync.Mutex
	byIP    map[netip.Addr]int
}

func newLimitListener(ln net.Listener, max, perIP int, trusted []netip.Prefix, send time.Duration) net.Listener {
	if max == 0 && perIP == 0 && send == 0 {
		return ln
	}
	return &limitListener{Listener: ln, max: max, perIP: perIP, trusted: trusted, send: send, byIP: map[netip.Addr]int{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc, ok := l.admit(c); ok {
			return lc, nil
		}
		l.refused.Add(1)
		c.Close()
	}
}

func (l *limitListener) admit(c net.Conn) (net.Conn, bool) {
	if l.max > 0 && l.open.Load() >= int64(l.max) {
		return nil, false
	}
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil && l.perIP > 0 {
		ip = ap.Addr().Unmap()
		for _, p := range l.trusted {
			if p.Contains(ip) {
				ip = netip.Addr{}
				break
			}
		}
	}
	if ip.IsValid() {
		l.mu.Lock()
		if l.byIP[ip] >= l.perIP {
			l.mu.Unlock()
			return nil, false
		}
		l.byIP[ip]++
		l.mu.Unlock()
	}
	l.open.Add(1)
	return &limitConn{Conn: c, l: l, ip: ip}, true
}

type limitConn struct {
	net.Conn
	l    *limitListener
	ip   netip.Addr
	once sync.Once
}

// Write gives each write send_timeout to go out, as nginx's send_timeout:
// a viewer that stops reading is hung up on, however long the answer.
func (c *limitConn) Write(p []byte) (int, error) {
	if c.l.send > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(c.l.send))
	}
	return c.Conn.Write(p)
}

// NetConn is the accepted connection, for a writer that sets the send
// deadline itself.
func (c *limitConn) NetConn() net.Conn { return c.Conn }

// ReadConn is the accepted connection, whose bytes Read returns as they
// come, for a reader that reads them itself.
func (c *limitConn) ReadConn() net.Conn { return c.Conn }

func (c *limitConn) Close() error {
	c.once.Do(func() {
		l := c.l
		l.open.Add(-1)
		if c.ip.IsValid() {
			l.mu.Lock()
			if l.byIP[c.ip]--; l.byIP[c.ip] <= 0 {
				delete(l.byIP, c.ip)
			}
			l.mu.Unlock()
		}
	})
	return c.Conn.Close()
}
