package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExplainGolden(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"api", []string{"-H", "Host: my-project.example.org", "http://my-project.example.org/api/notes/3?x=1"}},
		{"stac", []string{"https://my-project.example.org/stac/collections?limit=2&token=x"}},
		{"spa-deep-link", []string{"-H", "Accept: text/html", "http://my-project.example.org/docs/3"}},
		{"root-object", []string{"http://my-project.example.org/"}},
		{"method-refused", []string{"-X", "POST", "http://my-project.example.org/docs/3"}},
		{"other-host", []string{"http://unknown.example.com/a/b"}},
		{"bad-path", []string{"http://my-project.example.org/a/../../etc/passwd"}},
		{"s3-private", []string{"http://my-project.example.org/storage/a b/report.csv?x=1"}},
		{"s3-website", []string{"http://my-project.example.org/site/docs/"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"explain", "-c", "testdata/seed.yaml"}, c.args...)
			code, out, errOut := runCmd(args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden := filepath.Join("testdata", "explain", c.name+".golden")
			if *update {
				os.WriteFile(golden, []byte(out), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("explain %s:\n--- got\n%s--- want\n%s", c.name, out, want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	// No AWS credentials anywhere: the private bucket's origin is valid,
	// with a warning in one sentence.
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "none"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "none"))
	cfg := filepath.Join(home, "edgefront.yaml")
	os.WriteFile(cfg, []byte(`distributions:
  - name: main
    origins: {storage: {type: s3, bucket: private-data, endpoint: "http://127.0.0.1:1"}}
    default_behavior: {target_origin: storage}
`), 0o644)
	code, out, errOut := runCmd("validate", "-c", cfg)
	if code != 0 || !strings.Contains(out, "valid") || !strings.HasPrefix(errOut, cfg+": warning: origin \"storage\": no AWS credentials for bucket \"private-data\"") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("validate without AWS credentials: exit %d, %q, said %q; want valid with one warning", code, out, errOut)
	}
	code, out, _ = runCmd("validate", "-c", "testdata/seed.yaml")
	if code != 0 || !strings.Contains(out, "valid") {
		t.Errorf("valid config: exit %d, %q", code, out)
	}
	code, _, errOut = runCmd("validate", "-c", "../../internal/config/testdata/bad.yaml")
	if code != 1 {
		t.Errorf("bad config: exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) < 10 {
		t.Errorf("want every problem, got %d lines:\n%s", len(lines), errOut)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "../../internal/config/testdata/bad.yaml:") {
			t.Errorf("not FILE:LINE: message: %q", l)
		}
	}
	code, _, errOut = runCmd("validate", "-c", "testdata/missing.yaml")
	if code != 1 || !strings.Contains(errOut, "cannot read config") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("missing file: exit %d, %q", code, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"nope"}, {"validate", "--bogus"}, {"explain"}, {"explain", "-c", "testdata/seed.yaml", "ftp://x/"}} {
		code, _, errOut := runCmd(args...)
		if code != 2 || !strings.HasPrefix(errOut, "edgefront: ") {
			t.Errorf("%v: exit %d, %q; want 2 and one sentence", args, code, errOut)
		}
	}
	code, out, _ := runCmd("version")
	if code != 0 || !strings.HasPrefix(out, "edgefront ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestImportCloudFront(t *testing.T) {
	code, out, errOut := runCmd("import", "cloudfront", "../../internal/cfimport/testdata/seed.json")
	if code != 0 || !strings.Contains(out, "name: main") || !strings.Contains(out, "response_headers: {policy: SimpleCORS}") || errOut != "" {
		t.Errorf("import: exit %d, stderr %q\n%s", code, errOut, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"Id": "not a distribution"}`), 0o644)
	code, out, errOut = runCmd("import", "cloudfront", bad)
	if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "not a CloudFront distribution") {
		t.Errorf("bad import: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, _ := runCmd("import", "cloudfront"); code != 2 {
		t.Errorf("import without a file: exit %d", code)
	}
}

func TestFunctionTest(t *testing.T) {
	dir := t.TempDir()
	fn, ev, kvs := filepath.Join(dir, "f.js"), filepath.Join(dir, "event.json"), filepath.Join(dir, "kvs.json")
	os.WriteFile(fn, []byte(`import cf from 'cloudfront';
async function handler(event) {
    console.log('asked for ' + event.request.uri);
    const to = await cf.kvs().get(event.request.uri);
    return {statusCode: 302, statusDescription: 'Found', headers: {location: {value: to}}};
}`), 0o644)
	os.WriteFile(ev, []byte(`{"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "192.0.2.1"},
  "request": {"method": "GET", "uri": "/old", "querystring": {}, "headers": {}, "cookies": {}}}`), 0o644)
	os.WriteFile(kvs, []byte(`{"data": [{"key": "/old", "value": "/new"}]}`), 0o644)
	code, out, errOut := runCmd("function", "test", fn, ev, "--kvs", kvs)
	var got map[string]map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got["response"]["statusCode"] != 302.0 ||
		!strings.Contains(errOut, "asked for /old") || !strings.Contains(errOut, "function ran in") {
		t.Errorf("function test: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	os.WriteFile(fn, []byte("function handler(event) {\n  return event.request\n  }}\n"), 0o644)
	if code, _, errOut := runCmd("function", "test", fn, ev); code != 1 || !strings.Contains(errOut, "f.js: Line 3") {
		t.Errorf("a syntax error: exit %d, %q", code, errOut)
	}
}

// A template's inline function code is written beside the config, never
// over a file that holds something else.
func TestImportWritesFunctions(t *testing.T) {
	tpl, _ := filepath.Abs("../../internal/cfimport/testdata/custom.yaml")
	t.Chdir(t.TempDir())
	code, out, errOut := runCmd("import", "cloudfront", tpl, "--functions", "fns")
	src, err := os.ReadFile("fns/add-index.js")
	if code != 0 || err != nil || !strings.Contains(string(src), "function handler(event)") || !strings.Contains(out, "viewer_request: fns/add-index.js") {
		t.Fatalf("import: exit %d, %v, stderr %q\n%s", code, err, errOut, out)
	}
	os.WriteFile("fns/add-index.js", []byte("// mine"), 0o644)
	code, out, errOut = runCmd("import", "cloudfront", tpl, "--functions", "fns")
	if mine, _ := os.ReadFile("fns/add-index.js"); code != 1 || out != "" || string(mine) != "// mine" || !strings.Contains(errOut, "exists with other content") {
		t.Errorf("over another file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	for _, c := range []struct {
		bi           debug.BuildInfo
		wantV, wantC string
	}{
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "c6460de8896adbc2b9979f361594958496622c10"}, {Key: "vcs.modified", Value: "false"}}},
			"dev", "c6460de8896adbc2b9979f361594958496622c10"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "c6460de8"}, {Key: "vcs.modified", Value: "true"}}},
			"dev", "c6460de8-dirty"},
		{debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201202027-c6460de8896a"}}, "v0.0.0-20261201202027-c6460de8896a", "c6460de8896a"},
		{debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3", "unknown (built without VCS information, as with GOFLAGS=-buildvcs=false)"},
	} {
		if v, c2 := fromBuildInfo(&c.bi, "dev", ""); v != c.wantV || c2 != c.wantC {
			t.Errorf("%+v: %q %q, want %q %q", c.bi.Main, v, c2, c.wantV, c.wantC)
		}
	}
}

// demo on an address another program holds says so, and how to pick
// another.
func TestDemoOnABusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, errOut := runCmd("demo", "--http", ln.Addr().String())
	if code != 1 || !strings.Contains(errOut, ln.Addr().String()+" is in use by another program") || !strings.Contains(errOut, "edgefront demo --http") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("demo on a busy port: exit %d, %q", code, errOut)
	}
}
