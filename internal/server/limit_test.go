package server

import (
	"bufio"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestConnectionLimits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, c := range []struct {
		name       string
		max, perIP int
		trusted    []netip.Prefix
		admitted   int
	}{
		{"per client address", 0, 2, nil, 2},
		{"in all", 3, 0, nil, 3},
		{"a trusted proxy is not capped per address", 0, 2, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLimitListener(ln, c.max, c.perIP, c.trusted, 0).(*limitListener)
			accepted := make(chan net.Conn, 10)
			go func() {
				for {
					conn, err := l.Accept()
					if err != nil {
						return
					}
					accepted <- conn
				}
			}()
			var clients []net.Conn
			for range 5 {
				conn, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				clients = append(clients, conn)
			}
			time.Sleep(100 * time.Millisecond)
			if n := len(accepted); n != c.admitted {
				t.Errorf("%d connections admitted, want %d", n, c.admitted)
			}
			// The refused ones are closed at once.
			closed := 0
			for _, conn := range clients {
				conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if _, err := bufio.NewReader(conn).ReadByte(); err != nil && !isTimeout(err) {
					closed++
				}
			}
			if closed != 5-c.admitted {
				t.Errorf("%d connections closed, want %d", closed, 5-c.admitted)
			}
			// Closing admitted ones makes room again.
			for len(accepted) > 0 {
				(<-accepted).Close()
			}
			if l.open.Load() != 0 || len(l.byIP) != 0 {
				t.Errorf("after closing: %d open, %d addresses tracked", l.open.Load(), len(l.byIP))
			}
			for _, conn := range clients {
				conn.Close()
			}
			ln.(*net.TCPListener).SetDeadline(time.Now())
			time.Sleep(20 * time.Millisecond)
			ln.(*net.TCPListener).SetDeadline(time.Time{})
		})
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
