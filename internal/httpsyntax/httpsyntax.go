// Package httpsyntax holds the few pieces of HTTP/1.1's syntax (RFC 9110
// §5.6) that the request parser, the origin client and the pass share:
// token bytes, optional whitespace, and field names compared without
// regard to case. Each works on strings and byte slices alike, allocates
// nothing, and knows only ASCII, as field names are.
package httpsyntax

import "iter"

// IsToken reports whether c may be in a token (a field name, a method).
func IsToken(c byte) bool { return tokenByte[c] }

var tokenByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// Token reports whether s is a token: not empty, and only token bytes.
func Token[S ~string | ~[]byte](s S) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenByte[s[i]] {
			return false
		}
	}
	return true
}

// TrimOWS drops the spaces and tabs around a field value or a list
// element.
func TrimOWS[S ~string | ~[]byte](s S) S {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// NameIs reports whether a and b are the same name without regard to
// ASCII case. Most names differ in length: those cost no comparison.
func NameIs[A, B ~string | ~[]byte](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Elements yields the elements of a comma-separated list (a Connection
// field's value), each without the whitespace around it, the empty ones
// left out.
func Elements[S ~string | ~[]byte](list S) iter.Seq[S] {
	return func(yield func(S) bool) {
		for len(list) > 0 {
			e := list
			list = list[len(list):]
			for i := 0; i < len(e); i++ {
				if e[i] == ',' {
					e, list = e[:i], e[i+1:]
					break
				}
			}
			if e = TrimOWS(e); len(e) > 0 && !yield(e) {
				return
			}
		}
	}
}
