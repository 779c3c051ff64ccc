package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/redistest"
)

func TestAdminOfAClusterNode(t *testing.T) {
	r := redistest.Start(t, "admin-test-password")
	fx := start(t, "", "cluster: {redis: \""+r.URL()+"\", node: n1}\n")
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
		}
	}
	waitUntil("healthz says up", func() bool {
		a := fx.call(t, "GET", "/healthz", "", "")
		return a.status == http.StatusOK && a.body == "ok\ncluster: up, 1 members, node n1\n"
	})

	fx.get(t, "main.example", "/a")
	inv := fx.invalidate(t, `{"distribution":"main","paths":["/a"]}`)
	waitUntil("the invalidation completes on every member", func() bool {
		var got Invalidation
		a := fx.call(t, "GET", "/invalidations/"+inv.ID, "", "")
		return json.Unmarshal([]byte(a.body), &got) == nil && got.Status == Completed && len(got.Waiting) == 0
	})
	if a := fx.call(t, "GET", "/invalidations/INOSUCHTHING1", "", ""); a.status != http.StatusNotFound {
		t.Errorf("an unknown id: %d %s", a.status, a.body)
	}

	var st Stats
	if err := json.Unmarshal([]byte(fx.call(t, "GET", "/api/stats", "", "").body), &st); err != nil || st.Cluster == nil ||
		st.Cluster.Node != "n1" || !st.Cluster.Up || len(st.Cluster.Members) != 1 || st.Cluster.Members[0].Applied == "" {
		t.Fatalf("the dashboard's cluster: %+v %v", st.Cluster, err)
	}
	metrics := fx.call(t, "GET", "/metrics", "", "").body
	for _, m := range []string{"edgefront_cluster_up 1", "edgefront_cluster_members 1", "edgefront_cluster_invalidation_lag_seconds 0"} {
		if !strings.Contains(metrics, m+"\n") {
			t.Errorf("/metrics has no %q", m)
		}
	}

	// Redis frozen: health stays 200, says degraded, and answers at once.
	r.Freeze()
	defer r.Thaw()
	waitUntil("healthz says degraded", func() bool {
		start := time.Now()
		a := fx.call(t, "GET", "/healthz", "", "")
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("healthz took %s with Redis frozen", d)
		}
		return a.status == http.StatusOK && strings.Contains(a.body, "cluster: degraded for")
	})
	if !strings.Contains(fx.call(t, "GET", "/metrics", "", "").body, "edgefront_cluster_up 0\n") {
		t.Error("/metrics does not say the cluster is down")
	}
	// An invalidation taken now is held, and says what it waits for.
	start := time.Now()
	a := fx.call(t, "POST", "/invalidations", "", `{"distribution":"main","paths":["/b"]}`)
	if a.status != http.StatusCreated || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("taken while Redis is frozen: %d after %s", a.status, time.Since(start))
	}
	json.Unmarshal([]byte(a.body), &inv)
	var got Invalidation
	json.Unmarshal([]byte(fx.call(t, "GET", "/invalidations/"+inv.ID, "", "").body), &got)
	if got.Status != InProgress || len(got.Waiting) != 1 || got.Waiting[0] != "redis" {
		t.Errorf("held while Redis is frozen: %+v", got)
	}
	r.Thaw()
	waitUntil("published and completed once Redis answers", func() bool {
		var got Invalidation
		a := fx.call(t, "GET", "/invalidations/"+inv.ID, "", "")
		return json.Unmarshal([]byte(a.body), &got) == nil && got.Status == Completed
	})
}
