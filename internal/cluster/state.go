package cluster

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// entry is one invalidation as the stream carries it.
type entry struct {
	ID   string `json:"id"`
	Dist string `json:"dist"`
	// Items are as the cache matches them: decoded paths and #tags.
	Items []string `json:"items"`
	// Paths are as the invalidation was asked for, for its record.
	Paths   []string  `json:"paths"`
	Node    string    `json:"node"`
	Created time.Time `json:"created"`
}

// state is what a node keeps beside its disk tier: where it is in the
// stream (the epoch and the last entry it applied) and the outbox of
// invalidations Redis has not taken yet. Without a folder it lives in
// memory.
type state struct {
	dir string

	mu      sync.Mutex
	epoch   string
	lastID  string
	replID  string // the Redis replication history the cursor is in
	pending []entry
}

const (
	cursorFile = "cluster-cursor"
	outboxFile = "cluster-outbox.jsonl"
)

func openState(dir string) (*state, error) {
	s := &state{dir: dir}
	if dir == "" {
		return s, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster.state: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, cursorFile))
	switch {
	case err == nil:
		f := strings.Fields(string(b))
		if len(f) < 2 || len(f) > 3 || !validID(f[1]) {
			return nil, fmt.Errorf("cluster.state: %s is not a cursor (epoch and entry id): remove it to start over", filepath.Join(dir, cursorFile))
		}
		s.epoch, s.lastID = f[0], f[1]
		if len(f) == 3 {
			s.replID = f[2]
		}
	case !os.IsNotExist(err):
		return nil, fmt.Errorf("cluster.state: %w", err)
	}
	b, err = os.ReadFile(filepath.Join(dir, outboxFile))
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("cluster.state: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// A line cut short by a crash is the last one; keep the rest.
			continue
		}
		s.pending = append(s.pending, e)
	}
	return s, nil
}

// cursor is the epoch and last entry id the node applied; "" for none.
func (s *state) cursor() (epoch, lastID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch, s.lastID
}

// setCursor records where the node is, on disk before it returns.
func (s *state) setCursor(epoch, lastID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch == epoch && s.lastID == lastID {
		return nil
	}
	s.epoch, s.lastID = epoch, lastID
	return s.write()
}

// replication is the Redis replication history the cursor was read in.
func (s *state) replication() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replID
}

func (s *state) setReplication(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replID == id {
		return nil
	}
	s.replID = id
	return s.write()
}

func (s *state) write() error {
	if s.dir == "" {
		return nil
	}
	line := s.epoch + " " + s.lastID
	if s.replID != "" {
		line += " " + s.replID
	}
	return writeFile(filepath.Join(s.dir, cursorFile), []byte(line+"\n"))
}

// outbox is the invalidations waiting for Redis, oldest first.
func (s *state) outbox() []entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]entry(nil), s.pending...)
}

// hold adds e to the outbox, on disk before it returns.
func (s *state) hold(e entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, e)
	if s.dir == "" {
		return nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(s.dir, outboxFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("cluster outbox: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// release drops the outbox's entry id once Redis has it.
func (s *state) release(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.pending {
		if e.ID == id {
			s.pending = append(s.pending[:i:i], s.pending[i+1:]...)
			break
		}
	}
	if s.dir == "" {
		return nil
	}
	var buf bytes.Buffer
	for _, e := range s.pending {
		b, _ := json.Marshal(e)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return writeFile(filepath.Join(s.dir, outboxFile), buf.Bytes())
}

// writeFile replaces name with b whole: a crash leaves the old or the new.
func writeFile(name string, b []byte) error {
	tmp := name + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, name)
}
