// Package e2e tests the built edgefront binary from the outside: real
// processes, real listeners on loopback, and a real headless browser.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "edgefront-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "edgefront")
	// -buildvcs=true: the binary knows its commit even where GOFLAGS
	// says otherwise.
	build := exec.Command("go", "build", "-buildvcs=true", "-o", binary, "../../cmd/edgefront")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building edgefront:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serveOrigin runs h as an origin on a loopback port until the test ends,
// and returns its listener.
func serveOrigin(t *testing.T, h http.HandlerFunc) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running edgefront.
type proc struct {
	cmd    *exec.Cmd
	stdout *bufio.Reader
	done   chan error
	output string // what it printed until it was ready
}

// startBinary runs edgefront with args and waits for a line of its output
// that contains ready.
func startBinary(t *testing.T, ready string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdout: bufio.NewReader(out), done: make(chan error, 1)}
	lines := make(chan string)
	go func() {
		for {
			line, err := p.stdout.ReadString('\n')
			if err != nil {
				close(lines)
				p.done <- cmd.Wait()
				return
			}
			lines <- line
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		go func() {
			for range lines {
			}
		}()
	})
	timeout := time.After(20 * time.Second)
	var seen strings.Builder
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("edgefront %v exited before it was ready:\n%s", args, seen.String())
			}
			seen.WriteString(line)
			if strings.Contains(line, ready) {
				p.output = seen.String()
				go func() {
					for range lines {
					}
				}()
				return p
			}
		case <-timeout:
			t.Fatalf("edgefront %v not ready after 20s:\n%s", args, seen.String())
		}
	}
}

// stop sends SIGTERM and wants a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("edgefront exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("edgefront did not exit within 15s of SIGTERM")
	}
}

func fetch(t *testing.T, url, accept string) (*http.Response, string) {
	t.Helper()
	h := map[string]string{}
	if accept != "" {
		h["Accept"] = accept
	}
	return send(t, "GET", url, h)
}

// send makes a request with header fields h and reads the whole answer.
func send(t *testing.T, method, url string, h map[string]string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, nil)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestDemoServesTheSeedLayout(t *testing.T) {
	addr := freeAddr(t)
	p := startBinary(t, "Press Ctrl-C", "demo", "--http", addr)
	base := "http://" + addr
	const html = "text/html,application/xhtml+xml,*/*;q=0.8"
	cases := []struct {
		path, accept string
		status       int
		ctype, body  string
	}{
		{"/", html, 200, "text/html", "<main id=\"content\">"},
		{"/docs/3", html, 200, "text/html", "<script src=\"/app.js\">"},
		{"/app.js", "*/*", 200, "javascript", "showNote"},
		{"/api/notes/3", "application/json", 200, "application/json", `"id":3`},
		{"/api/notes/42", html, 404, "application/json", `{"detail":"Record not found"}`},
		{"/stac/collections", "", 200, "application/json", `"collections"`},
		{"/stac/", "", 200, "application/json", `"stac_version"`},
		{"/thumbnails/note-1.svg", "", 200, "image/svg+xml", "<svg"},
		{"/storage/report.csv", "", 403, "text/plain", "missing Key-Pair-Id"},
		{"/thumbnails/missing.png", "*/*", 404, "", ""},
	}
	for _, c := range cases {
		resp, body := fetch(t, base+c.path, c.accept)
		if resp.StatusCode != c.status || !strings.Contains(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(body, c.body) {
			t.Errorf("%s: %d %q %.80q; want %d %q containing %q", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, c.status, c.ctype, c.body)
		}
		if resp.Header.Get("Via") != "1.1 edgefront" || resp.Header.Get("X-Edge-Request-Id") == "" || !strings.HasSuffix(resp.Header.Get("X-Cache"), "from edgefront") {
			t.Errorf("%s: edge headers missing: %v", c.path, resp.Header)
		}
	}
	// The demo prints a signed URL for the private bucket.
	var signed string
	for _, f := range strings.Fields(p.output) {
		if strings.HasPrefix(f, base+"/storage/report.csv?Expires=") {
			signed = f
		}
	}
	if resp, body := fetch(t, signed, ""); resp.StatusCode != 200 || !strings.Contains(body, "quarter,orders,revenue") {
		t.Errorf("the demo's signed URL %q: %d %q", signed, resp.StatusCode, body)
	}
	// The thumbnail fetched above is cached; the invalidate command the
	// demo prints makes the next request a Miss.
	if resp, _ := fetch(t, base+"/thumbnails/note-1.svg", ""); resp.Header.Get("X-Cache") != "Hit from edgefront" {
		t.Errorf("a second thumbnail request: %s", resp.Header.Get("X-Cache"))
	}
	var invalidate []string
	for _, line := range strings.Split(p.output, "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[3] == "invalidate" {
			invalidate = f[4:]
		}
	}
	if len(invalidate) != 3 || invalidate[2] != "'/thumbnails/*'" {
		t.Fatalf("the demo prints no invalidate command: %q\n%s", invalidate, p.output)
	}
	invalidate[2] = "/thumbnails/*" // what the shell passes
	if out, err := exec.Command(binary, append([]string{"invalidate"}, invalidate...)...).CombinedOutput(); err != nil {
		t.Fatalf("the demo's invalidate command: %v %s", err, out)
	}
	if resp, _ := fetch(t, base+"/thumbnails/note-1.svg", ""); resp.Header.Get("X-Cache") != "Miss from edgefront" {
		t.Errorf("after the demo's invalidate command: %s", resp.Header.Get("X-Cache"))
	}
	p.stop(t)
}

// The built binary names the commit it was built from.
func TestVersionNamesTheCommit(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	out, err := exec.Command(binary, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "commit "+strings.TrimSpace(string(head))) {
		t.Errorf("version says\n%s\nwant commit %s", out, head)
	}
}

func TestServeValidateAndSignals(t *testing.T) {
	dir := t.TempDir()
	ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store") // each answer tells which config served it
		fmt.Fprintf(w, "origin saw %s", r.URL.Path)
	})
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "edgefront.yaml")
	write := func(originPath string) {
		os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q}
distributions:
  - name: main
    origins: {api: {type: http, url: "http://%s", path: %q}}
    default_behavior: {target_origin: api}
`, addr, ln.Addr(), originPath)), 0o644)
	}
	write("/v1")
	out, err := exec.Command(binary, "validate", "-c", cfg).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "valid") {
		t.Fatalf("validate: %v %s", err, out)
	}
	p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
	if _, body := fetch(t, "http://"+addr+"/x", ""); body != "origin saw /v1/x" {
		t.Errorf("serve: %q", body)
	}
	// SIGHUP reloads.
	write("/v2")
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, body := fetch(t, "http://"+addr+"/x", ""); body == "origin saw /v2/x" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the config")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop(t)

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("distributions:\n  - name: main\n    origins: {api: {type: htp}}\n    default_behavior: {target_origin: nowhere}\n"), 0o644)
	cmd := exec.Command(binary, "validate", "-c", bad)
	out, _ = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), bad+":3: origin \"api\": type \"htp\" is not http, s3, dir, group or edgefront") ||
		!strings.Contains(string(out), bad+":4: target_origin \"nowhere\"") || strings.Contains(string(out), "goroutine") {
		t.Errorf("validate bad: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
	}
}
