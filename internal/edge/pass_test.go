package edge

import "testing"

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
