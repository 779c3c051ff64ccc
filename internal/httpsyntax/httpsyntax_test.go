package httpsyntax

import (
	"strings"
	"testing"
)

func TestNameIs(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"Content-Length", "content-length", true},
		{"CONNECTION", "Connection", true},
		{"Connection", "Connectio", false},
		{"Keep-Alive", "Keep_Alive", false},
		{"", "", true},
		{"\u212a", "k", false}, // the Kelvin sign is not an ASCII K, whatever Unicode folds it to
		{"[", "{", false},      // 0x5b and 0x7b differ by the case bit but are not letters
	} {
		if got := NameIs(c.a, c.b); got != c.want {
			t.Errorf("NameIs(%q, %q) = %v", c.a, c.b, got)
		}
		if got := NameIs([]byte(c.a), c.b); got != c.want {
			t.Errorf("NameIs([]byte(%q), %q) = %v", c.a, c.b, got)
		}
	}
}

func TestToken(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c > ' ' && c < 0x7f && !strings.ContainsRune("\"(),/:;<=>?@[\\]{}", rune(c))
		if IsToken(byte(c)) != want {
			t.Errorf("IsToken(%q) = %v", rune(c), !want)
		}
	}
	if Token("") || !Token("X-Edge") || Token("X Edge") || !Token([]byte("a!#$%&'*+-.^_`|~9")) {
		t.Error("Token")
	}
}

func TestTrimOWS(t *testing.T) {
	if got := TrimOWS(" \t a b\t "); got != "a b" {
		t.Errorf("%q", got)
	}
	if got := TrimOWS([]byte("\t\t")); len(got) != 0 {
		t.Errorf("%q", got)
	}
}

func TestElements(t *testing.T) {
	var got []string
	for e := range Elements(" close, ,X-Drop ,\tkeep-alive,") {
		got = append(got, e)
	}
	if strings.Join(got, "|") != "close|X-Drop|keep-alive" {
		t.Errorf("%q", got)
	}
	for e := range Elements([]byte("a, b")) {
		if string(e) != "a" {
			t.Errorf("%q", e)
		}
		break // stopping early is allowed
	}
}
