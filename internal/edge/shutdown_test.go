package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// A fill outlives the viewer that started it, but not the cache: Close
// waits for it to store its object, and cancels it once its context ends.
func TestCacheCloseWaitsForFills(t *testing.T) {
	release := make(chan struct{})
	cancelled := make(chan struct{}, 1)
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "01234")
		w.(http.Flusher).Flush()
		select {
		case <-release:
			io.WriteString(w, "56789")
		case <-r.Context().Done():
			cancelled <- struct{}{}
		}
	})
	yaml := fmt.Sprintf(`
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
`, o.URL)
	start := func(t *testing.T) (string, *Router, func()) {
		e, rt := edgeWithClock(t, yaml, nil, nil)
		ctx, leave := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+"/slow", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		// The viewer reads the first bytes and leaves; the fill goes on.
		io.ReadFull(resp.Body, make([]byte, 5))
		return e.URL, rt, func() { leave(); resp.Body.Close() }
	}

	url, rt, leave := start(t)
	leave()
	closed := make(chan error, 1)
	go func() { closed <- rt.Cache().Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with a fill in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	release <- struct{}{}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if r := get(t, url+"/slow"); r.Header.Get("X-Cache") != "Hit from edgefront" || r.body != "0123456789" {
		t.Errorf("after Close: %q %q; want the fill's object stored", r.Header.Get("X-Cache"), r.body)
	}

	_, rt, leave = start(t)
	leave()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := rt.Cache().Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close past its deadline: %v", err)
	}
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Error("the origin request of a fill Close gave up on was not cancelled")
	}
}
