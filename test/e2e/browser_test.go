package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds the browser; ./test.sh installs Debian's chromium. There is
// no skipping: without a browser this test fails and names that command.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("EDGEFRONT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no headless browser found: run ./test.sh, which installs Debian's chromium (or set EDGEFRONT_CHROMIUM to a browser)")
	return ""
}

// browserContext starts a headless browser for the test, with more
// options when given, and returns its context: 60 s at most, ended with
// the test.
func browserContext(t *testing.T, exe string, more ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(opts, more...)...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTime(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// The seed's promise, in a real browser: a deep link into the single-page
// app loads the app, and the app fetches its data from the API on the same
// origin.
func TestBrowserDeepLinkLoadsNoteFromAPI(t *testing.T) {
	exe := chromium(t)
	addr := freeAddr(t)
	p := startBinary(t, "Press Ctrl-C", "demo", "--http", addr)
	defer p.stop(t)

	ctx := browserContext(t, exe,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)

	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("browser, %s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		step("reading "+sel, err)
		return v
	}
	step("opening /docs/3", chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/docs/3"), chromedp.WaitVisible("#note-title")))
	title, body := text("#note-title"), text("#note-body")
	id, err := chromedp.Run(ctx, chromedp.AttributeValue("#note", "data-id"))
	step("reading #note", err)
	// A note the API does not have: the app shows the API's own 404.
	step("opening /docs/42", chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/docs/42"), chromedp.WaitVisible("#error")))
	missing := text("#error")
	if title != "Scoped error pages" || id.Value != "3" || !strings.Contains(body, "404 JSON") {
		t.Errorf("deep link /docs/3 showed title %q, id %q, body %q", title, id.Value, body)
	}
	if !strings.Contains(missing, "404") || !strings.Contains(missing, "Record not found") {
		t.Errorf("deep link /docs/42 showed %q", missing)
	}
}

// A real browser's TLS fingerprints reach the origin: Chromium's JA4 has the
// cipher hash FoxIO publishes for Chrome (8daaf6152771).
func TestBrowserTLSFingerprint(t *testing.T) {
	exe := chromium(t)
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir)
	o := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "JA3=%s JA4=%s", r.Header.Get("CloudFront-Viewer-JA3-Fingerprint"), r.Header.Get("CloudFront-Viewer-JA4-Fingerprint"))
	})
	addr := freeAddr(t)
	os.WriteFile(filepath.Join(dir, "edgefront.yaml"), fmt.Appendf(nil, `listen: {https: %q}
tls:
  certificates: [{cert_file: %s, key_file: %s}]
distributions:
  - name: main
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior:
      target_origin: o
      max_ttl: 0
      forward: {headers: [CloudFront-Viewer-JA3-Fingerprint, CloudFront-Viewer-JA4-Fingerprint]}
`, addr, certFile, keyFile, o.Addr()), 0o644)
	p := startBinary(t, "edgefront serving", "serve", "-c", filepath.Join(dir, "edgefront.yaml"))
	defer p.stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, "--headless", "--no-sandbox", "--ignore-certificate-errors", "--disable-quic",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "https://"+addr+"/").Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	m := regexp.MustCompile(`JA3=([0-9a-f]{32}) JA4=(t13[di]\d{4}h2_([0-9a-f]{12})_[0-9a-f]{12})`).FindStringSubmatch(string(out))
	if m == nil || m[3] != "8daaf6152771" {
		t.Errorf("Chromium's fingerprints: %s", out)
	}
}
