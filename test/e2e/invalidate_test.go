package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestInvalidateCommandThroughTheAdminListener runs serve with an admin
// listener that wants a token, and invalidates with the command line.
func TestInvalidateCommandThroughTheAdminListener(t *testing.T) {
	dir := t.TempDir()
	var n atomic.Int64
	ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		fmt.Fprintf(w, "version %d", n.Add(1))
	})
	addr, adminAddr := freeAddr(t), freeAddr(t)
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte("e2e-token-0123456789abcdef\n"), 0o600)
	cfg := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q}
admin: {listen: %q, token_file: admin.token}
distributions:
  - name: main
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o}
`, addr, adminAddr, ln.Addr())), 0o644)
	p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
	defer p.stop(t)

	fetch(t, "http://"+addr+"/images/a.png", "")
	if resp, body := fetch(t, "http://"+addr+"/images/a.png", ""); body != "version 1" || resp.Header.Get("X-Cache") != "Hit from edgefront" {
		t.Fatalf("before: %q %s", body, resp.Header.Get("X-Cache"))
	}
	// explain --live asks the running edge, which says what it holds.
	out, err := exec.Command(binary, "explain", "--live", "-c", cfg, "http://"+addr+"/images/a.png").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "stored:       status 200, 9 bytes on memory") {
		t.Errorf("explain --live: %v\n%s", err, out)
	}
	out, err = exec.Command(binary, "invalidate", "-c", cfg, "/images/*").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Completed: /images/* in main") {
		t.Fatalf("invalidate: %v\n%s", err, out)
	}
	if resp, body := fetch(t, "http://"+addr+"/images/a.png", ""); body != "version 2" || resp.Header.Get("X-Cache") != "Miss from edgefront" {
		t.Errorf("after: %q %s", body, resp.Header.Get("X-Cache"))
	}
	// Without the token, with a bad path, with an unknown distribution.
	for _, c := range []struct {
		args []string
		exit int
		want string
	}{
		{[]string{"--admin", "http://" + adminAddr, "/a"}, 1, "needs the admin token"},
		{[]string{"-c", cfg, "images/*"}, 2, `path "images/*" must start with /`},
		{[]string{"-c", cfg, "/a*/b"}, 2, "only be the last character"},
		{[]string{"-c", cfg, "--distribution", "nope", "/a"}, 1, `there is no distribution "nope"`},
		{[]string{"--admin", "http://" + freeAddr(t), "/a"}, 1, "the admin listener at http://"},
	} {
		cmd := exec.Command(binary, append([]string{"invalidate"}, c.args...)...)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != c.exit || !strings.Contains(string(out), c.want) || strings.Count(string(out), "\n") != 1 {
			t.Errorf("invalidate %v: exit %d %q, want %d and %q", c.args, cmd.ProcessState.ExitCode(), out, c.exit, c.want)
		}
	}
}
