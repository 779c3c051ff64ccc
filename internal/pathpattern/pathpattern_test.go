package pathpattern

import (
	"regexp"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/api*", "/api", true},
		{"/api*", "/api/notes/3", true},
		{"/api*", "/apis", true},
		{"/api*", "/API/notes", false}, // case-sensitive
		{"api*", "/api/x", true},       // leading slash optional
		{"/api*", "api/x", true},
		{"/storage/*", "/storage/", true},
		{"/storage/*", "/storage", false},
		{"/storage/*", "/storage/a/b/c.txt", true},
		{"*", "/", true},
		{"*", "/anything/at/all", true},
		{"/images/*.jpg", "/images/a/b.jpg", true}, // '*' crosses '/'
		{"/images/*.jpg", "/images/a.jpeg", false},
		{"/images/*.jpg", "/images/.jpg", true},
		{"/a?c", "/abc", true},
		{"/a?c", "/ac", false},
		{"/a?c", "/abbc", false},
		{"/a?c", "/a/c", true},
		{"/*.js", "/app.js", true},
		{"/*.js", "/js/app.js.map", false},
		{"/*/thumb/*", "/x/y/thumb/z", true},
		{"/*/thumb/*", "/x/thumbs/z", false},
		{"/index.html", "/index.html", true},
		{"/index.html", "/index.htm", false},
		{"/a*b*c", "/aXbYbZc", true},
		{"/a*b*c", "/aXbYbZ", false},
		{"/**", "/x", true},
		{"/caf?", "/café", true}, // '?' is one character, not one byte
		{"/*?", "/é", true},
	}
	for _, tt := range tests {
		p, err := Compile(tt.pattern)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.pattern, err)
		}
		if got := p.Match(tt.path); got != tt.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, bad := range []string{"", "/a b", "/a%20b", "/a\\b", "/a#b", "/é", "/" + strings.Repeat("a", 255)} {
		if _, err := Compile(bad); err == nil {
			t.Errorf("Compile(%q) succeeded, want an error", bad)
		}
	}
	var zero Pattern
	if zero.Match("/") {
		t.Error("zero Pattern matched")
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		p, q string
		want bool
	}{
		{"*", "/api*", true},
		{"/api*", "/api/v1/*", true},
		{"/api*", "/apis", true},
		{"/api*", "/ap*", false},
		{"/api/*", "/api*", false},
		{"/a*", "/a?c", true},
		{"/*.jpg", "/x.jpg", true},
		{"/*.jpg", "/x.png", false},
		{"/x.jpg", "/*.jpg", false},
		{"/storage/*", "/storage/*", true},
		{"storage/*", "/storage/*", true},
		{"/*.jpg", "/img/*.jpg", false}, // covered in truth, but not provable here
	}
	for _, tt := range tests {
		if got := MustCompile(tt.p).Covers(MustCompile(tt.q)); got != tt.want {
			t.Errorf("%q.Covers(%q) = %v, want %v", tt.p, tt.q, got, tt.want)
		}
	}
}

// reference translates a pattern to a regular expression, the slow and
// obviously right way.
func reference(pattern string) *regexp.Regexp {
	if !strings.HasPrefix(pattern, "/") {
		pattern = "/" + pattern
	}
	var b strings.Builder
	b.WriteString(`^`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(`(?s:.*)`)
		case '?':
			b.WriteString(`(?s:.)`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

func FuzzMatch(f *testing.F) {
	f.Add("/api*", "/api/notes/3")
	f.Add("/images/*.jpg", "/images/a/b.jpg")
	f.Add("/a?c*d", "/abcxxd")
	f.Add("*", "/")
	f.Add("/*/*/?", "/a/b/c")
	f.Add("a*b*c*d", "/aXbYcZd")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		want := reference(pattern).MatchString(path)
		if got := p.Match(path); got != want {
			t.Fatalf("%q.Match(%q) = %v, reference says %v", pattern, path, got, want)
		}
		if p.Covers(MustCompile("/x")) && !p.Match("/x") {
			t.Fatalf("%q covers /x but does not match it", pattern)
		}
	})
}
