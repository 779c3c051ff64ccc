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
