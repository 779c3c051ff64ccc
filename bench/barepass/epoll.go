//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// serveEpoll is the floor below the runtime's poller and scheduler: one
// locked thread per worker, each with its own listening socket
// (SO_REUSEPORT) and epoll set, relaying bytes between each viewer
// connection and an origin connection of its own as they come, as an
// event-loop proxy written in C does, with no framing at all.
func serveEpoll(listen, origin string, workers int) error {
	la, err := sockaddr(listen)
	if err != nil {
		return err
	}
	oa, err := sockaddr(origin)
	if err != nil {
		return err
	}
	errs := make(chan error, workers)
	for range workers {
		lfd, err := reusePortListener(la)
		if err != nil {
			return err
		}
		go func() { errs <- relayLoop(lfd, oa) }()
	}
	return <-errs
}

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

// relayLoop is one worker: it accepts on lfd and relays until it fails.
func relayLoop(lfd int, origin *unix.SockaddrInet4) error {
	runtime.LockOSThread()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, lfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(lfd)}); err != nil {
		return err
	}
	peer := map[int]int{} // each connection's other end
	buf := make([]byte, 64<<10)
	events := make([]unix.EpollEvent, 128)
	closePair := func(fd int) {
		other := peer[fd]
		delete(peer, fd)
		delete(peer, other)
		unix.Close(fd)
		unix.Close(other)
	}
	for {
		n, err := unix.EpollWait(ep, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == lfd {
				if err := acceptPair(ep, lfd, origin, peer); err != nil && !errors.Is(err, unix.EAGAIN) {
					return err
				}
				continue
			}
			other, ok := peer[fd]
			if !ok {
				continue // closed by an earlier event of this batch
			}
			r, err := unix.Read(fd, buf)
			if errors.Is(err, unix.EAGAIN) {
				continue
			}
			if err != nil || r == 0 || writeAll(other, buf[:r]) != nil {
				closePair(fd)
			}
		}
	}
}

// acceptPair accepts a viewer connection and connects it to the origin.
func acceptPair(ep, lfd int, origin *unix.SockaddrInet4, peer map[int]int) error {
	v, _, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	if err != nil {
		return err
	}
	o, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		err = unix.Connect(o, origin) // on loopback, at once
	}
	if err == nil {
		err = unix.SetNonblock(o, true)
	}
	if err != nil {
		unix.Close(v)
		if o > 0 {
			unix.Close(o)
		}
		return err
	}
	for _, fd := range []int{v, o} {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
	}
	peer[v], peer[o] = o, v
	return nil
}

// writeAll writes b to fd, waiting for it when its buffer is full.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if errors.Is(err, unix.EAGAIN) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			unix.Poll(fds, 1000)
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
