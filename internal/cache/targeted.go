package cache

import (
	"net/http"
	"strconv"
	"strings"
)

// Targeted cache-control fields (RFC 9213): Edgefront-CDN-Cache-Control
// is this edge's own, CDN-Cache-Control every CDN's. The first of them
// with a valid, non-empty value decides how the edge stores an answer,
// and Cache-Control and Expires are then ignored for it; without one,
// they decide. Edgefront-CDN-Cache-Control is removed from the answers
// the edge sends; CDN-Cache-Control passes on, for caches further down.
const (
	EdgefrontCDNCacheControl = "Edgefront-Cdn-Cache-Control"
	CDNCacheControl          = "Cdn-Cache-Control"
)

// targets are the targeted fields this edge obeys, first first.
var targets = []string{EdgefrontCDNCacheControl, CDNCacheControl}

// DirectivesOf are the directives that decide how the edge stores an
// answer with header h, and the field they came from. useExpires is false
// when a targeted field decides (RFC 9213 §2.2).
func DirectivesOf(h http.Header) (d Directives, field string, useExpires bool) {
	for _, name := range targets {
		lines := h[name]
		if len(lines) == 0 {
			continue
		}
		if d, ok := parseTargeted(lines); ok {
			return d, name, false
		}
	}
	return ParseCacheControl(h["Cache-Control"]), "Cache-Control", true
}

// parseTargeted reads a targeted field: a Structured Fields dictionary
// (RFC 8941) of Cache-Control's directives. A value that does not parse
// as one, or is empty, makes the whole field invalid, and it is ignored
// (RFC 9213 §2.1). Durations are integers; parameters are ignored.
func parseTargeted(lines []string) (Directives, bool) {
	d := absent()
	s := strings.Join(lines, ",")
	seen := false
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return d, seen
		}
		key, rest, ok := sfKey(s)
		if !ok {
			return d, false
		}
		var value string
		isInt := false
		if strings.HasPrefix(rest, "=") {
			value, rest, isInt, ok = sfBareItem(rest[1:])
			if !ok {
				return d, false
			}
		}
		for strings.HasPrefix(rest, ";") { // parameters: skipped, but must parse
			var pok bool
			if _, rest, pok = sfKey(rest[1:]); !pok {
				return d, false
			}
			if strings.HasPrefix(rest, "=") {
				if _, rest, _, pok = sfBareItem(rest[1:]); !pok {
					return d, false
				}
			}
		}
		seen = true
		// The last value of a key wins in a dictionary (RFC 8941 §4.2.2).
		var n int64
		if takesSeconds(key) {
			n = 0 // a duration that is not an integer: stale
			if isInt {
				n, _ = strconv.ParseInt(value, 10, 64)
				n = min(max(n, 0), maxDelta)
			}
		}
		d.set(key, n, value != "?0")
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			return d, true
		}
		if rest[0] != ',' {
			return d, false
		}
		s = rest[1:]
		if strings.TrimLeft(s, " \t") == "" {
			return d, false // a trailing comma
		}
	}
}

// sfKey reads a Structured Fields key: lcalpha or "*", then lcalpha,
// digits, "_", "-", "." or "*".
func sfKey(s string) (key, rest string, ok bool) {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] == '*') {
		return "", s, false
	}
	i := 1
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9' || strings.IndexByte("_-.*", s[i]) >= 0) {
		i++
	}
	return s[:i], s[i:], true
}

// sfBareItem reads an integer, a token, a quoted string or a boolean.
func sfBareItem(s string) (value, rest string, isInt, ok bool) {
	switch {
	case s == "":
		return "", s, false, false
	case s[0] == '-' || s[0] >= '0' && s[0] <= '9':
		i := 0
		if s[0] == '-' {
			i++
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i || j-i > 15 {
			return "", s, false, false
		}
		if j < len(s) && s[j] == '.' { // a decimal: valid, not an integer
			k := j + 1
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			if k == j+1 {
				return "", s, false, false
			}
			return s[:k], s[k:], false, true
		}
		return s[:j], s[j:], true, true
	case s[0] == '"':
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 >= len(s) || (s[i+1] != '"' && s[i+1] != '\\') {
					return "", s, false, false
				}
				i++
			case '"':
				return s[1:i], s[i+1:], false, true
			default:
				if s[i] < 0x20 || s[i] > 0x7e {
					return "", s, false, false
				}
			}
		}
		return "", s, false, false
	case s[0] == '?':
		if len(s) >= 2 && (s[1] == '0' || s[1] == '1') {
			return s[:2], s[2:], false, true
		}
		return "", s, false, false
	case s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z' || s[0] == '*':
		i := 1
		for i < len(s) && s[i] > ' ' && s[i] < 0x7f && strings.IndexByte(`"(),;<=>?@[\]{}`, s[i]) < 0 {
			i++
		}
		return s[:i], s[i:], false, true
	}
	return "", s, false, false
}
