package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgefront/edgefront/internal/certtest"
)

// opensslCA is a certificate authority made with openssl's ca command,
// as a team running its own would: it issues client certificates,
// revokes them and publishes a CRL.
type opensslCA struct {
	t   *testing.T
	dir string
}

func newOpensslCA(t *testing.T, dir string) *opensslCA {
	t.Helper()
	ca := &opensslCA{t: t, dir: dir}
	os.WriteFile(filepath.Join(dir, "index.txt"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "serial"), []byte("1000\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "crlnumber"), []byte("01\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "ca.cnf"), []byte(`[ca]
default_ca = edge
[edge]
dir = .
database = index.txt
serial = serial
crlnumber = crlnumber
new_certs_dir = .
certificate = ca.pem
private_key = ca.key
default_md = sha256
default_days = 30
default_crl_days = 30
policy = anything
copy_extensions = none
x509_extensions = client
[anything]
commonName = supplied
organizationName = optional
[client]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
`), 0o644)
	ca.run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
		"-days", "30", "-subj", "/O=mTLS test/CN=edgefront test client CA")
	return ca
}

func (ca *opensslCA) run(args ...string) {
	ca.t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = ca.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		ca.t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
}

// issue makes a client key and certificate NAME.key, NAME.pem; dates, when
// given, are openssl ca's -startdate and -enddate.
func (ca *opensslCA) issue(name string, dates ...string) {
	ca.t.Helper()
	ca.run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", name+".key", "-out", name+".csr",
		"-subj", "/O=mTLS test/CN="+name)
	args := []string{"ca", "-batch", "-config", "ca.cnf", "-in", name + ".csr", "-out", name + ".pem", "-notext"}
	if len(dates) == 2 {
		args = append(args, "-startdate", dates[0], "-enddate", dates[1])
	}
	ca.run(args...)
}

// TestViewerMTLSWithCurl runs three distributions by SNI, required,
// optional and passthrough, and one without viewer_mtls, and calls them
// with curl with and without client certificates made by openssl.
func TestViewerMTLSWithCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed: run ./test.sh, which installs it")
	}
	dir := t.TempDir()
	ca := newOpensslCA(t, dir)
	ca.issue("alice")
	ca.issue("mallory")
	ca.issue("old", "20200101000000Z", "20200201000000Z")
	ca.issue("bob")
	ca.run("ca", "-batch", "-config", "ca.cnf", "-revoke", "mallory.pem")
	ca.run("ca", "-batch", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem")
	other := newOpensslCA(t, t.TempDir())
	other.issue("eve")

	names := []string{"required.example", "optional.example", "pass.example", "plain.example", "fn.example", "slow.example"}
	// A connection function that denies what the store lists (alice's
	// serial), and one that never decides in time.
	os.WriteFile(filepath.Join(dir, "revoked.json"), []byte(`{"data": [{"key": "10:00", "value": "lost laptop"}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "conn.js"), []byte(`import cf from 'cloudfront';
async function connectionHandler(connection) {
  if (await cf.kvs().exists(connection.clientCertInfo.serialNumber)) {
    console.log("denied " + connection.clientCertInfo.subject + " from " + connection.clientIp);
    connection.deny();
    return;
  }
  connection.allow();
}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "slow.js"), []byte("function connectionHandler(connection) { for (;;) {} }\n"), 0o644)
	if _, err := certtest.Write(filepath.Join(dir, "edge.pem"), filepath.Join(dir, "edge.key"), names...); err != nil {
		t.Fatal(err)
	}
	ln := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "present=%s subject=%s issuer=%s serial=%s pem=%t validity=%t",
			r.Header.Get("Cloudfront-Viewer-Cert-Present"), r.Header.Get("Cloudfront-Viewer-Cert-Subject"),
			r.Header.Get("Cloudfront-Viewer-Cert-Issuer"), r.Header.Get("Cloudfront-Viewer-Cert-Serial-Number"),
			strings.HasPrefix(r.Header.Get("Cloudfront-Viewer-Cert-Pem"), "-----BEGIN%20CERTIFICATE-----%0A"),
			strings.HasPrefix(r.Header.Get("Cloudfront-Viewer-Cert-Validity"), "NotBefore="))
	})
	httpsAddr := freeAddr(t)
	_, port, _ := net.SplitHostPort(httpsAddr)
	dist := func(name, host, mtls string) string {
		return fmt.Sprintf(`  - name: %s
    aliases: [%s]%s
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior:
      target_origin: o
      max_ttl: 0
      default_ttl: 0
      forward: {headers: [CloudFront-Viewer-Cert-Present, CloudFront-Viewer-Cert-Subject, CloudFront-Viewer-Cert-Issuer,
        CloudFront-Viewer-Cert-Serial-Number, CloudFront-Viewer-Cert-Pem, CloudFront-Viewer-Cert-Validity]}
`, name, host, mtls, ln.Addr())
	}
	cfg := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("listen: {http: %q, https: %q}\ntls: {certificates: [{cert_file: edge.pem, key_file: edge.key}]}\ndistributions:\n", freeAddr(t), httpsAddr)+
		dist("required", names[0], "\n    viewer_mtls: {mode: required, trust_store: {ca_file: ca.pem, crl_file: crl.pem, advertise_ca_names: true}}")+
		dist("optional", names[1], "\n    viewer_mtls: {mode: optional, trust_store: {ca_file: ca.pem, crl_file: crl.pem}}")+
		dist("pass", names[2], "\n    viewer_mtls: {mode: passthrough}")+
		dist("plain", names[3], "")+
		dist("fn", names[4], "\n    viewer_mtls: {mode: required, trust_store: {ca_file: ca.pem}}\n    connection_function: {code: conn.js, key_value_store: revoked}")+
		dist("slow", names[5], "\n    viewer_mtls: {mode: required, trust_store: {ca_file: ca.pem}}\n    connection_function: slow.js")+
		"key_value_stores: {revoked: {file: revoked.json}}\n"), 0o644)
	p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
	defer p.stop(t)

	curl := func(host, client string, clientDir string) (string, error) {
		args := []string{"-sS", "--max-time", "5", "--cacert", filepath.Join(dir, "edge.pem"), "--resolve", host + ":" + port + ":127.0.0.1"}
		if client != "" {
			args = append(args, "--cert", filepath.Join(clientDir, client+".pem"), "--key", filepath.Join(clientDir, client+".key"))
		}
		out, err := exec.Command("curl", append(args, "https://"+host+":"+port+"/")...).CombinedOutput()
		return string(out), err
	}
	for _, c := range []struct {
		host, client, dir string
		ok                bool
		want              string
	}{
		{names[0], "alice", dir, true, "present=1 subject=CN=alice,O=mTLS test issuer=CN=edgefront test client CA,O=mTLS test serial=10:00 pem=true validity=true"},
		{names[0], "", dir, false, ""},
		{names[0], "mallory", dir, false, ""},   // revoked
		{names[0], "old", dir, false, ""},       // expired
		{names[0], "eve", other.dir, false, ""}, // another CA
		{names[1], "", dir, true, "present=0"},  // optional: served without
		{names[1], "alice", dir, true, "present=1 subject=CN=alice"},
		{names[1], "eve", other.dir, false, ""},                        // optional: a bad one is refused
		{names[2], "eve", other.dir, true, "present=1 subject=CN=eve"}, // passthrough: passed on unverified
		{names[2], "", dir, true, "present=0"},
		{names[3], "", dir, true, "present= "},         // no viewer_mtls: no headers
		{names[4], "bob", dir, true, "subject=CN=bob"}, // the function allows
		{names[4], "alice", dir, false, ""},            // the function denies (the store lists her)
		{names[5], "bob", dir, false, ""},              // a function that never decides denies
	} {
		out, err := curl(c.host, c.client, c.dir)
		switch {
		case c.ok && (err != nil || !strings.Contains(out, c.want)):
			t.Errorf("%s with %q: %v %s, want %q", c.host, c.client, err, out, c.want)
		case !c.ok && err == nil:
			t.Errorf("%s with %q was served: %s", c.host, c.client, out)
		}
	}
	// edgefront function test runs a connection function on an event.
	pemBytes, _ := os.ReadFile(filepath.Join(dir, "alice.pem"))
	ev, _ := json.Marshal(map[string]string{"clientIp": "192.0.2.1", "serverName": names[4], "tlsVersion": "TLSv1.3", "clientCertificate": string(pemBytes)})
	os.WriteFile(filepath.Join(dir, "conn-event.json"), ev, 0o644)
	out, err := exec.Command(binary, "function", "test", filepath.Join(dir, "conn.js"), filepath.Join(dir, "conn-event.json"), "--kvs", filepath.Join(dir, "revoked.json")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"connection": "deny"`) || !strings.Contains(string(out), "denied CN=alice,O=mTLS test from 192.0.2.1") {
		t.Errorf("function test on a connection event: %v\n%s", err, out)
	}
	// The CA names are advertised where asked for.
	out, _ = exec.Command("openssl", "s_client", "-connect", httpsAddr, "-servername", names[0], "-CAfile", filepath.Join(dir, "edge.pem")).CombinedOutput()
	if !strings.Contains(string(out), "Acceptable client certificate CA names") || !strings.Contains(string(out), "edgefront test client CA") {
		t.Errorf("advertise_ca_names: the handshake does not name the CA:\n%s", out)
	}
}
