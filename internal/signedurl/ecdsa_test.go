package signedurl

import (
	"crypto"
	"encoding/base64"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"
)

// An ECDSA P-256 key made by openssl signs URLs and cookies that the
// verifier takes: through AWS's Go signer (DER signatures over SHA-1), and
// through openssl dgst itself with SHA-256 and Hash-Algorithm=SHA256.
func TestECDSAKeysMadeByOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl not found: run ./test.sh, which installs it")
	}
	dir := t.TempDir()
	openssl(t, dir, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.pem")
	openssl(t, dir, "ec", "-in", "ec.pem", "-pubout", "-out", "ec-pub.pem")
	openssl(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other.pem")
	priv, err := LoadPrivateKey(filepath.Join(dir, "ec.pem"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := LoadPrivateKey(filepath.Join(dir, "other.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(filepath.Join(dir, "ec-pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t0}
	v := NewVerifier(map[string]crypto.PublicKey{keyID: pub}, c.now)
	base := "https://my-project.example.org/storage/report.csv?version=2"
	exp := t0.Add(time.Hour)

	signed, err := sign.NewURLSigner(keyID, priv).Sign(base, exp)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(request(t, signed, "")); err != nil {
		t.Fatalf("ECDSA canned URL from AWS's signer refused: %v\n%s", err, signed)
	}
	forged, _ := sign.NewURLSigner(keyID, other).Sign(base, exp)
	if err := v.Verify(request(t, forged, "")); err != ErrBadSignature {
		t.Fatalf("a URL signed by another EC key: %v, want %v", err, ErrBadSignature)
	}

	pol := sign.NewCannedPolicy("https://my-project.example.org/storage/*", exp)
	sig, b64pol, err := pol.Sign(priv)
	if err != nil {
		t.Fatal(err)
	}
	r := request(t, "https://my-project.example.org/storage/a.csv", "")
	r.Header.Set("Cookie", "CloudFront-Policy="+string(b64pol)+"; CloudFront-Signature="+string(sig)+"; CloudFront-Key-Pair-Id="+keyID)
	if err := v.Verify(r); err != nil {
		t.Fatalf("ECDSA signed cookies refused: %v", err)
	}

	// openssl dgst -sha256 -sign writes the DER signature CloudFront
	// takes with Hash-Algorithm=SHA256.
	canned := CannedPolicy("https://my-project.example.org/storage/b.csv", exp.Unix())
	os.WriteFile(filepath.Join(dir, "policy"), canned, 0o644)
	openssl(t, dir, "dgst", "-sha256", "-sign", "ec.pem", "-out", "sig", "policy")
	der, _ := os.ReadFile(filepath.Join(dir, "sig"))
	s := strings.NewReplacer("+", "-", "=", "_", "/", "~").Replace(base64.StdEncoding.EncodeToString(der))
	u := "https://my-project.example.org/storage/b.csv?Expires=" + strconv.FormatInt(exp.Unix(), 10) + "&Signature=" + s + "&Key-Pair-Id=" + keyID
	if err := v.Verify(request(t, u+"&Hash-Algorithm=SHA256", "")); err != nil {
		t.Fatalf("a SHA-256 ECDSA signature from openssl refused: %v\n%s", err, u)
	}
	if err := v.Verify(request(t, u, "")); err != ErrBadSignature {
		t.Fatalf("a SHA-256 signature read as SHA-1: %v, want %v", err, ErrBadSignature)
	}
	if err := v.Verify(request(t, u+"&Hash-Algorithm=MD5", "")); err != ErrHashAlgorithm {
		t.Fatalf("Hash-Algorithm=MD5: %v, want %v", err, ErrHashAlgorithm)
	}
	r = request(t, "https://my-project.example.org/storage/b.csv", "")
	r.Header.Set("Cookie", "CloudFront-Expires="+strconv.FormatInt(exp.Unix(), 10)+"; CloudFront-Signature="+s+"; CloudFront-Key-Pair-Id="+keyID+"; CloudFront-Hash-Algorithm=SHA256")
	if err := v.Verify(r); err != nil {
		t.Fatalf("SHA-256 signed cookies refused: %v", err)
	}
	if got := StripQuery("a=1&Hash-Algorithm=SHA256&b=2"); got != "a=1&b=2" {
		t.Errorf("StripQuery kept Hash-Algorithm: %q", got)
	}
	h := http.Header{"Cookie": {"CloudFront-Hash-Algorithm=SHA256; session=x"}}
	if StripCookies(h); h.Get("Cookie") != "session=x" {
		t.Errorf("StripCookies kept CloudFront-Hash-Algorithm: %q", h.Get("Cookie"))
	}
}
