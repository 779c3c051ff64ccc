//go:build linux

package evloop

import (
	"container/heap"
	"errors"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// ErrTimeout is Read's error once a connection's deadline has passed.
var ErrTimeout = errors.New("evloop: deadline passed")

// SetDeadline makes the connection fail with ErrTimeout at t (its
// handler's Readable is called, and Read says so); the zero time clears
// it. A deadline moved later costs nothing until the earlier one would
// have come, so a connection may move it on every request.
func (c *Conn) SetDeadline(t time.Time) {
	if c.closed {
		return
	}
	c.deadline = t
	if t.IsZero() || (!c.queued.IsZero() && !t.Before(c.queued)) {
		return // none, or its timer comes first and looks again
	}
	c.queued = t
	heap.Push(&c.l.timers, timer{at: t, c: c})
}

// timer is a connection's entry in its loop's timers: when it is due.
type timer struct {
	at time.Time
	c  *Conn
}

// timers is a min-heap of due times. A connection has at most one entry
// that counts (its queued time); others are stale and skipped.
type timers []timer

func (h timers) Len() int           { return len(h) }
func (h timers) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timers) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timers) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timers) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = timer{}
	*h = old[:len(old)-1]
	return t
}

// wait is epoll_wait's timeout: until the first timer, or none.
func (l *Loop) wait() int {
	if len(l.timers) == 0 {
		return -1
	}
	d := time.Until(l.timers[0].at)
	if d <= 0 {
		return 0
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// expire fails the connections whose deadline has passed.
func (l *Loop) expire() {
	if len(l.timers) == 0 {
		return
	}
	now := time.Now()
	for len(l.timers) > 0 && !l.timers[0].at.After(now) {
		t := heap.Pop(&l.timers).(timer)
		c := t.c
		if c.closed || !c.queued.Equal(t.at) {
			continue // stale
		}
		c.queued = time.Time{}
		switch {
		case c.deadline.IsZero():
		case c.deadline.After(now):
			c.queued = c.deadline // moved later: wait again
			heap.Push(&l.timers, timer{at: c.deadline, c: c})
		default:
			c.deadline = time.Time{}
			c.fail(ErrTimeout)
			c.h.Readable(c)
		}
	}
}

// Dial connects to addr without waiting, for a handler h on the loop
// (an origin connection, say); on the loop's thread only. Writes queue
// until the connection is made; a connect that fails is the next Read's
// error.
func (l *Loop) Dial(addr netip.AddrPort, h Handler) (*Conn, error) {
	family, sa := unix.AF_INET, unix.Sockaddr(nil)
	if a := addr.Addr().Unmap(); a.Is4() {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: a.As4()}
	} else {
		family, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: int(addr.Port()), Addr: a.As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(fd, sa)
	connecting := err == unix.EINPROGRESS
	if err != nil && !connecting {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	c, err := l.Adopt(fd, h)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	if connecting {
		c.connecting = true
		c.want(c.interest | unix.EPOLLOUT)
	}
	return c, nil
}
