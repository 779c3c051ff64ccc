package cluster

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/logtest"
	"github.com/edgefront/edgefront/internal/redistest"
)

func TestMain(m *testing.M) {
	// The loops' timing, shortened so that a test sees joins, leaves and
	// breaks in a fraction of a second.
	heartbeatEvery, memberTTL, readBlock = 100*time.Millisecond, time.Second, 200*time.Millisecond
	retryMin, retryMax, probeEvery, StartWait = 20*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond, 3*time.Second
	os.Exit(m.Run())
}

// cacheLog stands for a node's cache: what was applied to it and how
// often it was marked stale.
type cacheLog struct {
	mu      sync.Mutex
	applied []string // dist + " " + items joined by ","
	stale   int
	objects int
}

func (c *cacheLog) apply(dist string, items []string) {
	c.mu.Lock()
	c.applied = append(c.applied, dist+" "+strings.Join(items, ","))
	c.mu.Unlock()
}

func (c *cacheLog) markStale() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stale++
	return c.objects
}

func (c *cacheLog) snapshot() ([]string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.applied), c.stale
}

func open(t *testing.T, url, name, state string, c *cacheLog) *Node {
	t.Helper()
	n, err := Open(t.Context(), Options{URL: url, Node: name, State: state, Log: logtest.New(t),
		Apply: c.apply, MarkStale: c.markStale, Objects: func() int { c.mu.Lock(); defer c.mu.Unlock(); return c.objects }})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// eventually fails the test unless cond holds within d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEveryNodeAppliesEveryInvalidation(t *testing.T) {
	r := redistest.Start(t, "s3cret-pass")
	var caches [3]cacheLog
	var nodes [3]*Node
	for i := range nodes {
		nodes[i] = open(t, r.URL(), []string{"a", "b", "c"}[i], "", &caches[i])
		defer nodes[i].Close()
	}
	eventually(t, 2*time.Second, "three members", func() bool { return len(nodes[0].Health().Members) == 3 })

	start := time.Now()
	if err := nodes[0].Invalidate("I1", "main", []string{"/a/*", "#product"}, []string{"/a/*", "#Product"}, start); err != nil {
		t.Fatal(err)
	}
	for i := range caches[1:] {
		i++
		eventually(t, time.Second, "node "+nodes[i].Name()+" applies it", func() bool {
			got, _ := caches[i].snapshot()
			return slices.Equal(got, []string{"main /a/*,#product"})
		})
	}
	t.Logf("applied on every node in %s", time.Since(start))
	eventually(t, 2*time.Second, "Completed", func() bool {
		st, err := nodes[1].Invalidation(t.Context(), "I1")
		return err == nil && st.Completed && st.Distribution == "main" && slices.Equal(st.Paths, []string{"/a/*", "#Product"})
	})
	if _, err := nodes[2].Invalidation(t.Context(), "INOPE"); err != ErrUnknown {
		t.Errorf("an unknown id: %v, want ErrUnknown", err)
	}
	// The node that took it applies it itself, not from the stream.
	if got, _ := caches[0].snapshot(); len(got) != 0 {
		t.Errorf("the taking node applied its own entry from the stream: %v", got)
	}
}

func TestARestartedNodeCatchesUpBeforeItServes(t *testing.T) {
	r := redistest.Start(t, "")
	var ca, cb cacheLog
	a := open(t, r.URL(), "a", "", &ca)
	defer a.Close()
	dir := t.TempDir()
	b := open(t, r.URL(), "b", dir, &cb)
	b.Close() // b is down while a takes invalidations

	for i := range 20 {
		a.Invalidate("I"+string(rune('A'+i)), "main", []string{"/p" + string(rune('a'+i))}, []string{"/p"}, time.Now())
	}
	eventually(t, 2*time.Second, "a publishes them", func() bool { _, pub, _, _, _ := a.Counts(); return pub == 20 })

	var cb2 cacheLog
	cb2.objects = 5
	b2 := open(t, r.URL(), "b", dir, &cb2)
	defer b2.Close()
	// Open returned: everything missed is applied already, and nothing was
	// marked stale, since the cursor said where b was.
	got, stale := cb2.snapshot()
	if len(got) != 20 || stale != 0 {
		t.Fatalf("at start b applied %d of 20 entries, marked stale %d times", len(got), stale)
	}
}

func TestRedisEmptiedMarksEverythingStale(t *testing.T) {
	r := redistest.Start(t, "")
	var c cacheLog
	c.objects = 7
	n := open(t, r.URL(), "a", t.TempDir(), &c)
	defer n.Close()
	if _, stale := c.snapshot(); stale != 1 {
		t.Fatalf("a node new to the cluster with objects marks them stale once, got %d", stale)
	}
	r.Do("FLUSHALL")
	eventually(t, 2*time.Second, "the flush is seen", func() bool { _, s := c.snapshot(); return s == 2 })
	_, _, marks, objects, _ := n.Counts()
	if marks != 2 || objects != 14 {
		t.Errorf("counted %d marks of %d objects", marks, objects)
	}
	// Killed and started again empty: the same.
	r.Kill()
	r.Restart()
	eventually(t, 3*time.Second, "the empty restart is seen", func() bool { _, s := c.snapshot(); return s == 3 })
}

func TestTrimmedPastTheCursorMarksStale(t *testing.T) {
	r := redistest.Start(t, "")
	dir := t.TempDir()
	var ca, cb cacheLog
	a := open(t, r.URL(), "a", "", &ca)
	defer a.Close()
	b := open(t, r.URL(), "b", dir, &cb)
	b.Close()
	for i := range 5 {
		a.Invalidate("T"+string(rune('A'+i)), "main", []string{"/x"}, []string{"/x"}, time.Now())
	}
	eventually(t, 2*time.Second, "published", func() bool { _, pub, _, _, _ := a.Counts(); return pub == 5 })
	r.Do("XTRIM", "edgefront:invalidations", "MAXLEN", "1")
	var cb2 cacheLog
	cb2.objects = 3
	b2 := open(t, r.URL(), "b", dir, &cb2)
	defer b2.Close()
	if _, stale := cb2.snapshot(); stale != 1 {
		t.Errorf("entries trimmed before b read them: marked stale %d times, want 1", stale)
	}
}

func TestACutOffNodeCatchesUpWhenTheLinkReturns(t *testing.T) {
	r := redistest.Start(t, "")
	relay := redistest.NewRelay(t, r.Addr)
	var ca, cb cacheLog
	a := open(t, r.URL(), "a", "", &ca)
	defer a.Close()
	b := open(t, "redis://"+relay.Addr+"/0", "b", "", &cb)
	defer b.Close()

	relay.Cut()
	eventually(t, 4*time.Second, "b sees the link is down", func() bool { return !b.Health().Up })
	for i := range 10 {
		a.Invalidate("C"+string(rune('A'+i)), "main", []string{"/c"}, []string{"/c"}, time.Now())
	}
	eventually(t, 2*time.Second, "a publishes while b is away", func() bool { _, pub, _, _, _ := a.Counts(); return pub == 10 })
	if got, _ := cb.snapshot(); len(got) != 0 {
		t.Fatalf("b applied %d entries through a cut link", len(got))
	}
	if h := b.Health(); h.Lag <= 0 || h.DownSince.IsZero() {
		t.Errorf("b's health while cut off: %+v", h)
	}
	relay.Mend()
	eventually(t, 3*time.Second, "b catches up", func() bool { got, _ := cb.snapshot(); return len(got) == 10 })
	eventually(t, 2*time.Second, "b says it is up", func() bool { h := b.Health(); return h.Up && h.Lag == 0 })
}

func TestOutboxWaitsForRedis(t *testing.T) {
	r := redistest.Start(t, "")
	dir := t.TempDir()
	var ca, cb cacheLog
	a := open(t, r.URL(), "a", dir, &ca)
	b := open(t, r.URL(), "b", "", &cb)
	defer b.Close()
	r.Kill()
	eventually(t, 3*time.Second, "a sees Redis gone", func() bool { return !a.Health().Up })
	start := time.Now()
	if err := a.Invalidate("OUT1", "main", []string{"/o"}, []string{"/o"}, time.Now()); err != nil || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("taken while Redis is away: %v after %s", err, time.Since(start))
	}
	st, err := a.Invalidation(t.Context(), "OUT1")
	if err != nil || st.Completed || !slices.Equal(st.Waiting, []string{"redis"}) {
		t.Errorf("while held: %+v %v", st, err)
	}
	// The outbox is on disk: a process that stops now still publishes it.
	a.Close()
	if b, err := os.ReadFile(filepath.Join(dir, outboxFile)); err != nil || !strings.Contains(string(b), "OUT1") {
		t.Fatalf("outbox file: %q %v", b, err)
	}
	r.Restart()
	var ca2 cacheLog
	a2 := open(t, r.URL(), "a", dir, &ca2)
	defer a2.Close()
	eventually(t, 3*time.Second, "b applies what a held", func() bool {
		got, _ := cb.snapshot()
		return slices.Contains(got, "main /o")
	})
	eventually(t, 3*time.Second, "the outbox empties", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, outboxFile))
		return len(b) == 0
	})
	eventually(t, 3*time.Second, "Completed", func() bool {
		st, err := b.Invalidation(context.Background(), "OUT1")
		return err == nil && st.Completed
	})
}

func TestWrongPasswordRefusesStart(t *testing.T) {
	r := redistest.Start(t, "the-right-one")
	_, err := Open(t.Context(), Options{URL: "redis://:wrong@" + r.Addr + "/0", Node: "a", Log: logtest.New(t)})
	if err == nil || !strings.Contains(err.Error(), "refused the credentials") || strings.Contains(err.Error(), "wrong@") || strings.Count(err.Error(), "\n") > 0 {
		t.Fatalf("got %v", err)
	}
}

func TestMembersComeAndGo(t *testing.T) {
	r := redistest.Start(t, "")
	var c cacheLog
	a := open(t, r.URL(), "a", "", &c)
	defer a.Close()
	b := open(t, r.URL(), "b", "", &c)
	eventually(t, 2*time.Second, "two members", func() bool { return len(a.Health().Members) == 2 })
	if s := a.Share(); s != 0.5 {
		t.Errorf("share of two: %v", s)
	}
	b.Close()
	eventually(t, 2*time.Second, "b gone", func() bool { return len(a.Health().Members) == 1 })
}

func TestStreamIDs(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{{"1-0", "2-0", true}, {"2-0", "1-5", false}, {"5-1", "5-2", true}, {"5-2", "5-2", false}, {"0-0", "1-0", true}, {"10-0", "9-0", false}} {
		if got := less(c.a, c.b); got != c.less {
			t.Errorf("less(%s, %s) = %v", c.a, c.b, got)
		}
	}
	for id, ok := range map[string]bool{"1-0": true, "1700000000000-12": true, "1": false, "a-1": false, "": false} {
		if validID(id) != ok {
			t.Errorf("validID(%q) != %v", id, ok)
		}
	}
}

func TestStateSurvivesAndToleratesACutLine(t *testing.T) {
	dir := t.TempDir()
	s, err := openState(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.setCursor("ep1", "12-3")
	s.hold(entry{ID: "A", Dist: "main", Items: []string{"/a"}})
	s.hold(entry{ID: "B", Dist: "main", Items: []string{"/b"}})
	s.release("A")
	// A crash while appending leaves half a line.
	f, _ := os.OpenFile(filepath.Join(dir, outboxFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"id":"C","di`)
	f.Close()
	s2, err := openState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ep, last := s2.cursor(); ep != "ep1" || last != "12-3" {
		t.Errorf("cursor %q %q", ep, last)
	}
	if out := s2.outbox(); len(out) != 1 || out[0].ID != "B" {
		t.Errorf("outbox %+v", out)
	}
	os.WriteFile(filepath.Join(dir, cursorFile), []byte("garbage"), 0o644)
	if _, err := openState(dir); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("a bad cursor: %v", err)
	}
}
