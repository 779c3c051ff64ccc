package cache

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

// NormalizeAcceptEncoding reduces an Accept-Encoding header to the one
// encoding the edge would choose among those it serves (br, zstd, gzip),
// by q-value and then in that order of preference, or "" for identity. The
// cache key and the origin request carry this value, so that the many ways
// browsers write the header share one cached variant.
func NormalizeAcceptEncoding(v string) string {
	best, bestQ := "", 0.0
	for rest := v; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		name, params, _ := strings.Cut(part, ";")
		rank := encodingRank(strings.TrimSpace(name))
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
			best, bestQ = encodings[rank], q
		}
	}
	return best
}

// encodings are the encodings the edge serves, by preference.
var encodings = [...]string{"br", "zstd", "gzip"}

// encodingRank is name's place in encodings (ASCII letters in any case),
// -1 when the edge does not serve it.
func encodingRank(name string) int {
next:
	for i, e := range encodings {
		if len(name) != len(e) {
			continue
		}
		for j := 0; j < len(e); j++ {
			if name[j]|0x20 != e[j] { // e is lower-case letters
				continue next
			}
		}
		return i
	}
	return -1
}

// Key is a primary cache key: what a request is stored under before the
// stored answer's Vary selects a variant.
type Key struct {
	Dist  string // the distribution's name
	HTTPS bool   // the scheme the origin is told
	Host  string // as the viewer sent it, lower-cased
	Path  string // escaped, as it goes to the origin
	Query string // the cache key's query strings, "" for none
	// Fields are the cache key's headers and cookies, each part starting
	// with a NUL, as Vary's are.
	Fields string
}

// String is the key as the stores index it: the distribution, a NUL, the
// scheme and host, a NUL, the path, the query string after a ?, then the
// fields.
func (k Key) String() string {
	b := k.appendTo(make([]byte, 0, k.size()))
	return unsafe.String(unsafe.SliceData(b), len(b)) // b is not kept
}

func (k Key) size() int {
	return len(k.Dist) + len(k.Host) + len(k.Path) + len(k.Query) + len(k.Fields) + 12
}

// appendTo appends String's bytes to b.
func (k Key) appendTo(b []byte) []byte {
	b = append(b, k.Dist...)
	if k.HTTPS {
		b = append(b, "\x00https://"...)
	} else {
		b = append(b, "\x00http://"...)
	}
	b = append(b, k.Host...)
	b = append(b, 0)
	b = append(b, k.Path...)
	if k.Query != "" {
		b = append(b, '?')
		b = append(b, k.Query...)
	}
	return append(b, k.Fields...)
}

// ref is what invalidations match an object by: its distribution, its
// decoded path and its cache tags (lower-cased).
type ref struct {
	dist, path string
	tags       []string
}

func (k Key) ref() ref {
	path := k.Path
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	return ref{dist: k.Dist, path: path}
}

// Cache tags, as CloudFront's: the origin's tag header holds a comma-
// separated list; a tag is 1 to 256 visible ASCII characters but the
// comma, matched without case; an object keeps its first 50.
const (
	MaxTagBytes     = 256
	MaxTagsOfObject = 50
)

// ParseTags reads the tags of an answer's tag header fields: lower-cased,
// each once, the invalid ones dropped, at most MaxTagsOfObject.
func ParseTags(values []string) []string {
	var tags []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.ToLower(strings.Trim(t, " \t"))
			if ValidTag(t) && !slices.Contains(tags, t) {
				if len(tags) == MaxTagsOfObject {
					return tags
				}
				tags = append(tags, t)
			}
		}
	}
	return tags
}

// ValidTag reports whether t may be a cache tag.
func ValidTag(t string) bool {
	if t == "" || len(t) > MaxTagBytes {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c < 33 || c > 126 || c == ',' {
			return false
		}
	}
	return true
}

// covers reports whether an invalidation item covers the object r names:
// a path as Covers says, or a #tag any of its tags equals.
func (r ref) covers(item string) bool {
	if tag, ok := strings.CutPrefix(item, "#"); ok {
		return slices.Contains(r.tags, tag)
	}
	return Covers(item, r.path)
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
	b := appendVariant(make([]byte, 0, len(primary)+32*len(names)), primary, names, h)
	return unsafe.String(unsafe.SliceData(b), len(b)) // b is not kept
}

// appendVariant appends VariantKey's bytes to b.
func appendVariant(b []byte, primary string, names []string, h http.Header) []byte {
	b = append(b, primary...)
	for _, n := range names {
		b = append(b, 0)
		b = append(b, n...)
		b = append(b, '=')
		if n == "Accept-Encoding" {
			b = append(b, NormalizeAcceptEncoding(strings.Join(h.Values(n), ","))...)
			continue
		}
		for i, v := range h.Values(n) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, v...)
		}
	}
	return b
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
