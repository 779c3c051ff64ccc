package config

import (
	"crypto/x509"
	"encoding/pem"
	"os"

	"gopkg.in/yaml.v3"
)

// ViewerMTLS is CloudFront's ViewerMtlsConfig: whether viewers of a
// distribution present a client certificate, and what it must chain to.
type ViewerMTLS struct {
	// Mode is required (no handshake without a valid certificate),
	// optional (a certificate is asked for; one presented must be valid)
	// or passthrough (asked for and passed on unverified).
	Mode       string      `yaml:"mode"`
	TrustStore *TrustStore `yaml:"trust_store"`
}

// TrustStore is the CA bundle client certificates chain to.
type TrustStore struct {
	CAFile string `yaml:"ca_file"`
	// CRLFile is a PEM or DER certificate revocation list (several PEM
	// blocks for several CAs); a revoked certificate is refused.
	CRLFile string `yaml:"crl_file"`
	// AdvertiseCANames sends the trust store's CA names in the handshake.
	AdvertiseCANames bool `yaml:"advertise_ca_names"`
	// IgnoreCertificateExpiry accepts certificates outside their validity.
	IgnoreCertificateExpiry bool `yaml:"ignore_certificate_expiry"`
}

// viewerMTLS checks a distribution's viewer_mtls: the mode, the trust
// store's files, and the https listener it needs.
func (v *validator) viewerMTLS(at string, m *ViewerMTLS) {
	if m == nil {
		return
	}
	switch m.Mode {
	case "required", "optional", "passthrough":
	default:
		v.add(at+".mode", "mode %q is not required, optional or passthrough", m.Mode)
	}
	if v.c.Listen.HTTPS == "" {
		v.add(at, "viewer_mtls is a TLS setting: it needs listen.https")
	}
	ts := m.TrustStore
	if ts == nil || ts.CAFile == "" {
		if m.Mode != "passthrough" {
			v.add(at+".trust_store", "viewer_mtls %s verifies certificates: it needs trust_store.ca_file, the CA bundle they chain to", m.Mode)
		}
		return
	}
	ts.CAFile = v.file(ts.CAFile)
	if b, err := os.ReadFile(ts.CAFile); err != nil {
		v.add(at+".trust_store.ca_file", "%v", err)
	} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
		v.add(at+".trust_store.ca_file", "%s holds no PEM certificate", ts.CAFile)
	}
	if ts.CRLFile != "" {
		ts.CRLFile = v.file(ts.CRLFile)
		if b, err := os.ReadFile(ts.CRLFile); err != nil {
			v.add(at+".trust_store.crl_file", "%v", err)
		} else if _, err := ParseCRLs(b); err != nil {
			v.add(at+".trust_store.crl_file", "%s: %v", ts.CRLFile, err)
		}
	}
}

// ParseCRLs reads certificate revocation lists: PEM blocks ("X509 CRL")
// or one DER list.
func ParseCRLs(b []byte) ([]*x509.RevocationList, error) {
	var out []*x509.RevocationList
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "X509 CRL" {
			continue
		}
		crl, err := x509.ParseRevocationList(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, crl)
	}
	if len(out) == 0 {
		crl, err := x509.ParseRevocationList(b)
		if err != nil {
			return nil, err
		}
		out = append(out, crl)
	}
	return out, nil
}

// ConnectionFunction is a distribution's connection function: its code
// file, and the key value store cf.kvs() reads in it. It is written as
// the file alone, or as {code: FILE, key_value_store: NAME}.
type ConnectionFunction struct {
	Code          string `yaml:"code"`
	KeyValueStore string `yaml:"key_value_store"`
}

// UnmarshalYAML takes the file alone or the mapping.
func (c *ConnectionFunction) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		c.Code = n.Value
		return nil
	}
	type plain ConnectionFunction
	return n.Decode((*plain)(c))
}

// connectionFunction checks a distribution's connection_function: its
// file, its store, and the viewer_mtls it runs with.
func (v *validator) connectionFunction(at string, d *Distribution) {
	cf := d.ConnectionFunction
	if cf == nil {
		return
	}
	if cf.Code == "" {
		v.add(at, "connection_function needs its code: a file such as functions/conn.js")
	} else {
		cf.Code = v.file(cf.Code)
		if _, err := os.Stat(cf.Code); err != nil {
			v.add(at, "%v", err)
		}
	}
	if cf.KeyValueStore != "" {
		if _, ok := v.c.KeyValueStores[cf.KeyValueStore]; !ok {
			v.add(at+".key_value_store", "key value store %q is not in key_value_stores", cf.KeyValueStore)
		}
	}
	if d.ViewerMTLS == nil {
		v.add(at, "a connection function runs on the TLS handshakes of viewer_mtls, as on CloudFront: set viewer_mtls")
	}
}
