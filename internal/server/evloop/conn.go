//go:build linux

package evloop

import (
	"errors"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// ErrWouldBlock is Read's word that nothing more has come yet: the loop
// calls Readable again when it has.
var ErrWouldBlock = errors.New("evloop: nothing to read yet")

// Conn is a connection on a loop. Its methods are for the loop's thread.
type Conn struct {
	l        *Loop
	h        Handler
	fd       int
	interest uint32 // the events the loop waits for
	paused   bool
	closed   bool
	// err is why the connection broke (a write, a connect, a deadline),
	// which the next Read gives.
	err error
	// connecting is a Dial's connection until the kernel says how the
	// connect ended.
	connecting bool
	// deadline is when the connection times out, zero for never; queued
	// is the deadline of its entry in the loop's timers, zero for none.
	deadline, queued time.Time
	// out is what the socket has not taken yet, sent as it drains; sent
	// is how much of it has left.
	out  []byte
	sent int
}

// Loop is the loop the connection is on.
func (c *Conn) Loop() *Loop { return c.l }

// Fd is the connection's descriptor, for system calls of the caller's
// own (sendfile, splice).
func (c *Conn) Fd() int { return c.fd }

// Read reads what has come, without waiting: ErrWouldBlock when nothing
// has yet, io.EOF once the peer ended. Every way a connection fails
// comes to its handler this way: a queued write or a Dial's connect that
// failed, a deadline that passed (ErrTimeout) are the next Read's error,
// and Readable is called for it.
func (c *Conn) Read(p []byte) (int, error) {
	if c.closed {
		return 0, ErrClosed
	}
	if c.err != nil {
		return 0, c.err
	}
	for {
		n, err := unix.Read(c.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, ErrWouldBlock
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write sends bufs in one writev, as much as the socket takes now; the
// rest is copied and sent as the socket drains, in order, and Drained is
// called once it all has. Bytes written while some are queued queue
// behind them. An error means the connection is broken: close it.
func (c *Conn) Write(bufs ...[]byte) error {
	if c.closed {
		return ErrClosed
	}
	if c.err != nil {
		return c.err
	}
	if len(c.out) > c.sent || c.connecting {
		for _, b := range bufs {
			c.out = append(c.out, b...)
		}
		return nil
	}
	n, err := writev(c.fd, bufs)
	if err != nil {
		return err
	}
	for _, b := range bufs {
		if n >= len(b) {
			n -= len(b)
			continue
		}
		c.out = append(c.out, b[n:]...)
		n = 0
	}
	if len(c.out) > 0 {
		c.want(c.interest | unix.EPOLLOUT)
	}
	return nil
}

// Queued is how many bytes Write holds that the socket has not taken.
func (c *Conn) Queued() int { return len(c.out) - c.sent }

// Pause stops Readable calls until Resume: a relay whose other end
// cannot take more stops reading this one.
func (c *Conn) Pause() {
	c.paused = true
	c.want(c.interest &^ unix.EPOLLIN)
}

// Resume undoes Pause.
func (c *Conn) Resume() {
	c.paused = false
	c.want(c.interest | unix.EPOLLIN)
}

// Close closes the connection; what Write queued is dropped.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.l.forget(c)
	c.out, c.deadline = nil, time.Time{}
	return unix.Close(c.fd) // which takes it out of the epoll set
}

// Detach takes the connection off the loop as a net.Conn the runtime's
// poller serves, for a goroutine to go on with (a request the loop does
// not answer itself). Nothing may be queued.
func (c *Conn) Detach() (net.Conn, error) {
	if c.closed {
		return nil, ErrClosed
	}
	if c.Queued() > 0 {
		return nil, errors.New("evloop: detach with bytes still to send")
	}
	c.closed = true
	c.l.forget(c)
	unix.EpollCtl(c.l.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
	f := os.NewFile(uintptr(c.fd), "")
	nc, err := net.FileConn(f) // a descriptor of its own
	f.Close()
	return nc, err
}

func (l *Loop) forget(c *Conn) {
	if c.fd < len(l.conns) && l.conns[c.fd] == c {
		l.conns[c.fd] = nil
	}
}

// want sets the events the loop waits for on c.
func (c *Conn) want(events uint32) {
	if events == c.interest || c.closed {
		return
	}
	c.interest = events
	unix.EpollCtl(c.l.ep, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: events, Fd: int32(c.fd)})
}

// event passes what epoll said of c on to its handler.
func (c *Conn) event(ev uint32) {
	if c.connecting && ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		c.connected()
	}
	if c.err == nil && ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 && c.Queued() > 0 {
		c.flush()
	}
	if !c.closed && (c.err != nil || ev&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) != 0 && !c.paused) {
		c.h.Readable(c)
	}
}

// connected ends a Dial's wait for its connect, with its outcome.
func (c *Conn) connected() {
	c.connecting = false
	if e, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil {
		c.fail(os.NewSyscallError("getsockopt", err))
	} else if e != 0 {
		c.fail(os.NewSyscallError("connect", unix.Errno(e)))
	} else if c.Queued() == 0 {
		c.want(c.interest &^ unix.EPOLLOUT)
		c.h.Drained(c) // nothing waits to go, and now it could
	}
}

// fail records why c broke, for its handler's next Read.
func (c *Conn) fail(err error) {
	if c.err == nil {
		c.err = err
	}
	c.want(c.interest &^ unix.EPOLLOUT)
}

// flush sends what is queued, or what the socket takes of it.
func (c *Conn) flush() {
	for c.Queued() > 0 {
		n, err := unix.Write(c.fd, c.out[c.sent:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return
		}
		if err != nil {
			c.fail(os.NewSyscallError("write", err))
			return
		}
		c.sent += n
	}
	if cap(c.out) > 64<<10 {
		c.out = nil // a large answer's buffer is not kept
	}
	c.out, c.sent = c.out[:0], 0
	c.want(c.interest &^ unix.EPOLLOUT)
	c.h.Drained(c)
}

// writev writes bufs at once; it gives how much the socket took, 0 when
// it took nothing for now.
func writev(fd int, bufs [][]byte) (int, error) {
	name, write := "writev", func() (int, error) { return unix.Writev(fd, bufs) }
	if len(bufs) == 1 {
		name, write = "write", func() (int, error) { return unix.Write(fd, bufs[0]) }
	}
	for {
		n, err := write()
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
		case unix.EAGAIN:
			return 0, nil
		default:
			return 0, os.NewSyscallError(name, err)
		}
	}
}
