package edge

import (
	"strings"
	"testing"
)

// hopHeaders are the fields of one connection only (RFC 9110 §7.6.1), as
// the proxy removes them.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// The fields a raw pass does not copy for the origin are the hop-by-hop
// ones its answer filter drops too, and the forwarded ones; the rest are
// copied.
func TestNotForwarded(t *testing.T) {
	for _, k := range append(hopHeaders, "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto") {
		if !notForwarded(k) {
			t.Errorf("%s goes to the origin", k)
		}
	}
	for _, k := range []string{"Accept", "Cookie", "Via", "X-Forwarded-Port", "Upgrade-Insecure-Requests", "Tea"} {
		if notForwarded(k) {
			t.Errorf("%s does not go to the origin", k)
		}
	}
	if !fieldIn("X-Drop", []string{"close", "x-drop"}) || fieldIn("X-Drop", []string{"x-dro", "close"}) {
		t.Error("fieldIn")
	}
}

// A raw pass gives the viewer every field of the origin's answer but the
// hop-by-hop ones, the length and the edge's own, in any case.
func TestNotProxied(t *testing.T) {
	for _, k := range append(hopHeaders, "Content-Length", "X-Cache", "X-Edge-Request-Id", "Edgefront-Cdn-Cache-Control") {
		for _, name := range []string{k, strings.ToLower(k), strings.ToUpper(k)} {
			if !notProxied([]byte(name)) {
				t.Errorf("%s reaches the viewer", name)
			}
		}
	}
	for _, k := range []string{"Content-Type", "Date", "Te2", "Upgrades", "Keep-Alives", "Content-Range", "X-Edge-Request-Ix", "Via", "Server", ""} {
		if notProxied([]byte(k)) {
			t.Errorf("%s does not reach the viewer", k)
		}
	}
}

// An origin's Connection field that names fields drops them from the
// answer, wherever they come; one that says close or keep-alive drops
// only itself.
func TestProxiedFieldsNamedByConnection(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"A: 1\r\nConnection: keep-alive\r\nB: 2\r\n", "A: 1\r\nB: 2\r\n"},
		{"X-Hop: 1\r\nA: 1\r\nConnection: close, X-Hop\r\nB: 2\r\n", "A: 1\r\nB: 2\r\n"},
		{"Content-Type: text/plain\r\nConnection: x-hop\r\nX-HOP: 2\r\nKeep-Alive: timeout=5\r\n", "Content-Type: text/plain\r\n"},
	} {
		out, info := proxiedFields(nil, []byte(c.in))
		if got := string(out); got != c.want+string(viaLine) {
			t.Errorf("%q: %q", c.in, got)
		}
		if strings.Contains(c.in, "Content-Type") != info.typed {
			t.Errorf("%q: typed %v", c.in, info.typed)
		}
	}
}
