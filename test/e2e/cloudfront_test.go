package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCloudFrontDistributionAsItIs imports a distribution as CloudFront's
// JSON with its CloudFront Function's code beside it, and runs it with the built
// binary: the origin group fails over, the function rewrites URIs, the
// managed response headers policy answers CORS.
func TestCloudFrontDistributionAsItIs(t *testing.T) {
	dir := t.TempDir()
	secondary := serveOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "secondary %s", r.URL.Path)
	})
	_, port, _ := strings.Cut(secondary.Addr().String(), ":")
	dist := fmt.Sprintf(`{"ETag": "E1", "DistributionConfig": {
  "Origins": {"Quantity": 2, "Items": [
    {"Id": "primary", "DomainName": "127.0.0.1", "CustomOriginConfig": {"HTTPPort": 1, "OriginProtocolPolicy": "http-only"}},
    {"Id": "secondary", "DomainName": "127.0.0.1", "CustomOriginConfig": {"HTTPPort": %s, "OriginProtocolPolicy": "http-only"}}]},
  "OriginGroups": {"Quantity": 1, "Items": [{"Id": "site", "FailoverCriteria": {"StatusCodes": {"Quantity": 2, "Items": [502, 503]}},
    "Members": {"Quantity": 2, "Items": [{"OriginId": "primary"}, {"OriginId": "secondary"}]}}]},
  "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "allow-all",
    "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "ResponseHeadersPolicyId": "60669652-455b-4ae9-85a4-c4c02393f86c",
    "FunctionAssociations": {"Quantity": 1, "Items": [{"EventType": "viewer-request", "FunctionARN": "arn:aws:cloudfront::1:function/index"}]}},
  "PriceClass": "PriceClass_100", "Enabled": true}}`, port)
	os.WriteFile(filepath.Join(dir, "dist.json"), []byte(dist), 0o644)
	out, err := exec.Command(binary, "import", "cloudfront", filepath.Join(dir, "dist.json")).Output()
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if !strings.Contains(string(out), "not carried over: CloudFront Function index on viewer-request; import with --functions DIR") ||
		!strings.Contains(string(out), "not carried over: PriceClass") {
		t.Errorf("the import does not say what it left:\n%s", out)
	}
	// The function's code fetched beside the config, as the comment says
	// (aws cloudfront get-function): AWS's example that adds index.html.
	os.MkdirAll(filepath.Join(dir, "functions"), 0o755)
	example, err := os.ReadFile("../../internal/functions/testdata/add-index.js")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "functions", "index.js"), example, 0o644)
	imp := exec.Command(binary, "import", "cloudfront", "dist.json", "--functions", "functions")
	imp.Dir = dir
	if out, err = imp.Output(); err != nil || !strings.Contains(string(out), "functions: {viewer_request: functions/index.js}") {
		t.Fatalf("import --functions: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cfg := strings.Replace(string(out), `http: ":8080"`, fmt.Sprintf("http: %q", addr), 1)
	os.WriteFile(filepath.Join(dir, "edgefront.yaml"), []byte(cfg), 0o644)
	if out, err := exec.Command(binary, "validate", "-c", filepath.Join(dir, "edgefront.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("validate: %v\n%s\n%s", err, out, cfg)
	}
	p := startBinary(t, "edgefront serving", "serve", "-c", filepath.Join(dir, "edgefront.yaml"))
	defer p.stop(t)
	req, _ := http.NewRequest("GET", "http://"+addr+"/docs/", nil)
	req.Header.Set("Origin", "https://app.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 100)
	n, _ := resp.Body.Read(body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body[:n]) != "secondary /docs/index.html" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("through the imported distribution: %d %q %v", resp.StatusCode, body[:n], resp.Header)
	}
	// The function runs on its own too, as aws cloudfront test-function.
	os.WriteFile(filepath.Join(dir, "event.json"), []byte(`{"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "192.0.2.1"},
  "request": {"method": "GET", "uri": "/docs", "querystring": {}, "headers": {}, "cookies": {}}}`), 0o644)
	ft, err := exec.Command(binary, "function", "test", filepath.Join(dir, "functions", "index.js"), filepath.Join(dir, "event.json")).Output()
	if err != nil || !strings.Contains(string(ft), `"uri": "/docs/index.html"`) {
		t.Errorf("function test: %v\n%s", err, ft)
	}
}
