package cluster

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bsm/redislock"
	"github.com/caddyserver/certmagic"
	"github.com/redis/go-redis/v9"
)

// CertStorage is certmagic's Storage in Redis, shared by the cluster: one
// node orders a name, every node serves the certificate, and any node
// answers the challenges (certmagic keeps their tokens in storage). Every
// value is sealed with AES-256-GCM under a key derived from the cluster
// token, so that Redis never holds a private key in the clear.
type CertStorage struct {
	rdb    *redis.Client
	prefix string // of the value keys
	index  string // sorted set of every key, for List
	aead   cipher.AEAD
	locker *redislock.Client

	mu    sync.Mutex
	locks map[string]*heldLock
}

type heldLock struct {
	lock *redislock.Lock
	stop chan struct{}
	done chan struct{}
}

var _ certmagic.Storage = (*CertStorage)(nil)

// Lock timing: a lock lives lockTTL unless refreshed, and is refreshed
// every lockTTL/3 while held, so that a node that dies holding it frees
// it soon.
var lockTTL = 30 * time.Second

// CertStorage returns the cluster's certificate storage, sealed with a
// key derived from secret (the cluster token).
func (n *Node) CertStorage(secret string) (*CertStorage, error) {
	if len(secret) < 16 {
		return nil, errors.New("certificates in Redis need the cluster token (cluster.token_file) to seal them")
	}
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "edgefront certificate storage", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	p := n.opts.Prefix + "certs:"
	return &CertStorage{rdb: n.rdb, prefix: p + "v:", index: p + "index", aead: aead,
		locker: redislock.New(n.rdb), locks: map[string]*heldLock{}}, nil
}

func (s *CertStorage) seal(key string, plain []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	rand.Read(nonce)
	// The key is the additional data: a value moved to another key does
	// not open.
	return s.aead.Seal(nonce, nonce, plain, []byte(key))
}

func (s *CertStorage) open(key string, sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < ns {
		return nil, fmt.Errorf("certificate storage: %s is not sealed by edgefront", key)
	}
	plain, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(key))
	if err != nil {
		return nil, fmt.Errorf("certificate storage: %s does not open with this cluster's token (another token_file?)", key)
	}
	return plain, nil
}

// Store puts value at key.
func (s *CertStorage) Store(ctx context.Context, key string, value []byte) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.prefix+key, "v", s.seal(key, value), "m", time.Now().UnixNano(), "n", len(value))
		p.ZAdd(ctx, s.index, redis.Z{Member: key})
		return nil
	})
	return err
}

// Load returns the value at key, fs.ErrNotExist when there is none.
func (s *CertStorage) Load(ctx context.Context, key string) ([]byte, error) {
	b, err := s.rdb.HGet(ctx, s.prefix+key, "v").Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	return s.open(key, b)
}

// under lists the keys below dir ("a" covers "a/b", not "ab").
func (s *CertStorage) under(ctx context.Context, dir string) ([]string, error) {
	if dir == "" {
		return s.rdb.ZRange(ctx, s.index, 0, -1).Result()
	}
	return s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: s.index, ByLex: true, Start: "[" + dir + "/", Stop: "(" + dir + "/\xff"}).Result()
}

// Delete removes key, and every key under it.
func (s *CertStorage) Delete(ctx context.Context, key string) error {
	keys, err := s.under(ctx, key)
	if err != nil {
		return err
	}
	keys = append(keys, key)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, s.prefix+k)
			p.ZRem(ctx, s.index, k)
		}
		return nil
	})
	return err
}

// Exists reports whether key is a value or has keys under it.
func (s *CertStorage) Exists(ctx context.Context, key string) bool {
	if n, err := s.rdb.Exists(ctx, s.prefix+key).Result(); err == nil && n > 0 {
		return true
	}
	keys, err := s.under(ctx, key)
	return err == nil && len(keys) > 0
}

// List returns the keys under dir: every one when recursive, else the
// names directly in it (values and folders).
func (s *CertStorage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	keys, err := s.under(ctx, dir)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fs.ErrNotExist
	}
	base := dir
	if base != "" {
		base += "/"
	}
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		rest := strings.TrimPrefix(k, base)
		parts := strings.Split(rest, "/")
		if !recursive {
			parts = parts[:1]
		}
		for i := range parts {
			name := base + strings.Join(parts[:i+1], "/")
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// Stat says what key is: a value, with its size and time, or a folder.
func (s *CertStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	h, err := s.rdb.HMGet(ctx, s.prefix+key, "m", "n").Result()
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	if m, ok := h[0].(string); ok {
		ns, _ := strconv.ParseInt(m, 10, 64)
		size, _ := strconv.ParseInt(fmt.Sprint(h[1]), 10, 64)
		return certmagic.KeyInfo{Key: key, Modified: time.Unix(0, ns), Size: size, IsTerminal: true}, nil
	}
	if keys, err := s.under(ctx, key); err == nil && len(keys) > 0 {
		return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
	}
	return certmagic.KeyInfo{}, fs.ErrNotExist
}

// Lock takes the cluster-wide lock name, waiting until it is free or ctx
// ends. It is held until Unlock, refreshed meanwhile.
func (s *CertStorage) Lock(ctx context.Context, name string) error {
	for {
		l, err := s.locker.Obtain(ctx, s.prefix+"lock:"+name, lockTTL, nil)
		if err == nil {
			h := &heldLock{lock: l, stop: make(chan struct{}), done: make(chan struct{})}
			go h.refresh()
			s.mu.Lock()
			if old := s.locks[name]; old != nil {
				old.end()
			}
			s.locks[name] = h
			s.mu.Unlock()
			return nil
		}
		if !errors.Is(err, redislock.ErrNotObtained) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Unlock frees the lock name.
func (s *CertStorage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h := s.locks[name]
	delete(s.locks, name)
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("certificate storage: lock %s is not held", name)
	}
	h.end()
	return h.lock.Release(ctx)
}

func (h *heldLock) refresh() {
	defer close(h.done)
	t := time.NewTicker(lockTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), lockTTL/3)
			h.lock.Refresh(ctx, lockTTL, nil)
			cancel()
		}
	}
}

func (h *heldLock) end() {
	close(h.stop)
	<-h.done
}
