package server

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// HTTP/2 and HTTP/3 run each request's handler on a goroutine of its own,
// which starts with a small stack: the edge's pipeline outgrows it, and
// the runtime copies the stack as it grows, on every request (11 % of the
// CPU of HTTP/2 hits in a profile). The HTTP/1.1 loop does not pay it:
// its goroutine lives as long as the connection. So those requests are
// handed to long-lived workers whose stacks have grown once; a request
// that finds none idle starts one, up to maxWorkers, and past that runs
// where it is. A worker idle for workerIdle ends.

const maxWorkers = 512

type workers struct {
	jobs chan *job // unbuffered: a send succeeds only to an idle worker
	n    atomic.Int32
	stop chan struct{}
	once sync.Once
}

func newWorkers() *workers {
	return &workers{jobs: make(chan *job), stop: make(chan struct{})}
}

// close ends the idle workers, and each busy one once its job is done.
func (ws *workers) close() { ws.once.Do(func() { close(ws.stop) }) }

type job struct {
	h    http.Handler
	w    http.ResponseWriter
	r    *http.Request
	done chan any // the handler's panic, or nil
}

var jobs = sync.Pool{New: func() any { return &job{done: make(chan any, 1)} }}

// serve runs h for w and r on a worker, and returns when it has; a panic
// of the handler's is raised again here, where net/http recovers it.
func (ws *workers) serve(h http.Handler, w http.ResponseWriter, r *http.Request) {
	j := jobs.Get().(*job)
	j.h, j.w, j.r = h, w, r
	select {
	case ws.jobs <- j:
	default:
		if ws.n.Add(1) > maxWorkers {
			ws.n.Add(-1)
			jobs.Put(j)
			h.ServeHTTP(w, r)
			return
		}
		go ws.work(j)
	}
	v := <-j.done
	j.h, j.w, j.r = nil, nil, nil
	jobs.Put(j)
	if v != nil {
		panic(v)
	}
}

// workerIdle is how long a worker waits for a job before it ends: a
// burst (or a flood of streams) leaves no goroutines behind.
const workerIdle = 2 * time.Second

// work runs first, then every job it is sent, until it has waited
// workerIdle for one, or close.
func (ws *workers) work(first *job) {
	defer ws.n.Add(-1)
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for j := first; ; {
		j.done <- run(j)
		idle.Reset(workerIdle)
		select {
		case j = <-ws.jobs:
		case <-idle.C:
			return
		case <-ws.stop:
			return
		}
	}
}

// run runs a job's handler and returns its panic, with the worker's stack
// for the log when it is not http.ErrAbortHandler.
func run(j *job) (v any) {
	defer func() {
		if p := recover(); p != nil {
			v = p
			if p != http.ErrAbortHandler {
				v = fmt.Sprintf("%v\n%s", p, debug.Stack())
			}
		}
	}()
	j.h.ServeHTTP(j.w, j.r)
	return nil
}
