package functions

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestConnectionFunctions(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x1000), Subject: pkix.Name{CommonName: "device-7", Organization: []string{"fleet"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	conn := &Connection{ClientIP: "192.0.2.7", ServerName: "api.example.org", TLSVersion: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256", Cert: cert}

	for _, c := range []struct {
		name, code string
		kvs        map[string]string
		conn       *Connection
		allowed    bool
		err        error
		log        string
	}{
		{name: "allow", code: `function connectionHandler(connection) { connection.allow(); }`, conn: conn, allowed: true},
		{name: "what it sees", conn: conn, allowed: true, log: "192.0.2.7 api.example.org TLSv1.3 10:00 CN=device-7,O=fleet",
			code: `function connectionHandler(c) { console.log(c.clientIp, c.serverName, c.tlsVersion, c.clientCertInfo.serialNumber, c.clientCertInfo.subject); c.allow(); }`},
		{name: "revoked in the store", conn: conn, kvs: map[string]string{"10:00": "revoked"}, allowed: false, code: `import cf from 'cloudfront';
async function connectionHandler(connection) {
  const kvs = cf.kvs();
  if (await kvs.exists(connection.clientCertInfo.serialNumber)) { connection.deny(); } else { connection.allow(); }
}`},
		{name: "not in the store", conn: conn, kvs: map[string]string{"ff:ff": "revoked"}, allowed: true, code: `import cf from 'cloudfront';
async function connectionHandler(connection) {
  if (await cf.kvs().exists(connection.clientCertInfo.serialNumber)) { connection.deny(); } else { connection.allow(); }
}`},
		{name: "no certificate", conn: &Connection{ClientIP: "192.0.2.8"}, allowed: false,
			code: `function connectionHandler(c) { if (c.clientCertInfo) { c.allow(); } else { c.deny(); } }`},
		{name: "the first decision counts", code: `function connectionHandler(c) { c.deny(); c.allow(); }`, conn: conn, allowed: false},
		{name: "no decision", code: `function connectionHandler(c) {}`, conn: conn, err: ErrNoDecision},
		{name: "throws", code: `function connectionHandler(c) { throw new Error("broken"); }`, conn: conn, err: errors.New("broken")},
		{name: "runs forever", code: `function connectionHandler(c) { for (;;) {} }`, conn: conn, err: ErrBudget},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := CompileConnection(c.name+".js", c.code)
			if err != nil {
				t.Fatal(err)
			}
			f.KVS = c.kvs
			f.Budget = 20 * time.Millisecond
			start := time.Now()
			allowed, logs, err := f.RunConnection(c.conn)
			if time.Since(start) > time.Second {
				t.Errorf("took %s", time.Since(start))
			}
			switch {
			case c.err != nil && (err == nil || !strings.Contains(err.Error(), c.err.Error())):
				t.Errorf("err %v, want %v", err, c.err)
			case c.err == nil && err != nil:
				t.Errorf("err %v", err)
			case allowed != c.allowed:
				t.Errorf("allowed %v, want %v", allowed, c.allowed)
			case c.log != "" && (len(logs) != 1 || logs[0] != c.log):
				t.Errorf("logs %q, want %q", logs, c.log)
			}
			if c.err != nil && allowed {
				t.Error("a failing function allowed the connection")
			}
		})
	}
	if _, err := CompileConnection("x.js", `function handler(event) { return event.request; }`); err == nil || !strings.Contains(err.Error(), "no connectionHandler(connection) function") {
		t.Errorf("a viewer function as a connection function: %v", err)
	}
}
