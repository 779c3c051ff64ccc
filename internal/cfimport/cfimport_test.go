package cfimport

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/edgefront/edgefront/internal/certtest"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/edge"
	"github.com/edgefront/edgefront/internal/geotest"
	"github.com/edgefront/edgefront/internal/logtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Each input shape converts to its golden config, and the config passes
// validation once the files and variables its comments ask for are there.
func TestGoldenImports(t *testing.T) {
	testdata, _ := filepath.Abs("testdata")
	pub, err := os.ReadFile("../../cmd/edgefront/testdata/public_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range goldenInputs {
		t.Run(name, func(t *testing.T) {
			// Paths in the output are relative to where the import runs,
			// which is where the config lives.
			dir := t.TempDir()
			t.Chdir(dir)
			in, err := os.ReadFile(filepath.Join(testdata, name))
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{FunctionsDir: "functions"}
			base := strings.TrimSuffix(name, filepath.Ext(name))
			if p, err := os.ReadFile(filepath.Join(testdata, base+".policies.json")); err == nil {
				opts.Policies = [][]byte{p}
				// A distribution's JSON names functions by ARN: their code
				// is fetched beside it.
				os.MkdirAll("functions", 0o755)
				os.WriteFile("functions/add-index.js", []byte("function handler(event) { return event.request; }"), 0o644)
			}
			res, err := Convert(in, opts)
			if err != nil {
				t.Fatal(err)
			}
			if name == "cdk-modern.template.json" {
				want, _ := os.ReadFile(filepath.Join(testdata, "cdk", "public_key.pem"))
				if got := res.Files["keys/SignerKey4A557171.pem"]; string(got) != string(want) {
					t.Errorf("the template's public key was written as %q, want its EncodedKey", got)
				}
			}
			for file, code := range res.Files {
				os.MkdirAll(filepath.Dir(file), 0o755)
				os.WriteFile(file, code, 0o644)
			}
			out := res.Config
			golden := filepath.Join(testdata, base+"-"+strings.TrimPrefix(filepath.Ext(name), ".")+".golden.yaml")
			if *update {
				os.WriteFile(golden, out, 0o644)
			}
			want, _ := os.ReadFile(golden)
			if string(out) != string(want) {
				t.Errorf("%s differs from %s (go test -update to rewrite):\n%s", name, golden, out)
			}
			// The placeholders the header names are the ones the config
			// uses; once they are set and the key files the comments ask
			// for are there, it validates.
			named, used := placeholdersOf(out)
			if !slices.Equal(named, used) {
				t.Errorf("the header names %v, the config uses %v", named, used)
			}
			for _, v := range used {
				t.Setenv(v, "k2jcjmdehxqw5f")
			}
			for _, m := range keyFile.FindAllSubmatch(out, -1) {
				if _, err := os.Stat(string(m[1])); err != nil {
					os.MkdirAll(filepath.Dir(string(m[1])), 0o755)
					os.WriteFile(string(m[1]), pub, 0o644)
				}
			}
			if bytes.Contains(out, []byte("cert_file: certs/cert.pem")) {
				os.MkdirAll("certs", 0o755)
				if _, err := certtest.Write("certs/cert.pem", "certs/key.pem", "localhost"); err != nil {
					t.Fatal(err)
				}
			}
			if bytes.Contains(out, []byte("database: GeoLite2-Country.mmdb")) {
				geotest.Countries(t, "GeoLite2-Country.mmdb", map[string]string{"192.0.2.0/24": "GB"})
			}
			cfg, err := config.Parse(filepath.Join(dir, "edgefront.yaml"), out)
			if err != nil {
				t.Fatalf("the imported config does not validate:\n%v", err)
			}
			rt, err := edge.Compile(cfg, edge.Options{Log: logtest.New(t)})
			if err != nil {
				t.Fatalf("the imported config does not compile:\n%v", err)
			}
			rt.Close()
		})
	}
}

var goldenInputs = []string{"seed.json", "cli.json", "bare.json", "template.yaml", "template.json", "custom.yaml", "policy-files.json", "cdk-seed.template.json", "cdk-modern.template.json", "newer.json"}

var (
	envUse  = regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)
	keyFile = regexp.MustCompile(`public_key_file: "?([^",}]+)`)
)

// placeholdersOf returns the ${VAR}s the header comment names and those the
// config's lines use, each sorted.
func placeholdersOf(out []byte) (named, used []string) {
	var header, lines [][]byte
	for _, l := range bytes.Split(out, []byte("\n")) {
		switch {
		case !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")):
			lines = append(lines, l)
		case len(lines) == 0:
			header = append(header, l)
		}
	}
	find := func(b []byte) []string {
		var l []string
		for _, m := range envUse.FindAllSubmatch(b, -1) {
			l = append(l, string(m[1]))
		}
		slices.Sort(l)
		return slices.Compact(l)
	}
	return find(bytes.Join(header, nil)), find(bytes.Join(lines, []byte("\n")))
}

// laughs is a billion laughs: nine levels of ten aliases each.
var laughs = func() string {
	s := "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i <= 9; i++ {
		s += fmt.Sprintf("l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	return s
}()

func TestBadImports(t *testing.T) {
	two := `{"Resources": {"A": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {"Origins": [], "DefaultCacheBehavior": {}}}},
	  "B": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {"Origins": [], "DefaultCacheBehavior": {}}}}}}`
	for _, c := range []struct{ in, resource, want string }{
		{`{"Id": "x"}`, "", "not a CloudFront distribution"},
		{"a: &a [*a]", "", "a YAML alias refers to the node that holds it"},
		{laughs, "", "more than 1048576 values through YAML aliases"},
		{`[1, 2]`, "", "not a CloudFront distribution"},
		{`not: [valid`, "", "neither JSON nor YAML"},
		{`{"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}`, "", "no AWS::CloudFront::Distribution resource"},
		{two, "", "2 distributions (A, B): pick one with --resource NAME"},
		{two, "C", `no distribution "C": it has A, B`},
		{`{"Origins": [{"Id": "o", "DomainName": "o.example"}], "DefaultCacheBehavior": {"TargetOriginId": "o", "CachePolicyId": "11111111-2222"}}`, "", "cache policy 11111111-2222 is neither one of CloudFront's managed cache policies nor a custom policy"},
	} {
		res, err := Convert([]byte(c.in), Options{Resource: c.resource})
		if err == nil || !strings.Contains(err.Error(), c.want) || res != nil {
			t.Errorf("%.40s: %v, want %q", c.in, err, c.want)
		}
	}
	if res, err := Convert([]byte(two), Options{Resource: "B"}); err != nil || !strings.Contains(string(res.Config), "name: b") {
		t.Errorf("--resource B: %v", err)
	}
	for _, p := range []string{`[1]`, `{"CachePolicy": {"CachePolicyConfig": {}}}`} {
		if _, err := Convert([]byte(two), Options{Resource: "B", Policies: [][]byte{[]byte(p)}}); err == nil || !strings.Contains(err.Error(), "policy file 1") {
			t.Errorf("policy file %s: %v", p, err)
		}
	}
}

// Whatever the file holds, the import answers a config or an error, never
// a panic.
func FuzzConvert(f *testing.F) {
	for _, name := range goldenInputs {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := Convert(in, Options{})
		if (res == nil) == (err == nil) {
			t.Fatalf("result %v and error %v", res, err)
		}
	})
}
