//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/edgefront/edgefront/internal/server/evloop"
	"golang.org/x/sys/unix"
)

// serveEpoll is the floor below the runtime's poller and scheduler: one
// locked thread per worker, each with its own listening socket
// (SO_REUSEPORT) and epoll set (internal/server/evloop), relaying bytes
// between each viewer connection and an origin connection of its own as
// they come, as an event-loop proxy written in C does, with no framing at
// all.
func serveEpoll(listen, origin string, workers int) error {
	oa, err := sockaddr(origin)
	if err != nil {
		return err
	}
	buf := map[*evloop.Loop][]byte{} // each loop's, for the relay's reads
	g, err := evloop.Listen(listen, workers, func(v *evloop.Conn) evloop.Handler {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil
		}
		if unix.Connect(fd, oa) != nil || unix.SetNonblock(fd, true) != nil { // on loopback, at once
			unix.Close(fd)
			return nil
		}
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		b := buf[v.Loop()]
		vr, or := &relay{buf: b}, &relay{buf: b, to: v}
		o, err := v.Loop().Adopt(fd, or)
		if err != nil {
			unix.Close(fd)
			return nil
		}
		vr.to = o
		return vr
	})
	if err != nil {
		return err
	}
	for _, l := range g.Loops() {
		buf[l] = make([]byte, 64<<10)
	}
	return g.Serve()
}

// relay copies what one end of a pair reads to the other end.
type relay struct {
	to  *evloop.Conn
	buf []byte
}

func (r *relay) Readable(c *evloop.Conn) {
	n, err := c.Read(r.buf)
	if errors.Is(err, evloop.ErrWouldBlock) {
		return
	}
	if err != nil || r.to.Write(r.buf[:n]) != nil {
		c.Close()
		r.to.Close()
	}
}

func (r *relay) Drained(*evloop.Conn) {}

func sockaddr(hostport string) (*unix.SockaddrInet4, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host).To4()
	p, err := strconv.Atoi(port)
	if ip == nil || err != nil {
		return nil, fmt.Errorf("%q: not an IPv4 address and port", hostport)
	}
	sa := &unix.SockaddrInet4{Port: p}
	copy(sa.Addr[:], ip)
	return sa, nil
}
