package cache

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// NormalizeAcceptEncoding reduces an Accept-Encoding header to the one
// encoding the edge would choose among those it serves (br, zstd, gzip),
// by q-value and then in that order of preference, or "" for identity. The
// cache key and the origin request carry this value, so that the many ways
// browsers write the header share one cached variant.
func NormalizeAcceptEncoding(v string) string {
	best, bestQ := "", 0.0
	for _, part := range splitComma(v) {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		rank := encodingRank(name)
		if rank < 0 {
			continue
		}
		q := 1.0
		if p := strings.TrimSpace(params); strings.HasPrefix(p, "q=") {
			if f, err := strconv.ParseFloat(p[2:], 64); err == nil {
				q = f
			}
		}
		if q <= 0 {
			continue
		}
		if q > bestQ || (q == bestQ && rank < encodingRank(best)) {
			best, bestQ = name, q
		}
	}
	return best
}

func encodingRank(name string) int {
	switch name {
	case "br":
		return 0
	case "zstd":
		return 1
	case "gzip":
		return 2
	}
	return -1
}

// Keys start with the distribution's name, a NUL, the scheme and host, a
// NUL and the escaped path; a query string or more NUL-separated parts may
// follow. KeyPath returns the distribution and the decoded path, which
// invalidations match.
func KeyPath(key string) (dist, path string) {
	dist, rest, _ := strings.Cut(key, "\x00")
	_, rest, _ = strings.Cut(rest, "\x00")
	if i := strings.IndexAny(rest, "?\x00"); i >= 0 {
		rest = rest[:i]
	}
	if p, err := url.PathUnescape(rest); err == nil {
		rest = p
	}
	return dist, rest
}

// Vary returns the field names of a Vary header, canonical and sorted.
func Vary(h http.Header) []string {
	var names []string
	for _, line := range h["Vary"] {
		for _, n := range splitComma(line) {
			names = append(names, http.CanonicalHeaderKey(n))
		}
	}
	sort.Strings(names)
	return names
}

// VariantKey is the key of the variant of primary that a request with
// header h selects, given the Vary names of the stored response.
func VariantKey(primary string, names []string, h http.Header) string {
	var b strings.Builder
	b.WriteString(primary)
	for _, n := range names {
		b.WriteString("\x00")
		b.WriteString(n)
		b.WriteByte('=')
		if n == "Accept-Encoding" {
			b.WriteString(NormalizeAcceptEncoding(strings.Join(h.Values(n), ",")))
			continue
		}
		b.WriteString(strings.Join(h.Values(n), ","))
	}
	return b.String()
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
