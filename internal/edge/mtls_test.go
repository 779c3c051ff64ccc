package edge

import (
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/certtest"
)

// TestViewerCertificateVerification checks a chain against the trust
// store, with and without ignore_certificate_expiry.
func TestViewerCertificateVerification(t *testing.T) {
	authority, err := certtest.NewCA("test CA", time.Now().AddDate(-5, 0, 0), time.Now().AddDate(5, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	ca, caKey := authority.Cert, authority.Key
	client := func(serial int64, notBefore, notAfter time.Time) []byte {
		der, _, err := authority.Client(serial, "c", notBefore, notAfter)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	current := client(2, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	expired := client(3, time.Now().AddDate(-2, 0, 0), time.Now().AddDate(-1, 0, 0))
	crlDER, _ := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(3), RevocationTime: time.Now()}}}, ca, caKey)
	crl, _ := x509.ParseRevocationList(crlDER)

	strict := &viewerMTLS{mode: "required", roots: roots}
	lenient := &viewerMTLS{mode: "required", roots: roots, ignoreExpiry: true}
	revoking := &viewerMTLS{mode: "required", roots: roots, ignoreExpiry: true, crls: []*x509.RevocationList{crl}}
	for _, c := range []struct {
		m    *viewerMTLS
		cert []byte
		want string // "" for accepted
	}{
		{strict, current, ""},
		{strict, expired, "expired"},
		{lenient, expired, ""},
		{revoking, expired, "revoked"},
		{revoking, current, ""},
		{strict, nil, "required"},
		{&viewerMTLS{mode: "optional", roots: roots}, nil, ""},
	} {
		var raw [][]byte
		if c.cert != nil {
			raw = [][]byte{c.cert}
		}
		err := c.m.verify(raw, nil)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.m.mode, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s ignore_expiry=%v crls=%d: %v, want %q", c.m.mode, c.m.ignoreExpiry, len(c.m.crls), err, c.want)
		}
	}
}
