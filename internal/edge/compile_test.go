package edge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/functions"
	"github.com/edgefront/edgefront/internal/logtest"
)

// What only compiling finds (patterns, functions, keys, key value stores,
// GeoIP databases) is reported once, by Compile, every problem at once
// and each at the FILE:LINE of its setting, as config.Parse reports its own.
func TestCompileProblems(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"syntax.js":  "function handler(event) {\n  return event.request\n}}",
		"imports.js": "import fs from 'fs';\nfunction handler(e) {}",
		"ok.js":      "function handler(event) { return event.request; }",
		"kv.json":    "[1,2]",
		"cert.pem":   "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		"not.mmdb":   "not a database",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	file := filepath.Join(dir, "edgefront.yaml")
	cfg, err := config.Parse(file, []byte(`geoip: {database: missing.mmdb, asn_database: not.mmdb}
key_groups:
  signers: [{id: K1, public_key_file: none.pem}, {id: K2, public_key_file: cert.pem}]
key_value_stores: {kv: {file: kv.json}}
distributions:
  - name: main
    origins: {o: {type: http, url: "http://127.0.0.1:1"}}
    behaviors:
      - {path_pattern: "/api*", target_origin: o}
      - {path_pattern: "/api/v2/*", target_origin: o}
      - {path_pattern: "/a b", target_origin: o}
      - {path_pattern: "/s/*", target_origin: o, functions: {viewer_request: syntax.js}}
      - {path_pattern: "/i/*", target_origin: o, functions: {viewer_request: ok.js, viewer_response: imports.js}}
      - {path_pattern: "/m/*", target_origin: o, functions: {viewer_request: missing.js}, trusted_key_groups: [signers]}
    default_behavior: {target_origin: o, functions: {viewer_request: ok.js, key_value_store: kv}}
`))
	if err != nil {
		t.Fatalf("config.Parse finds nothing wrong here, it said: %v", err)
	}
	rt, err := Compile(cfg, Options{Log: logtest.New(t)})
	if err == nil {
		rt.Close()
		t.Fatal("compiled")
	}
	var probs config.Problems
	if !errors.As(err, &probs) {
		t.Fatalf("%T, want config.Problems", err)
	}
	got := err.Error()
	for _, want := range []string{
		file + `:1: open ` + filepath.Join(dir, "missing.mmdb") + `: no such file`,
		file + `:1: ` + filepath.Join(dir, "not.mmdb") + ` is not a MaxMind database`,
		file + `:3: key group "signers", key "K1": ` + filepath.Join(dir, "none.pem") + ` does not exist; put the key's public key there`,
		file + `:3: key group "signers", key "K2": ` + filepath.Join(dir, "cert.pem") + ` holds a certificate, not a key`,
		file + `:4: ` + filepath.Join(dir, "kv.json") + ` is not a key value store`,
		file + `:10: behavior "/api/v2/*" can never match: "/api*" at line 9 comes first`,
		file + `:11: path pattern "/a b": character ' ' is not allowed`,
		file + `:12: function ` + filepath.Join(dir, "syntax.js") + `: SyntaxError: ` + filepath.Join(dir, "syntax.js") + `: Line 3`,
		file + `:13: ` + filepath.Join(dir, "imports.js") + `:1: imports fs`,
		file + `:14: open ` + filepath.Join(dir, "missing.js") + `: no such file`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Go value") || strings.Contains(got, "struct {") {
		t.Errorf("a message names a Go type:\n%s", got)
	}
	for i := 1; i < len(probs); i++ {
		if probs[i].Line < probs[i-1].Line {
			t.Errorf("problems out of line order:\n%s", got)
		}
	}
}

// The edge's default function time is the runtime's.
func TestDefaultFunctionTime(t *testing.T) {
	if config.DefaultFunctionTime != functions.Budget {
		t.Errorf("config says %v, the runtime %v", config.DefaultFunctionTime, functions.Budget)
	}
}
