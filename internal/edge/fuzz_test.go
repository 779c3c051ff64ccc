package edge

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/logtest"
)

// FuzzServeHTTP sends whatever parses as an HTTP request through a
// distribution with a dir origin, signatures, strip_prefix and error pages:
// nothing a viewer sends may panic the edge or reach outside the root.
func FuzzServeHTTP(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /static/../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /private/a.txt?Expires=1&Signature=AAAA&Key-Pair-Id=K HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /private/a.txt?Policy=eyJTdGF0ZW1lbnQiOltdfQ__&Signature=~~&Key-Pair-Id=K HTTP/1.1\r\nHost: x\r\nCookie: CloudFront-Policy=x; CloudFront-Signature=y\r\n\r\n",
		"HEAD /static/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n",
		"POST /docs/3 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	os.MkdirAll(filepath.Join(dir, "site"), 0o755)
	os.WriteFile(filepath.Join(dir, "site", "index.html"), []byte("app"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("secret"), 0o644)
	os.WriteFile(filepath.Join(dir, "pub.pem"), []byte(testPublicKeyPEM), 0o644)
	cfg, err := config.Parse(filepath.Join(dir, "edgefront.yaml"), []byte(`
key_groups: {signers: [{id: K, public_key_file: pub.pem}]}
distributions:
  - name: main
    default_root_object: index.html
    origins: {site: {type: dir, root: ./site}}
    behaviors:
      - {path_pattern: "/private/*", target_origin: site, trusted_key_groups: [signers]}
      - {path_pattern: "/static/*", target_origin: site, strip_prefix: /static}
    default_behavior:
      target_origin: site
      error_responses: [{error_code: 404, when_accept: text/html, response_page_path: /index.html, response_code: 200}]
`))
	if err != nil {
		f.Fatal(err)
	}
	rt, err := Compile(cfg, Options{Log: logtest.Discard()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		req.RemoteAddr = "192.0.2.1:1234"
		req.RequestURI = req.URL.RequestURI()
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, req)
		if w.Code < 100 || w.Code > 599 {
			t.Fatalf("status %d", w.Code)
		}
		if bytes.Contains(w.Body.Bytes(), []byte("secret")) {
			t.Fatalf("a file outside the root was served for %q", raw)
		}
	})
}

// testPublicKeyPEM is an RSA public key nobody holds the private half of.
const testPublicKeyPEM = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo
4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u
+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh
kd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ
0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdg
cKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbc
mwIDAQAB
-----END PUBLIC KEY-----
`
