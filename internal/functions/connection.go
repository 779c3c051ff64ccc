package functions

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// Connection functions (CloudFront's, runtime 2.0) run once a viewer's
// TLS handshake has checked its client certificate, and decide whether
// the connection is made: connectionHandler(connection) calls
// connection.allow() or connection.deny(). cf.kvs() reads the function's
// key value store, as in CloudFront's revocation example.

// Connection is what a connection function is told of a handshake.
type Connection struct {
	ClientIP   string
	ServerName string // SNI
	TLSVersion string // TLSv1.3
	Cipher     string
	// Cert is the viewer's certificate, nil when it sent none.
	Cert *x509.Certificate
}

// CompileConnection compiles a connection function.
func CompileConnection(name, source string) (*Function, error) {
	return compileFor(name, source, "connectionHandler")
}

// ErrNoDecision is a connection function that called neither allow()
// nor deny(): the connection is refused.
var ErrNoDecision = errors.New("the connection function called neither connection.allow() nor connection.deny()")

// RunConnection runs the function on c. A function that fails, runs past
// its budget or decides nothing denies the connection, and err says why.
func (f *Function) RunConnection(c *Connection) (allowed bool, logs []string, err error) {
	var rt *runtime
	select {
	case rt = <-f.idle:
	default:
		if rt, err = f.newRuntime(); err != nil {
			return false, nil, err
		}
	}
	rt.logs, rt.origin, rt.eventType, rt.logBytes = nil, nil, "connection", 0
	decided := 0 // 1 allow, -1 deny
	obj := connectionObject(rt.vm, c, &decided)
	_, err = f.invoke(rt, obj)
	logs = rt.logs
	rt.logs = nil
	if !errors.Is(err, ErrBudget) {
		f.put(rt)
	}
	switch {
	case err != nil:
		return false, logs, err
	case decided == 0:
		return false, logs, ErrNoDecision
	}
	return decided > 0, logs, nil
}

// connectionObject is the connection as the function sees it; allow()
// and deny() record the decision, the first one counting.
func connectionObject(vm *goja.Runtime, c *Connection, decided *int) *goja.Object {
	o := vm.NewObject()
	o.Set("clientIp", c.ClientIP)
	o.Set("serverName", c.ServerName)
	o.Set("tlsVersion", c.TLSVersion)
	o.Set("cipherSuite", c.Cipher)
	if c.Cert != nil {
		o.Set("clientCertInfo", certInfo(vm, c.Cert))
	} else {
		o.Set("clientCertInfo", goja.Null())
	}
	decide := func(v int) func() {
		return func() {
			if *decided == 0 {
				*decided = v
			}
		}
	}
	o.Set("allow", decide(1))
	o.Set("deny", decide(-1))
	return o
}

// CertInfo is a certificate in the formats CloudFront gives it, in the
// CloudFront-Viewer-Cert-* headers and a connection function's
// clientCertInfo.
type CertInfo struct {
	SerialNumber        string // hexadecimal bytes joined by colons
	Issuer, Subject     string // RFC 2253
	SHA256              string // hex, of the DER
	NotBefore, NotAfter string // RFC 3339, UTC
}

// DescribeCert is c in CloudFront's formats.
func DescribeCert(c *x509.Certificate) CertInfo {
	b := c.SerialNumber.Bytes()
	if len(b) == 0 {
		b = []byte{0}
	}
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = hex.EncodeToString([]byte{x})
	}
	sum := sha256.Sum256(c.Raw)
	return CertInfo{SerialNumber: strings.Join(parts, ":"), Issuer: c.Issuer.String(), Subject: c.Subject.String(),
		SHA256: hex.EncodeToString(sum[:]), NotBefore: c.NotBefore.UTC().Format(time.RFC3339), NotAfter: c.NotAfter.UTC().Format(time.RFC3339)}
}

// certInfo is a certificate as a connection function reads it.
func certInfo(vm *goja.Runtime, c *x509.Certificate) *goja.Object {
	ci := DescribeCert(c)
	o := vm.NewObject()
	o.Set("serialNumber", ci.SerialNumber)
	o.Set("issuer", ci.Issuer)
	o.Set("subject", ci.Subject)
	o.Set("sha256", ci.SHA256)
	validity := vm.NewObject()
	validity.Set("notBefore", ci.NotBefore)
	validity.Set("notAfter", ci.NotAfter)
	o.Set("validity", validity)
	o.Set("pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	return o
}
