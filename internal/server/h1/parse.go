// Package h1 is edgefront's HTTP/1.1 connection loop for the hot path: it
// reads request heads with a strict parser, answers the GET and HEAD
// requests it fully understands through the edge's http.Handler with a
// lean response writer, and hands every other connection, with the bytes
// already read, to net/http, where it stays.
package h1

import (
	"bytes"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/edgefront/edgefront/internal/httpsyntax"
)

// head is a parsed request head. Its strings are parts of one copy of
// the head's bytes, made once.
type head struct {
	method, target string
	url            url.URL // the request's URL itself, until the next head is parsed
	minor          int     // HTTP/1.minor
	host           string
	fields         []field
	close          bool // Connection: close
	smuggling      bool // both Content-Length and Transfer-Encoding (handed over, then closed)
	n              int  // bytes of the head, final CRLF included
}

type field struct{ name, value string }

// parse results.
const (
	parsed   = iota // a complete head the loop answers
	partial         // more bytes are needed
	handOver        // net/http must answer it
)

// parseHead reads one request head from b. It answers parsed only for
// what it understands exactly as net/http's ReadRequest would: GET or
// HEAD, an origin-form target, HTTP/1.1, CRLF line ends, token field names
// followed directly by a colon, no obsolete line folding, one valid Host,
// and no field that would give the request a body, switch protocols or
// ask for 100-continue. Anything else is handOver, even where net/http
// would refuse it: refusing is net/http's business.
func parseHead(b []byte, h *head) int {
	*h = head{fields: h.fields[:0]}
	end := bytes.Index(b, crlfcrlf)
	scan := b
	if end >= 0 {
		scan = b[:end+4]
	}
	// Every CR is followed by LF and every LF follows a CR: bare line
	// ends are net/http's to judge. So is any other control byte, or one
	// past 0x7f: in a value net/http refuses the first and takes the
	// second, and neither is in a name, a method or a target the loop
	// takes. (Values need no check of their own after this.)
	for i := 0; i < len(scan); i++ {
		if c := scan[i]; (c >= ' ' && c < 0x7f) || c == '\t' {
			continue
		} else if c == '\r' && (i+1 == len(scan) || scan[i+1] == '\n') {
			i++
			continue
		}
		return handOver
	}
	if end < 0 {
		return partial
	}
	h.n = end + 4
	all := string(b[:end+2])
	lines := all
	eol := strings.IndexByte(lines, '\n') // every line ends in CRLF (checked above)
	line := lines[:eol-1]
	lines = lines[eol+1:]
	if !h.requestLine(line) {
		h.smuggling = lengthAndTE(lines)
		return handOver
	}
	hosts, length, te := 0, false, false
	for len(lines) > 0 {
		eol := strings.IndexByte(lines, '\n')
		line := lines[:eol-1]
		lines = lines[eol+1:]
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !validName(line[:colon]) {
			h.smuggling = lengthAndTE(all)
			return handOver // obs-fold, a space before the colon, no name
		}
		name := line[:colon]
		value := httpsyntax.TrimOWS(line[colon+1:])
		switch {
		case httpsyntax.NameIs(name, "host"):
			hosts++
			h.host = value
		case httpsyntax.NameIs(name, "content-length"):
			length = true
		case httpsyntax.NameIs(name, "transfer-encoding"):
			te = true
		case httpsyntax.NameIs(name, "upgrade"), httpsyntax.NameIs(name, "expect"), httpsyntax.NameIs(name, "trailer"):
			return handOver
		case httpsyntax.NameIs(name, "connection"):
			for tok := range httpsyntax.Elements(value) {
				switch {
				case httpsyntax.NameIs(tok, "close"):
					h.close = true
				case httpsyntax.NameIs(tok, "upgrade"):
					return handOver
				}
			}
		}
		h.fields = append(h.fields, field{name, value})
	}
	if length || te {
		// A body is net/http's to read; with both fields, RFC 9112 §6.1
		// wants the connection closed after the answer.
		h.smuggling = length && te
		return handOver
	}
	if hosts != 1 || !validHost(h.host) {
		return handOver
	}
	return parsed
}

// lengthAndTE reports whether a head has both a Content-Length and a
// Transfer-Encoding field, however they are written.
func lengthAndTE(lines string) bool {
	var length, te bool
	for _, line := range strings.Split(lines, "\n") {
		name, _, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		length = length || name == "content-length"
		te = te || name == "transfer-encoding"
	}
	return length && te
}

var crlfcrlf = []byte("\r\n\r\n")

// requestLine reads "GET /path HTTP/1.1".
func (h *head) requestLine(line string) bool {
	sp1 := strings.IndexByte(line, ' ')
	if sp1 < 0 {
		return false
	}
	switch m := line[:sp1]; m {
	case http.MethodGet, http.MethodHead:
		h.method = m
	default:
		return false
	}
	rest := line[sp1+1:]
	sp2 := strings.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return false
	}
	target, proto := rest[:sp2], rest[sp2+1:]
	if proto != "HTTP/1.1" {
		return false // HTTP/1.0 keep-alive rules and the rest: net/http's
	}
	h.minor = 1
	if target[0] != '/' || (len(target) > 1 && target[1] == '/') {
		return false // not origin-form, or one url.ParseRequestURI reads as a host
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	h.target = target
	return parseTarget(target, &h.url)
}

// parseTarget reads an origin-form target into u as url.ParseRequestURI
// does, without allocating for the common target: a path of characters
// that stand for themselves, and a query.
func parseTarget(target string, u *url.URL) bool {
	path, query, hasQuery := strings.Cut(target, "?")
	if plainPath(path) && (!hasQuery || query != "") {
		*u = url.URL{Path: path, RawQuery: query}
		return true
	}
	v, err := url.ParseRequestURI(target)
	if err != nil {
		return false
	}
	*u = *v
	return true
}

// plainPath reports whether p is its own escaped form: url.URL keeps it
// as Path with no RawPath.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if !pathChar[p[i]] {
			return false
		}
	}
	return true
}

// pathChar are the bytes url.URL's path escaping leaves as they are.
var pathChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "-_.~$&+,/:;=@" {
		t[c] = true
	}
	return t
}()

// validName reports whether s is a field name net/http takes as it is: a
// token.
func validName(s string) bool { return httpsyntax.Token(s) }

// validHost is a conservative reg-name or IPv4 address with an optional
// port: letters, digits, '-', '.', and one ':' before digits. What it
// refuses (IPv6 literals, percent-encoding, user info) goes to net/http.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	name, port, hasPort := strings.Cut(h, ":")
	if name == "" || (hasPort && (port == "" || len(port) > 5)) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return true
}

// headerInto builds the request's http.Header, names canonical as
// net/http makes them, without Host (net/http keeps it in Request.Host),
// into hdr (cleared; made when nil) and vals, the backing array of the
// one-value fields, which it returns, grown when needed.
func (h *head) headerInto(hdr http.Header, vals []string) (http.Header, []string) {
	if hdr == nil {
		hdr = make(http.Header, len(h.fields))
	} else {
		clear(hdr)
	}
	if cap(vals) < len(h.fields) {
		vals = make([]string, len(h.fields))
	}
	vals = vals[:len(h.fields)]
	for i, f := range h.fields {
		if httpsyntax.NameIs(f.name, "host") {
			continue
		}
		name := canonical(f.name)
		if prev, ok := hdr[name]; ok {
			hdr[name] = append(prev[:len(prev):len(prev)], f.value)
			continue
		}
		vals[i] = f.value
		hdr[name] = vals[i : i+1 : i+1]
	}
	return hdr, vals
}

// canonical is textproto's canonical form of a token, with the common
// names interned.
func canonical(s string) string {
	if c, ok := common[s]; ok {
		return c
	}
	return textproto.CanonicalMIMEHeaderKey(s)
}

var common = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control", "Connection",
		"Cookie", "If-Modified-Since", "If-None-Match", "Pragma", "Range", "Referer", "User-Agent", "X-Forwarded-For",
		"X-Forwarded-Proto", "Origin", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest", "Priority"} {
		m[n] = n
		m[strings.ToLower(n)] = n
	}
	return m
}()
