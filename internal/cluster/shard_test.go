package cluster

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/logtest"
	"github.com/edgefront/edgefront/internal/redistest"
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

// TestAMemberLeavingMovesAThird runs three nodes on a real Redis: when one
// leaves, the others see it within a few heartbeats, and only the keys it
// owned, about a third, get a new owner.
func TestAMemberLeavingMovesAThird(t *testing.T) {
	r := redistest.Start(t, "")
	var nodes []*Node
	for i, name := range []string{"a", "b", "c"} {
		n, err := Open(t.Context(), Options{URL: r.URL(), Node: name, Advertise: fmt.Sprintf("127.0.0.1:%d", 9001+i), Log: logtest.New(t)})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	defer nodes[0].Close()
	defer nodes[1].Close()
	eventually(t, 3*time.Second, "three members", func() bool { return len(nodes[0].Health().Members) == 3 })
	owner := func(n *Node, k string) string {
		if addr, remote := n.Owner(k); remote {
			return addr
		}
		return "self"
	}
	const keys = 3000
	before := make([]string, keys)
	for i := range keys {
		before[i] = owner(nodes[0], fmt.Sprintf("main|/k/%d", i))
	}
	nodes[2].Close()
	eventually(t, 3*time.Second, "c gone", func() bool { return len(nodes[0].Health().Members) == 2 })
	moved := 0
	for i := range keys {
		if now := owner(nodes[0], fmt.Sprintf("main|/k/%d", i)); now != before[i] {
			moved++
			if before[i] != "127.0.0.1:9003" {
				t.Fatalf("key %d moved from %s, which did not leave", i, before[i])
			}
		}
	}
	if share := float64(moved) / keys; math.Abs(share-1.0/3) > 0.03 {
		t.Errorf("%.3f of the keys moved when one of three left, want about a third", share)
	}
}
