package cache

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTargetedFieldsDecideBeforeCacheControl(t *testing.T) {
	ttls := TTLs{Min: 0, Default: 30 * time.Second, Max: 24 * time.Hour}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	expires := now.Add(2 * time.Hour).Format(http.TimeFormat)
	for _, c := range []struct {
		name   string
		h      http.Header
		ttl    time.Duration
		reason string
	}{
		{"Cache-Control alone", http.Header{"Cache-Control": {"max-age=60"}}, time.Minute, "max-age=60"},
		{"CDN-Cache-Control first", http.Header{"Cache-Control": {"max-age=60"}, "Cdn-Cache-Control": {"max-age=600"}}, 10 * time.Minute, "max-age=600 in Cdn-Cache-Control"},
		{"edgefront's own before both", http.Header{"Cache-Control": {"max-age=60"}, "Cdn-Cache-Control": {"max-age=600"},
			"Edgefront-Cdn-Cache-Control": {"max-age=3600, stale-while-revalidate=30"}}, time.Hour, "max-age=3600 in Edgefront-Cdn-Cache-Control"},
		{"an invalid one is ignored", http.Header{"Cache-Control": {"max-age=60"}, "Cdn-Cache-Control": {"Max-Age=600"}}, time.Minute, "max-age=60"},
		{"the next valid one is used", http.Header{"Cdn-Cache-Control": {"max-age=600"}, "Edgefront-Cdn-Cache-Control": {"max-age=600,"}}, 10 * time.Minute, "in Cdn-Cache-Control"},
		{"an empty one is ignored", http.Header{"Cache-Control": {"max-age=60"}, "Cdn-Cache-Control": {""}}, time.Minute, "max-age=60"},
		{"Expires is ignored with a targeted field", http.Header{"Expires": {expires}, "Cdn-Cache-Control": {"public"}, "Date": {now.Format(http.TimeFormat)}}, 30 * time.Second, "default_ttl"},
		{"Expires without one", http.Header{"Expires": {expires}, "Date": {now.Format(http.TimeFormat)}}, 2 * time.Hour, "Expires"},
		{"still inside max_ttl", http.Header{"Cdn-Cache-Control": {"max-age=999999999"}}, 24 * time.Hour, "clamped to max_ttl"},
		{"no-store in the targeted field", http.Header{"Cache-Control": {"max-age=60"}, "Cdn-Cache-Control": {"no-store"}}, 0, "no-store"},
	} {
		dec := Decide(200, http.Header{}, c.h, ttls, -1, false, now)
		if dec.TTL != c.ttl || !strings.Contains(dec.Reason, c.reason) {
			t.Errorf("%s: ttl %s (%s), want %s (%s)", c.name, dec.TTL, dec.Reason, c.ttl, c.reason)
		}
	}
}

func TestTargetedFieldSyntax(t *testing.T) {
	for v, ok := range map[string]bool{
		"max-age=60":                   true,
		"max-age=60, must-revalidate":  true,
		"max-age=60;foo=bar, private":  true,
		`max-age=60, x-note="a \"b\""`: true,
		"no-store=?1, public=?0":       true,
		"max-age=1.5":                  true,
		"Max-Age=60":                   false,
		"max-age=60,":                  false,
		"max-age=60,,private":          false,
		"max-age=":                     false,
		`x="unterminated`:              false,
		"max-age=60;":                  false,
		"max-age=60 private":           false,
		"max-age=1234567890123456":     false,
		"?":                            false,
	} {
		if _, got := parseTargeted([]string{v}); got != ok {
			t.Errorf("%q: valid %v, want %v", v, got, ok)
		}
	}
	d, _ := parseTargeted([]string{"max-age=60, s-maxage=10, no-cache, public=?0"})
	if d.MaxAge != 60 || d.SMaxAge != 10 || !d.NoCache || d.Public {
		t.Errorf("directives: %+v", d)
	}
	if d, _ := parseTargeted([]string{"max-age=abc"}); d.MaxAge != 0 {
		t.Errorf("a max-age that is not an integer must make the answer stale: %d", d.MaxAge)
	}
}

// RFC 9111's rules the cache once missed, each with its section.
func TestRFC9111Gaps(t *testing.T) {
	ttls := TTLs{Default: 30 * time.Second, Max: 24 * time.Hour}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour).Format(http.TimeFormat)
	// §5.3: an Expires that is not one valid HTTP-date is already expired.
	for name, exp := range map[string][]string{"invalid": {"tomorrow"}, "twice": {later, later}, "zero": {"0"}} {
		dec := Decide(200, http.Header{}, http.Header{"Expires": exp}, ttls, -1, false, now)
		if dec.TTL != 0 {
			t.Errorf("Expires %s: ttl %s (%s), want already expired", name, dec.TTL, dec.Reason)
		}
	}
	// §5.1: an Age that is not one non-negative integer makes it stale.
	for _, age := range [][]string{{"abc"}, {"-1"}, {"1, 2"}, {"3", "4"}, {""}} {
		if got := CorrectedInitialAge(http.Header{"Age": age}, now, now); got < 24*time.Hour {
			t.Errorf("Age %q: initial age %s, want stale", age, got)
		}
	}
	if got := CorrectedInitialAge(http.Header{"Age": {"42"}}, now, now); got != 42*time.Second {
		t.Errorf("Age 42: %s", got)
	}
	// Heuristic freshness (default_ttl) only for the statuses RFC 9110
	// §15.1 calls heuristically cacheable; CloudFront's error caching for
	// its errors.
	for status, stored := range map[int]bool{200: true, 203: true, 204: true, 300: true, 301: true, 308: true, 410: true,
		206: false, 302: false, 303: false, 307: false, 201: false, 299: false, 418: false} {
		if dec := Decide(status, http.Header{}, http.Header{}, ttls, -1, false, now); dec.Store != stored {
			t.Errorf("status %d without freshness: stored %v (%s), want %v", status, dec.Store, dec.Reason, stored)
		}
	}
}

// §5.2.2.10: s-maxage forbids serving stale, as proxy-revalidate does.
func TestSMaxAgeForbidsServingStale(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<20, nil)
	p := Policy{TTLs: TTLs{Max: time.Hour, Default: time.Minute}}
	for cc, want := range map[string]bool{"s-maxage=60, stale-while-revalidate=30": true, "max-age=60, stale-while-revalidate=30": false} {
		k := Key{Dist: "main", Host: "a", Path: "/" + cc}
		_, key := c.Get(k, nil)
		f, _ := c.Join(k, key)
		r := f.Attach(true)
		f.Begin(http.Header{}, nil, p)
		f.Respond(200, http.Header{"Cache-Control": {cc}}, 1)
		f.Write([]byte("x"))
		f.End(nil)
		r.Close()
		c.Leave(f)
		if o, _ := c.Get(k, nil); o == nil || o.MustRevalidate() != want {
			t.Errorf("%s: stored %v, must-revalidate want %v", cc, o != nil, want)
		}
	}
}

func TestEdgefrontFieldIsNotStored(t *testing.T) {
	c := New(NewMemory(1<<20), 1<<20, nil)
	k := Key{Dist: "main", Host: "a", Path: "/x"}
	_, key := c.Get(k, nil)
	f, _ := c.Join(k, key)
	r := f.Attach(true)
	f.Begin(http.Header{}, nil, Policy{TTLs: TTLs{Max: time.Hour, Default: time.Minute}})
	f.Respond(200, http.Header{"Edgefront-Cdn-Cache-Control": {"max-age=600"}, "Cdn-Cache-Control": {"max-age=60"}}, 1)
	f.Write([]byte("x"))
	f.End(nil)
	r.Close()
	c.Leave(f)
	o, _ := c.Get(k, nil)
	if o == nil || o.TTL() != 10*time.Minute || o.Header.Get("Edgefront-Cdn-Cache-Control") != "" || o.Header.Get("Cdn-Cache-Control") == "" {
		t.Errorf("stored: %v", o)
	}
}

// FuzzParseTargeted feeds targeted fields to the Structured Fields
// reader: it never panics, what it accepts has every duration within
// range, and a field it refuses leaves Cache-Control in charge.
func FuzzParseTargeted(f *testing.F) {
	for _, s := range []string{"max-age=60", "max-age=60, must-revalidate", `a="x\"y";p=1, b=?0`, "max-age=1.5", "Max-Age=1", "a,,b", "*x=tok/en:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseTargeted([]string{v})
		if !ok {
			h := http.Header{"Cdn-Cache-Control": {v}, "Cache-Control": {"max-age=7"}}
			if _, field, _ := DirectivesOf(h); field != "Cache-Control" {
				t.Fatalf("%q was refused, but %s decided", v, field)
			}
			return
		}
		for _, n := range []int64{d.MaxAge, d.SMaxAge, d.StaleWhileRevalidate, d.StaleIfError} {
			if n < -1 || n > maxDelta {
				t.Fatalf("%q: a duration of %d", v, n)
			}
		}
		if s := strings.TrimLeft(v, " \t"); s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] == '*') {
			t.Fatalf("%q was accepted without a key first", v)
		}
	})
}
