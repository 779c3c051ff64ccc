//go:build linux

package main

import (
	"net"
	"net/netip"

	"github.com/edgefront/edgefront/internal/server/evloop"
)

// serveCoro runs the floor's serve, code written as if it blocked, on the
// epoll loops: each viewer connection is an evloop.Task, a coroutine
// started and resumed by its loop's thread, whose reads and writes that
// would wait hand the thread back to the loop until the connection is
// ready. A switch to a coroutine and back costs no scheduler and no
// wake-up of another thread, as a goroutine woken by the runtime's poller
// does: this measures whether edgefront's own loop and pipeline could
// run on an event loop as they are written.
func serveCoro(listen, origin string, workers int) error {
	oa, err := netip.ParseAddrPort(origin)
	if err != nil {
		return err
	}
	g, err := evloop.Listen(listen, workers, func(v *evloop.Conn) evloop.Handler {
		return evloop.Serve(v, func(t *evloop.Task, nc net.Conn) {
			serve(nc, func() (net.Conn, error) { return t.Dial(oa) })
		})
	})
	if err != nil {
		return err
	}
	return g.Serve()
}
