package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// keepAlive sends each of paths as a GET on one connection, one after the
// other, and reads each answer.
func keepAlive(t *testing.T, addr string, paths ...string) {
	t.Helper()
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(2 * time.Second))
	br := bufio.NewReader(c)
	for _, p := range paths {
		io.WriteString(c, "GET "+p+" HTTP/1.1\r\nHost: a\r\nX-Path: "+p+"\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// A request's context ends when its handler returns, as net/http's: what
// waits on it (Done, AfterFunc, a child context) is told, and the next
// request on the connection starts with a live context, never that one.
func TestRequestContextEndsWithTheHandler(t *testing.T) {
	type seen struct {
		ctx      context.Context
		done     <-chan struct{}
		child    context.Context
		cancel   context.CancelFunc
		valued   context.Context // a child made through a value
		cancelV  context.CancelFunc
		after    chan struct{}
		errAtRun error
	}
	var mu sync.Mutex
	var got []seen
	addr, _ := loop(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		s := seen{ctx: ctx, errAtRun: ctx.Err()}
		if r.URL.Path == "/wait" {
			s.done = ctx.Done()
			s.child, s.cancel = context.WithCancel(ctx) // ended by its parent, which the test checks
			s.valued, s.cancelV = context.WithCancel(context.WithValue(ctx, valueKey{}, 1))
			s.after = make(chan struct{})
			after := s.after
			context.AfterFunc(ctx, func() { close(after) })
		}
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
		io.WriteString(w, "ok")
	}), nil)
	keepAlive(t, addr, "/wait", "/plain", "/wait", "/plain")

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 4 {
		t.Fatalf("%d requests answered, want 4", len(got))
	}
	for i, s := range got {
		if s.errAtRun != nil {
			t.Errorf("request %d: its context had ended before its handler ran: %v", i, s.errAtRun)
		}
		if s.done == nil {
			continue
		}
		defer s.cancel()
		defer s.cancelV()
		select {
		case <-s.done:
		case <-time.After(time.Second):
			t.Fatalf("request %d: Done not closed after the answer", i)
		}
		if !errors.Is(s.ctx.Err(), context.Canceled) || !errors.Is(s.child.Err(), context.Canceled) || !errors.Is(s.valued.Err(), context.Canceled) {
			t.Errorf("request %d: after the answer, Err %v, the child's %v, the one through a value %v; want Canceled", i, s.ctx.Err(), s.child.Err(), s.valued.Err())
		}
		if !errors.Is(context.Cause(s.ctx), context.Canceled) {
			t.Errorf("request %d: Cause %v, want Canceled", i, context.Cause(s.ctx))
		}
		select {
		case <-s.after:
		case <-time.After(time.Second):
			t.Errorf("request %d: AfterFunc did not run when the handler returned", i)
		}
		if i+1 < len(got) && got[i+1].ctx == s.ctx {
			t.Errorf("request %d: the context waited on was given to the next request", i)
		}
	}
}

// AfterFunc's stop keeps f from running, as context's does; and an
// AfterFunc on a context made from the request's through a value is
// registered with it, without a goroutine of its own waiting (as on a
// context of context.WithCancel's).
func TestRequestContextAfterFuncStop(t *testing.T) {
	ran := make(chan struct{}, 1)
	addr, _ := loop(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before := runtime.NumGoroutine()
		stop := context.AfterFunc(context.WithValue(r.Context(), valueKey{}, 1), func() { ran <- struct{}{} })
		if n := runtime.NumGoroutine(); n != before {
			t.Errorf("AfterFunc through a value started %d goroutines", n-before)
		}
		if !stop() {
			t.Error("stop before the end reported false")
		}
		if stop() {
			t.Error("a second stop reported true")
		}
	}), nil)
	keepAlive(t, addr, "/a", "/b")
	select {
	case <-ran:
		t.Error("a stopped AfterFunc ran")
	case <-time.After(100 * time.Millisecond):
	}
}

// The request context's own AfterFunc (which the origin client calls)
// holds one function without asking about the end: stopped, the context
// serves the next request; not stopped, it runs as the handler returns.
// A stop kept from one request stops nothing of the next one's, and a
// second function goes through a WithCancel and runs at the end too.
func TestRequestContextHoldsOneAfterFunc(t *testing.T) {
	type afterFuncer interface{ AfterFunc(func()) func() bool }
	ran := make(chan string, 8)
	var ctxs []context.Context
	var kept func() bool
	addr, _ := loop(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := r.Context().(afterFuncer)
		if !ok {
			t.Fatal("the request context has no AfterFunc")
		}
		ctxs = append(ctxs, r.Context())
		switch r.URL.Path {
		case "/stopped":
			stop := a.AfterFunc(func() { ran <- "stopped" })
			if !stop() || stop() {
				t.Error("stop: true once, then false")
			}
		case "/kept":
			kept = a.AfterFunc(func() { ran <- "kept" })
		case "/next":
			a.AfterFunc(func() { ran <- "next" })
			if kept() {
				t.Error("the stop of an earlier request stopped this one's function")
			}
		case "/two":
			a.AfterFunc(func() { ran <- "first" })
			a.AfterFunc(func() { ran <- "second" })
		}
	}), nil)
	keepAlive(t, addr, "/stopped", "/stopped", "/kept", "/next", "/two")
	got := map[string]int{}
	for deadline := time.After(2 * time.Second); len(got) < 4; {
		select {
		case n := <-ran:
			got[n]++
		case <-deadline:
			t.Fatalf("ran: %v", got)
		}
	}
	if got["stopped"] != 0 || got["kept"] != 1 || got["next"] != 1 || got["first"] != 1 || got["second"] != 1 {
		t.Errorf("ran: %v", got)
	}
	// Held and stopped, the function asked nothing: the context served
	// the next request.
	if ctxs[0] != ctxs[1] {
		t.Error("a context whose one AfterFunc was stopped was not reused")
	}
}

// The fields, URL and answer fields of one request are not the next
// one's, though the connection reuses them.
func TestReusedRequestStartsClean(t *testing.T) {
	var mu sync.Mutex
	var problems []string
	addr, _ := loop(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		p := r.URL.Path
		if r.Header.Get("X-Path") != r.RequestURI || len(r.Header["X-Added"]) != 0 || r.URL.RawQuery != strings.TrimPrefix(r.RequestURI[len(p):], "?") {
			problems = append(problems, p+": fields "+strings.Join(r.Header["X-Added"], ",")+" query "+r.URL.RawQuery)
		}
		if len(w.Header()) != 0 {
			problems = append(problems, p+": the answer starts with fields")
		}
		r.Header.Set("X-Added", p)
		r.URL.RawQuery = "changed"
		w.Header().Set("X-Set", p)
	}), nil)
	keepAlive(t, addr, "/one?q=1", "/two", "/three?x")
	if len(problems) > 0 {
		t.Error(problems)
	}
}

type valueKey struct{}
