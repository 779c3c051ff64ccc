// Package logtest gives each test a logger of its own, so that the lines
// an edge logs while a test runs are shown with that test, and only when it
// fails (or under go test -v), instead of mixed into every other test's
// output.
package logtest

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// New returns a logger whose lines go to t.Log. Lines logged after the test
// has ended, by a goroutine the test left behind, are dropped rather than
// allowed to panic.
func New(t testing.TB) *slog.Logger {
	w := &writer{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Discard returns a logger that drops every line, for fuzz targets, whose
// inputs make the edge log on purpose millions of times.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

type writer struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Helper()
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}
