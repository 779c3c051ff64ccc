//go:build linux

package main

import (
	"errors"
	"net/netip"

	"github.com/edgefront/edgefront/internal/server/evloop"
)

// serveEpoll is the floor below the runtime's poller and scheduler: one
// locked thread per worker, each with its own listening socket
// (SO_REUSEPORT) and epoll set (internal/server/evloop), relaying bytes
// between each viewer connection and an origin connection of its own as
// they come, as an event-loop proxy written in C does, with no framing at
// all.
func serveEpoll(listen, origin string, workers int) error {
	oa, err := netip.ParseAddrPort(origin)
	if err != nil {
		return err
	}
	buf := map[*evloop.Loop][]byte{} // each loop's, for the relay's reads
	g, err := evloop.Listen(listen, workers, func(v *evloop.Conn) evloop.Handler {
		b := buf[v.Loop()]
		vr, or := &relay{buf: b}, &relay{buf: b, to: v}
		o, err := v.Loop().Dial(oa, or)
		if err != nil {
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
