package clock

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

func TestMonoMeasuresAsTimeNow(t *testing.T) {
	a, m := time.Now(), Mono()
	time.Sleep(20 * time.Millisecond)
	b, n := time.Now(), Mono()
	if d := n.Sub(m); d < 20*time.Millisecond || d > time.Second {
		t.Errorf("Mono interval %v over a 20 ms sleep", d)
	}
	if d := n.Sub(a); d < 20*time.Millisecond || d > time.Second {
		t.Errorf("Mono minus time.Now %v over a 20 ms sleep", d)
	}
	if d := b.Sub(m); d < 20*time.Millisecond || d > time.Second {
		t.Errorf("time.Now minus Mono %v over a 20 ms sleep", d)
	}
	if d := time.Until(n.Add(time.Minute)); d < 59*time.Second || d > time.Minute {
		t.Errorf("a deadline a minute after Mono is %v away", d)
	}
}

func TestDeadlineExtendsLazily(t *testing.T) {
	var l Deadline
	d := 10 * time.Second // slack 300 ms
	first, set := l.Extend(d)
	if !set {
		t.Fatal("no deadline set yet, and Extend did not ask for one")
	}
	if u := time.Until(first); u < d || u > d+slack(d) {
		t.Errorf("first deadline %v away, want between %v and %v", u, d, d+slack(d))
	}
	if _, set := l.Extend(d); set {
		t.Error("a deadline asked for again at once was set again")
	}
	time.Sleep(slack(d) + 10*time.Millisecond)
	again, set := l.Extend(d)
	if !set {
		t.Fatal("the deadline set would fire early, and Extend kept it")
	}
	if !again.After(first) {
		t.Errorf("the new deadline %v is not after the first %v", again, first)
	}
	if _, set := l.Extend(time.Second); !set {
		t.Error("a shorter timeout kept a deadline 9 s too late")
	}
	if !l.Clear() {
		t.Error("Clear after a set found nothing to clear")
	}
	if l.Clear() {
		t.Error("Clear twice found something to clear")
	}
	if _, set := l.Extend(d); !set {
		t.Error("Extend after Clear did not set")
	}
	l.Forget()
	if _, set := l.Extend(d); !set {
		t.Error("Extend after Forget did not set")
	}
	l.Set(time.Now().Add(d + 100*time.Millisecond))
	if _, set := l.Extend(d); set {
		t.Error("a deadline set by hand within the slack was set again")
	}
	l.Set(time.Time{})
	if l.Clear() {
		t.Error("Clear after setting no deadline by hand found something")
	}
}

// TestDeadlineOnAConnection checks a lazily armed read deadline on a
// loopback connection fires when it says: no earlier than asked for, and
// not much past the slack.
func TestDeadlineOnAConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			c.Read(make([]byte, 1)) // until the client closes
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var l Deadline
	d := 160 * time.Millisecond // slack 10 ms
	start := time.Now()
	for i := 0; i < 5; i++ { // answers in quick succession: one set
		if at, set := l.Extend(d); set {
			if i > 0 {
				t.Errorf("request %d set the deadline again", i)
			}
			c.SetReadDeadline(at)
		}
	}
	_, err = c.Read(make([]byte, 1))
	took := time.Since(start)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read ended with %v, want the deadline", err)
	}
	if took < d || took > d+slack(d)+200*time.Millisecond {
		t.Errorf("deadline fired after %v, want %v to %v", took, d, d+slack(d))
	}
}

func BenchmarkDeadlineExtend(b *testing.B) {
	var l Deadline
	for b.Loop() {
		l.Extend(time.Minute)
	}
}

func BenchmarkSetDeadlineEachTime(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for b.Loop() {
		c.SetReadDeadline(time.Now().Add(time.Minute))
	}
}
