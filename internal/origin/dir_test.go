package origin

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func dirFixture(t *testing.T) (*Dir, string) {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	must(t, os.MkdirAll(filepath.Join(root, "docs"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "index.html"), []byte("<p>home</p>"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "docs", "a b+c~%.txt"), []byte("0123456789"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "app.js"), []byte("console.log(1)"), 0o644))
	must(t, os.WriteFile(filepath.Join(base, "secret.txt"), []byte("secret"), 0o644))
	must(t, os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(root, "link.txt")))
	must(t, os.Symlink(base, filepath.Join(root, "up")))
	d, err := NewDir(root, "")
	must(t, err)
	return d, root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func fetch(t *testing.T, o Origin, method, rawPath string, h map[string]string) (*http.Response, string) {
	t.Helper()
	u, err := url.Parse("http://origin" + rawPath)
	must(t, err)
	req := (&http.Request{Method: method, URL: u, Header: http.Header{}}).WithContext(context.Background())
	for k, v := range h {
		req.Header.Set(k, v)
	}
	o.Prepare(req)
	resp, err := o.RoundTrip(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp, string(b)
}

func TestDirServesLikeABucket(t *testing.T) {
	d, _ := dirFixture(t)
	resp, body := fetch(t, d, "GET", "/index.html", nil)
	if resp.StatusCode != 200 || body != "<p>home</p>" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("index: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if etag == "" || lm == "" || resp.ContentLength != int64(len(body)) {
		t.Fatalf("validators: %q %q %d", etag, lm, resp.ContentLength)
	}
	if r, _ := fetch(t, d, "GET", "/index.html", map[string]string{"If-None-Match": etag}); r.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", r.StatusCode)
	}
	if r, _ := fetch(t, d, "GET", "/index.html", map[string]string{"If-Modified-Since": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}); r.StatusCode != 304 {
		t.Errorf("If-Modified-Since: %d", r.StatusCode)
	}
	r, body := fetch(t, d, "GET", "/docs/a%20b+c~%25.txt", map[string]string{"Range": "bytes=2-4"})
	if r.StatusCode != 206 || body != "234" || r.Header.Get("Content-Range") != "bytes 2-4/10" {
		t.Errorf("range: %d %q %q", r.StatusCode, body, r.Header.Get("Content-Range"))
	}
	if r, _ := fetch(t, d, "GET", "/app.js", nil); !strings.Contains(r.Header.Get("Content-Type"), "javascript") {
		t.Errorf("app.js type %q", r.Header.Get("Content-Type"))
	}
	if r, body := fetch(t, d, "HEAD", "/index.html", nil); r.StatusCode != 200 || body != "" || r.Header.Get("Content-Length") != "11" {
		t.Errorf("HEAD: %d %q %v", r.StatusCode, body, r.Header)
	}
	for _, p := range []string{"/docs", "/docs/", "/missing.txt", "/"} {
		if r, _ := fetch(t, d, "GET", p, nil); r.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, r.StatusCode)
		}
	}
	if r, _ := fetch(t, d, "PUT", "/index.html", nil); r.StatusCode != 405 {
		t.Errorf("PUT: %d", r.StatusCode)
	}
}

func TestDirNeverLeavesItsRoot(t *testing.T) {
	d, _ := dirFixture(t)
	for _, p := range []string{
		"/../secret.txt", "/docs/../../secret.txt", "/%2e%2e/secret.txt", "/docs%2f..%2f..%2fsecret.txt",
		"/..%5csecret.txt", "/link.txt", "/up/secret.txt", "/./index.html", "//secret.txt", "/a%00b",
	} {
		r, body := fetch(t, d, "GET", p, nil)
		if r.StatusCode == 200 || strings.Contains(body, "secret") {
			t.Errorf("%s: %d %q escaped the root", p, r.StatusCode, body)
		}
	}
}

func TestDirPrefix(t *testing.T) {
	_, root := dirFixture(t)
	d, err := NewDir(root, "/docs")
	must(t, err)
	if r, body := fetch(t, d, "GET", "/a%20b+c~%25.txt", nil); r.StatusCode != 200 || body != "0123456789" {
		t.Errorf("prefixed: %d %q", r.StatusCode, body)
	}
}

func TestHandlerTransportStopsWhenReaderLeaves(t *testing.T) {
	done := make(chan struct{})
	h := handler{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		buf := make([]byte, 1024)
		for i := 0; i < 1<<20; i++ {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})}
	req, _ := http.NewRequest("GET", "http://origin/", nil)
	resp, err := h.RoundTrip(req)
	must(t, err)
	io.CopyN(io.Discard, resp.Body, 4096)
	resp.Body.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler kept writing after the body was closed")
	}
}

func TestIsTimeout(t *testing.T) {
	if !IsTimeout(context.DeadlineExceeded) || IsTimeout(io.EOF) {
		t.Error("IsTimeout")
	}
}
