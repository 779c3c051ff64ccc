package cluster

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/redistest"
)

func TestCertStorage(t *testing.T) {
	r := redistest.Start(t, "")
	var c cacheLog
	n := open(t, r.URL(), "a", "", &c)
	defer n.Close()
	s, err := n.CertStorage("0123456789abcdef-cluster-token")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	key := []byte("-----BEGIN EC PRIVATE KEY-----\nsecret\n-----END EC PRIVATE KEY-----\n")
	for k, v := range map[string][]byte{
		"certificates/acme/www.test/www.test.key": key,
		"certificates/acme/www.test/www.test.crt": []byte("crt"),
		"certificates/acme/api.test/api.test.crt": []byte("crt2"),
		"acme/users/ops/ops.key":                  []byte("account"),
	} {
		if err := s.Store(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Load(ctx, "certificates/acme/www.test/www.test.key"); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("load: %q %v", got, err)
	}
	if raw := r.Do("HGET", "edgefront:certs:v:certificates/acme/www.test/www.test.key", "v"); bytes.Contains([]byte(raw), []byte("secret")) || len(raw) < len(key) {
		t.Errorf("Redis holds the private key in the clear or not at all: %q", raw)
	}
	if _, err := s.Load(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing key: %v", err)
	}
	if got, _ := s.List(ctx, "certificates/acme", false); !slices.Equal(got, []string{"certificates/acme/api.test", "certificates/acme/www.test"}) {
		t.Errorf("list: %v", got)
	}
	if got, _ := s.List(ctx, "certificates", true); len(got) != 6 {
		t.Errorf("recursive list: %v", got)
	}
	if _, err := s.List(ctx, "certificates/acme/w", false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a prefix that is not a folder: %v", err)
	}
	if ki, err := s.Stat(ctx, "certificates/acme/www.test/www.test.crt"); err != nil || !ki.IsTerminal || ki.Size != 3 || time.Since(ki.Modified) > time.Minute {
		t.Errorf("stat of a value: %+v %v", ki, err)
	}
	if ki, err := s.Stat(ctx, "certificates/acme"); err != nil || ki.IsTerminal {
		t.Errorf("stat of a folder: %+v %v", ki, err)
	}
	if !s.Exists(ctx, "acme/users") || s.Exists(ctx, "acme/use") {
		t.Error("Exists")
	}
	if err := s.Delete(ctx, "certificates/acme/www.test"); err != nil {
		t.Fatal(err)
	}
	if s.Exists(ctx, "certificates/acme/www.test/www.test.crt") || !s.Exists(ctx, "certificates/acme/api.test/api.test.crt") {
		t.Error("delete of a folder")
	}
	// Another token does not open what this one sealed.
	other, _ := n.CertStorage("another-token-0123456789abcdef")
	if _, err := other.Load(ctx, "acme/users/ops/ops.key"); err == nil {
		t.Error("another token opened a sealed value")
	}
}

func TestCertStorageLockIsClusterWide(t *testing.T) {
	r := redistest.Start(t, "")
	var c cacheLog
	a := open(t, r.URL(), "a", "", &c)
	defer a.Close()
	b := open(t, r.URL(), "b", "", &c)
	defer b.Close()
	sa, _ := a.CertStorage("0123456789abcdef-cluster-token")
	sb, _ := b.CertStorage("0123456789abcdef-cluster-token")
	if err := sa.Lock(t.Context(), "issue_cert_www.test"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 400*time.Millisecond)
	defer cancel()
	if err := sb.Lock(ctx, "issue_cert_www.test"); err == nil {
		t.Fatal("two nodes held one lock")
	}
	got := make(chan error, 1)
	go func() { got <- sb.Lock(t.Context(), "issue_cert_www.test") }()
	time.Sleep(100 * time.Millisecond)
	if err := sa.Unlock(t.Context(), "issue_cert_www.test"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the lock was not handed on")
	}
	sb.Unlock(t.Context(), "issue_cert_www.test")
}
