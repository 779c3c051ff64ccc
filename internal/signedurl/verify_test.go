package signedurl

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"
)

const keyID = "K2JCJMDEHXQW5F"

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func key(t testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		var err error
		if testKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return testKey
}

// clock is a settable clock for the verifier.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func verifier(t testing.TB) (*Verifier, *clock) {
	c := &clock{t0}
	return NewVerifier(map[string]crypto.PublicKey{keyID: &key(t).PublicKey}, c.now), c
}

// request builds the viewer request for a URL as a server would see it.
func request(t testing.TB, rawURL, remote string) *http.Request {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", u.RequestURI(), nil)
	r.Host = u.Host
	if u.Scheme == "https" {
		r.TLS = &tls.ConnectionState{}
	}
	if remote != "" {
		r.RemoteAddr = remote
	}
	return r
}

func TestCannedURLFromAWSSigner(t *testing.T) {
	v, clk := verifier(t)
	signer := sign.NewURLSigner(keyID, key(t))
	base := "https://my-project.example.org/storage/report.csv?version=2&a=b%20c"
	expires := t0.Add(time.Hour)
	signed, err := signer.Sign(base, expires)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(request(t, signed, "")); err != nil {
		t.Fatalf("AWS-signed canned URL refused: %v\n%s", err, signed)
	}
	// Exactly at the expiry second it is refused, a second before it passes.
	clk.t = expires.Add(-time.Second)
	if err := v.Verify(request(t, signed, "")); err != nil {
		t.Errorf("one second before expiry: %v", err)
	}
	clk.t = expires
	if err := v.Verify(request(t, signed, "")); !errors.Is(err, ErrExpired) {
		t.Errorf("at expiry: %v, want expired", err)
	}
	clk.t = t0

	tamper := map[string]struct {
		url  string
		want error
	}{
		"other path":     {strings.Replace(signed, "report.csv", "other.csv", 1), ErrBadSignature},
		"other host":     {strings.Replace(signed, "my-project.example.org", "evil.example.org", 1), ErrBadSignature},
		"other scheme":   {strings.Replace(signed, "https://", "http://", 1), ErrBadSignature},
		"other query":    {strings.Replace(signed, "version=2", "version=3", 1), ErrBadSignature},
		"later expires":  {strings.Replace(signed, "Expires="+strconv.FormatInt(expires.Unix(), 10), "Expires="+strconv.FormatInt(expires.Unix()+3600, 10), 1), ErrBadSignature},
		"no key pair id": {strings.Replace(signed, "&Key-Pair-Id="+keyID, "", 1), ErrMissingKeyPairID},
		"unknown key":    {strings.Replace(signed, "Key-Pair-Id="+keyID, "Key-Pair-Id=APKAOTHER", 1), ErrUnknownKey},
		"no signature":   {signed[:strings.Index(signed, "&Signature=")] + "&Key-Pair-Id=" + keyID, ErrMissingKeyPairID},
		"bad signature":  {flipSignature(signed), ErrBadSignature},
		"bad expires":    {strings.Replace(signed, "Expires=", "Expires=x", 1), ErrMalformed},
	}
	for name, c := range tamper {
		if err := v.Verify(request(t, c.url, "")); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// flipSignature changes one character of the signature.
func flipSignature(signed string) string {
	i := strings.Index(signed, "Signature=") + len("Signature=") + 10
	c := byte('A')
	if signed[i] == 'A' {
		c = 'B'
	}
	return signed[:i] + string(c) + signed[i+1:]
}

func TestCustomPolicyFromAWSSigner(t *testing.T) {
	v, clk := verifier(t)
	signer := sign.NewURLSigner(keyID, key(t))
	policy := &sign.Policy{Statements: []sign.Statement{{
		Resource: "https://my-project.example.org/storage/*",
		Condition: sign.Condition{
			DateLessThan:    sign.NewAWSEpochTime(t0.Add(time.Hour)),
			DateGreaterThan: sign.NewAWSEpochTime(t0.Add(-time.Minute)),
			IPAddress:       &sign.IPAddress{SourceIP: "192.0.2.0/24"},
		},
	}}}
	signed, err := signer.SignWithPolicy("https://my-project.example.org/storage/a/b.csv?x=1", policy)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(request(t, signed, "192.0.2.44:5000")); err != nil {
		t.Fatalf("custom policy refused: %v", err)
	}
	// The wildcard resource covers other objects with the same signature.
	other := strings.Replace(signed, "/storage/a/b.csv", "/storage/c.csv", 1)
	if err := v.Verify(request(t, other, "192.0.2.1:1")); err != nil {
		t.Errorf("wildcard resource: %v", err)
	}
	cases := map[string]struct {
		url, remote string
		at          time.Time
		want        error
	}{
		"wrong IP":         {signed, "198.51.100.7:5000", t0, ErrWrongIP},
		"not yet valid":    {signed, "192.0.2.44:5000", t0.Add(-2 * time.Minute), ErrNotYetValid},
		"expired":          {signed, "192.0.2.44:5000", t0.Add(time.Hour), ErrExpired},
		"outside resource": {strings.Replace(signed, "/storage/a/b.csv", "/thumbnails/x.png", 1), "192.0.2.44:5000", t0, ErrWrongResource},
		"tampered policy":  {tamperPolicy(signed), "192.0.2.44:5000", t0, ErrBadSignature},
	}
	for name, c := range cases {
		clk.t = c.at
		if err := v.Verify(request(t, c.url, c.remote)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// DateGreaterThan's second itself is valid.
	clk.t = t0.Add(-time.Minute)
	if err := v.Verify(request(t, signed, "192.0.2.44:5000")); err != nil {
		t.Errorf("at DateGreaterThan: %v", err)
	}
}

// tamperPolicy swaps the policy for one with a later expiry and the same
// signature.
func tamperPolicy(signed string) string {
	u, _ := url.Parse(signed)
	q := u.Query()
	raw, _ := DecodeBase64(q.Get("Policy"))
	forged := strings.Replace(string(raw), `"192.0.2.0/24"`, `"0.0.0.0/0"`, 1)
	enc := encodeCF([]byte(forged))
	return strings.Replace(signed, q.Get("Policy"), enc, 1)
}

func encodeCF(b []byte) string {
	s := strings.NewReplacer("+", "-", "=", "_", "/", "~").Replace(base64Std(b))
	return s
}

func TestIPv6SourceIP(t *testing.T) {
	v, _ := verifier(t)
	signer := sign.NewURLSigner(keyID, key(t))
	policy := &sign.Policy{Statements: []sign.Statement{{
		Resource:  "http*://cdn.example.org/*",
		Condition: sign.Condition{DateLessThan: sign.NewAWSEpochTime(t0.Add(time.Hour)), IPAddress: &sign.IPAddress{SourceIP: "2001:db8::/32"}},
	}}}
	signed, err := signer.SignWithPolicy("http://cdn.example.org/v.mp4", policy)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(request(t, signed, "[2001:db8::1]:443")); err != nil {
		t.Errorf("IPv6 inside: %v", err)
	}
	if err := v.Verify(request(t, signed, "[2001:db9::1]:443")); !errors.Is(err, ErrWrongIP) {
		t.Errorf("IPv6 outside: %v", err)
	}
}

func TestSignedCookiesFromAWSSigner(t *testing.T) {
	v, _ := verifier(t)
	cs := sign.NewCookieSigner(keyID, key(t))
	cookies, err := cs.Sign("https://my-project.example.org/storage/*", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r := request(t, "https://my-project.example.org/storage/report.csv?x=1", "")
	for _, c := range cookies {
		r.AddCookie(c)
	}
	r.AddCookie(&http.Cookie{Name: "session", Value: "abc"})
	if err := v.Verify(r); err != nil {
		t.Fatalf("AWS-signed cookies refused: %v", err)
	}
	r2 := request(t, "https://my-project.example.org/thumbnails/x.png", "")
	for _, c := range cookies {
		r2.AddCookie(c)
	}
	if err := v.Verify(r2); !errors.Is(err, ErrWrongResource) {
		t.Errorf("cookie outside its resource: %v", err)
	}
	for _, drop := range []string{CookiePolicy, CookieSig, CookieKeyPair} {
		r3 := request(t, "https://my-project.example.org/storage/report.csv", "")
		for _, c := range cookies {
			if c.Name != drop {
				r3.AddCookie(c)
			}
		}
		if err := v.Verify(r3); err == nil {
			t.Errorf("cookies without %s accepted", drop)
		}
	}
	h := http.Header{"Cookie": {r.Header.Get("Cookie")}}
	StripCookies(h)
	if h.Get("Cookie") != "session=abc" {
		t.Errorf("StripCookies left %q", h.Get("Cookie"))
	}
}

func TestCannedCookies(t *testing.T) {
	v, _ := verifier(t)
	resource := "https://my-project.example.org/storage/report.csv"
	exp := t0.Add(time.Hour)
	sig, _, err := sign.NewCannedPolicy(resource, exp).Sign(key(t))
	if err != nil {
		t.Fatal(err)
	}
	r := request(t, resource, "")
	r.AddCookie(&http.Cookie{Name: CookieExpires, Value: strconv.FormatInt(exp.Unix(), 10)})
	r.AddCookie(&http.Cookie{Name: CookieSig, Value: string(sig)})
	r.AddCookie(&http.Cookie{Name: CookieKeyPair, Value: keyID})
	if err := v.Verify(r); err != nil {
		t.Errorf("canned cookies: %v", err)
	}
}

func TestStripQueryAndResourceURL(t *testing.T) {
	if got := StripQuery("a=1&Expires=2&Signature=x&Key-Pair-Id=K&b=%20&Policy=p"); got != "a=1&b=%20" {
		t.Errorf("StripQuery = %q", got)
	}
	r := request(t, "http://h:8080/a%20b/c?x=1&Signature=s", "")
	if got := ResourceURL(r); got != "http://h:8080/a%20b/c?x=1" {
		t.Errorf("ResourceURL = %q", got)
	}
}

func TestCannedPolicyMatchesAWS(t *testing.T) {
	// The bytes signed for a canned policy must be those AWS's signer
	// encodes, or no canned URL would verify.
	for _, res := range []string{"https://a.example/x?y=1&z=2", `http://a.example/q"uote\back<>`, "http://h/é"} {
		p := sign.NewCannedPolicy(res, t0)
		_, b64, err := p.Sign(key(t))
		if err != nil && strings.Contains(res, "é") {
			continue // AWS refuses non-ASCII resources
		}
		if err != nil {
			t.Fatal(err)
		}
		want, _ := DecodeBase64(string(b64))
		if got := CannedPolicy(res, t0.Unix()); string(got) != string(want) {
			t.Errorf("canned policy for %q:\n got %s\nwant %s", res, got, want)
		}
	}
}

func signedURL(t testing.TB, u string) string {
	s, err := sign.NewURLSigner(keyID, key(t)).Sign(u, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
