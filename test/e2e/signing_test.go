package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signingEdge runs `edgefront serve` with /storage/* requiring signatures
// from the key pair that makeKeys writes to dir as private_key.pem and
// public_key.pem (by default `edgefront keygen`).
func signingEdge(t *testing.T, makeKeys ...func(dir string)) (base, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	if len(makeKeys) == 0 {
		if out, err := exec.Command(binary, "keygen", "--out", dir).CombinedOutput(); err != nil {
			t.Fatalf("keygen: %v %s", err, out)
		}
	}
	for _, mk := range makeKeys {
		mk(dir)
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "object %s?%s", r.URL.Path, r.URL.RawQuery)
	}))
	t.Cleanup(origin.Close)
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q}
key_groups:
  signers: [{id: K2JCJMDEHXQW5F, public_key_file: public_key.pem}]
distributions:
  - name: main
    origins: {storage: {type: http, url: %q}}
    behaviors:
      - {path_pattern: "/storage/*", target_origin: storage, trusted_key_groups: [signers]}
    default_behavior: {target_origin: storage}
`, addr, origin.URL)), 0o644)
	p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
	t.Cleanup(func() { p.stop(t) })
	return "http://" + addr, filepath.Join(dir, "private_key.pem")
}

func TestSignCommandMakesURLsAndCookiesTheEdgeAccepts(t *testing.T) {
	base, keyFile := signingEdge(t)
	out, err := exec.Command(binary, "sign", "--url", base+"/storage/a.csv?x=1", "--key-pair-id", "K2JCJMDEHXQW5F",
		"--private-key", keyFile, "--expires", "1h").Output()
	if err != nil {
		t.Fatal(err)
	}
	signed := strings.TrimSpace(string(out))
	if resp, body := fetch(t, signed, ""); resp.StatusCode != 200 || body != "object /storage/a.csv?x=1" {
		t.Errorf("canned URL from sign: %d %q", resp.StatusCode, body)
	}
	cookie := signCookies(t, base+"/storage/*", keyFile, "--ip", "127.0.0.0/8")
	if status := getWithCookie(t, base+"/storage/b.csv", cookie); status != 200 {
		t.Errorf("cookies from sign: %d", status)
	}
	if resp, _ := fetch(t, base+"/storage/b.csv", ""); resp.StatusCode != 403 {
		t.Errorf("unsigned: %d", resp.StatusCode)
	}
}

// Keys as CloudFront's documentation has users make them with OpenSSL 3
// (PKCS#8 private key, PKIX public key) sign and verify; a key of the wrong
// kind is refused by `sign` in one sentence.
func TestSignWithKeysMadeByOpenSSL(t *testing.T) {
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	var keyDir string
	base, keyFile := signingEdge(t, func(dir string) {
		keyDir = dir
		run(dir, "genrsa", "-out", "private_key.pem", "2048")
		run(dir, "rsa", "-pubout", "-in", "private_key.pem", "-out", "public_key.pem")
	})
	if head, _ := os.ReadFile(keyFile); !strings.HasPrefix(string(head), "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("openssl genrsa wrote %.40q, want PKCS#8", head)
	}
	out, err := exec.Command(binary, "sign", "--url", base+"/storage/o.csv", "--key-pair-id", "K2JCJMDEHXQW5F",
		"--private-key", keyFile, "--expires", "1h").CombinedOutput()
	if err != nil {
		t.Fatalf("sign with a PKCS#8 key: %v\n%s", err, out)
	}
	if resp, body := fetch(t, strings.TrimSpace(string(out)), ""); resp.StatusCode != 200 || body != "object /storage/o.csv?" {
		t.Errorf("URL signed with openssl's key: %d %q", resp.StatusCode, body)
	}

	run(keyDir, "ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "ec384.pem")
	cmd := exec.Command(binary, "sign", "--url", base+"/storage/o.csv", "--key-pair-id", "K2JCJMDEHXQW5F",
		"--private-key", filepath.Join(keyDir, "ec384.pem"), "--expires", "1h")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 || err == nil {
		t.Errorf("sign with a P-384 key: exit %d, want 1", code)
	}
	if msg := stderr.String(); strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "ec384.pem holds an ECDSA key on P-384; CloudFront takes P-256") {
		t.Errorf("sign with a P-384 key said %q, want one sentence naming the file and the kind of key", msg)
	}
}

// ECDSA P-256 keys, as CloudFront takes them and openssl makes them
// (ecparam -genkey, and genpkey -algorithm EC), sign URLs and cookies with
// `edgefront sign` and with AWS's JavaScript signer that the edge accepts.
func TestSignWithECDSAKeysMadeByOpenSSL(t *testing.T) {
	for _, gen := range [][]string{
		{"ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "private_key.pem"},
		{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "private_key.pem"},
	} {
		t.Run(gen[0], func(t *testing.T) {
			base, keyFile := signingEdge(t, func(dir string) {
				for _, args := range [][]string{gen, {"ec", "-in", "private_key.pem", "-pubout", "-out", "public_key.pem"}} {
					cmd := exec.Command("openssl", args...)
					cmd.Dir = dir
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("openssl %v: %v\n%s", args, err, out)
					}
				}
			})
			out, err := exec.Command(binary, "sign", "--url", base+"/storage/ec.csv", "--key-pair-id", "K2JCJMDEHXQW5F",
				"--private-key", keyFile, "--expires", "1h").CombinedOutput()
			if err != nil {
				t.Fatalf("sign with an ECDSA key: %v\n%s", err, out)
			}
			signed := strings.TrimSpace(string(out))
			if resp, body := fetch(t, signed, ""); resp.StatusCode != 200 || body != "object /storage/ec.csv?" {
				t.Errorf("URL signed with an ECDSA key: %d %q", resp.StatusCode, body)
			}
			if resp, _ := fetch(t, strings.Replace(signed, "ec.csv", "other.csv", 1), ""); resp.StatusCode != 403 {
				t.Errorf("tampered ECDSA-signed URL: %d", resp.StatusCode)
			}
			cookie := signCookies(t, base+"/storage/*", keyFile)
			if status := getWithCookie(t, base+"/storage/c.csv", cookie); status != 200 {
				t.Errorf("cookies signed with an ECDSA key: %d (%s)", status, cookie)
			}
			exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
			if resp, body := fetch(t, jsSign(t, "url", base+"/storage/js.csv", "K2JCJMDEHXQW5F", keyFile, exp), ""); resp.StatusCode != 200 || body != "object /storage/js.csv?" {
				t.Errorf("ECDSA URL from the JavaScript signer: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// signCookies runs `edgefront sign --cookies` for an hour and returns the
// Cookie header it prints.
func signCookies(t *testing.T, resource, keyFile string, extra ...string) string {
	t.Helper()
	args := append([]string{"sign", "--url", resource, "--key-pair-id", "K2JCJMDEHXQW5F", "--private-key", keyFile, "--expires", "1h", "--cookies"}, extra...)
	out, err := exec.Command(binary, args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "Cookie: "); ok {
			return v
		}
	}
	t.Fatalf("sign --cookies printed no Cookie line:\n%s", out)
	return ""
}

// jsSign runs AWS's JavaScript signer (test/e2e/jssigner/sign.mjs).
func jsSign(t *testing.T, args ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: run ./test.sh, which installs Node.js for AWS's JavaScript signer")
	}
	if _, err := os.Stat("jssigner/node_modules/@aws-sdk/cloudfront-signer"); err != nil {
		t.Fatal("AWS's JavaScript signer is not installed: run ./test.sh, which installs it")
	}
	out, err := exec.Command(node, append([]string{"jssigner/sign.mjs"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("node sign.mjs %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// AWS's JavaScript signer (@aws-sdk/cloudfront-signer from npm, run with
// the machine's node) must make URLs and cookies the edge accepts.
// ./test.sh installs it; without it this test fails and names that command.
func TestAWSJavaScriptSignerIsAccepted(t *testing.T) {
	base, keyFile := signingEdge(t)
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	js := func(args ...string) string { t.Helper(); return jsSign(t, args...) }
	for _, c := range []struct{ name, url string }{
		{"canned URL", js("url", base+"/storage/js.csv?v=2", "K2JCJMDEHXQW5F", keyFile, exp)},
		{"custom-policy URL", js("custom-url", base+"/storage/js2.csv", "K2JCJMDEHXQW5F", keyFile, exp, base+"/storage/*")},
	} {
		if resp, body := fetch(t, c.url, ""); resp.StatusCode != 200 || !strings.HasPrefix(body, "object /storage/js") {
			t.Errorf("%s from the JavaScript signer: %d %q\n%s", c.name, resp.StatusCode, body, c.url)
		}
	}
	cookie := js("cookies", base+"/storage/", "K2JCJMDEHXQW5F", keyFile, exp, base+"/storage/*")
	if status := getWithCookie(t, base+"/storage/js3.csv", cookie); status != 200 {
		t.Errorf("cookies from the JavaScript signer: %d (%s)", status, cookie)
	}
	// A URL the JavaScript signer signed, tampered with, is refused.
	bad := js("url", base+"/storage/js.csv", "K2JCJMDEHXQW5F", keyFile, exp)
	if resp, _ := fetch(t, strings.Replace(bad, "js.csv", "other.csv", 1), ""); resp.StatusCode != 403 {
		t.Errorf("tampered JavaScript-signed URL: %d", resp.StatusCode)
	}
}

// getWithCookie GETs url with a Cookie header and returns the status.
func getWithCookie(t *testing.T, url, cookie string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
