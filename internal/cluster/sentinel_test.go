package cluster

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/redistest"
)

// TestSentinelFailover follows a primary that Sentinel fails over to its
// replica: invalidations go on across the switch, and each node, unable
// to know whether the new primary had the old one's last entries, marks
// what it holds stale once.
func TestSentinelFailover(t *testing.T) {
	primary := redistest.Start(t, "sentinel-pw")
	replica := redistest.StartReplica(t, primary)
	eventually(t, 15*time.Second, "the replica in sync", func() bool {
		return strings.Contains(replica.Do("INFO", "replication"), "master_link_status:up")
	})
	sentinel := redistest.StartSentinel(t, primary, "mymaster")
	url := "redis+sentinel://:sentinel-pw@" + sentinel + "/mymaster/0"
	var ca, cb cacheLog
	ca.objects, cb.objects = 4, 4
	a := open(t, url, "a", t.TempDir(), &ca)
	defer a.Close()
	b := open(t, url, "b", t.TempDir(), &cb)
	defer b.Close()
	eventually(t, 3*time.Second, "two members", func() bool { return len(a.Health().Members) == 2 })
	_, staleBefore := cb.snapshot()

	a.Invalidate("S1", "main", []string{"/before"}, []string{"/before"}, time.Now())
	eventually(t, 2*time.Second, "b applies it", func() bool { got, _ := cb.snapshot(); return slices.Contains(got, "main /before") })

	eventually(t, 15*time.Second, "Sentinel knows the replica", func() bool {
		return redistest.Sentinel(t, sentinel, "SENTINEL", "REPLICAS", "mymaster") == "*1"
	})
	if got := redistest.Sentinel(t, sentinel, "SENTINEL", "FAILOVER", "mymaster"); got != "+OK" {
		t.Fatalf("SENTINEL FAILOVER: %s", got)
	}
	eventually(t, 15*time.Second, "the replica promoted", func() bool {
		return strings.Contains(replica.Poll("INFO", "replication"), "role:master")
	})
	eventually(t, 10*time.Second, "b marks its objects stale after the failover", func() bool {
		_, stale := cb.snapshot()
		return stale == staleBefore+1
	})
	eventually(t, 10*time.Second, "invalidations go on through the new primary", func() bool {
		a.Invalidate("S2"+time.Now().Format("150405.000"), "main", []string{"/after"}, []string{"/after"}, time.Now())
		time.Sleep(300 * time.Millisecond)
		got, _ := cb.snapshot()
		return slices.Contains(got, "main /after")
	})
}
