package cache

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// TTLs are a behavior's CloudFront TTL settings.
type TTLs struct {
	Min, Default, Max time.Duration
}

// Decision is whether to store a response, for how long it is fresh, and
// why, in words for explain and logs.
type Decision struct {
	Store  bool
	TTL    time.Duration // freshness lifetime
	SWR    time.Duration // stale-while-revalidate
	SIE    time.Duration // stale-if-error
	Reason string
}

// FreshnessLifetime is RFC 9111 §4.2.1 for a shared cache: s-maxage, then
// max-age, then Expires less Date. ok is false when the response gives
// none of them.
func FreshnessLifetime(d Directives, h http.Header, responseTime time.Time) (lifetime time.Duration, source string, ok bool) {
	return freshnessLifetime(d, "", h, true, responseTime)
}

// freshnessLifetime is FreshnessLifetime with the directives' field named
// in the source (none for Cache-Control), and Expires read only when
// useExpires (a targeted field ignores it).
func freshnessLifetime(d Directives, field string, h http.Header, useExpires bool, responseTime time.Time) (lifetime time.Duration, source string, ok bool) {
	in := ""
	if field != "" && field != "Cache-Control" {
		in = " in " + field
	}
	switch {
	case d.SMaxAge >= 0:
		return seconds(d.SMaxAge), fmt.Sprintf("s-maxage=%d%s", d.SMaxAge, in), true
	case d.MaxAge >= 0:
		return seconds(d.MaxAge), fmt.Sprintf("max-age=%d%s", d.MaxAge, in), true
	}
	if exp, present := h["Expires"]; present && useExpires {
		if len(exp) != 1 {
			return 0, "Expires twice", true // §5.3: not one valid date, already expired
		}
		t, err := http.ParseTime(exp[0])
		if err != nil {
			return 0, "an invalid Expires", true // §5.3: already expired
		}
		date := dateOf(h, responseTime)
		lt := t.Sub(date)
		if lt < 0 {
			lt = 0
		}
		return lt, "Expires", true
	}
	return 0, "", false
}

// CorrectedInitialAge is RFC 9111 §4.2.3: the age a response already had
// when it arrived, from its Age and Date fields and the time the request
// took.
func CorrectedInitialAge(h http.Header, requestTime, responseTime time.Time) time.Duration {
	apparent := responseTime.Sub(dateOf(h, responseTime))
	if apparent < 0 {
		apparent = 0
	}
	var ageValue time.Duration
	if v, present := h["Age"]; present {
		// §5.1: an Age that is not one non-negative integer makes the
		// answer stale.
		ageValue = seconds(maxDelta)
		if len(v) == 1 && v[0] != "" && strings.Trim(v[0], "0123456789") == "" {
			if n, err := strconv.ParseInt(v[0], 10, 64); err == nil {
				ageValue = seconds(min(n, maxDelta))
			}
		}
	}
	corrected := ageValue + responseTime.Sub(requestTime)
	return max(apparent, corrected)
}

// CurrentAge is RFC 9111 §4.2.3: the initial age plus the time the
// response has been resident.
func CurrentAge(initialAge time.Duration, responseTime, now time.Time) time.Duration {
	return initialAge + now.Sub(responseTime)
}

// cacheableByDefault are the statuses RFC 9110 §15.1 calls heuristically
// cacheable that CloudFront caches with the behavior's TTLs.
var cacheableByDefault = map[int]bool{200: true, 203: true, 204: true, 300: true, 301: true, 308: true, 410: true}

// cachedErrors are the error statuses CloudFront caches for the error
// caching minimum TTL; for the first four, no-store, no-cache and private
// from the origin still prevent it.
var cachedErrors = map[int]bool{400: true, 403: true, 404: true, 405: true, 414: true, 416: true, 500: true, 501: true, 502: true, 503: true, 504: true}
var errorsHonouringNoStore = map[int]bool{404: true, 410: true, 414: true, 501: true}

// DefaultErrorTTL is how long error answers are cached without an
// error_caching_min_ttl, as CloudFront.
const DefaultErrorTTL = 10 * time.Second

// Decide applies CloudFront's TTL rules, on top of RFC 9111's rules for
// what a shared cache may store, to an origin response to a GET.
// errorTTL is the error caching minimum TTL for this status (negative when
// none is configured); authInKey says the Authorization header is part of
// the cache key.
func Decide(status int, req, resp http.Header, t TTLs, errorTTL time.Duration, authInKey bool, responseTime time.Time) Decision {
	if t.Max == 0 && t.Min == 0 {
		return Decision{Reason: "max_ttl 0: caching disabled"}
	}
	d, field, useExpires := DirectivesOf(resp)
	lifetime, source, explicit := freshnessLifetime(d, field, resp, useExpires, responseTime)
	dec := Decision{}
	if d.StaleWhileRevalidate > 0 {
		dec.SWR = seconds(d.StaleWhileRevalidate)
	}
	if d.StaleIfError > 0 {
		dec.SIE = seconds(d.StaleIfError)
	}
	switch {
	case hasToken(resp["Vary"], "*"):
		return Decision{Reason: "Vary: * from the origin: not stored"}
	case len(resp["Set-Cookie"]) > 0:
		return Decision{Reason: "Set-Cookie from the origin: not stored, so no viewer gets another's cookie"}
	case len(req["Authorization"]) > 0 && !authInKey && !d.Public && d.SMaxAge < 0 && !d.MustRevalidate:
		return Decision{Reason: "request with Authorization and no public, s-maxage or must-revalidate (RFC 9111 §3.5): not stored"}
	}

	if cachedErrors[status] {
		if errorsHonouringNoStore[status] && (d.NoStore || d.NoCache || d.Private) {
			return Decision{Reason: fmt.Sprintf("%d with no-store, no-cache or private: not stored", status)}
		}
		minTTL, what := errorTTL, "error_caching_min_ttl"
		if minTTL < 0 {
			minTTL, what = DefaultErrorTTL, "the default error caching TTL"
		}
		dec.Store, dec.TTL, dec.Reason = true, minTTL, fmt.Sprintf("%d cached for %s %s", status, what, secs(minTTL))
		if explicit {
			lifetime = min(lifetime, t.Max)
			if lifetime > minTTL {
				dec.TTL, dec.Reason = lifetime, fmt.Sprintf("%d cached for origin %s (longer than %s %s)", status, source, what, secs(minTTL))
			}
		}
		if dec.TTL == 0 {
			return Decision{Reason: dec.Reason + ": not stored"}
		}
		return dec
	}
	if !cacheableByDefault[status] && !(explicit && (status == 302 || status == 303 || status == 307)) {
		return Decision{Reason: fmt.Sprintf("status %d is not cached", status)}
	}

	if d.NoStore || d.NoCache || d.Private {
		if t.Min == 0 {
			return Decision{Reason: "origin says " + noWhat(d) + " and min_ttl is 0: not stored"}
		}
		dec.Store, dec.TTL, dec.Reason = true, t.Min, fmt.Sprintf("origin says %s; min_ttl %s applies", noWhat(d), secs(t.Min))
		return dec
	}
	switch {
	case !explicit:
		dec.TTL, dec.Reason = min(t.Default, t.Max), fmt.Sprintf("no freshness from the origin: default_ttl %s", secs(t.Default))
	case lifetime > t.Max:
		dec.TTL, dec.Reason = t.Max, fmt.Sprintf("origin %s clamped to max_ttl %s", source, secs(t.Max))
	case lifetime < t.Min:
		dec.TTL, dec.Reason = t.Min, fmt.Sprintf("origin %s raised to min_ttl %s", source, secs(t.Min))
	default:
		dec.TTL, dec.Reason = lifetime, fmt.Sprintf("origin %s within [min_ttl %s, max_ttl %s]", source, secs(t.Min), secs(t.Max))
	}
	if dec.TTL <= 0 && dec.SWR == 0 && dec.SIE == 0 && !hasValidator(resp) {
		dec.Reason += ": nothing to keep"
		return dec
	}
	dec.Store = true
	return dec
}

// Rule describes the TTL rules of a behavior in a line, for explain.
func (t TTLs) Rule() string {
	if t.Max == 0 && t.Min == 0 {
		return "max_ttl 0: caching disabled"
	}
	return fmt.Sprintf("origin s-maxage/max-age/Expires (Edgefront-CDN-Cache-Control, then CDN-Cache-Control, before Cache-Control) clamped to [min_ttl %s, max_ttl %s]; default_ttl %s when the origin says nothing; no-store/no-cache/private stored only when min_ttl > 0",
		secs(t.Min), secs(t.Max), secs(t.Default))
}

func noWhat(d Directives) string {
	switch {
	case d.NoStore:
		return "no-store"
	case d.Private:
		return "private"
	}
	return "no-cache"
}

func hasValidator(h http.Header) bool {
	return h.Get("Etag") != "" || h.Get("Last-Modified") != ""
}

func hasToken(lines []string, tok string) bool {
	for _, l := range lines {
		for _, part := range splitComma(l) {
			if part == tok {
				return true
			}
		}
	}
	return false
}

func dateOf(h http.Header, fallback time.Time) time.Time {
	if v := h.Get("Date"); v != "" {
		if t, err := http.ParseTime(v); err == nil {
			return t
		}
	}
	return fallback
}

func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }

func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
