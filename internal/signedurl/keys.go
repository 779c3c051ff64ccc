package signedurl

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
)

// MinKeyBits is the shortest RSA key accepted for signing or verifying.
const MinKeyBits = 2048

// LoadPrivateKey reads an RSA private key from a PEM file, as PKCS#1
// ("RSA PRIVATE KEY", openssl genrsa -traditional) or PKCS#8 ("PRIVATE
// KEY", openssl genrsa and genpkey). Anything else, encrypted keys, keys
// of other algorithms and keys shorter than MinKeyBits among them, is
// refused with a sentence that says what the file holds.
func LoadPrivateKey(file string) (*rsa.PrivateKey, error) {
	block, err := readPEM(file)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		if _, ok := block.Headers["DEK-Info"]; ok {
			return nil, fmt.Errorf("%s holds an encrypted private key; %s", file, wantPrivate)
		}
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s holds %s; %s", file, describeBlock(block.Type), wantPrivate)
	}
	if err != nil {
		return nil, fmt.Errorf("%s holds a %q PEM block that does not parse (%v); %s", file, block.Type, err, wantPrivate)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds %s private key; %s", file, algorithm(key), wantPrivate)
	}
	if err := checkBits(file, rk.N.BitLen()); err != nil {
		return nil, err
	}
	return rk, nil
}

// LoadPublicKey reads an RSA public key from a PEM file, as PKIX ("PUBLIC
// KEY", what CloudFront's console takes and openssl rsa -pubout writes) or
// PKCS#1 ("RSA PUBLIC KEY"). Anything else is refused with a sentence
// that says what the file holds.
func LoadPublicKey(file string) (*rsa.PublicKey, error) {
	block, err := readPEM(file)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s holds %s; %s", file, describeBlock(block.Type), wantPublic)
	}
	if err != nil {
		return nil, fmt.Errorf("%s holds a %q PEM block that does not parse (%v); %s", file, block.Type, err, wantPublic)
	}
	rk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s holds %s public key; %s", file, algorithm(key), wantPublic)
	}
	if err := checkBits(file, rk.N.BitLen()); err != nil {
		return nil, err
	}
	return rk, nil
}

const (
	wantPrivate = "an unencrypted RSA private key of at least 2048 bits is wanted, as PEM (PKCS#1 or PKCS#8), such as `openssl genrsa -out private_key.pem 2048` writes"
	wantPublic  = "an RSA public key of at least 2048 bits is wanted, as PEM (PKIX or PKCS#1), such as `openssl rsa -pubout -in private_key.pem -out public_key.pem` writes"
)

func readPEM(file string) (*pem.Block, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block (-----BEGIN ...-----); a PEM key file is wanted", file)
	}
	return block, nil
}

// describeBlock names what a PEM block of a type other than the wanted
// ones holds, for an error sentence.
func describeBlock(typ string) string {
	switch typ {
	case "CERTIFICATE":
		return "a certificate, not a key (`openssl x509 -pubkey -noout -in FILE` prints its public key)"
	case "ENCRYPTED PRIVATE KEY":
		return "an encrypted private key (`openssl pkey -in FILE -out plain.pem` decrypts it)"
	case "EC PRIVATE KEY", "EC PARAMETERS":
		return "an EC private key"
	case "OPENSSH PRIVATE KEY":
		return "an OpenSSH private key"
	case "RSA PRIVATE KEY", "PRIVATE KEY":
		return "a private key where a public key belongs (`openssl rsa -pubout -in FILE` prints the public key)"
	case "PUBLIC KEY", "RSA PUBLIC KEY":
		return "a public key where the private key belongs"
	}
	return fmt.Sprintf("a %q PEM block", typ)
}

func algorithm(key any) string {
	switch key.(type) {
	case *ecdsa.PublicKey, *ecdsa.PrivateKey:
		return "an EC (ECDSA)"
	case ed25519.PublicKey, ed25519.PrivateKey:
		return "an Ed25519"
	}
	return fmt.Sprintf("a %T", key)
}

func checkBits(file string, bits int) error {
	if bits < MinKeyBits {
		return fmt.Errorf("%s holds an RSA key of %d bits; CloudFront needs at least %d", file, bits, MinKeyBits)
	}
	return nil
}

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
