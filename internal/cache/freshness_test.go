package cache

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseCacheControl(t *testing.T) {
	d := ParseCacheControl([]string{`public, max-age=60, s-maxage="120"`, `stale-while-revalidate=30,stale-if-error=600, no-cache="Set-Cookie"`, "max-age=5"})
	if !d.Public || d.MaxAge != 60 || d.SMaxAge != 120 || d.StaleWhileRevalidate != 30 || d.StaleIfError != 600 || !d.NoCache {
		t.Errorf("%+v", d)
	}
	if d := ParseCacheControl([]string{"max-age=abc"}); d.MaxAge != 0 {
		t.Errorf("an invalid max-age is stale (0), got %d", d.MaxAge)
	}
	if d := ParseCacheControl([]string{"max-age=99999999999999"}); d.MaxAge != maxDelta {
		t.Errorf("a huge max-age is taken as 2^31, got %d", d.MaxAge)
	}
	if d := ParseCacheControl([]string{"PRIVATE, No-Store"}); !d.Private || !d.NoStore {
		t.Errorf("directive names are case-insensitive: %+v", d)
	}
	if d := ParseCacheControl(nil); d.MaxAge != -1 || d.SMaxAge != -1 {
		t.Errorf("absent: %+v", d)
	}
}

func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=60", `no-cache="a,b", max-age=1`, `s-maxage="`, ",,=,", "stale-if-error=1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := ParseCacheControl([]string{s})
		for _, v := range []int64{d.MaxAge, d.SMaxAge, d.StaleIfError, d.StaleWhileRevalidate} {
			if v < -1 || v > maxDelta {
				t.Fatalf("%q: duration %d out of range", s, v)
			}
		}
	})
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// CloudFront's TTL rules, each row a rule that would fail without it.
func TestDecide(t *testing.T) {
	ttls := TTLs{Min: 0, Default: 86400 * time.Second, Max: 31536000 * time.Second}
	short := TTLs{Min: 0, Default: 10 * time.Second, Max: 30 * time.Second}
	floor := TTLs{Min: 100 * time.Second, Default: 200 * time.Second, Max: 300 * time.Second}
	date := t0.Format(http.TimeFormat)
	for _, c := range []struct {
		name      string
		status    int
		req, resp http.Header
		ttls      TTLs
		errTTL    time.Duration
		authKey   bool
		store     bool
		ttl       time.Duration
		reason    string
	}{
		{"default ttl when the origin says nothing", 200, nil, hdr(), ttls, -1, false, true, 86400 * time.Second, "default_ttl 86400"},
		{"max-age within range", 200, nil, hdr("Cache-Control", "max-age=60"), ttls, -1, false, true, 60 * time.Second, "max-age=60 within"},
		{"max-age clamped to max_ttl", 200, nil, hdr("Cache-Control", "max-age=60"), short, -1, false, true, 30 * time.Second, "origin max-age=60 clamped to max_ttl 30"},
		{"max-age raised to min_ttl", 200, nil, hdr("Cache-Control", "max-age=5"), floor, -1, false, true, 100 * time.Second, "raised to min_ttl 100"},
		{"s-maxage wins over max-age", 200, nil, hdr("Cache-Control", "max-age=5, s-maxage=50"), ttls, -1, false, true, 50 * time.Second, "s-maxage=50"},
		{"Expires less Date", 200, nil, hdr("Date", date, "Expires", t0.Add(90*time.Second).Format(http.TimeFormat)), ttls, -1, false, true, 90 * time.Second, "Expires"},
		{"invalid Expires is stale", 200, nil, hdr("Expires", "0", "Etag", `"x"`), ttls, -1, false, true, 0, "invalid Expires"},
		{"no-store not stored when min_ttl 0", 200, nil, hdr("Cache-Control", "no-store"), ttls, -1, false, false, 0, "no-store and min_ttl is 0"},
		{"private not stored when min_ttl 0", 200, nil, hdr("Cache-Control", "private, max-age=60"), ttls, -1, false, false, 0, "private"},
		{"no-cache not stored when min_ttl 0", 200, nil, hdr("Cache-Control", "no-cache"), ttls, -1, false, false, 0, "no-cache"},
		{"no-store stored for min_ttl when min_ttl > 0", 200, nil, hdr("Cache-Control", "no-store"), floor, -1, false, true, 100 * time.Second, "min_ttl 100 applies"},
		{"max_ttl 0 disables caching", 200, nil, hdr("Cache-Control", "max-age=60"), TTLs{}, -1, false, false, 0, "caching disabled"},
		{"Vary: * is not stored", 200, nil, hdr("Vary", "*"), ttls, -1, false, false, 0, "Vary: *"},
		{"Set-Cookie is not stored", 200, nil, hdr("Set-Cookie", "s=1"), ttls, -1, false, false, 0, "Set-Cookie"},
		{"Authorization without public is not stored", 200, hdr("Authorization", "Bearer x"), hdr("Cache-Control", "max-age=60"), ttls, -1, false, false, 0, "§3.5"},
		{"Authorization with public is stored", 200, hdr("Authorization", "Bearer x"), hdr("Cache-Control", "public, max-age=60"), ttls, -1, false, true, 60 * time.Second, ""},
		{"Authorization with s-maxage is stored", 200, hdr("Authorization", "Bearer x"), hdr("Cache-Control", "s-maxage=60"), ttls, -1, false, true, 60 * time.Second, ""},
		{"Authorization in the key is stored", 200, hdr("Authorization", "Bearer x"), hdr(), ttls, -1, true, true, 86400 * time.Second, ""},
		{"404 for 10s by default", 404, nil, hdr(), ttls, -1, false, true, 10 * time.Second, "default error caching TTL 10"},
		{"404 for error_caching_min_ttl", 404, nil, hdr(), ttls, 60 * time.Second, false, true, 60 * time.Second, "error_caching_min_ttl 60"},
		{"503 for the longer of max-age and error ttl", 503, nil, hdr("Cache-Control", "max-age=120"), ttls, 30 * time.Second, false, true, 120 * time.Second, "longer than"},
		{"404 with no-store not stored", 404, nil, hdr("Cache-Control", "no-store"), ttls, -1, false, false, 0, "no-store"},
		{"500 ignores no-store", 500, nil, hdr("Cache-Control", "no-store"), ttls, -1, false, true, 10 * time.Second, ""},
		{"error_caching_min_ttl 0 not stored", 502, nil, hdr(), ttls, 0, false, false, 0, "not stored"},
		{"401 not cached", 401, nil, hdr("Cache-Control", "max-age=60"), ttls, -1, false, false, 0, "not cached"},
		{"302 without freshness not cached", 302, nil, hdr(), ttls, -1, false, false, 0, "not cached"},
		{"302 with max-age cached", 302, nil, hdr("Cache-Control", "max-age=60"), ttls, -1, false, true, 60 * time.Second, ""},
		{"206 not cached", 206, nil, hdr("Cache-Control", "max-age=60"), ttls, -1, false, false, 0, "not cached"},
	} {
		d := Decide(c.status, c.req, c.resp, c.ttls, c.errTTL, c.authKey, t0)
		if d.Store != c.store || (c.store && d.TTL != c.ttl) || !strings.Contains(d.Reason, c.reason) {
			t.Errorf("%s: got store=%v ttl=%v %q; want store=%v ttl=%v reason with %q", c.name, d.Store, d.TTL, d.Reason, c.store, c.ttl, c.reason)
		}
	}
	d := Decide(200, nil, hdr("Cache-Control", "max-age=10, stale-while-revalidate=30, stale-if-error=300"), ttls, -1, false, t0)
	if d.SWR != 30*time.Second || d.SIE != 300*time.Second {
		t.Errorf("stale directives: %+v", d)
	}
}

// §4.2.3: the age a response had on arrival counts against its lifetime.
func TestAge(t *testing.T) {
	req, resp := t0, t0.Add(2*time.Second)
	// Age from an upstream cache plus the request's own delay.
	if got := CorrectedInitialAge(hdr("Age", "100", "Date", resp.Format(http.TimeFormat)), req, resp); got != 102*time.Second {
		t.Errorf("Age 100: %v", got)
	}
	// A Date in the past says the response is already old.
	if got := CorrectedInitialAge(hdr("Date", t0.Add(-30*time.Second).Format(http.TimeFormat)), req, resp); got != 32*time.Second {
		t.Errorf("old Date: %v", got)
	}
	if got := CurrentAge(5*time.Second, resp, resp.Add(10*time.Second)); got != 15*time.Second {
		t.Errorf("current age: %v", got)
	}
	o := NewObject(nil, nil, Meta{InitialAge: 5 * time.Second, ResponseTime: t0, TTL: 10 * time.Second})
	if !o.Fresh(t0.Add(4*time.Second)) || o.Fresh(t0.Add(5*time.Second)) {
		t.Error("an object with initial age 5s and a 10s lifetime is fresh for 5s")
	}
}

func TestNormalizeAcceptEncoding(t *testing.T) {
	for in, want := range map[string]string{
		"gzip, deflate, br, zstd": "br",
		"gzip, deflate":           "gzip",
		"gzip;q=1, br;q=0.5":      "gzip",
		"br;q=0, gzip":            "gzip",
		"identity":                "",
		"":                        "",
		"zstd, gzip":              "zstd",
		"GZIP":                    "gzip",
		"*":                       "",
		" Br ;q=0.9 , gzip;q=0.8": "br",
		"zſtd, gzip":              "gzip", // only ASCII letters fold
		"gzi":                     "",
	} {
		if got := NormalizeAcceptEncoding(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestCovers(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"/images/*", "/images/a.png", true},
		{"/images/*", "/images", false},
		{"/*", "/anything/at/all", true},
		{"/a.png", "/a.png", true},
		{"/a.png", "/a.png.bak", false},
	} {
		if got := Covers(c.pattern, c.path); got != c.want {
			t.Errorf("Covers(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
}
