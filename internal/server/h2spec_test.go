package server

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// h2specMinimum is how many of h2spec's 145 cases the HTTP/2 listener
// must pass. The four it fails are Go's HTTP/2 server's own answers: to a
// HEADERS frame over SETTINGS_MAX_FRAME_SIZE, to two values of
// SETTINGS_INITIAL_WINDOW_SIZE in one frame, and to connection-specific
// fields and a TE other than "trailers" in a request (RFC 9113 §8.2.2).
const h2specMinimum = 141

// HTTP/2 over TLS, as h2spec (the conformance suite for RFC 7540 and
// RFC 7541) sees it; ./test.sh installs it.
func TestH2Spec(t *testing.T) {
	bin := os.Getenv("H2SPEC")
	if bin == "" {
		bin, _ = exec.LookPath("h2spec")
	}
	if bin == "" {
		if p, err := filepath.Abs("../../.tools/bin/h2spec"); err == nil {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
	}
	if bin == "" {
		t.Fatal("h2spec not found: run ./test.sh, which installs it (or set H2SPEC to its path)")
	}
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello over h2")
	}))
	defer o.Close()
	e := start(t, fmt.Sprintf("  - name: main\n    origins: {o: {type: http, url: %q}}\n    default_behavior: {target_origin: o, allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]}\n", o.URL))
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(e.https, "https://"))
	out, _ := exec.Command(bin, "-t", "-k", "-h", host, "-p", port, "-o", "3").CombinedOutput()
	m := regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("h2spec said no summary:\n%s", out)
	}
	total, _ := strconv.Atoi(string(m[1]))
	passed, _ := strconv.Atoi(string(m[2]))
	failures := ""
	if i := strings.Index(string(out), "Failures:"); i >= 0 {
		failures = string(out)[i:]
	}
	t.Logf("h2spec: %s\n%s", m[0], failures)
	if passed < h2specMinimum {
		t.Errorf("h2spec: %d of %d passed, want %d or more", passed, total, h2specMinimum)
	}
}
