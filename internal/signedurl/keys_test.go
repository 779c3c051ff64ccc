package signedurl

import (
	"crypto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// openssl runs the openssl command in dir; the keys under test are made by
// openssl itself, as users make them.
func openssl(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestKeysMadeByOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl not found: run ./test.sh, which installs it")
	}
	dir := t.TempDir()
	for _, args := range [][]string{
		{"genrsa", "-out", "genrsa.pem", "2048"},                                                    // PKCS#8 on OpenSSL 3
		{"genrsa", "-traditional", "-out", "genrsa-traditional.pem", "2048"},                        // PKCS#1
		{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072", "-out", "genpkey.pem"}, // PKCS#8
		{"rsa", "-in", "genrsa.pem", "-traditional", "-out", "rsa-traditional.pem"},                 // PKCS#8 → PKCS#1
		{"pkcs8", "-topk8", "-nocrypt", "-in", "genrsa-traditional.pem", "-out", "topk8.pem"},       // PKCS#1 → PKCS#8
		{"rsa", "-in", "genrsa.pem", "-pubout", "-out", "pub-pkix.pem"},
		{"rsa", "-in", "genrsa.pem", "-RSAPublicKey_out", "-out", "pub-pkcs1.pem"},
		{"rsa", "-in", "genpkey.pem", "-pubout", "-out", "pub-3072.pem"},
		// ECDSA P-256, as CloudFront takes it: SEC 1 with and without
		// the parameters block, PKCS#8, and the public key openssl derives
		{"ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.pem"},
		{"ecparam", "-name", "prime256v1", "-genkey", "-out", "ec-params.pem"},
		{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec-pkcs8.pem"},
		{"ec", "-in", "ec.pem", "-pubout", "-out", "ec-pub.pem"},
		// refused
		{"genrsa", "-out", "small.pem", "1024"},
		{"rsa", "-in", "small.pem", "-pubout", "-out", "small-pub.pem"},
		{"ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "ec384.pem"},
		{"ec", "-in", "ec384.pem", "-pubout", "-out", "ec384-pub.pem"},
		{"genpkey", "-algorithm", "ED25519", "-out", "ed25519.pem"},
		{"genrsa", "-aes256", "-passout", "pass:secret", "-out", "encrypted.pem", "2048"},
		{"rsa", "-in", "genrsa.pem", "-aes256", "-traditional", "-passout", "pass:secret", "-out", "encrypted-traditional.pem"},
		{"req", "-x509", "-new", "-key", "genrsa.pem", "-subj", "/CN=edge", "-days", "1", "-out", "cert.pem"},
	} {
		openssl(t, dir, args...)
	}
	os.WriteFile(filepath.Join(dir, "garbage.pem"), []byte("not a key\n"), 0o644)
	privDir := t.TempDir()
	kgPriv, kgPub, err := WriteKeyPair(privDir)
	if err != nil {
		t.Fatal(err)
	}

	at := func(f string) string {
		if filepath.IsAbs(f) {
			return f
		}
		return filepath.Join(dir, f)
	}
	for _, f := range []string{"genrsa.pem", "genrsa-traditional.pem", "genpkey.pem", "rsa-traditional.pem", "topk8.pem", kgPriv, "ec.pem", "ec-params.pem", "ec-pkcs8.pem"} {
		if _, err := LoadPrivateKey(at(f)); err != nil {
			t.Errorf("private key %s refused: %v", f, err)
		}
	}
	for _, f := range []string{"pub-pkix.pem", "pub-pkcs1.pem", "pub-3072.pem", kgPub, "ec-pub.pem"} {
		if _, err := LoadPublicKey(at(f)); err != nil {
			t.Errorf("public key %s refused: %v", f, err)
		}
	}
	// The pairs match: the public key openssl derived is the private key's.
	for priv, pubs := range map[string][]string{"genrsa.pem": {"pub-pkix.pem", "pub-pkcs1.pem"}, "ec.pem": {"ec-pub.pem"}} {
		key, _ := LoadPrivateKey(at(priv))
		for _, f := range pubs {
			pub, _ := LoadPublicKey(at(f))
			if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); key == nil || !ok || !eq.Equal(key.Public()) {
				t.Errorf("%s is not %s's public key", f, priv)
			}
		}
	}

	for _, c := range []struct {
		file string
		load func(string) error
		want string
	}{
		{"small.pem", loadPriv, "RSA key of 1024 bits; CloudFront needs at least 2048"},
		{"small-pub.pem", loadPub, "RSA key of 1024 bits"},
		{"ec384.pem", loadPriv, "holds an ECDSA key on P-384; CloudFront takes P-256"},
		{"ec384-pub.pem", loadPub, "holds an ECDSA key on P-384"},
		{"ec.pem", loadPub, "holds a private key where a public key belongs (`openssl ec -pubout"},
		{"ed25519.pem", loadPriv, "holds an Ed25519 private key"},
		{"encrypted.pem", loadPriv, "holds an encrypted private key"},
		{"encrypted-traditional.pem", loadPriv, "holds an encrypted private key"},
		{"cert.pem", loadPriv, "holds a certificate, not a key"},
		{"cert.pem", loadPub, "holds a certificate, not a key"},
		{"pub-pkix.pem", loadPriv, "holds a public key where the private key belongs"},
		{"genrsa.pem", loadPub, "holds a private key where a public key belongs"},
		{"garbage.pem", loadPriv, "holds no PEM block"},
		{"missing.pem", loadPub, "no such file"},
	} {
		err := c.load(at(c.file))
		if err == nil {
			t.Errorf("%s accepted, want %q", c.file, c.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, c.file) || strings.Contains(msg, "\n") {
			t.Errorf("%s: %q, want one line naming the file and saying %q", c.file, msg, c.want)
		}
	}
}

func loadPriv(f string) error { _, err := LoadPrivateKey(f); return err }
func loadPub(f string) error  { _, err := LoadPublicKey(f); return err }
