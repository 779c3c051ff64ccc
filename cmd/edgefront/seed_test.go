package main

import (
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/edgefront/edgefront/internal/certtest"
)

// The seed's distribution as CloudFront returns it (get-distribution-config),
// imported with the function CloudFront needs to strip /stac, routes the
// seed's URLs exactly as the hand-written config in the README does: the
// same behavior, methods, origin, path asked of the origin and signature
// rule, by explain for both.
func TestSeedDistributionRoutesAsTheREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	seedJSON, _ := filepath.Abs("../../internal/cfimport/testdata/seed.json")
	pub, err := os.ReadFile("testdata/public_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme[strings.Index(string(readme), "## A config"):])
	start := strings.Index(section, "```yaml\n") + len("```yaml\n")
	block := section[start : start+strings.Index(section[start:], "```")]

	t.Chdir(t.TempDir())
	t.Setenv("ORIGIN_SECRET", "s3cr3t")
	t.Setenv("SIGNERS_KEY_ID", "K2JCJMDEHXQW5F")
	if _, err := certtest.Write("cert.pem", "key.pem", "my-project.example.org"); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll("keys", 0o755)
	os.WriteFile("keys/public_key.pem", pub, 0o644)
	os.WriteFile("keys/signers.pem", pub, 0o644)
	os.WriteFile("readme.yaml", []byte(block), 0o644)
	os.MkdirAll("functions", 0o755)
	os.WriteFile("functions/strip-stac.js", []byte(`function handler(event) {
    var request = event.request;
    request.uri = request.uri.replace(/^\/stac/, '') || '/';
    return request;
}`), 0o644)
	code, imported, errOut := runCmd("import", "cloudfront", seedJSON, "--functions", "functions")
	if code != 0 {
		t.Fatalf("import: %s", errOut)
	}
	os.WriteFile("imported.yaml", []byte(imported), 0o644)
	for _, cfg := range []string{"readme.yaml", "imported.yaml"} {
		if code, out, errOut := runCmd("validate", "-c", cfg); code != 0 {
			t.Fatalf("validate %s: %s%s", cfg, out, errOut)
		}
	}
	for _, req := range [][]string{
		{"https://my-project.example.org/"},
		{"-H", "Accept: text/html", "https://my-project.example.org/docs/3"},
		{"https://my-project.example.org/app.js"},
		{"https://my-project.example.org/api"},
		{"https://my-project.example.org/api/notes/12345?fields=title"},
		{"-X", "DELETE", "https://my-project.example.org/api/notes/12345"},
		{"-X", "POST", "https://my-project.example.org/docs/3"},
		{"https://my-project.example.org/stac/collections?limit=2"},
		{"https://my-project.example.org/storage/reports/2026.csv"},
		{"https://my-project.example.org/thumbnails/cat.png"},
		{"https://my-project.example.org/thumbnails"},
	} {
		var routes [2]string
		for i, cfg := range []string{"readme.yaml", "imported.yaml"} {
			code, out, errOut := runCmd(append([]string{"explain", "-c", cfg}, req...)...)
			if code != 0 {
				t.Fatalf("explain -c %s %v: %s", cfg, req, errOut)
			}
			routes[i] = route(t, out)
		}
		if routes[0] != routes[1] {
			t.Errorf("%v:\nREADME   %s\nimported %s", req, routes[0], routes[1])
		}
	}
}

// The templates aws-cdk-lib synthesizes for the seed's own construct (the
// legacy CloudFrontWebDistribution) and for a modern Distribution import
// to configs that do what CloudFront does with the seed's URLs: signed
// paths stay signed, and origins get only what CloudFront would send them.
func TestImportedCDKTemplates(t *testing.T) {
	testdata, _ := filepath.Abs("../../internal/cfimport/testdata")
	pub, err := os.ReadFile("testdata/public_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	explain := func(cfg string, req ...string) string { t.Helper(); return explainOf(t, cfg, req...) }
	want := func(out string, lines ...string) { t.Helper(); wantLines(t, out, lines...) }

	// The seed's construct: /storage/* had TrustedSigners ["self"].
	code, seed, errOut := runCmd("import", "cloudfront", filepath.Join(testdata, "cdk-seed.template.json"))
	if code != 0 {
		t.Fatalf("import: %s", errOut)
	}
	os.WriteFile("seed.yaml", []byte(seed), 0o644)
	code, out, errOut := runCmd("validate", "-c", "seed.yaml")
	if code != 1 || !strings.Contains(out+errOut, "seed.yaml:15: environment variable TRUSTED_SIGNERS_KEY_PAIR_ID is not set") {
		t.Fatalf("validate before the signer's key pair id is supplied: exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv("TRUSTED_SIGNERS_KEY_PAIR_ID", "APKAEIBAERJR2EXAMPLE")
	t.Setenv("WEBSITE32962D0B_BUCKET", "my-project-website")
	t.Setenv("APILBA87A55CD_DNSNAME", "api-lb-123.us-east-1.elb.amazonaws.com")
	code, out, errOut = runCmd("validate", "-c", "seed.yaml")
	if code != 1 || !strings.Contains(out+errOut, `seed.yaml:15: key group "trusted-signers", key "APKAEIBAERJR2EXAMPLE": keys/trusted-signers.pem does not exist; put the key's public key there`) {
		t.Fatalf("validate before the signer's public key is supplied: exit %d\n%s%s", code, out, errOut)
	}
	os.MkdirAll("keys", 0o755)
	os.WriteFile("keys/trusted-signers.pem", pub, 0o644)
	if code, out, errOut := runCmd("validate", "-c", "seed.yaml"); code != 0 {
		t.Fatalf("validate: %s%s", out, errOut)
	}
	want(explain("seed.yaml", "https://my-project.example.org/storage/a.csv"),
		"signature:    required: a signed URL or signed cookies from key group trusted-signers")
	want(explain("seed.yaml", "https://my-project.example.org/api/notes?q=1"),
		"origin:       origin2, fetching http://api-lb-123.us-east-1.elb.amazonaws.com/api/notes?q=1",
		"forwarded:    headers [Accept, Authorization, Origin, Referer]; cookies none; query strings all; Host the viewer's")
	want(explain("seed.yaml", "https://my-project.example.org/docs/3"),
		"origin:       origin1, fetching",
		"bucket my-project-website",
		"signature:    not required")

	// The modern Distribution: a key group, OAC buckets, CachingOptimized
	// on an HTTP origin with no origin request policy.
	code, modern, errOut := runCmd("import", "cloudfront", filepath.Join(testdata, "cdk-modern.template.json"), "--functions", "functions")
	if code != 0 {
		t.Fatalf("import: %s", errOut)
	}
	os.WriteFile("modern.yaml", []byte(modern), 0o644)
	t.Setenv("SITEE53D7754_BUCKET", "site-bucket.s3.eu-west-1.amazonaws.com") // the domain name form works too
	t.Setenv("STORAGE07F31EBC_BUCKET", "storage-bucket")
	os.MkdirAll("certs", 0o755)
	if _, err := certtest.Write("certs/cert.pem", "certs/key.pem", "localhost"); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCmd("validate", "-c", "modern.yaml"); code != 0 {
		t.Fatalf("validate with no hand edit: %s%s", out, errOut)
	}
	want(explain("modern.yaml", "https://d111111abcdef8.cloudfront.net/api/search?q=1"),
		"origin:       ModernCdnOrigin2B1500483, fetching https://api.example.org/api/search\n",
		"forwarded:    headers none; cookies none; query strings none; Host the origin's own",
		`cache key:    "cdn9963b1ad\x00https://d111111abcdef8.cloudfront.net\x00/api/search"`)
	want(explain("modern.yaml", "https://d111111abcdef8.cloudfront.net/search/x?q=1"),
		"fetching https://api.example.org/search/x?q=1",
		"forwarded:    headers all; cookies all; query strings all; Host the viewer's")
	if out := explain("modern.yaml", "https://d111111abcdef8.cloudfront.net/search/x?q=1"); strings.Contains(out, "Host:") {
		t.Errorf("the cache key names an empty Host field:\n%s", out)
	}
	want(explain("modern.yaml", "https://d111111abcdef8.cloudfront.net/storage/a.csv"),
		"bucket storage-bucket",
		"signature:    required: a signed URL or signed cookies from key group SignersBAE4EAAA")
	want(explain("modern.yaml", "https://d111111abcdef8.cloudfront.net/docs/3"),
		"bucket site-bucket in eu-west-1")
}

// A distribution's JSON as get-distribution-config gives it (every
// {Quantity, Items} wrapper, empty strings for what is unset), with the
// legacy trusted signers on its default behavior: the bucket stays signed,
// and the API behavior's origin gets what CloudFront sends it.
func TestImportedDistributionConfigJSON(t *testing.T) {
	in, _ := filepath.Abs("../../internal/cfimport/testdata/cli.json")
	pub, err := os.ReadFile("testdata/public_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	code, cfg, errOut := runCmd("import", "cloudfront", in)
	if code != 0 {
		t.Fatalf("import: %s", errOut)
	}
	os.WriteFile("edgefront.yaml", []byte(cfg), 0o644)
	t.Setenv("TRUSTED_SIGNERS_KEY_PAIR_ID", "APKAEIBAERJR2EXAMPLE")
	os.MkdirAll("keys", 0o755)
	os.WriteFile("keys/trusted-signers.pem", pub, 0o644)
	if code, out, errOut := runCmd("validate", "-c", "edgefront.yaml"); code != 0 {
		t.Fatalf("validate: %s%s", out, errOut)
	}
	wantLines(t, explainOf(t, "edgefront.yaml", "http://d111111abcdef8.cloudfront.net/reports/a.csv?v=2"),
		"fetching https://awsexamplebucket.s3.us-east-1.amazonaws.com/reports/a.csv\n",
		"signature:    required: a signed URL or signed cookies from key group trusted-signers")
	wantLines(t, explainOf(t, "edgefront.yaml", "http://d111111abcdef8.cloudfront.net/api/items?q=1"),
		"fetching https://api.example.com/api/items\n",
		"forwarded:    headers none; cookies none; query strings none; Host the origin's own",
		"signature:    not required")
}

// explainOf runs explain on a request with a config.
func explainOf(t *testing.T, cfg string, req ...string) string {
	t.Helper()
	code, out, errOut := runCmd(append([]string{"explain", "-c", cfg}, req...)...)
	if code != 0 {
		t.Fatalf("explain %v: %s", req, errOut)
	}
	return out
}

// wantLines fails unless out holds each of lines.
func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("explain says\n%s\nwant a line with %q", out, l)
		}
	}
}

// route is what explain says of routing: the behavior, whether the method
// is allowed, the origin and the path asked of it, and the signature rule.
func route(t *testing.T, explain string) string {
	var parts []string
	for _, line := range strings.Split(explain, "\n") {
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch {
		case strings.Contains(line, " matches "):
			parts = append(parts, "behavior "+strings.Fields(line)[1])
		case strings.Contains(line, "default_behavior     takes"):
			parts = append(parts, "default behavior")
		case field == "methods":
			methods := strings.Split(strings.Trim(value[strings.Index(value, "("):], "()"), ", ")
			sort.Strings(methods)
			parts = append(parts, "methods "+strings.Fields(value)[0]+" of "+strings.Join(methods, ","))
		case field == "answer":
			parts = append(parts, "answer "+value)
		case field == "origin":
			name, rest, _ := strings.Cut(value, ", fetching ")
			u, err := url.Parse(strings.Fields(rest)[0])
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, "origin "+name+" asked for "+u.RequestURI())
		case field == "signature":
			parts = append(parts, "signature "+strings.TrimSuffix(strings.Fields(value)[0], ":"))
		}
	}
	return strings.Join(parts, "; ")
}
