package gather

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tcpPair is both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// slowWrites counts the writes that reach the connection, each taking a
// millisecond, as a busy peer makes them.
type slowWrites struct {
	net.Conn
	n atomic.Int64
}

func (s *slowWrites) Write(p []byte) (int, error) {
	s.n.Add(1)
	time.Sleep(time.Millisecond)
	return s.Conn.Write(p)
}

// TestGatherKeepsEachWriteWhole writes lines from 16 goroutines at once:
// each arrives whole and in its writer's order, and the writes reach the
// connection in far fewer system calls than were made.
func TestGatherKeepsEachWriteWhole(t *testing.T) {
	c, s := tcpPair(t)
	under := &slowWrites{Conn: c}
	g := New(under)
	g.Start()
	const writers, each = 16, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := fmt.Fprintf(g, "%d %d %s\n", w, i, strings.Repeat("x", w*10+1)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	got := make(chan error, 1)
	go func() {
		next := make([]int, writers)
		sc := bufio.NewScanner(s)
		for n := 0; n < writers*each && sc.Scan(); n++ {
			var w, i int
			var pad string
			if _, err := fmt.Sscanf(sc.Text(), "%d %d %s", &w, &i, &pad); err != nil || w < 0 || w >= writers {
				got <- fmt.Errorf("line %q: %v", sc.Text(), err)
				return
			}
			if i != next[w] || len(pad) != w*10+1 {
				got <- fmt.Errorf("writer %d: line %d (%q) where %d was next", w, i, sc.Text(), next[w])
				return
			}
			next[w]++
		}
		got <- sc.Err()
	}()
	wg.Wait()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if n := under.n.Load(); n > writers*each/4 {
		t.Errorf("%d writes reached the connection for %d made", n, writers*each)
	}
	// Idle, the connection holds no buffer and no writer.
	for deadline := time.Now().Add(time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		writing, pending := g.writing, g.pending
		g.mu.Unlock()
		if !writing && pending == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a second after the last write: writing %v, a buffer held %v", writing, pending != nil)
		}
	}
	g.Close()
}

// TestGatherCloseSendsWhatIsPending closes right after a write: the
// write still reaches the peer.
func TestGatherCloseSendsWhatIsPending(t *testing.T) {
	c, s := tcpPair(t)
	g := New(c)
	g.Start()
	io.WriteString(g, "GOAWAY")
	g.Close()
	b, _ := io.ReadAll(s)
	if string(b) != "GOAWAY" {
		t.Errorf("the peer read %q", b)
	}
	if _, err := g.Write([]byte("more")); err == nil {
		t.Error("a write after Close succeeded")
	}
}

// TestGatherHoldsBackAWriterWhenThePeerStopsReading writes to a peer
// that reads nothing: writes block once the kernel's buffers and
// gatherMax are full, and Close releases them with an error.
func TestGatherHoldsBackAWriterWhenThePeerStopsReading(t *testing.T) {
	c, _ := tcpPair(t)
	g := New(c)
	g.Start()
	var written atomic.Int64
	done := make(chan error, 1)
	go func() {
		chunk := make([]byte, 64<<10)
		for {
			n, err := g.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	// Loopback's buffers take some megabytes at most; a writer not held
	// back would have written hundreds of them by now.
	if n := written.Load(); n > 64<<20 {
		t.Fatalf("%d bytes written to a peer that reads nothing", n)
	}
	select {
	case err := <-done:
		t.Fatalf("the writer ended before Close: %v", err)
	default:
	}
	start := time.Now()
	g.Close()
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("Close waited %s for a peer that reads nothing", d)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("a held-back write ended without an error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not release the held-back writer")
	}
	// The connection itself is closed within closeGrace, the peer still
	// reading nothing (asked on the read side, which no write holds).
	time.Sleep(2 * closeGrace)
	if err := c.SetReadDeadline(time.Time{}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the connection beneath after closeGrace: %v", err)
	}
}

// TestBeforeStartTheConnectionIsAsItIs: a write deadline holds and a
// write goes straight to the connection until Start.
func TestBeforeStartTheConnectionIsAsItIs(t *testing.T) {
	c, s := tcpPair(t)
	under := &slowWrites{Conn: c}
	g := New(under)
	io.WriteString(g, "one")
	if under.n.Load() != 1 {
		t.Error("a write before Start did not reach the connection at once")
	}
	g.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := io.WriteString(g, "two"); err == nil {
		t.Error("a write deadline before Start was not kept")
	}
	g.SetWriteDeadline(time.Time{})
	g.Start()
	g.SetWriteDeadline(time.Now().Add(-time.Second)) // ignored once started
	io.WriteString(g, "three")
	g.Close()
	if b, _ := io.ReadAll(s); string(b) != "onethree" {
		t.Errorf("the peer read %q", b)
	}
}
