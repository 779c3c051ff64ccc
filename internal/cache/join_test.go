package cache

import (
	"io"
	"net/http"
	"testing"
)

// A request that comes while a fill fetches joins it; one that comes
// after its fetch failed, before the fill is left, starts a fill of its
// own, which the failed one's Leave does not forget.
func TestJoinSkipsAFailedFill(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<20, nil)
	f, leader := c.Join(testKey("k"))
	if !leader {
		t.Fatal("the first Join did not lead")
	}
	if g, leader := c.Join(testKey("k")); g != f || leader {
		t.Fatal("a Join while the fill fetches did not join it")
	}
	f.Start(200, http.Header{}, true, 100)
	f.Write([]byte("half"))
	f.Finish(io.ErrUnexpectedEOF)
	g, leader := c.Join(testKey("k"))
	if g == f || !leader {
		t.Fatal("a Join after the fetch failed joined the failed fill")
	}
	f.Settle(nil)
	c.Leave(f)
	if h, leader := c.Join(testKey("k")); h != g || leader {
		t.Error("the failed fill's Leave forgot the fill that replaced it")
	}

	// One that finished whole is joined until it is left.
	g.Start(200, http.Header{}, true, 2)
	g.Write([]byte("ok"))
	g.Finish(nil)
	if h, leader := c.Join(testKey("k")); h != g || leader {
		t.Error("a Join after a fetch that succeeded did not join its fill")
	}
}
