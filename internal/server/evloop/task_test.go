//go:build linux

package evloop

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Code written for goroutines (a bufio reader, blocking reads and
// writes) serves a connection as a task.
func TestTaskServesCodeWrittenForGoroutines(t *testing.T) {
	g := serve(t, 1, func(c *Conn) Handler {
		return Serve(c, func(_ *Task, nc net.Conn) {
			defer nc.Close()
			r := bufio.NewReader(nc)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if _, err := io.WriteString(nc, strings.ToUpper(line)+strings.Repeat("z", 1<<20)+"\n"); err != nil {
					return
				}
			}
		})
	})
	nc, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReader(nc)
	for _, w := range []string{"one", "two", "three"} {
		io.WriteString(nc, w+"\n")
		got, err := r.ReadString('\n')
		if err != nil || got != strings.ToUpper(w)+"\n" {
			t.Fatalf("%q, %v", got, err)
		}
		if z, err := r.ReadString('\n'); err != nil || len(z) != 1<<20+1 {
			t.Fatalf("a MiB that waits for the socket: %d bytes, %v", len(z), err)
		}
	}
}

// A task dials on its loop and relays; while one task awaits slow work
// on a goroutine, the loop serves the others.
func TestTaskDialAndAwait(t *testing.T) {
	origin := echoOrigin(t)
	g := serve(t, 1, func(c *Conn) Handler {
		return Serve(c, func(task *Task, nc net.Conn) {
			defer nc.Close()
			buf := make([]byte, 64)
			n, err := nc.Read(buf)
			if err != nil {
				return
			}
			if string(buf[:n]) == "slow" {
				task.Await(func() { time.Sleep(300 * time.Millisecond) })
			}
			o, err := task.Dial(origin)
			if err != nil {
				io.WriteString(nc, err.Error())
				return
			}
			defer o.Close()
			o.Write(buf[:n])
			if n, err = io.ReadFull(o, buf[:n]); err == nil {
				nc.Write(append([]byte("via origin: "), buf[:n]...))
			}
		})
	})
	dial := func(msg string) net.Conn {
		nc, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		io.WriteString(nc, msg)
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		return nc
	}
	slow := dial("slow")
	time.Sleep(20 * time.Millisecond) // the slow one is waiting
	start := time.Now()
	quick := dial("quick")
	if got, err := io.ReadAll(quick); err != nil || string(got) != "via origin: quick" {
		t.Fatalf("%q, %v", got, err)
	}
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Errorf("the quick connection took %v: the loop waited with the slow one", took)
	}
	if got, err := io.ReadAll(slow); err != nil || string(got) != "via origin: slow" {
		t.Fatalf("%q, %v", got, err)
	}
}

// A task's deadline comes as net.Conns report theirs.
func TestTaskDeadline(t *testing.T) {
	got := make(chan error, 1)
	g := serve(t, 1, func(c *Conn) Handler {
		return Serve(c, func(_ *Task, nc net.Conn) {
			defer nc.Close()
			buf := make([]byte, 8)
			nc.Read(buf) // the first bytes start the task
			nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			_, err := nc.Read(buf)
			got <- err
		})
	})
	nc, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("x"))
	select {
	case err := <-got:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%v, want a net.Error timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the deadline did not end the read")
	}
}

// echoOrigin is a loopback server, on goroutines, that echoes what each
// connection sends, until the test ends.
func echoOrigin(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// Close ends every task: one waiting for bytes, one awaiting a goroutine,
// one whose connection never spoke; none outlives its loop.
func TestCloseEndsTasks(t *testing.T) {
	before := runtime.NumGoroutine()
	ended := make(chan string, 3)
	g, err := Listen("127.0.0.1:0", 1, func(c *Conn) Handler {
		return Serve(c, func(task *Task, nc net.Conn) {
			buf := make([]byte, 8)
			n, err := nc.Read(buf)
			if err != nil {
				ended <- "silent"
				return
			}
			if string(buf[:n]) == "await" {
				task.Await(func() { time.Sleep(200 * time.Millisecond) })
				ended <- "awaited"
				return
			}
			if _, err := nc.Read(buf); err != nil {
				ended <- "waiting"
			}
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Serve() }()
	for _, msg := range []string{"", "await", "wait"} {
		nc, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		io.WriteString(nc, msg)
	}
	time.Sleep(50 * time.Millisecond) // each task is where it waits
	g.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve: %v", err)
	}
	got := map[string]bool{}
	for range 3 {
		select {
		case e := <-ended:
			got[e] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("tasks ended: %v, then none", got)
		}
	}
	if !got["silent"] || !got["awaited"] || !got["waiting"] {
		t.Errorf("tasks ended: %v", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}
