package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Requests handed to the workers run at once, never queued behind one
// another; a handler's panic is raised again in the caller (with the
// worker's stack, or as http.ErrAbortHandler itself); idle, they end, and
// close ends them.
func TestWorkers(t *testing.T) {
	ws := newWorkers()
	const n = 20
	var all sync.WaitGroup
	all.Add(n)
	release := make(chan struct{})
	go func() { all.Wait(); close(release) }()
	block := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		all.Done()
		select {
		case <-release: // every one of them is running
		case <-time.After(5 * time.Second):
			t.Error("the handlers did not all run at once")
		}
		w.WriteHeader(http.StatusNoContent)
	})
	var done sync.WaitGroup
	for range n {
		done.Add(1)
		go func() {
			defer done.Done()
			rec := httptest.NewRecorder()
			ws.serve(block, rec, httptest.NewRequest("GET", "/", nil))
			if rec.Code != http.StatusNoContent {
				t.Errorf("status %d", rec.Code)
			}
		}()
	}
	done.Wait()

	panicking := func(v any) (got any) {
		defer func() { got = recover() }()
		ws.serve(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(v) }), httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		return nil
	}
	if got := panicking(http.ErrAbortHandler); got != http.ErrAbortHandler {
		t.Errorf("ErrAbortHandler came back as %v", got)
	}
	if got, _ := panicking("boom").(string); !strings.HasPrefix(got, "boom\n") || !strings.Contains(got, "workers_test.go") {
		t.Errorf("a panic came back as %q, want its value and the handler's stack", got)
	}
	if ws.n.Load() == 0 {
		t.Fatal("no worker stayed to serve the next request")
	}

	// Idle, they end by themselves.
	for deadline := time.Now().Add(workerIdle + 3*time.Second); ws.n.Load() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still running after %v idle", ws.n.Load(), workerIdle)
		}
	}
	ws.serve(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	ws.close()
	for deadline := time.Now().Add(2 * time.Second); ws.n.Load() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still running after close", ws.n.Load())
		}
	}
}
