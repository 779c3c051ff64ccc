// Package pathpattern implements CloudFront cache-behavior path patterns.
//
// A pattern is matched against the request path without its query string.
// '*' matches any run of characters, '/' included; '?' matches exactly one
// character (not byte); everything else matches itself, case-sensitively. The leading
// '/' is optional in the pattern, as it is in CloudFront.
package pathpattern

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLength is CloudFront's limit on the length of a path pattern.
const MaxLength = 255

// Pattern is a compiled path pattern. The zero value matches nothing.
type Pattern struct {
	src  string // the pattern as written
	norm string // with its leading '/'
	// literal is set when the pattern has no wildcard; prefix when its only
	// wildcard is one trailing '*'. Both make the common cases a string compare.
	literal, prefix bool
	lit             string
}

// Compile parses a pattern. It refuses empty and over-long patterns and
// characters CloudFront does not accept in a path pattern.
func Compile(src string) (Pattern, error) {
	if src == "" {
		return Pattern{}, fmt.Errorf("path pattern is empty")
	}
	if len(src) > MaxLength {
		return Pattern{}, fmt.Errorf("path pattern is %d characters long; the limit is %d", len(src), MaxLength)
	}
	for i := 0; i < len(src); i++ {
		if !allowed(src[i]) {
			return Pattern{}, fmt.Errorf("path pattern %q: character %q is not allowed (use A-Z a-z 0-9 _ - . * $ / ~ \" ' @ : + & ?)", src, src[i])
		}
	}
	p := Pattern{src: src, norm: src}
	if src[0] != '/' {
		p.norm = "/" + src
	}
	wild := strings.IndexAny(p.norm, "*?")
	switch {
	case wild < 0:
		p.literal, p.lit = true, p.norm
	case wild == len(p.norm)-1 && p.norm[wild] == '*':
		p.prefix, p.lit = true, p.norm[:wild]
	}
	return p, nil
}

// MustCompile is Compile for patterns known to be valid; it panics otherwise.
func MustCompile(src string) Pattern {
	p, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return p
}

func allowed(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("_-.*$/~\"'@:+&?", c) >= 0
}

// String returns the pattern as it was written.
func (p Pattern) String() string { return p.src }

// Match reports whether path (which should start with '/') matches.
func (p Pattern) Match(path string) bool {
	if p.norm == "" {
		return false
	}
	if len(path) == 0 || path[0] != '/' {
		path = "/" + path
	}
	switch {
	case p.literal:
		return path == p.lit
	case p.prefix:
		return strings.HasPrefix(path, p.lit)
	}
	return glob(p.norm, path)
}

// Wildcard matches s against a pattern in the same wildcard language,
// without a path's leading-slash rule: CloudFront's signed-URL policies use
// it for their Resource.
func Wildcard(pattern, s string) bool { return glob(pattern, s) }

// glob matches with the classic linear backtracking algorithm: on a mismatch
// it resumes from the most recent '*', which is enough because '*' matches
// anything. It runs in O(len(pattern)*len(name)) at worst and never recurses.
func glob(pattern, name string) bool {
	px, nx := 0, 0
	starPx, starNx := -1, -1
	for px < len(pattern) || nx < len(name) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				starPx, starNx = px, nx
				px++
				continue
			case '?':
				if nx < len(name) {
					px++
					nx += runeLen(name[nx:])
					continue
				}
			default:
				if nx < len(name) && name[nx] == c {
					px++
					nx++
					continue
				}
			}
		}
		if starPx >= 0 && starNx < len(name) {
			starNx += runeLen(name[starNx:])
			px, nx = starPx+1, starNx
			continue
		}
		return false
	}
	return true
}

// runeLen is the length of the first character of s, so that '?' matches a
// character, not a byte, of a decoded path; invalid UTF-8 counts byte by byte.
func runeLen(s string) int {
	if s[0] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s)
	return n
}

// Covers reports whether every path that q matches is also matched by p, so
// that a behavior with pattern q placed after one with p could never be
// chosen. It answers only what it can prove: a false may still be covered.
func (p Pattern) Covers(q Pattern) bool {
	if p.norm == "" || q.norm == "" {
		return false
	}
	if p.norm == q.norm || q.literal {
		return p.Match(q.norm)
	}
	if p.literal {
		return false
	}
	// Every path q matches starts with q's literal prefix, so a p that is
	// "prefix*" covers q when q's literal prefix starts with p's.
	if p.prefix {
		qlit := q.norm
		if i := strings.IndexAny(qlit, "*?"); i >= 0 {
			qlit = qlit[:i]
		}
		return strings.HasPrefix(qlit, p.lit)
	}
	return false
}
