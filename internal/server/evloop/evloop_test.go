//go:build linux

package evloop

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// handler is a Handler of functions.
type handler struct {
	readable func(*Conn)
	drained  func(*Conn)
}

func (h *handler) Readable(c *Conn) { h.readable(c) }
func (h *handler) Drained(c *Conn) {
	if h.drained != nil {
		h.drained(c)
	}
}

// echo reads what comes and writes it back; it closes at the end.
func echo(c *Conn) {
	var buf [4096]byte
	for {
		n, err := c.Read(buf[:])
		if errors.Is(err, ErrWouldBlock) {
			return
		}
		if err != nil || c.Write(buf[:n]) != nil {
			c.Close()
			return
		}
	}
}

// readSome reads what came on c into buf; it is false when nothing did,
// and closes c when it ended or broke.
func readSome(c *Conn, buf []byte) (int, bool) {
	n, err := c.Read(buf)
	if err != nil {
		if !errors.Is(err, ErrWouldBlock) {
			c.Close()
		}
		return 0, false
	}
	return n, true
}

// serve runs a group of n loops on a loopback port with accept, until the
// test ends; it checks that Serve ends with ErrClosed.
func serve(t *testing.T, n int, accept func(*Conn) Handler) *Group {
	t.Helper()
	g, err := Listen("127.0.0.1:0", n, accept)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Serve() }()
	t.Cleanup(func() {
		g.Close()
		select {
		case err := <-done:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("Serve: %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not end after Close")
		}
	})
	return g
}

func TestEchoOverLoops(t *testing.T) {
	var loops sync.Map
	g := serve(t, 2, func(c *Conn) Handler {
		loops.Store(c.Loop(), true)
		return &handler{readable: echo}
	})
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.Dial("tcp", g.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			r := bufio.NewReader(nc)
			for j := range 20 {
				line := strings.Repeat("x", i*j) + "\n"
				if _, err := io.WriteString(nc, line); err != nil {
					t.Error(err)
					return
				}
				got, err := r.ReadString('\n')
				if err != nil || got != line {
					t.Errorf("connection %d, line %d: %q, %v", i, j, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	loops.Range(func(any, any) bool { n++; return true })
	if n != 2 {
		t.Errorf("connections went to %d loops, want both (SO_REUSEPORT spreads them)", n)
	}
}

// A write the socket cannot take at once is queued, sent whole and in
// order as the viewer reads, and Drained says when.
func TestWriteQueuesWhatTheSocketDoesNotTake(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
	drained := make(chan int, 1)
	g := serve(t, 1, func(c *Conn) Handler {
		return &handler{
			readable: func(c *Conn) {
				var buf [64]byte
				if _, ok := readSome(c, buf[:]); !ok {
					return
				}
				if err := c.Write(body[:10], body[10:]); err != nil {
					t.Error(err)
				}
				if c.Queued() == 0 {
					t.Error("8 MiB went at once: the test proves nothing")
				}
			},
			drained: func(c *Conn) { drained <- c.Queued() },
		}
	})
	nc, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("go"))
	time.Sleep(50 * time.Millisecond) // let the socket's buffers fill
	got := make([]byte, len(body))
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Fatal("the body came back changed")
	}
	select {
	case q := <-drained:
		if q != 0 {
			t.Errorf("Drained with %d bytes queued", q)
		}
	case <-time.After(5 * time.Second):
		t.Error("Drained was not called")
	}
}

// Post runs work on the loop's thread, from another goroutine: the way
// a request that went to a goroutine gives its answer back.
func TestPostRunsOnTheLoop(t *testing.T) {
	var loopTid atomic.Int64
	g := serve(t, 1, func(c *Conn) Handler {
		return &handler{readable: func(c *Conn) {
			loopTid.Store(int64(unix.Gettid()))
			var buf [64]byte
			n, ok := readSome(c, buf[:])
			if !ok {
				return
			}
			msg := append([]byte("posted "), buf[:n]...)
			go func() {
				c.Loop().Post(func() {
					if int64(unix.Gettid()) != loopTid.Load() {
						t.Error("posted work ran off the loop's thread")
					}
					c.Write(msg)
				})
			}()
		}}
	})
	nc, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("hello"))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len("posted hello"))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != "posted hello" {
		t.Fatalf("%q, %v", got, err)
	}
}

// Detach gives a connection to a goroutine as a net.Conn, with the loop
// done with it: what comes next is the goroutine's.
func TestDetach(t *testing.T) {
	g := serve(t, 1, func(c *Conn) Handler {
		return &handler{readable: func(c *Conn) {
			var buf [64]byte
			n, ok := readSome(c, buf[:])
			if !ok {
				return
			}
			first := string(buf[:n])
			nc, err := c.Detach()
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := c.Read(buf[:]); !errors.Is(err, ErrClosed) {
				t.Errorf("Read after Detach: %v, want ErrClosed", err)
			}
			go func() {
				defer nc.Close()
				io.WriteString(nc, "loop read "+first+"; ")
				io.Copy(nc, nc) // the rest is the goroutine's
			}()
		}}
	})
	nc, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("a"))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	want := "loop read a; "
	got := make([]byte, len(want))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != want {
		t.Fatalf("%q, %v", got, err)
	}
	nc.Write([]byte("then b"))
	got = make([]byte, len("then b"))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != "then b" {
		t.Fatalf("after the handoff: %q, %v", got, err)
	}
}

// Pause stops reads until Resume; what came meanwhile is read then.
func TestPauseResume(t *testing.T) {
	var paused *Conn
	resumed := make(chan struct{})
	g := serve(t, 1, func(c *Conn) Handler {
		return &handler{readable: func(c *Conn) {
			if paused == nil {
				paused = c
				c.Pause()
				go func() { <-resumed; c.Loop().Post(c.Resume) }()
				return
			}
			echo(c)
		}}
	})
	nc, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("held"))
	nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	var buf [8]byte
	if n, err := nc.Read(buf[:]); err == nil {
		t.Fatalf("a paused connection answered %q", buf[:n])
	}
	close(resumed)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(nc, buf[:4]); err != nil || string(buf[:4]) != "held" {
		t.Fatalf("after Resume: %q, %v", buf[:4], err)
	}
}

// Close ends the loops, closes their connections and frees every
// descriptor they held.
func TestCloseFreesDescriptors(t *testing.T) {
	before := openFiles(t)
	g, err := Listen("127.0.0.1:0", 2, func(c *Conn) Handler { return &handler{readable: echo} })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Serve() }()
	var conns []net.Conn
	for range 8 {
		nc, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.Write([]byte("x"))
		io.ReadFull(nc, make([]byte, 1))
		conns = append(conns, nc)
	}
	g.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve: %v", err)
	}
	for _, nc := range conns {
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := nc.Read(make([]byte, 1)); err == nil {
			t.Error("a connection stayed open after Close")
		}
		nc.Close()
	}
	if after := openFiles(t); after != before {
		t.Errorf("%d descriptors open after Close, %d before", after, before)
	}
	if _, err := net.Dial("tcp", g.Addr().String()); err == nil {
		t.Error("the group still accepts after Close")
	}
}

func TestListenRefusesBadAddresses(t *testing.T) {
	for _, addr := range []string{"localhost:80", "127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000"} {
		if _, err := Listen(addr, 1, nil); err == nil {
			t.Errorf("Listen(%q) took it", addr)
		}
	}
}

func openFiles(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}
