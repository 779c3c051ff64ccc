package edge

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHelperFailsOnPurpose is not a test of its own: TestAFailureShowsOnlyItsOwnLines
// runs it, in a child process, beside tests that make the edge log.
func TestHelperFailsOnPurpose(t *testing.T) {
	if os.Getenv("EDGEFRONT_FAIL_ON_PURPOSE") == "1" {
		t.Fatal("failing on purpose")
	}
}

// When one test fails, its output must not drown in the lines that other
// tests make the edge log on purpose (refused origins, refused signatures,
// bodies cut short): those go to their own test's log, shown only when that
// test fails.
func TestAFailureShowsOnlyItsOwnLines(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.count=1",
		"-test.run", "^(TestHelperFailsOnPurpose|TestOriginFailuresAnswerCleanlyAndLeakNothing|TestSignedURLsAndCookiesGuardABehavior|TestResponseStreamsWithoutBuffering)$")
	cmd.Env = append(os.Environ(), "EDGEFRONT_FAIL_ON_PURPOSE=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the child run passed, want the helper to fail:\n%s", out)
	}
	want := []string{"--- FAIL: TestHelperFailsOnPurpose", "logs_test.go", "FAIL"}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(want) {
		t.Fatalf("a failing test printed %d lines, want only its own %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d is %q, want it to hold %q", i+1, lines[i], w)
		}
	}
}
