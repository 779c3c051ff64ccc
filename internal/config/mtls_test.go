package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgefront/edgefront/internal/certtest"
)

func TestViewerMTLSSettings(t *testing.T) {
	const tls = "listen: {https: \":8443\"}\ntls: {certificates: [{cert_file: c.pem, key_file: k.pem}]}\n"
	d := func(m, extra string) string {
		return "distributions: [{name: main, viewer_mtls: " + m + ", origins: {o: {type: http, url: \"http://127.0.0.1:1\"}}, default_behavior: {target_origin: o" + extra + "}}]\n"
	}
	for _, c := range []struct{ yaml, want string }{
		{tls + d("{mode: required, trust_store: {ca_file: c.pem, advertise_ca_names: true}}", ""), ""},
		{tls + d("{mode: passthrough}", ""), ""},
		{tls + d("{mode: strict, trust_store: {ca_file: c.pem}}", ""), `:3: mode "strict" is not required, optional or passthrough`},
		{tls + d("{mode: optional}", ""), `:3: viewer_mtls optional verifies certificates: it needs trust_store.ca_file`},
		{tls + d("{mode: required, trust_store: {ca_file: nope.pem}}", ""), `:3: open`},
		{tls + d("{mode: required, trust_store: {ca_file: c.pem, crl_file: c.pem}}", ""), `:3: `},
		{d("{mode: passthrough}", ""), `:1: viewer_mtls is a TLS setting: it needs listen.https`},
		{tls + d("{mode: passthrough}", ", cache_key: {headers: [CloudFront-Viewer-Cert-Pem]}"), `:3: CloudFront-Viewer-Cert-Pem is for origin requests only`},
		{tls + strings.Replace(d("{mode: required, trust_store: {ca_file: c.pem}}", ""), "viewer_mtls:", "connection_function: c.pem, viewer_mtls:", 1), ""},
		{tls + strings.Replace(d("{mode: required, trust_store: {ca_file: c.pem}}", ""), "viewer_mtls:", "connection_function: {code: c.pem, key_value_store: nope}, viewer_mtls:", 1), `:3: key value store "nope" is not in key_value_stores`},
		{tls + "distributions: [{name: main, connection_function: c.pem, origins: {o: {type: http, url: \"http://127.0.0.1:1\"}}, default_behavior: {target_origin: o}}]\n", `:3: a connection function runs on the TLS handshakes of viewer_mtls`},
	} {
		p := writeWithCert(t, c.yaml)
		loadsAs(t, p, c.yaml, c.want)
	}
}

// writeWithCert is write, with a certificate for localhost beside the
// config as c.pem and its key as k.pem.
func writeWithCert(t *testing.T, text string) string {
	t.Helper()
	p := write(t, text)
	dir := filepath.Dir(p)
	if _, err := certtest.Write(filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem"), "localhost"); err != nil {
		t.Fatal(err)
	}
	return p
}
