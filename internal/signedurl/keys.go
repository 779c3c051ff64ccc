package signedurl

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// MinKeyBits is the shortest RSA key accepted for signing or verifying.
const MinKeyBits = 2048

// LoadPrivateKey reads a signing key from a PEM file: RSA, as PKCS#1
// ("RSA PRIVATE KEY", openssl genrsa -traditional) or PKCS#8 ("PRIVATE
// KEY", openssl genrsa and genpkey), or ECDSA on P-256, as SEC 1 ("EC
// PRIVATE KEY", openssl ecparam -genkey) or PKCS#8 (openssl genpkey
// -algorithm EC). Anything else, encrypted keys, other curves and
// algorithms and RSA keys shorter than MinKeyBits among them, is refused
// with a sentence that says what the file holds.
func LoadPrivateKey(file string) (crypto.Signer, error) {
	block, err := readPEM(file, "EC PARAMETERS")
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY", "EC PRIVATE KEY":
		if _, ok := block.Headers["DEK-Info"]; ok {
			return nil, fmt.Errorf("%s holds an encrypted private key; %s", file, wantPrivate)
		}
		if block.Type == "EC PRIVATE KEY" {
			key, err = x509.ParseECPrivateKey(block.Bytes)
		} else {
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		}
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s holds %s; %s", file, describeBlock(block.Type), wantPrivate)
	}
	if err != nil {
		return nil, fmt.Errorf("%s holds a %q PEM block that does not parse (%v); %s", file, block.Type, err, wantPrivate)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, checkBits(file, k.N.BitLen())
	case *ecdsa.PrivateKey:
		return k, checkCurve(file, k.Curve)
	}
	return nil, fmt.Errorf("%s holds %s private key; %s", file, algorithm(key), wantPrivate)
}

// LoadPublicKey reads a public key from a PEM file: RSA as PKIX ("PUBLIC
// KEY", what CloudFront's console takes and openssl rsa -pubout writes)
// or PKCS#1 ("RSA PUBLIC KEY"), or ECDSA on P-256 as PKIX (openssl ec
// -pubout). It returns an *rsa.PublicKey or an *ecdsa.PublicKey; anything
// else is refused with a sentence that says what the file holds.
func LoadPublicKey(file string) (crypto.PublicKey, error) {
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
	switch k := key.(type) {
	case *rsa.PublicKey:
		return k, checkBits(file, k.N.BitLen())
	case *ecdsa.PublicKey:
		return k, checkCurve(file, k.Curve)
	}
	return nil, fmt.Errorf("%s holds %s public key; %s", file, algorithm(key), wantPublic)
}

const (
	wantPrivate = "an unencrypted RSA private key of at least 2048 bits or an ECDSA P-256 private key is wanted, as PEM (PKCS#1, SEC 1 or PKCS#8), such as `openssl genrsa -out private_key.pem 2048` or `openssl ecparam -name prime256v1 -genkey -noout -out private_key.pem` writes"
	wantPublic  = "an RSA public key of at least 2048 bits or an ECDSA P-256 public key is wanted, as PEM (PKIX or PKCS#1), such as `openssl rsa -pubout -in private_key.pem -out public_key.pem` or `openssl ec -pubout -in private_key.pem -out public_key.pem` writes"
)

// readPEM returns the first PEM block of file, past blocks of the types
// to skip (the EC PARAMETERS that openssl ecparam -genkey writes first).
func readPEM(file string, skip ...string) (*pem.Block, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%s holds no PEM block (-----BEGIN ...-----); a PEM key file is wanted", file)
		}
		if !slices.Contains(skip, block.Type) {
			return block, nil
		}
	}
}

// describeBlock names what a PEM block of a type other than the wanted
// ones holds, for an error sentence.
func describeBlock(typ string) string {
	switch typ {
	case "CERTIFICATE":
		return "a certificate, not a key (`openssl x509 -pubkey -noout -in FILE` prints its public key)"
	case "ENCRYPTED PRIVATE KEY":
		return "an encrypted private key (`openssl pkey -in FILE -out plain.pem` decrypts it)"
	case "EC PRIVATE KEY":
		return "a private key where a public key belongs (`openssl ec -pubout -in FILE` prints the public key)"
	case "EC PARAMETERS":
		return "EC parameters without a key"
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
	case ed25519.PublicKey, ed25519.PrivateKey:
		return "an Ed25519"
	}
	return fmt.Sprintf("a %T", key)
}

// checkCurve refuses EC keys on curves other than P-256, the one
// CloudFront takes.
func checkCurve(file string, c elliptic.Curve) error {
	if c != elliptic.P256() {
		return fmt.Errorf("%s holds an ECDSA key on %s; CloudFront takes P-256 (prime256v1) EC keys only", file, c.Params().Name)
	}
	return nil
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
