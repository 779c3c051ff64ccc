package edge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// versitygw is an S3 server that enforces SigV4 and bucket policies, run as
// its own process. ./test.sh installs it; without it these tests fail and
// name that command.
type versitygw struct {
	url    string
	access string
	secret string
}

const vgwAccess, vgwSecret = "edgefrontroot", "edgefront-root-secret"

func startVersitygw(t *testing.T) *versitygw {
	t.Helper()
	bin := os.Getenv("VERSITYGW")
	if bin == "" {
		bin, _ = exec.LookPath("versitygw")
	}
	if bin == "" {
		// Where ./test.sh installs it: .tools/bin at the module's root.
		if p, err := filepath.Abs("../../.tools/bin/versitygw"); err == nil && fileExists(p) {
			bin = p
		}
	}
	if bin == "" {
		t.Fatal("versitygw not found: run ./test.sh, which installs it (or set VERSITYGW to its path)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", addr, "posix", dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+vgwAccess, "ROOT_SECRET_KEY="+vgwSecret)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not start: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &versitygw{url: "http://" + addr, access: vgwAccess, secret: vgwSecret}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// admin sends a request signed with AWS's SigV4 signer as the root user.
func (g *versitygw) admin(t *testing.T, method, rawPath, query string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, g.url+rawPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL.RawQuery = query
	req.ContentLength = int64(len(body))
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: g.access, SecretAccessKey: g.secret}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (g *versitygw) mustAdmin(t *testing.T, method, rawPath, query string, body []byte) {
	t.Helper()
	resp := g.admin(t, method, rawPath, query, body)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s?%s: %d %s", method, rawPath, query, resp.StatusCode, b)
	}
}

// seedBuckets lays out the seed's buckets: a private one, a public one
// (a bucket policy lets everyone read) and a private website.
func seedBuckets(t *testing.T, g *versitygw, keys map[string]string) {
	for _, b := range []string{"private-data", "thumbnails", "website"} {
		g.mustAdmin(t, "PUT", "/"+b, "", nil)
	}
	for rawKey, body := range keys {
		g.mustAdmin(t, "PUT", rawKey, "", []byte(body))
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::thumbnails/*"}]}`
	g.mustAdmin(t, "PUT", "/thumbnails", "policy=", []byte(policy))
}

func TestSeedAgainstVersitygw(t *testing.T) {
	g := startVersitygw(t)
	keys := map[string]string{
		"/private-data/storage/report.csv":                "a,b\n1,2\n",
		"/private-data/storage/a%20b%2Bc%25d~e%C3%A9.txt": "odd key",
		"/private-data/storage/x//y.txt":                  "double slash",
		"/private-data/storage/%E6%97%A5%E6%9C%AC.txt":    "unicode",
		"/thumbnails/thumbnails/one.svg":                  "<svg/>",
		"/website/index.html":                             "<html>app</html>",
		"/website/docs/index.html":                        "<html>docs</html>",
		"/website/app.js":                                 "js",
	}
	seedBuckets(t, g, keys)

	// The private bucket refuses anonymous reads, so a 200 through the
	// edge proves the edge signed.
	resp, err := http.Get(g.url + "/private-data/storage/report.csv")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous read of the private bucket: %d, want 403", resp.StatusCode)
	}
	resp, err = http.Get(g.url + "/thumbnails/thumbnails/one.svg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("anonymous read of the public bucket: %d, want 200", resp.StatusCode)
	}

	// A port with nothing behind it, and one that never answers.
	downURL, hang := refusedURL(t), hangingAddr(t)

	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins:
      storage:    {type: s3, bucket: private-data, endpoint: %[1]q, access_key_id: %[2]s, secret_access_key: %[3]s}
      thumbnails: {type: s3, bucket: thumbnails, endpoint: %[1]q, anonymous: true}
      website:    {type: s3, bucket: website, endpoint: %[1]q, access_key_id: %[2]s, secret_access_key: %[3]s, website: {index_document: index.html}}
      wrongkey:   {type: s3, bucket: private-data, endpoint: %[1]q, access_key_id: %[2]s, secret_access_key: not-the-secret}
      anon:       {type: s3, bucket: private-data, endpoint: %[1]q, anonymous: true}
      nobucket:   {type: s3, bucket: no-such-bucket, endpoint: %[1]q, access_key_id: %[2]s, secret_access_key: %[3]s}
      down:       {type: s3, bucket: private-data, endpoint: %[4]q, access_key_id: x, secret_access_key: y}
      hang:       {type: s3, bucket: private-data, endpoint: "http://%[5]s", access_key_id: x, secret_access_key: y, read_timeout: 300ms}
    behaviors:
      - {path_pattern: "/storage/*", target_origin: storage}
      - {path_pattern: "/thumbnails/*", target_origin: thumbnails}
      - {path_pattern: "/wrongkey/*", target_origin: wrongkey, strip_prefix: /wrongkey}
      - {path_pattern: "/anon/*", target_origin: anon, strip_prefix: /anon}
      - {path_pattern: "/nobucket/*", target_origin: nobucket}
      - {path_pattern: "/down/*", target_origin: down}
      - {path_pattern: "/hang/*", target_origin: hang}
    default_behavior:
      target_origin: website
      error_responses:
        - {error_code: 404, when_accept: text/html, response_page_path: /index.html, response_code: 200}
`, g.url, g.access, g.secret, downURL, hang), nil)

	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	g0, f0 := runtime.NumGoroutine(), openFDs(t)
	html := map[string]string{"Accept": "text/html"}
	cases := []struct {
		path   string
		hdr    map[string]string
		status int
		body   string
	}{
		{"/storage/report.csv", nil, 200, "a,b\n1,2\n"},
		{"/storage/a%20b+c%25d~e%C3%A9.txt", nil, 200, "odd key"},
		{"/storage/x//y.txt", nil, 200, "double slash"},
		{"/storage/日本.txt", nil, 200, "unicode"},
		{"/storage/missing.csv", nil, 404, "no such object"},
		{"/thumbnails/one.svg", nil, 200, "<svg/>"},
		{"/", html, 200, "<html>app</html>"},
		{"/docs/", html, 200, "<html>docs</html>"},
		{"/docs/3", html, 200, "<html>app</html>"},
		{"/app.js", nil, 200, "js"},
		{"/wrongkey/storage/report.csv", nil, 502, "refused the edge's credentials"},
		{"/anon/storage/report.csv", nil, 403, "access denied"},
		{"/nobucket/x", nil, 502, "bucket does not exist"},
		{"/down/x", nil, 502, "could not be reached"},
		{"/hang/x", nil, 504, "did not answer in time"},
		{"/storage/" + strings.Repeat("k", 2048), nil, 400, "longer than"},
	}
	for _, c := range cases {
		r := do(t, "GET", e.URL+c.path, c.hdr)
		if r.StatusCode != c.status || !strings.Contains(r.body, c.body) {
			t.Errorf("%s: %d %q, want %d %q", c.path, r.StatusCode, r.body, c.status, c.body)
		}
		if strings.Contains(r.body, "<Error>") {
			t.Errorf("%s: S3's XML reached the viewer", c.path)
		}
	}
	if r := get(t, e.URL+"/docs"); r.StatusCode != 302 || r.Header.Get("Location") != "docs/" {
		t.Errorf("/docs: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := do(t, "GET", e.URL+"/storage/report.csv", map[string]string{"Range": "bytes=4-6"}); r.StatusCode != 206 || r.body != "1,2" {
		t.Errorf("range: %d %q", r.StatusCode, r.body)
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	settle(t, g0, f0+8) // the edge's pools may keep a few idle origin connections
}

func TestObjectDeletedMidStream(t *testing.T) {
	g := startVersitygw(t)
	g.mustAdmin(t, "PUT", "/private-data", "", nil)
	big := bytes.Repeat([]byte("0123456789abcdef"), 4<<20) // 64 MiB
	g.mustAdmin(t, "PUT", "/private-data/big.bin", "", big)
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {storage: {type: s3, bucket: private-data, endpoint: %q, access_key_id: %s, secret_access_key: %s}}
    default_behavior: {target_origin: storage}
`, g.url, g.access, g.secret), nil)
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	g0, f0 := runtime.NumGoroutine(), openFDs(t)
	resp, err := http.Get(e.URL + "/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(big)) {
		t.Fatalf("big object: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	if _, err := io.CopyN(io.Discard, resp.Body, 1<<20); err != nil {
		t.Fatal(err)
	}
	g.mustAdmin(t, "DELETE", "/private-data/big.bin", "", nil)
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// Either the store kept serving what it had opened, or the body ends
	// short with an error; never a short body that looks complete.
	if err == nil && n+1<<20 != int64(len(big)) {
		t.Errorf("got %d bytes without an error, want %d", n+1<<20, len(big))
	}
	if r := get(t, e.URL+"/big.bin"); r.StatusCode != 404 {
		t.Errorf("after delete: %d", r.StatusCode)
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	settle(t, g0, f0+4)
}
