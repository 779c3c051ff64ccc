package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"time"

	"github.com/edgefront/edgefront/internal/config"
)

// ReloadEvent is one reload and how it went.
type ReloadEvent struct {
	Time  time.Time `json:"time"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
}

// Reload reads and compiles the config again and swaps it in. A config with
// problems is refused and the one in force keeps serving.
func (s *Server) Reload() error {
	if s.load == nil {
		return errors.New("this server has no config file to reload")
	}
	cfg, err := s.load()
	if err == nil {
		err = s.reloadWith(cfg)
	}
	if s.metrics != nil {
		result := "ok"
		if err != nil {
			result = "refused"
		}
		s.metrics.Reloads.WithLabelValues(result).Inc()
	}
	ev := ReloadEvent{Time: time.Now().UTC().Truncate(time.Second), OK: err == nil}
	if err != nil {
		ev.Error = err.Error()
	}
	s.applyMu.Lock()
	s.reloads = append(s.reloads, ev)
	if len(s.reloads) > 20 {
		s.reloads = s.reloads[1:]
	}
	s.applyMu.Unlock()
	return err
}

// Reloads are the last reloads, newest last.
func (s *Server) Reloads() []ReloadEvent {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return slices.Clone(s.reloads)
}

// reloadWith swaps cfg in. A listener whose address changed is opened
// before the config is swapped and the old one closed after, letting its
// requests finish; when the new address cannot be bound, the reload is
// refused and everything stays as it was.
func (s *Server) reloadWith(cfg *config.Config) error {
	s.mu.Lock()
	bound := maps.Clone(s.bound)
	s.mu.Unlock()
	want := map[string]string{"http": cfg.Listen.HTTP, "https": cfg.Listen.HTTPS}
	opened := map[string]net.Listener{}
	closeOpened := func() {
		for _, ln := range opened {
			ln.Close()
		}
	}
	if bound != nil {
		for _, kind := range []string{"http", "https"} {
			if want[kind] == bound[kind] || want[kind] == "" {
				continue
			}
			ln, err := net.Listen("tcp", want[kind])
			if err != nil {
				closeOpened()
				return fmt.Errorf("listen.%s: %w", kind, err)
			}
			opened[kind] = ln
		}
	}
	if err := s.apply(cfg); err != nil {
		closeOpened()
		return err
	}
	if bound == nil {
		return nil // not listening yet
	}
	for _, kind := range []string{"http", "https"} {
		if want[kind] == bound[kind] {
			continue
		}
		s.mu.Lock()
		old := s.viewer[kind]
		delete(s.viewer, kind)
		s.mu.Unlock()
		if ln := opened[kind]; ln != nil {
			s.serveViewer(kind, want[kind], ln)
		} else {
			s.mu.Lock()
			delete(s.bound, kind)
			s.mu.Unlock()
		}
		if old != nil {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
				defer cancel()
				if err := old.Shutdown(ctx); err != nil {
					old.Close()
				}
			}()
		}
	}
	return nil
}

// DrainTimeout is how long a listener that closes lets its requests finish.
const DrainTimeout = 30 * time.Second
