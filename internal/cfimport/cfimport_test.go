package cfimport

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgefront/edgefront/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Each input shape converts to its golden config, and the config passes
// validation once the files and variables its comments ask for are there.
func TestGoldenImports(t *testing.T) {
	t.Setenv("SITEBUCKET_REGIONALDOMAINNAME", "site-bucket")
	t.Setenv("APIDOMAIN", "api.example.org")
	for _, name := range []string{"seed.json", "bare.json", "template.yaml", "template.json"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			out, err := Convert(in, "")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", strings.TrimSuffix(name, filepath.Ext(name))+"-"+strings.TrimPrefix(filepath.Ext(name), ".")+".golden.yaml")
			if *update {
				os.WriteFile(golden, out, 0o644)
			}
			want, _ := os.ReadFile(golden)
			if string(out) != string(want) {
				t.Errorf("%s differs from %s (go test -update to rewrite):\n%s", name, golden, out)
			}
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "keys"), 0o755)
			pub, _ := os.ReadFile("../../cmd/edgefront/testdata/public_key.pem")
			os.WriteFile(filepath.Join(dir, "keys", "signers.pem"), pub, 0o644)
			if _, err := config.Parse(filepath.Join(dir, "edgefront.yaml"), out); err != nil {
				t.Errorf("the imported config does not validate:\n%v", err)
			}
		})
	}
}

func TestBadImports(t *testing.T) {
	two := `{"Resources": {"A": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {"Origins": [], "DefaultCacheBehavior": {}}}},
	  "B": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {"Origins": [], "DefaultCacheBehavior": {}}}}}}`
	for _, c := range []struct{ in, resource, want string }{
		{`{"Id": "x"}`, "", "not a CloudFront distribution"},
		{`[1, 2]`, "", "not a CloudFront distribution"},
		{`not: [valid`, "", "neither JSON nor YAML"},
		{`{"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}`, "", "no AWS::CloudFront::Distribution resource"},
		{two, "", "2 distributions (A, B): pick one with --resource NAME"},
		{two, "C", `no distribution "C": it has A, B`},
		{`{"Origins": [{"Id": "o", "DomainName": "o.example"}], "DefaultCacheBehavior": {"TargetOriginId": "o", "CachePolicyId": "11111111-2222"}}`, "", "cache policy 11111111-2222 is not one of CloudFront's managed cache policies"},
	} {
		out, err := Convert([]byte(c.in), c.resource)
		if err == nil || !strings.Contains(err.Error(), c.want) || out != nil {
			t.Errorf("%.40s: %v (%d bytes out), want %q", c.in, err, len(out), c.want)
		}
	}
	if out, err := Convert([]byte(two), "B"); err != nil || !strings.Contains(string(out), "name: b") {
		t.Errorf("--resource B: %v", err)
	}
}
