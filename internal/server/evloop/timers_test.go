//go:build linux

package evloop

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// A deadline ends a connection that sends nothing in time; one moved on
// by each message does not; a cleared one never does.
func TestDeadline(t *testing.T) {
	const wait = 150 * time.Millisecond
	timedOut := make(chan time.Duration, 4)
	g := serve(t, 1, func(c *Conn) Handler {
		start := time.Now()
		c.SetDeadline(start.Add(wait))
		return &handler{readable: func(c *Conn) {
			var buf [64]byte
			n, err := c.Read(buf[:])
			switch {
			case errors.Is(err, ErrWouldBlock):
			case errors.Is(err, ErrTimeout):
				timedOut <- time.Since(start)
				c.Close()
			case err != nil:
				c.Close()
			case string(buf[:n]) == "clear":
				c.SetDeadline(time.Time{})
				c.Write([]byte("ok"))
			default:
				c.SetDeadline(time.Now().Add(wait)) // moved on
				c.Write([]byte("ok"))
			}
		}}
	})
	dial := func() net.Conn {
		nc, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return nc
	}

	silent := dial()
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("a silent connection: %v, want EOF", err)
	}
	if took := <-timedOut; took < wait || took > wait+time.Second {
		t.Errorf("timed out after %v, want %v", took, wait)
	}

	// Talking every wait/2 for 3 waits keeps the connection.
	busy := dial()
	for range 6 {
		time.Sleep(wait / 2)
		busy.Write([]byte("x"))
		busy.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(busy, make([]byte, 2)); err != nil {
			t.Fatalf("a connection whose deadline moves on was ended: %v", err)
		}
	}
	select { // it is ended once it stops
	case <-timedOut:
	case <-time.After(5 * time.Second):
		t.Fatal("a connection that stopped talking was not ended")
	}

	cleared := dial()
	cleared.Write([]byte("clear"))
	io.ReadFull(cleared, make([]byte, 2))
	select {
	case took := <-timedOut:
		t.Fatalf("a cleared deadline fired after %v", took)
	case <-time.After(3 * wait):
	}
}

// Dial connects without waiting: what is written meanwhile goes once the
// connection is made, and a refused connect is the next Read's error.
func TestDial(t *testing.T) {
	echoAddr := echoOrigin(t)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	refusing := closed.Addr().String()
	closed.Close()

	results := make(chan string, 2)
	g := serve(t, 1, func(v *Conn) Handler {
		return &handler{readable: func(v *Conn) {
			var buf [64]byte
			if _, ok := readSome(v, buf[:]); !ok {
				return
			}
			for _, addr := range []string{echoAddr.String(), refusing} {
				o, err := v.Loop().Dial(netip.MustParseAddrPort(addr), &handler{readable: func(o *Conn) {
					n, err := o.Read(buf[:])
					switch {
					case errors.Is(err, ErrWouldBlock):
						return
					case errors.Is(err, syscall.ECONNREFUSED):
						results <- "refused"
					case err != nil:
						results <- err.Error()
					default:
						results <- "echoed " + string(buf[:n])
					}
					o.Close()
				}})
				if err != nil {
					results <- err.Error()
					continue
				}
				if err := o.Write([]byte("early")); err != nil {
					results <- err.Error()
				}
			}
		}}
	})
	nc, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("go"))
	got := map[string]bool{}
	for range 2 {
		select {
		case r := <-results:
			got[r] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("got %v, then nothing", got)
		}
	}
	if !got["echoed early"] || !got["refused"] {
		t.Errorf("got %v, want the early write echoed and the refused connect", got)
	}
}
