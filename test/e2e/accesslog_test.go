package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAccessLogRotation: the log is moved away, SIGUSR1 reopens the path,
// and lines go on in the new file, which starts with CloudFront's header.
func TestAccessLogRotation(t *testing.T) {
	dir := t.TempDir()
	ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	addr := freeAddr(t)
	logFile := filepath.Join(dir, "access.log")
	cfg := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q}
log: {format: json}
access_log: {path: access.log, edge_location: TEST1}
distributions:
  - name: main
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o}
`, addr, ln.Addr())), 0o644)
	p := startBinary(t, `"msg":"edgefront serving"`, "serve", "-c", cfg)
	defer p.stop(t)
	lines := func(file string) []string {
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			b, _ := os.ReadFile(file)
			if l := strings.Split(strings.TrimSpace(string(b)), "\n"); len(l) >= 3 || time.Now().After(deadline) {
				return l
			}
		}
	}
	fetch(t, "http://"+addr+"/before", "")
	old := lines(logFile)
	os.Rename(logFile, logFile+".1")
	p.cmd.Process.Signal(syscall.SIGUSR1)
	time.Sleep(300 * time.Millisecond)
	fetch(t, "http://"+addr+"/after", "")
	cur := lines(logFile)
	if len(old) != 3 || !strings.Contains(old[2], "\t/before\t") || !strings.HasPrefix(old[0], "#Version: 1.0") {
		t.Errorf("the rotated log: %q", old)
	}
	if len(cur) != 3 || !strings.HasPrefix(cur[0], "#Version: 1.0") || !strings.Contains(cur[2], "\tTEST1\t") || !strings.Contains(cur[2], "\t/after\t") {
		t.Errorf("the reopened log: %q", cur)
	}
}
