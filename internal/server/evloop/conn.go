//go:build linux

package evloop

import (
	"errors"
	"io"
	"net"
	"os"

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
// has yet, io.EOF once the peer ended.
func (c *Conn) Read(p []byte) (int, error) {
	if c.closed {
		return 0, ErrClosed
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
	if len(c.out) > c.sent {
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
	if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 && c.Queued() > 0 {
		if !c.flush() {
			return
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) != 0 && !c.paused && !c.closed {
		c.h.Readable(c)
	}
}

// flush sends what is queued, or what the socket takes of it; it is
// false when the connection broke (and is closed).
func (c *Conn) flush() bool {
	for c.Queued() > 0 {
		n, err := unix.Write(c.fd, c.out[c.sent:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return true
		}
		if err != nil {
			c.Close()
			return false
		}
		c.sent += n
	}
	if cap(c.out) > 64<<10 {
		c.out = nil // a large answer's buffer is not kept
	}
	c.out, c.sent = c.out[:0], 0
	c.want(c.interest &^ unix.EPOLLOUT)
	c.h.Drained(c)
	return !c.closed
}

// writev writes bufs at once; it gives how much the socket took, 0 when
// it took nothing for now.
func writev(fd int, bufs [][]byte) (int, error) {
	if len(bufs) == 1 {
		for {
			n, err := unix.Write(fd, bufs[0])
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return 0, nil
			}
			if err != nil {
				return 0, os.NewSyscallError("write", err)
			}
			return n, nil
		}
	}
	for {
		n, err := unix.Writev(fd, bufs)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return 0, nil
		}
		if err != nil {
			return 0, os.NewSyscallError("writev", err)
		}
		return n, nil
	}
}
