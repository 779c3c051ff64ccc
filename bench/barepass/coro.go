//go:build linux

package main

import (
	"errors"
	"io"
	"iter"
	"net"
	"net/netip"
	"time"

	"github.com/edgefront/edgefront/internal/server/evloop"
)

// serveCoro runs the floor's serve, code written as if it blocked, on the
// epoll loops: each viewer connection is a coroutine (iter.Pull) started
// and resumed by its loop's thread, and a read or write that would wait
// hands the thread back to the loop (yield) until the connection is
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
		co := &coro{}
		viewer := &coConn{c: v, co: co}
		dial := func() (net.Conn, error) {
			o := &coConn{co: co}
			var err error
			o.c, err = v.Loop().Dial(oa, o)
			return o, err
		}
		// (The coroutine ends when serve does, as its viewer ends.)
		co.next, _ = iter.Pull(func(yield func(struct{}) bool) {
			co.yield = yield
			serve(viewer, dial)
		})
		co.waiting = viewer // its first bytes start it
		return viewer
	})
	if err != nil {
		return err
	}
	return g.Serve()
}

// coro is a connection's coroutine and what it waits on.
type coro struct {
	next    func() (struct{}, bool)
	yield   func(struct{}) bool
	waiting *coConn
}

func (co *coro) resume() {
	if _, more := co.next(); !more {
		co.waiting = nil
	}
}

// coConn is a net.Conn for code in a coroutine on a loop.
type coConn struct {
	c      *evloop.Conn
	co     *coro
	paused bool // it came readable while its coroutine waited on another
}

// wait gives the thread back to the loop until k is ready.
func (k *coConn) wait() bool {
	if k.paused {
		k.paused = false
		k.c.Resume()
	}
	k.co.waiting = k
	ok := k.co.yield(struct{}{})
	k.co.waiting = nil
	return ok
}

func (k *coConn) Read(p []byte) (int, error) {
	for {
		n, err := k.c.Read(p)
		if !errors.Is(err, evloop.ErrWouldBlock) {
			return n, err
		}
		if !k.wait() {
			return 0, net.ErrClosed
		}
	}
}

func (k *coConn) Write(p []byte) (int, error) {
	if err := k.c.Write(p); err != nil {
		return 0, err
	}
	for k.c.Queued() > 0 {
		if !k.wait() {
			return 0, net.ErrClosed
		}
		if _, err := k.c.Read(nil); err != nil && !errors.Is(err, evloop.ErrWouldBlock) && err != io.EOF {
			return 0, err // a queued write failed
		}
	}
	return len(p), nil
}

// Readable resumes the coroutine if it waits on k; otherwise k is paused
// until it does, so that the loop is not told again and again.
func (k *coConn) Readable(c *evloop.Conn) {
	if k.co.waiting == k {
		k.co.resume()
		return
	}
	k.paused = true
	c.Pause()
}

func (k *coConn) Drained(*evloop.Conn) {
	if k.co.waiting == k {
		k.co.resume()
	}
}

func (k *coConn) Close() error                     { return k.c.Close() }
func (k *coConn) LocalAddr() net.Addr              { return nil }
func (k *coConn) RemoteAddr() net.Addr             { return nil }
func (k *coConn) SetDeadline(time.Time) error      { return nil }
func (k *coConn) SetReadDeadline(time.Time) error  { return nil }
func (k *coConn) SetWriteDeadline(time.Time) error { return nil }
