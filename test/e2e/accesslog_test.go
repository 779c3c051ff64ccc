package e2e

import (
	"encoding/json"
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

// A cache hit the HTTP/1.1 loop answers in one write from the stored
// object is logged as any answer: result Hit, the object's type and
// length, its size sent.
func TestAccessLogOfStoredAnswers(t *testing.T) {
	dir := t.TempDir()
	ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, strings.Repeat("a{}", 100))
	})
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q}
access_log: {path: access.log, format: json}
distributions:
  - name: main
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o}
`, addr, ln.Addr())), 0o644)
	p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
	defer p.stop(t)
	for i := 0; i < 2; i++ {
		if resp, body := fetch(t, "http://"+addr+"/site.css", ""); len(body) != 300 || resp.Header.Get("X-Cache") != []string{"Miss from edgefront", "Hit from edgefront"}[i] {
			t.Fatalf("request %d: %s, %d bytes", i, resp.Header.Get("X-Cache"), len(body))
		}
	}
	var entries []map[string]any
	for deadline := time.Now().Add(3 * time.Second); len(entries) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		entries = nil
		b, _ := os.ReadFile(filepath.Join(dir, "access.log"))
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) == nil {
				entries = append(entries, e)
			}
		}
	}
	if len(entries) != 2 {
		t.Fatalf("%d log entries", len(entries))
	}
	miss, hit := entries[0], entries[1]
	if hit["x-edge-result-type"] != "Hit" || hit["sc-content-type"] != "text/css" || hit["sc-content-len"] != "300" || hit["sc-status"] != miss["sc-status"] {
		t.Errorf("the hit's entry: %v\nthe miss's: %v", hit, miss)
	}
	if sent, _ := hit["sc-bytes"].(float64); sent < 300 {
		t.Errorf("the hit's sc-bytes %v", hit["sc-bytes"])
	}
}
