package signedurl

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
)

// WriteKeyPair writes DIR/private_key.pem (PKCS#1, mode 0600) and
// DIR/public_key.pem (PKIX, as CloudFront's console takes it). It refuses
// to overwrite a key.
func WriteKeyPair(dir string) (privFile, pubFile string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", err
	}
	privFile, pubFile = filepath.Join(dir, "private_key.pem"), filepath.Join(dir, "public_key.pem")
	for _, f := range []struct {
		name string
		mode os.FileMode
		blk  *pem.Block
	}{
		{privFile, 0o600, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}},
		{pubFile, 0o644, &pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}},
	} {
		fh, err := os.OpenFile(f.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode)
		if err != nil {
			return "", "", err
		}
		err = pem.Encode(fh, f.blk)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", "", err
		}
	}
	return privFile, pubFile, nil
}
