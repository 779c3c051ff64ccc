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

// certInfo is a certificate as a connection function reads it, in the
// formats of the CloudFront-Viewer-Cert-* headers.
func certInfo(vm *goja.Runtime, c *x509.Certificate) *goja.Object {
	o := vm.NewObject()
	b := c.SerialNumber.Bytes()
	parts := make([]string, max(1, len(b)))
	for i := range parts {
		var x byte
		if i < len(b) {
			x = b[i]
		}
		parts[i] = hex.EncodeToString([]byte{x})
	}
	sum := sha256.Sum256(c.Raw)
	o.Set("serialNumber", strings.Join(parts, ":"))
	o.Set("issuer", c.Issuer.String())
	o.Set("subject", c.Subject.String())
	o.Set("sha256", hex.EncodeToString(sum[:]))
	validity := vm.NewObject()
	validity.Set("notBefore", c.NotBefore.UTC().Format(time.RFC3339))
	validity.Set("notAfter", c.NotAfter.UTC().Format(time.RFC3339))
	o.Set("validity", validity)
	o.Set("pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	return o
}
