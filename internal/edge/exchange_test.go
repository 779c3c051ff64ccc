package edge

import (
	"net"
	"strings"
	"testing"
)

// stripPort answers as net.SplitHostPort would, without its allocations.
func TestStripPort(t *testing.T) {
	for _, host := range []string{"a.example", "a.example:8080", "a.example:", "[::1]", "[::1]:443", "::1", "[::1]x", "1.2.3.4:80", ""} {
		want := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if h, _, err := net.SplitHostPort(host); err == nil {
			want = h
		}
		if got := stripPort(host); got != want {
			t.Errorf("stripPort(%q) = %q, want %q", host, got, want)
		}
	}
}
