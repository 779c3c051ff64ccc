package cluster

import (
	"errors"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/redistest"
)

func TestRateLimitCountsAcrossNodes(t *testing.T) {
	r := redistest.Start(t, "")
	var c cacheLog
	a := open(t, r.URL(), "a", "", &c)
	defer a.Close()
	b := open(t, r.URL(), "b", "", &c)
	defer b.Close()
	// Counting is what is tested here, not the 50 ms bound on a call,
	// which a loaded machine running -race can overrun.
	a.opts.Timeout, b.opts.Timeout = time.Second, time.Second
	allowed := 0
	for i := range 40 {
		n := a
		if i%3 == 0 {
			n = b
		}
		ok, wait, err := n.Allow("main|192.0.2.1", 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			allowed++
		} else if wait <= 0 || wait > time.Second {
			t.Errorf("refused with a wait of %s", wait)
		}
	}
	// A burst of 10 at 1/s: 10 (or 11 should a second pass) between the
	// two nodes, not 10 each.
	if allowed < 10 || allowed > 11 {
		t.Errorf("allowed %d of 40 across two nodes, want the burst of 10", allowed)
	}
	// Another client has its own count.
	if ok, _, _ := b.Allow("main|192.0.2.2", 1, 10); !ok {
		t.Error("another client was refused")
	}
}

func TestRateLimitFallsBackAndReturns(t *testing.T) {
	r := redistest.Start(t, "")
	var c cacheLog
	n := open(t, r.URL(), "a", "", &c)
	defer n.Close()
	if _, _, err := n.Allow("k", 100, 100); err != nil {
		t.Fatal(err)
	}
	r.Freeze()
	defer r.Thaw()
	for i := range fallbackAfter {
		start := time.Now()
		if _, _, err := n.Allow("k", 100, 100); err == nil {
			t.Fatal("a frozen Redis answered")
		}
		if d := time.Since(start); d > 20*n.opts.Timeout {
			t.Errorf("call %d waited %s, past its deadline of %s", i, d, n.opts.Timeout)
		}
	}
	if !n.FallingBack() {
		t.Fatal("not falling back after repeated failures")
	}
	start := time.Now()
	if _, _, err := n.Allow("k", 100, 100); !errors.Is(err, ErrCountedLocally) || time.Since(start) > 5*time.Millisecond {
		t.Errorf("while falling back: %v after %s", err, time.Since(start))
	}
	r.Thaw()
	eventually(t, 3*time.Second, "back to Redis", func() bool {
		_, _, err := n.Allow("k", 100, 100)
		return err == nil && !n.FallingBack()
	})
	if _, _, _, _, fb := n.Counts(); fb != 1 {
		t.Errorf("fallbacks counted: %d", fb)
	}
}

func TestGCRAOfFractionalRates(t *testing.T) {
	if l := gcra(0.5, 0); l.Rate != 500 || l.Period != 1000*time.Second || l.Burst != 1 {
		t.Errorf("0.5/s: %+v", l)
	}
	if l := gcra(250, 20); l.Rate != 250000 || l.Burst != 20 {
		t.Errorf("250/s: %+v", l)
	}
}
