package cluster

import (
	"fmt"
	"math"
	"testing"
)

func TestRendezvousMovesOnlyTheLeaversShare(t *testing.T) {
	three := []Member{{Name: "edge-1", Advertise: "a:1"}, {Name: "edge-2", Advertise: "b:1"}, {Name: "edge-3", Advertise: "c:1"}}
	const keys = 30000
	owner := map[string]string{}
	count := map[string]int{}
	for i := range keys {
		k := fmt.Sprintf("main|https|www.example.org|/assets/%d.js", i)
		name, _ := ownerOf(three, k)
		owner[k] = name
		count[name]++
	}
	for _, m := range three {
		if share := float64(count[m.Name]) / keys; math.Abs(share-1.0/3) > 0.02 {
			t.Errorf("%s owns %.3f of the keys, want about a third", m.Name, share)
		}
	}
	// edge-2 leaves: only its keys move, and they spread over the others.
	moved := 0
	for k, was := range owner {
		now, _ := ownerOf([]Member{three[0], three[2]}, k)
		if now != was {
			moved++
			if was != "edge-2" {
				t.Fatalf("%s moved from %s, which did not leave", k, was)
			}
		}
	}
	if share := float64(moved) / keys; math.Abs(share-1.0/3) > 0.02 {
		t.Errorf("%.3f of the keys moved when one of three left, want about a third", share)
	}
	// A fourth joins: it takes about a quarter, from each of the others.
	four := append(three[:3:3], Member{Name: "edge-4", Advertise: "d:1"})
	took := 0
	for k, was := range owner {
		now, _ := ownerOf(four, k)
		if now != was {
			if now != "edge-4" {
				t.Fatalf("%s moved to %s, not to the member that joined", k, now)
			}
			took++
		}
	}
	if share := float64(took) / keys; math.Abs(share-0.25) > 0.02 {
		t.Errorf("the fourth member took %.3f of the keys, want about a quarter", share)
	}
	// A member that advertises no address owns nothing.
	if name, _ := ownerOf([]Member{{Name: "quiet"}}, "k"); name != "" {
		t.Errorf("a member without an address owns %q", name)
	}
}
