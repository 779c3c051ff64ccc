package cache

import (
	"context"
	"errors"
	"io"
)

// A fill that stores nothing has one reader, its leader (other viewers
// ask the origin themselves). Rather than pass the body through the fill's
// window, the fetch may hand the body to the leader, who copies it to its
// viewer itself: from socket to socket in the kernel when both can.

type handoff struct {
	body  io.Reader
	taken bool
	done  chan handResult
}

type handResult struct {
	n   int64
	err error
}

// errLeaderGone ends a handed body that its leader never took.
var errLeaderGone = errors.New("the viewer left before reading the answer")

// Hand offers the body of a fill that stores nothing to its leader. It
// reports false, having done nothing, when the fill stores, has passed
// body bytes on already, or has no leader; else it waits until the leader
// has copied the body and returns the copy's error. The body then counts
// as arrived, as if it had been written.
func (f *Fill) Hand(body io.Reader) (bool, error) {
	f.mu.Lock()
	if !f.ready || f.storing || f.base != 0 || len(f.buf) != 0 || !f.hasLeader() {
		f.mu.Unlock()
		return false, nil
	}
	h := &handoff{body: body, done: make(chan handResult, 1)}
	f.hand = h
	f.signal()
	f.mu.Unlock()
	res := <-h.done
	f.mu.Lock()
	f.base += res.n
	f.mu.Unlock()
	return true, res.err
}

func (f *Fill) hasLeader() bool {
	for r := range f.readers {
		if r.leader {
			return true
		}
	}
	return false
}

// Take waits, for the leader of a fill that stores nothing, until the
// fetch hands it the body or passes the first bytes through the fill. It
// returns the body and the function to call with what the copy did, or
// nil when the body comes through Next.
func (r *Reader) Take(ctx context.Context) (io.Reader, func(n int64, err error)) {
	f := r.f
	if !r.leader {
		return nil, nil
	}
	if err := r.wait(ctx, func() bool { return f.hand != nil || f.base+int64(len(f.buf)) > 0 || f.done }); err != nil {
		return nil, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hand
	if h == nil || h.taken {
		return nil, nil
	}
	h.taken = true
	return h.body, func(n int64, err error) { h.done <- handResult{n, err} }
}

// release ends a handed body its leader leaves without taking.
func (r *Reader) release() {
	if h := r.f.hand; r.leader && h != nil && !h.taken {
		h.taken = true
		h.done <- handResult{0, errLeaderGone}
	}
}
