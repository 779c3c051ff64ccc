package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestBadConfigListsEveryProblem(t *testing.T) {
	_, err := Load("testdata/bad.yaml")
	if err == nil {
		t.Fatal("bad config accepted")
	}
	got := err.Error()
	for _, want := range []string{
		`testdata/bad.yaml:3: unknown key "htps" in listen`,
		`testdata/bad.yaml:6: viewer_protocol_policy "redirect-to-http" is not one of`,
		`testdata/bad.yaml:8: origin "api": url "ftp://x" is not an http:// or https:// URL`,
		`testdata/bad.yaml:10: origin "files": root testdata/does-not-exist is not a directory`,
		`testdata/bad.yaml:11: origin "bucket" needs a bucket`,
		`testdata/bad.yaml:15: min_ttl (10) is greater than default_ttl (5)`,
		`testdata/bad.yaml:17: method "FETCH" is not one of`,
		`testdata/bad.yaml:19: target_origin "nowhere" is not an origin of distribution "main"`,
		`testdata/bad.yaml:22: trusted key group "signers" is not in key_groups`,
		`testdata/bad.yaml:25: strip_prefix "/api" does not begin every path that "/stac/*" matches`,
		`testdata/bad.yaml:26: expected a number of seconds or a duration such as 1h, got "soon"`,
		`testdata/bad.yaml:27: distribution name "main" is already used at line 5`,
		`testdata/bad.yaml:27: distribution "main" has no default_behavior`,
		`testdata/bad.yaml:5: distribution "main" has no default_behavior`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing problem %q in:\n%s", want, got)
		}
	}
	for _, line := range strings.Split(got, "\n") {
		if !strings.HasPrefix(line, "testdata/bad.yaml:") {
			t.Errorf("problem without file and line: %q", line)
		}
	}
}

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "edgefront.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadsAs loads the config at p and checks its error against want: none
// when want is "", else one at p followed by want (":LINE: message").
// label names the case. It returns the config when it loaded and was to.
func loadsAs(t *testing.T, p, label, want string) *Config {
	t.Helper()
	cfg, err := Load(p)
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v", label, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), p+want)):
		t.Errorf("%s: %v, want %q", label, err, want)
	case want == "":
		return cfg
	}
	return nil
}

func TestGoodConfigDefaultsAndEnv(t *testing.T) {
	t.Setenv("VERIFY", "s3cr3t")
	p := write(t, `
distributions:
  - name: main
    origins:
      api: {type: http, url: "http://127.0.0.1:8000", custom_headers: {X-Origin-Verify: "${VERIFY}"}, read_timeout: 5s, connect_timeout: 2}
    behaviors:
      - path_pattern: "/api*"
        target_origin: api
        forward: {headers: [Authorization], query_strings: all}
        max_ttl: 1h
    default_behavior:
      target_origin: api
`)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.HTTP != ":8080" {
		t.Errorf("default listen.http = %q", cfg.Listen.HTTP)
	}
	d := cfg.Distributions[0]
	o := d.Origins["api"]
	if o.CustomHeaders["X-Origin-Verify"] != "s3cr3t" {
		t.Errorf("env not expanded: %q", o.CustomHeaders["X-Origin-Verify"])
	}
	if o.ReadTimeout.String() != "5s" || o.ConnectTimeout.String() != "2s" {
		t.Errorf("timeouts = %v, %v", o.ReadTimeout, o.ConnectTimeout)
	}
	b := d.Behaviors[0]
	if min, def, max := b.TTLs(); min != 0 || def != 3600 || max != 3600 {
		t.Errorf("TTLs = %d %d %d, want 0 3600 3600", min, def, max)
	}
	if got := b.Forward.Headers.String(); got != "[Authorization]" {
		t.Errorf("forward headers = %s", got)
	}
	if b.Forward.Cookies.Or("all").Mode != "all" || b.Forward.QueryStrings.Mode != "all" {
		t.Errorf("forward = %+v", b.Forward)
	}
	if got := d.DefaultBehavior.AllowedMethods; strings.Join(got, ",") != "GET,HEAD" {
		t.Errorf("default allowed methods = %v", got)
	}
	if cfg.Line("distributions[0].behaviors[0].max_ttl") != 10 {
		t.Errorf("line of max_ttl = %d", cfg.Line("distributions[0].behaviors[0].max_ttl"))
	}
}

func TestMissingEnvAndSyntax(t *testing.T) {
	_, err := Load(write(t, "listen:\n  http: \"${EDGEFRONT_TEST_UNSET}\"\n"))
	if err == nil || !strings.Contains(err.Error(), ":2: environment variable EDGEFRONT_TEST_UNSET is not set") {
		t.Errorf("err = %v", err)
	}
	_, err = Load(write(t, "listen: [\n"))
	if err == nil || !strings.Contains(err.Error(), "edgefront.yaml:") {
		t.Errorf("syntax error = %v", err)
	}
	_, err = Load(write(t, "distributions: 3\n"))
	if err == nil || !strings.Contains(err.Error(), `:1: expected a list, got "3"`) {
		t.Errorf("type error = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/bad.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("distributions: [{name: a, origins: {o: {type: http, url: 'http://x'}}, default_behavior: {target_origin: o}}]"))
	f.Add([]byte("listen: {http: ':1'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err == nil && cfg == nil {
			t.Fatal("no config and no error")
		}
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml:") {
					t.Fatalf("problem without file: %q", line)
				}
			}
		}
	})
}

func TestAdminListenerNeedsATokenOffLoopback(t *testing.T) {
	const dist = "distributions:\n  - {name: main, origins: {o: {type: http, url: \"http://127.0.0.1:1\"}}, default_behavior: {target_origin: o}}\n"
	for _, c := range []struct{ admin, want string }{
		{"admin: {listen: \"127.0.0.1:9090\"}\n", ""},
		{"admin: {listen: \"[::1]:9090\"}\n", ""},
		{"admin: {listen: \"localhost:9090\"}\n", ""},
		{"admin: {listen: \":9090\"}\n", `:1: admin listener ":9090" is reachable from other machines: set admin.token_file`},
		{"admin: {listen: \"0.0.0.0:9090\"}\n", `:1: admin listener "0.0.0.0:9090" is reachable`},
		{"admin: {listen: \"10.0.0.1:9090\", token_file: short.token}\n", `:1: admin token file`},
		{"admin: {listen: \"10.0.0.1:9090\", token_file: missing.token}\n", `:1: admin token: open`},
		{"admin: {listen: \"10.0.0.1:9090\", token_file: good.token}\n", ""},
		{"admin: {token_file: good.token}\n", `:1: token_file is set but admin.listen is not`},
		{"admin: {listen: \"9090\"}\n", `:1: "9090" is not a listen address`},
	} {
		p := write(t, c.admin+dist)
		os.WriteFile(filepath.Join(filepath.Dir(p), "short.token"), []byte("abc\n"), 0o600)
		os.WriteFile(filepath.Join(filepath.Dir(p), "good.token"), []byte("0123456789abcdef0123\n"), 0o600)
		if cfg := loadsAs(t, p, c.admin, c.want); cfg != nil && cfg.Admin.TokenFile != "" {
			if tok, err := ReadToken(cfg.Admin.TokenFile); err != nil || tok != "0123456789abcdef0123" {
				t.Errorf("token %q %v", tok, err)
			}
		}
	}
}

func TestCacheTiers(t *testing.T) {
	const dist = "distributions:\n  - {name: main, origins: {o: {type: http, url: \"http://127.0.0.1:1\"}}, default_behavior: {target_origin: o}}\n"
	for _, c := range []struct{ cache, want string }{
		{"cache: {memory: 64MiB, disk: {path: ./cache, size: 2GiB}}\n", ""},
		{"cache: {disk: {size: 2GiB}}\n", ":1: the disk tier needs a path"},
		{"cache: {disk: {path: edgefront.yaml}}\n", "is not a folder"},
		{"cache: {memory: 64KiB}\n", ":1: the memory tier needs at least 1MiB"},
		{"cache: {max_memory_object_size: 1MiB}\n", ":1: max_memory_object_size only applies with a disk tier"},
		{"cache: {memory: 8MiB, max_object_size: 1GiB}\n", "add a disk tier for larger objects"},
		{"cache: {memory: 8MiB, max_memory_object_size: 16MiB, disk: {path: c}}\n", "larger than the memory tier"},
		{"cache: {disk: {path: c, size: lots}}\n", ":1: "},
	} {
		p := write(t, c.cache+dist)
		cfg, err := Load(p)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.cache, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.cache, err, c.want)
		case c.want == "":
			s := cfg.Cache.Sizes()
			if s.Memory != 64<<20 || s.Disk != 2<<30 || s.MaxObject != 256<<20 || s.MaxMemoryObject != 1<<20 || s.DiskPath != filepath.Join(filepath.Dir(p), "cache") {
				t.Errorf("sizes %+v", s)
			}
		}
	}
}

func TestACMESettings(t *testing.T) {
	dist := func(alias string) string {
		return "distributions:\n  - {name: main, aliases: [" + alias + "], origins: {o: {type: http, url: \"http://127.0.0.1:1\"}}, default_behavior: {target_origin: o}}\n"
	}
	for _, c := range []struct{ text, want string }{
		{"listen: {http: \":80\", https: \":443\"}\ntls: {acme: {email: a@b.org}}\n" + dist("www.example.org"), ""},
		{"listen: {http: \":80\"}\ntls: {acme: {email: a@b.org}}\n" + dist("www.example.org"), "tls.acme needs an https listener"},
		{"listen: {http: \":80\", https: \":443\"}\ntls: {acme: {ca: \"http://ca\"}}\n" + dist("www.example.org"), "is not an https:// ACME directory URL"},
		{"listen: {http: \":80\", https: \":443\"}\ntls: {acme: {challenges: [dns-01]}}\n" + dist("www.example.org"), `challenge "dns-01" is not http-01 or tls-alpn-01`},
		{"listen: {http: \":80\", https: \":443\"}\ntls: {acme: {}}\n" + dist("\"*.example.org\""), "a wildcard certificate needs DNS-01"},
		{"listen: {https: \":443\"}\ntls: {acme: {challenges: [http-01]}}\n" + dist("www.example.org"), "http-01 needs the http listener"},
		{"listen: {http: \":80\", https: \":443\"}\ntls: {acme: {ca_root: missing.pem}}\n" + dist("www.example.org"), "missing.pem"},
	} {
		p := write(t, c.text)
		cfg, err := Load(p)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.text, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.text, err, c.want)
		case c.want == "" && (cfg.TLS.ACME.CA != LetsEncrypt || cfg.TLS.ACME.Storage != filepath.Join(filepath.Dir(p), "certs")):
			t.Errorf("defaults: %+v", cfg.TLS.ACME)
		}
	}
}

func TestResponseHeadersSettings(t *testing.T) {
	beh := func(rh string) string {
		return "distributions:\n  - name: main\n    origins: {o: {type: http, url: \"http://127.0.0.1:1\"}}\n    default_behavior:\n      target_origin: o\n      response_headers: " + rh + "\n"
	}
	for _, c := range []struct{ rh, want string }{
		{"{policy: SimpleCORS}", ""},
		{"{policy: 67f7725c-6f97-4210-82d7-5512b31e9d03}", ""},
		{"{policy: NoSuchPolicy}", `"NoSuchPolicy" is not a managed response headers policy: one of CORS-With-Preflight,`},
		{"{policy: SimpleCORS, remove: [Server]}", "cannot be combined with custom settings"},
		{"{remove: [Content-Length]}", "Content-Length cannot be removed"},
		{"{custom: [{header: \"bad header\", value: x}]}", `header "bad header" is not a valid field name`},
		{"{security: {frame_options: ALLOWALL}}", `frame_options "ALLOWALL" is not DENY or SAMEORIGIN`},
		{"{cors: {allow_origins: [\"*\"], allow_credentials: true}}", "allow_credentials cannot go with"},
		{"{cors: {allow_methods: [FETCH]}}", `method "FETCH" is not one of`},
		{"{server_timing: {enabled: true, sampling_rate: 150}}", "sampling_rate is a percentage"},
	} {
		_, err := Load(write(t, beh(c.rh)))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.rh, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.rh, err, c.want)
		}
	}
}

func TestOriginGroupSettings(t *testing.T) {
	dist := func(group string) string {
		return "distributions:\n  - name: main\n    origins:\n      a: {type: http, url: \"http://127.0.0.1:1\"}\n      b: {type: http, url: \"http://127.0.0.1:2\"}\n      g: " + group + "\n    default_behavior: {target_origin: g}\n"
	}
	for _, c := range []struct{ group, want string }{
		{"{type: group, primary: a, secondary: b}", ""},
		{"{type: group, primary: a}", `origin group "g" needs a secondary origin`},
		{"{type: group, primary: a, secondary: c}", `secondary "c" is not an origin of the distribution`},
		{"{type: group, primary: a, secondary: a}", "primary and secondary are the same origin"},
		{"{type: group, primary: a, secondary: b, failover_status_codes: [502, 501]}", "501 is not a status CloudFront fails over on"},
		{"{type: group, primary: a, secondary: b, url: \"http://x\"}", "url belongs on its member origins"},
		{"{type: http, url: \"http://x\", primary: a}", "are for group origins"},
	} {
		cfg, err := Load(write(t, dist(c.group)))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.group, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.group, err, c.want)
		case c.want == "" && fmt.Sprint(cfg.Distributions[0].Origins["g"].FailoverStatusCodes) != "[500 502 503 504]":
			t.Errorf("default failover statuses %v", cfg.Distributions[0].Origins["g"].FailoverStatusCodes)
		}
	}
}

// References are checked here; reading and compiling the files is
// edge.Compile's (TestCompileProblems there).
func TestFunctionsAndGeoIPReferences(t *testing.T) {
	p := write(t, "distributions:\n  - name: main\n    origins: {o: {type: http, url: \"http://127.0.0.1:1\"}}\n    default_behavior: {target_origin: o, functions: {viewer_request: f.js, key_value_store: nope}}\n")
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), `key value store "nope" is not in key_value_stores`) {
		t.Errorf("unknown key value store: %v", err)
	}
	p = write(t, "geoip: {}\ndistributions:\n  - name: main\n    origins: {o: {type: http, url: \"http://127.0.0.1:1\"}}\n    default_behavior: {target_origin: o}\n")
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "geoip names no database") {
		t.Errorf("geoip without a database: %v", err)
	}
}

func TestFunctionTimeSetting(t *testing.T) {
	for value, want := range map[string]string{"150ms": "", "0s": "from 1ms to 10s", "1m": "from 1ms to 10s", "fast": "edgefront.yaml:1"} {
		p := write(t, "limits: {function_time: "+value+"}\ndistributions:\n  - name: main\n    origins: {o: {type: http, url: \"http://127.0.0.1:1\"}}\n    default_behavior: {target_origin: o}\n")
		cfg, err := Load(p)
		switch {
		case want == "" && (err != nil || cfg.Limits.Function() != 150*time.Millisecond):
			t.Errorf("%s: %v", value, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", value, err, want)
		}
	}
}

// A misspelt key or name is answered with the one meant; a message never
// names a Go type.
func TestProblemsSayWhatWasMeant(t *testing.T) {
	_, err := Parse("edgefront.yaml", []byte(`listen: {htp: ":8080"}
key_groups: {signers: [{id: K1, public_key_file: none.pem}]}
distributions:
  - name: main
    origins: {api: {type: http, url: "http://127.0.0.1:1"}, both: {type: group, primary: api, secondary: apii}}
    rate_limit: {requests_per_second: fast, burst: many}
    behaviors:
      - {path_pattern: "/a*", origin: api}
      - {path_pattern: "/b*", target_orgin: api}
      - {path_pattern: "/c*", target_origin: apj, trusted_key_groups: [signer]}
      - {path_pattern: "/d*", target_origin: api, compress: maybe}
    default_behavior: {target_origin: api}
`))
	msg := fmt.Sprint(err)
	for _, want := range []string{
		`edgefront.yaml:1: unknown key "htp" in listen (did you mean "http"?)`,
		`edgefront.yaml:5: origin group "both": secondary "apii" is not an origin of the distribution (did you mean "api"?)`,
		`edgefront.yaml:6: expected a number, got "fast"`,
		`edgefront.yaml:6: expected an integer, got "many"`,
		`edgefront.yaml:8: unknown key "origin" in behavior (did you mean "target_origin"?)`,
		`edgefront.yaml:9: unknown key "target_orgin" in behavior (did you mean "target_origin"?)`,
		`edgefront.yaml:10: target_origin "apj" is not an origin of distribution "main" (did you mean "api"?)`,
		`edgefront.yaml:10: trusted key group "signer" is not in key_groups (did you mean "signers"?)`,
		`edgefront.yaml:11: expected true or false, got "maybe"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("no %q in\n%s", want, msg)
		}
	}
	if regexp.MustCompile(`float|int64|string\b|config\.`).MatchString(msg) {
		t.Errorf("a message names a Go type:\n%s", msg)
	}
	if d := didYouMean("distributions", []string{"listen", "tls"}); d != "" {
		t.Errorf("a far name suggested %q", d)
	}
}

// cache_tag_header is a header name, refused at its line otherwise.
func TestCacheTagHeader(t *testing.T) {
	cfg, err := Parse("edgefront.yaml", []byte(`distributions:
  - name: main
    cache_tag_header: x-amz-meta-cache-tag
    origins: {o: {type: http, url: "http://127.0.0.1:1"}}
    default_behavior: {target_origin: o}
`))
	if err != nil || cfg.Distributions[0].CacheTagHeader != "x-amz-meta-cache-tag" {
		t.Fatalf("%v %+v", err, cfg)
	}
	_, err = Parse("edgefront.yaml", []byte(`distributions:
  - name: main
    origins: {o: {type: http, url: "http://127.0.0.1:1"}}
    cache_tag_header: "Cache Tag"
    default_behavior: {target_origin: o}
`))
	if want := `edgefront.yaml:4: cache_tag_header "Cache Tag" is not a header name`; !strings.Contains(fmt.Sprint(err), want) {
		t.Errorf("%v, want %q", err, want)
	}
}
