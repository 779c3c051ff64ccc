// Package cache is the edge cache: RFC 9111 freshness with CloudFront's TTL
// rules, cache keys, stores (memory), request collapsing with streamed
// fills, and invalidation. Each rule of the RFC is a small pure function
// named after its section; the time always comes from the caller.
package cache

import (
	"strconv"
	"strings"
)

// Directives are the Cache-Control directives a shared cache acts on.
// Durations are in seconds; -1 means absent.
type Directives struct {
	MaxAge, SMaxAge                      int64
	StaleWhileRevalidate, StaleIfError   int64
	NoStore, NoCache, Private, Public    bool
	MustRevalidate, ProxyRevalidate      bool
	Immutable, OnlyIfCached, NoTransform bool
}

// maxDelta is the largest delta-seconds a cache must handle (RFC 9111
// §1.2.2); larger values are taken as this one.
const maxDelta = 2147483648

// ParseCacheControl reads the Cache-Control field lines of a message. The
// first occurrence of a directive counts (§4.2.1); a duration that is not a
// number makes the response stale (max-age=0), as the RFC advises.
func ParseCacheControl(lines []string) Directives {
	d := absent()
	seen := map[string]bool{}
	for _, line := range lines {
		for len(line) > 0 {
			var name, value string
			name, value, line = nextDirective(line)
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			var n int64
			if takesSeconds(name) {
				n = deltaSeconds(value)
			}
			d.set(name, n, true) // no-cache, qualified or not: revalidate every time
		}
	}
	return d
}

// absent is Directives with none given: every duration -1.
func absent() Directives {
	return Directives{MaxAge: -1, SMaxAge: -1, StaleWhileRevalidate: -1, StaleIfError: -1}
}

// takesSeconds reports whether directive name's value is delta-seconds.
func takesSeconds(name string) bool {
	switch name {
	case "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error":
		return true
	}
	return false
}

// set records directive name: n is its delta-seconds when it takes them,
// on whether it is set, for the others. Cache-Control and the targeted
// fields (targeted.go) share it.
func (d *Directives) set(name string, n int64, on bool) {
	switch name {
	case "max-age":
		d.MaxAge = n
	case "s-maxage":
		d.SMaxAge = n
	case "stale-while-revalidate":
		d.StaleWhileRevalidate = n
	case "stale-if-error":
		d.StaleIfError = n
	case "no-store":
		d.NoStore = on
	case "no-cache":
		d.NoCache = on
	case "private":
		d.Private = on
	case "public":
		d.Public = on
	case "must-revalidate":
		d.MustRevalidate = on
	case "proxy-revalidate":
		d.ProxyRevalidate = on
	case "immutable":
		d.Immutable = on
	case "only-if-cached":
		d.OnlyIfCached = on
	case "no-transform":
		d.NoTransform = on
	}
}

// nextDirective splits the first directive off s: its lower-cased name, its
// value without quotes, and the rest after the next comma outside quotes.
func nextDirective(s string) (name, value, rest string) {
	i := 0
	for i < len(s) && s[i] != ',' && s[i] != '=' {
		i++
	}
	name = strings.ToLower(strings.TrimSpace(s[:i]))
	if i == len(s) {
		return name, "", ""
	}
	if s[i] == ',' {
		return name, "", s[i+1:]
	}
	s = strings.TrimLeft(s[i+1:], " \t")
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		j := 1
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' && j+1 < len(s) {
				j++
			}
			b.WriteByte(s[j])
		}
		value = b.String()
		if j < len(s) {
			j++
		}
		s = s[j:]
		if k := strings.IndexByte(s, ','); k >= 0 {
			return name, value, s[k+1:]
		}
		return name, value, ""
	}
	if k := strings.IndexByte(s, ','); k >= 0 {
		return name, strings.TrimSpace(s[:k]), s[k+1:]
	}
	return name, strings.TrimSpace(s), ""
}

// deltaSeconds reads delta-seconds; anything but digits counts as 0.
func deltaSeconds(v string) int64 {
	if v == "" {
		return 0
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > maxDelta {
		return maxDelta
	}
	return n
}
