//go:build linux

// Package evloop runs TCP connections on event loops below the Go
// runtime's poller: one locked OS thread a loop, each with a listening
// socket of its own (SO_REUSEPORT, so that the kernel spreads new
// connections over the loops) and an epoll set, calling a connection's
// handler on the loop's thread when it can be read, as nginx's and
// HAProxy's workers do. A connection costs no goroutine and no wake-up of
// one: on a machine whose cores the viewers share, that is a pass's
// margin over a goroutine-per-connection server (docs/benchmarks-floors.md,
// "HTTP on an event loop").
//
// Everything a handler does runs on its loop's thread and must not block:
// it reads and writes without waiting (Conn.Read, Conn.Write queue what
// the socket does not take and send it when it can), and work that would
// block goes to a goroutine, which gives its result back with Loop.Post or
// takes the connection for good with Conn.Detach.
package evloop

import (
	"errors"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Handler is what a loop calls for one of its connections, on its
// thread.
type Handler interface {
	// Readable says c has bytes to read, or its peer ended: Read tells.
	Readable(c *Conn)
	// Drained says the bytes Write queued are all sent, and that a
	// Dial's connection is made.
	Drained(c *Conn)
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("evloop: closed")

// Group is a set of loops serving one address.
type Group struct {
	loops  []*Loop
	addr   net.Addr
	accept func(*Conn) Handler
	wg     sync.WaitGroup
	once   sync.Once
	errs   chan error
}

// Listen makes n loops, each with its own listening socket on addr (an
// IPv4 or IPv6 address and port); accept gives each new connection its
// handler, on the connection's loop. Serve runs them.
func Listen(addr string, n int, accept func(*Conn) Handler) (*Group, error) {
	sa, family, err := sockaddr(addr)
	if err != nil {
		return nil, err
	}
	g := &Group{accept: accept, errs: make(chan error, n)}
	for range max(n, 1) {
		l, err := newLoop(g)
		if err == nil {
			l.lfd, err = reusePortListener(sa, family)
			if err == nil {
				err = l.watch(l.lfd, unix.EPOLLIN)
			}
		}
		if err != nil {
			if l != nil {
				l.release()
			}
			g.release()
			return nil, err
		}
		g.loops = append(g.loops, l)
		if len(g.loops) == 1 {
			// The others bind the port the first was given.
			if sa, err = unix.Getsockname(l.lfd); err != nil {
				g.release()
				return nil, err
			}
			g.addr = tcpAddr(sa)
		}
	}
	return g, nil
}

// Addr is the address the loops listen on (its port chosen by the
// kernel when addr asked for port 0: every loop's socket shares it).
func (g *Group) Addr() net.Addr { return g.addr }

// Loops are the group's loops.
func (g *Group) Loops() []*Loop { return g.loops }

// Serve runs the loops until Close; it returns the first loop's failure,
// or ErrClosed.
func (g *Group) Serve() error {
	for _, l := range g.loops {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.errs <- l.run()
		}()
	}
	err := <-g.errs
	g.Close()
	g.wg.Wait()
	return err
}

// Close stops the loops: each closes its listener and its connections.
func (g *Group) Close() error {
	g.once.Do(func() {
		for _, l := range g.loops {
			l.Post(func() { l.stopping = true })
		}
	})
	return nil
}

// release frees what loops that never ran hold.
func (g *Group) release() {
	for _, l := range g.loops {
		l.release()
	}
}

// Loop is one event loop: a thread, an epoll set, its connections.
type Loop struct {
	g        *Group
	ep, lfd  int
	wake     int     // an eventfd: Post's
	conns    []*Conn // by descriptor
	events   []unix.EpollEvent
	timers   timers
	stopping bool
	// The loop's tasks that have not ended, and how many of them Await
	// a goroutine.
	tasks    map[*Task]struct{}
	awaiting int

	mu     sync.Mutex
	posted []func()
	ran    []func()
}

func newLoop(g *Group) (*Loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	l := &Loop{g: g, ep: ep, lfd: -1, events: make([]unix.EpollEvent, 128)}
	l.wake, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err == nil {
		err = l.watch(l.wake, unix.EPOLLIN)
	}
	if err != nil {
		l.release()
		return nil, err
	}
	return l, nil
}

func (l *Loop) watch(fd int, events uint32) error {
	return unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: events, Fd: int32(fd)})
}

func (l *Loop) release() {
	for _, fd := range []int{l.lfd, l.wake, l.ep} {
		if fd > 0 {
			unix.Close(fd)
		}
	}
	l.lfd, l.wake, l.ep = -1, -1, -1
}

// Post runs f on the loop's thread, soon; from any goroutine. Work posted
// to a loop that has stopped is dropped.
func (l *Loop) Post(f func()) {
	l.mu.Lock()
	l.posted = append(l.posted, f)
	first := len(l.posted) == 1
	l.mu.Unlock()
	if first {
		var one = [8]byte{1}
		unix.Write(l.wake, one[:])
	}
}

func (l *Loop) run() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer l.stop()
	for !l.stopping {
		n, err := unix.EpollWait(l.ep, l.events, l.wait())
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return os.NewSyscallError("epoll_wait", err)
		}
		for _, ev := range l.events[:n] {
			switch fd := int(ev.Fd); {
			case fd == l.lfd:
				l.acceptAll()
			case fd == l.wake:
				l.runPosted()
			case fd < len(l.conns) && l.conns[fd] != nil:
				// (A connection closed earlier in this batch may have
				// given its number to one accepted since: that one is
				// told it can be read or written when it cannot, which
				// costs it one read that finds nothing.)
				l.conns[fd].event(ev.Events)
			}
		}
		l.expire()
	}
	return ErrClosed
}

func (l *Loop) runPosted() {
	var buf [8]byte
	unix.Read(l.wake, buf[:])
	l.mu.Lock()
	l.ran, l.posted = l.posted, l.ran[:0]
	l.mu.Unlock()
	for i, f := range l.ran {
		f()
		l.ran[i] = nil
	}
}

// stop closes the listener, the connections and the loop's descriptors.
func (l *Loop) stop() {
	for _, c := range l.conns {
		if c != nil {
			c.Close()
		}
	}
	l.timers = nil
	l.endTasks()
	l.mu.Lock()
	l.posted = nil
	l.mu.Unlock()
	l.release()
}

func (l *Loop) acceptAll() {
	for {
		fd, _, err := unix.Accept4(l.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN: all taken; anything else, the next event retries
		}
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		c, err := l.add(fd)
		if err != nil {
			unix.Close(fd)
			continue
		}
		c.h = l.g.accept(c)
		if c.h == nil {
			c.Close()
		}
	}
}

// Adopt puts a connected, non-blocking socket on the loop (an origin
// connection the loop's handlers share, say), served by h. On the loop's
// thread only.
func (l *Loop) Adopt(fd int, h Handler) (*Conn, error) {
	c, err := l.add(fd)
	if err != nil {
		return nil, err
	}
	c.h = h
	return c, nil
}

func (l *Loop) add(fd int) (*Conn, error) {
	if l.stopping {
		return nil, ErrClosed
	}
	if err := l.watch(fd, unix.EPOLLIN); err != nil {
		return nil, err
	}
	for fd >= len(l.conns) {
		l.conns = append(l.conns, nil)
	}
	c := &Conn{l: l, fd: fd, interest: unix.EPOLLIN}
	l.conns[fd] = c
	return c, nil
}

func tcpAddr(sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return nil
}

// sockaddr parses an address and port for a socket.
func sockaddr(hostport string) (unix.Sockaddr, int, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, 0, err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return nil, 0, errors.New("evloop: " + hostport + ": not a port")
	}
	if host == "" {
		host = "0.0.0.0"
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return nil, 0, errors.New("evloop: " + hostport + ": not an IP address")
	}
	if ip4 := ip.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: p}
		copy(sa.Addr[:], ip4)
		return sa, unix.AF_INET, nil
	}
	sa := &unix.SockaddrInet6{Port: p}
	copy(sa.Addr[:], ip.To16())
	return sa, unix.AF_INET6, nil
}

// reusePortListener is a listening socket of its own on sa.
func reusePortListener(sa unix.Sockaddr, family int) (int, error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("bind", err)
	}
	if err := unix.Listen(fd, 4096); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("listen", err)
	}
	return fd, nil
}
