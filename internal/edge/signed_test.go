package edge

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"
)

func TestSignedURLsAndCookiesGuardABehavior(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubFile := filepath.Join(t.TempDir(), "public.pem")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)

	storage, seen := upstream(t, text("private"))
	e := edgeFor(t, fmt.Sprintf(`
key_groups:
  signers: [{id: K2JCJMDEHXQW5F, public_key_file: %q}]
distributions:
  - name: main
    origins: {storage: {type: http, url: %q}}
    behaviors:
      - {path_pattern: "/storage/*", target_origin: storage, trusted_key_groups: [signers]}
      - {path_pattern: "/error-page.html", target_origin: storage}
    default_behavior: {target_origin: storage}
`, pubFile, storage.URL), nil)
	host := strings.TrimPrefix(e.URL, "http://")

	n := seen.count()
	r := get(t, e.URL+"/storage/report.csv")
	wantStatus(t, r, http.StatusForbidden)
	if !strings.Contains(r.body, "missing Key-Pair-Id") || r.Header.Get("X-Cache") != "Error from edgefront" {
		t.Errorf("unsigned: %q %v", r.body, r.Header)
	}
	if seen.count() != n {
		t.Fatal("an unsigned request reached the origin")
	}

	signed, err := sign.NewURLSigner("K2JCJMDEHXQW5F", key).Sign("http://"+host+"/storage/report.csv?v=1", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r = get(t, signed)
	wantStatus(t, r, 200)
	in := seen.last(t)
	if in.URL.RawQuery != "v=1" {
		t.Errorf("the origin saw the query %q, want the signing parameters removed", in.URL.RawQuery)
	}

	n = seen.count()
	for name, u := range map[string]string{
		"other object": strings.Replace(signed, "report.csv", "secret.csv", 1),
		"expired":      mustSign(t, key, "http://"+host+"/storage/report.csv", time.Now().Add(-time.Second)),
		"unknown key":  strings.Replace(signed, "Key-Pair-Id=K2JCJMDEHXQW5F", "Key-Pair-Id=APKAEXAMPLE", 1),
	} {
		if r := get(t, u); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, r.StatusCode)
		}
	}
	if seen.count() != n {
		t.Error("a refused request reached the origin")
	}

	// Signed cookies, from AWS's cookie signer, for the whole folder.
	cookies, err := sign.NewCookieSigner("K2JCJMDEHXQW5F", key).Sign("http://"+host+"/storage/*", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, c := range cookies {
		parts = append(parts, c.Name+"="+c.Value)
	}
	r = do(t, "GET", e.URL+"/storage/any/file.txt", map[string]string{"Cookie": strings.Join(parts, "; ") + "; session=abc"})
	wantStatus(t, r, 200)
	if got := seen.last(t).Header.Get("Cookie"); got != "session=abc" {
		t.Errorf("the origin saw cookies %q, want the signing cookies removed", got)
	}
	// Behaviors without trusted key groups need no signature.
	wantStatus(t, get(t, e.URL+"/public.txt"), 200)
}

func mustSign(t *testing.T, key *rsa.PrivateKey, u string, exp time.Time) string {
	s, err := sign.NewURLSigner("K2JCJMDEHXQW5F", key).Sign(u, exp)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// An IpAddress condition is checked against the client that a trusted
// proxy names in X-Forwarded-For, and against the peer otherwise.
func TestSignedURLIPConditionBehindATrustedProxy(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubFile := filepath.Join(t.TempDir(), "public.pem")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	storage, _ := upstream(t, text("private"))
	for _, c := range []struct {
		trusted string
		want    int
	}{
		{"trusted_proxies: [127.0.0.1]\n", 200},  // the proxy names 198.51.100.7, the signed client
		{"trusted_proxies: [10.0.0.0/8]\n", 403}, // an untrusted peer's header names nobody
		{"", 403},                                // no trusted proxies: the peer is the client
	} {
		e := edgeFor(t, c.trusted+fmt.Sprintf(`key_groups:
  signers: [{id: K2JCJMDEHXQW5F, public_key_file: %q}]
distributions:
  - name: main
    origins: {storage: {type: http, url: %q}}
    default_behavior: {target_origin: storage, trusted_key_groups: [signers]}
`, pubFile, storage.URL), nil)
		policy := fmt.Sprintf(`{"Statement":[{"Resource":"%s/report.csv","Condition":{"DateLessThan":{"AWS:EpochTime":%d},"IpAddress":{"AWS:SourceIp":"198.51.100.7/32"}}}]}`,
			e.URL, time.Now().Add(time.Hour).Unix())
		u, err := sign.NewURLSigner("K2JCJMDEHXQW5F", key).SignWithPolicy(e.URL+"/report.csv", mustPolicy(t, policy))
		if err != nil {
			t.Fatal(err)
		}
		r := do(t, "GET", u, map[string]string{"X-Forwarded-For": "198.51.100.7"})
		if r.StatusCode != c.want {
			t.Errorf("%q: %d %q, want %d", c.trusted, r.StatusCode, r.body, c.want)
		}
	}
}

func mustPolicy(t *testing.T, text string) *sign.Policy {
	t.Helper()
	var p sign.Policy
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		t.Fatal(err)
	}
	return &p
}
