//go:build linux

package evloop

import (
	"errors"
	"io"
	"iter"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Task is code written for goroutines, run on a loop: a coroutine
// (iter.Pull) that the loop's thread starts and resumes. Its connections
// are net.Conns whose reads and writes, when they would wait, hand the
// thread back to the loop until epoll says the connection is ready. A
// switch to a task and back is a direct hand-over on the same thread,
// with no scheduler and no wake-up of another one, which is what makes a
// loop faster than a goroutine a connection (docs/benchmarks-floors.md,
// "Code written for goroutines, on the loop").
//
// A task must not wait on anything else on the loop's thread (a channel,
// a lock held long, a net.Conn of the runtime's): the loop would wait
// with it. Await runs such a wait on a goroutine.
type Task struct {
	l       *Loop
	next    func() (struct{}, bool)
	yield   func(struct{}) bool
	waiting *TaskConn // what the task waits on; nil when running or Await's
	done    bool
}

// Serve is an accept function's way to serve c with f in a task of its
// own; it gives c's handler. The task starts when c's first bytes come,
// and ends when f returns: what f leaves open stays open.
func Serve(c *Conn, f func(t *Task, nc net.Conn)) Handler {
	t := &Task{l: c.l}
	nc := t.adopt(c)
	t.next, _ = iter.Pull(func(yield func(struct{}) bool) {
		t.yield = yield
		f(t, nc)
	})
	t.waiting = nc
	if c.l.tasks == nil {
		c.l.tasks = map[*Task]struct{}{}
	}
	c.l.tasks[t] = struct{}{}
	return nc
}

// resume runs the task until it waits again or ends.
func (t *Task) resume() {
	if t.done {
		return
	}
	if _, more := t.next(); !more {
		t.done, t.waiting = true, nil
		delete(t.l.tasks, t)
	}
}

// endTasks ends the tasks of a loop that stops, its connections closed:
// each waiting on one is resumed, to find it closed, and those awaiting a
// goroutine are waited for, so that no coroutine outlives its loop. A
// task that goes on waiting after a few rounds of that is left.
func (l *Loop) endTasks() {
	for range 3 {
		for t := range l.tasks {
			if t.waiting != nil {
				t.resume()
			}
		}
		for l.awaiting > 0 {
			fds := []unix.PollFd{{Fd: int32(l.wake), Events: unix.POLLIN}}
			unix.Poll(fds, -1)
			l.runPosted()
		}
		if len(l.tasks) == 0 {
			return
		}
	}
}

// Dial connects to addr from the task's loop; the task waits (yields)
// until the connection is made.
func (t *Task) Dial(addr netip.AddrPort) (net.Conn, error) {
	tc := &TaskConn{t: t}
	c, err := t.l.Dial(addr, tc)
	if err != nil {
		return nil, err
	}
	tc.c = c
	for c.connecting {
		if !tc.wait() {
			c.Close()
			return nil, net.ErrClosed
		}
	}
	if c.err != nil {
		err := c.err
		c.Close()
		return nil, err
	}
	return tc, nil
}

// Await runs f on a goroutine of its own and yields until it returns:
// the loop serves its other connections meanwhile.
func (t *Task) Await(f func()) {
	t.l.awaiting++
	go func() {
		f()
		t.l.Post(func() {
			t.l.awaiting--
			t.resume()
		})
	}()
	t.waiting = nil
	t.yield(struct{}{})
}

func (t *Task) adopt(c *Conn) *TaskConn {
	tc := &TaskConn{t: t, c: c}
	c.h = tc
	return tc
}

// TaskConn is a connection of a task, as a net.Conn. It has one deadline,
// which SetDeadline, SetReadDeadline and SetWriteDeadline all set; once it
// has passed, the connection fails (os.ErrDeadlineExceeded) for good.
type TaskConn struct {
	t      *Task
	c      *Conn
	paused bool // it came readable while its task waited on another
}

// wait yields until tc is ready; it is false when the task is being
// stopped.
func (tc *TaskConn) wait() bool {
	if tc.paused {
		tc.paused = false
		tc.c.Resume()
	}
	tc.t.waiting = tc
	ok := tc.t.yield(struct{}{})
	tc.t.waiting = nil
	return ok
}

// Read reads what has come, waiting (yielding) until something has.
func (tc *TaskConn) Read(p []byte) (int, error) {
	for {
		n, err := tc.c.Read(p)
		switch {
		case err == nil, err == io.EOF:
			return n, err
		case errors.Is(err, ErrTimeout):
			return 0, timeoutError{}
		case !errors.Is(err, ErrWouldBlock):
			return 0, err
		}
		if !tc.wait() {
			return 0, net.ErrClosed
		}
	}
}

// Write writes p, waiting (yielding) until the socket has taken it all.
func (tc *TaskConn) Write(p []byte) (int, error) {
	if err := tc.c.Write(p); err != nil {
		return 0, err
	}
	for tc.c.Queued() > 0 && tc.c.err == nil {
		if !tc.wait() {
			return 0, net.ErrClosed
		}
	}
	if err := tc.c.err; err != nil {
		if errors.Is(err, ErrTimeout) {
			return 0, timeoutError{}
		}
		return 0, err
	}
	return len(p), nil
}

// Readable resumes the task if it waits on tc; otherwise tc is paused
// until it does, so that the loop is not told of it again and again.
func (tc *TaskConn) Readable(c *Conn) {
	if tc.t.waiting == tc {
		tc.t.resume()
		return
	}
	if !tc.t.done && tc.c.err == nil {
		tc.paused = true
		c.Pause()
	}
}

// Drained resumes the task if it waits for tc's writes.
func (tc *TaskConn) Drained(*Conn) {
	if tc.t.waiting == tc {
		tc.t.resume()
	}
}

// Close closes the connection.
func (tc *TaskConn) Close() error { return tc.c.Close() }

// LocalAddr is the connection's own address.
func (tc *TaskConn) LocalAddr() net.Addr {
	sa, err := unix.Getsockname(tc.c.fd)
	if err != nil {
		return nil
	}
	return tcpAddr(sa)
}

// RemoteAddr is the peer's address.
func (tc *TaskConn) RemoteAddr() net.Addr {
	sa, err := unix.Getpeername(tc.c.fd)
	if err != nil {
		return nil
	}
	return tcpAddr(sa)
}

// SetDeadline sets the connection's one deadline.
func (tc *TaskConn) SetDeadline(at time.Time) error {
	tc.c.SetDeadline(at)
	return nil
}

// SetReadDeadline sets the connection's one deadline.
func (tc *TaskConn) SetReadDeadline(at time.Time) error { return tc.SetDeadline(at) }

// SetWriteDeadline sets the connection's one deadline.
func (tc *TaskConn) SetWriteDeadline(at time.Time) error { return tc.SetDeadline(at) }

// timeoutError is a passed deadline as net.Conns report it: a net.Error
// whose Timeout is true, and os.ErrDeadlineExceeded to errors.Is.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
func (timeoutError) Is(err error) bool {
	return err == os.ErrDeadlineExceeded
}
