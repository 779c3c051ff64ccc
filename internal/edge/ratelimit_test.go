package edge

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestRateLimitPerClient(t *testing.T) {
	o, seen := upstream(t, text("ok"))
	e := edgeFor(t, fmt.Sprintf(`
trusted_proxies: [127.0.0.0/8]
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o, max_ttl: 0, default_ttl: 0}
    rate_limit: {requests_per_second: 4, burst: 2}
`, o.URL), nil)
	from := func(ip string) resp { return do(t, "GET", e.URL+"/x", map[string]string{"X-Forwarded-For": ip}) }
	wantStatus(t, from("198.51.100.1"), 200)
	wantStatus(t, from("198.51.100.1"), 200)
	r := from("198.51.100.1")
	wantStatus(t, r, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") != "1" || !strings.Contains(r.body, "too many requests") {
		t.Errorf("429: Retry-After %q, body %q", r.Header.Get("Retry-After"), r.body)
	}
	wantStatus(t, from("198.51.100.2"), 200) // another client has its own bucket
	time.Sleep(300 * time.Millisecond)       // a token back after 250 ms
	wantStatus(t, from("198.51.100.1"), 200)
	wantStatus(t, from("198.51.100.1"), http.StatusTooManyRequests)
	if n := seen.count(); n != 4 {
		t.Errorf("the origin saw %d requests, want the 4 allowed", n)
	}
}

func TestRateLimiterMemoryIsBounded(t *testing.T) {
	rl := newRateLimiter(1, 1, 1000)
	now := time.Now()
	for i := range 100_000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		rl.allow(a, now)
		rl.allow(a, now) // each client is limited: its bucket is in use
	}
	if n := rl.clients(); n > 1000 {
		t.Errorf("%d clients tracked with max_clients 1000", n)
	}
	// A client seen again after its bucket refilled starts afresh.
	later := now.Add(2 * time.Second)
	if ok, _ := rl.allow(netip.MustParseAddr("10.0.0.1"), later); !ok {
		t.Error("a client whose bucket refilled was refused")
	}
}
