package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/logtest"
	"github.com/edgefront/edgefront/internal/server"
)

const token = "0123456789abcdef0123456789abcdef"

type fixture struct {
	edge, admin string
	configPath  string
	hits        atomic.Int64
	api         *API
}

// start runs an edge that caches everything from a loopback origin, with
// the admin API in front of it; top, when given, is more of the config's
// top level.
func start(t *testing.T, tok string, top ...string) *fixture {
	t.Helper()
	fx := &fixture{}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := fx.hits.Add(1)
		w.Header().Set("Cache-Control", "max-age=3600")
		if strings.HasPrefix(r.URL.Path, "/tv/") {
			w.Header().Set("Cache-Tag", "Product:TV, brand:"+r.URL.Path[4:])
		}
		fmt.Fprintf(w, "%s #%d", r.URL.Path, n)
	}))
	t.Cleanup(origin.Close)
	dir := t.TempDir()
	fx.configPath = filepath.Join(dir, "edgefront.yaml")
	writeConfig(t, fx.configPath, origin.URL, strings.Join(top, ""))
	load := func() (*config.Config, error) { return config.Load(fx.configPath) }
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	log := logtest.New(t)
	srv, err := server.New(cfg, load, log)
	if err != nil {
		t.Fatal(err)
	}
	edge := httptest.NewServer(srv)
	fx.api = New(srv, tok, log)
	admin := httptest.NewServer(fx.api)
	t.Cleanup(func() { admin.Close(); edge.Close(); fx.api.Wait(); srv.Shutdown(t.Context()) })
	fx.edge, fx.admin = edge.URL, admin.URL
	return fx
}

func writeConfig(t *testing.T, path, originURL, top string) {
	t.Helper()
	yaml := fmt.Sprintf(`admin: {listen: "127.0.0.1:0"}
%sdistributions:
  - name: main
    aliases: [main.example]
    cache_tag_header: cache-tag
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
  - name: other
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
`, top, originURL, originURL)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
}

// get fetches a path of a distribution and returns its body and X-Cache.
func (fx *fixture) get(t *testing.T, host, path string) (string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", fx.edge+path, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), strings.TrimSuffix(resp.Header.Get("X-Cache"), " from edgefront")
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (fx *fixture) call(t *testing.T, method, path, auth, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, fx.admin+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (fx *fixture) invalidate(t *testing.T, body string) Invalidation {
	t.Helper()
	a := fx.call(t, "POST", "/invalidations", "Bearer "+token, body)
	if a.status != http.StatusCreated {
		t.Fatalf("POST /invalidations %s: %d %s", body, a.status, a.body)
	}
	var inv Invalidation
	if err := json.Unmarshal([]byte(a.body), &inv); err != nil {
		t.Fatal(err)
	}
	if a.header.Get("Location") != "/invalidations/"+inv.ID || len(inv.ID) != 14 || inv.ID[0] != 'I' {
		t.Errorf("invalidation id %q, Location %q", inv.ID, a.header.Get("Location"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for inv.Status != Completed {
		if time.Now().After(deadline) {
			t.Fatalf("invalidation %s still %s", inv.ID, inv.Status)
		}
		time.Sleep(10 * time.Millisecond)
		a := fx.call(t, "GET", "/invalidations/"+inv.ID, "Bearer "+token, "")
		if a.status != http.StatusOK {
			t.Fatalf("GET /invalidations/%s: %d %s", inv.ID, a.status, a.body)
		}
		json.Unmarshal([]byte(a.body), &inv)
	}
	return inv
}

func TestInvalidationsFollowCloudFrontPathRules(t *testing.T) {
	fx := start(t, token)
	paths := []string{"/images/a.png", "/images/b.png", "/images/sub/c.png", "/imagesque", "/index.html", "/caf%C3%A9"}
	for _, p := range paths {
		fx.get(t, "main.example", p)
		fx.get(t, "other.example", p)
	}
	for _, p := range paths {
		if _, xc := fx.get(t, "main.example", p); xc != "Hit" {
			t.Fatalf("%s is not cached before the invalidation: %s", p, xc)
		}
	}
	inv := fx.invalidate(t, `{"distribution":"main","paths":["/images/*","/index.html","/café"]}`)
	if inv.Distribution != "main" || len(inv.Paths) != 3 {
		t.Errorf("invalidation %+v", inv)
	}
	want := map[string]string{
		"/images/a.png": "Miss", "/images/b.png": "Miss", "/images/sub/c.png": "Miss",
		"/imagesque": "Hit", "/index.html": "Miss", "/caf%C3%A9": "Miss",
	}
	for p, xc := range want {
		if _, got := fx.get(t, "main.example", p); got != xc {
			t.Errorf("main %s after the invalidation: %s, want %s", p, got, xc)
		}
		if _, got := fx.get(t, "other.example", p); got != "Hit" {
			t.Errorf("other %s: %s; an invalidation of main must leave it", p, got)
		}
	}
	// The percent-encoded form of a path invalidates it too; so does a
	// path with a query string, and "/*" everything.
	fx.invalidate(t, `{"distribution":"main","paths":["/imagesque?v=2"]}`)
	if _, got := fx.get(t, "main.example", "/imagesque"); got != "Miss" {
		t.Errorf("/imagesque after invalidating it with a query string: %s", got)
	}
	fx.invalidate(t, `{"distribution":"other","paths":["/*"]}`)
	for _, p := range paths {
		if _, got := fx.get(t, "other.example", p); got != "Miss" {
			t.Errorf("other %s after /*: %s", p, got)
		}
	}
}

func TestBadInvalidationsAreRefusedWithASentence(t *testing.T) {
	fx := start(t, token)
	for _, c := range []struct{ body, want string }{
		{`{"distribution":"main","paths":["/a"]`, "must be JSON"},
		{`not json`, "must be JSON"},
		{`{"distribution":"main","paths":["/a"],"pathz":[]}`, `unknown field "pathz"`},
		{`{"distribution":"main","paths":["/a"]} {}`, "one JSON object"},
		{`{"distribution":"nope","paths":["/a"]}`, `no distribution "nope": the distributions are main, other`},
		{`{"paths":["/a"]}`, "name the distribution"},
		{`{"distribution":"main","paths":[]}`, "paths is empty"},
		{`{"distribution":"main"}`, "paths is empty"},
		{`{"distribution":"main","paths":["images/*"]}`, `"images/*" must start with /`},
		{`{"distribution":"main","paths":["/images/*.png"]}`, "only be the last character"},
		{`{"distribution":"main","paths":["/a\u0000b"]}`, "control character"},
		{`{"distribution":"main","paths":["/%zz"]}`, "bad %-escape"},
		{`{"distribution":"main","paths":["/` + strings.Repeat("a", MaxPathBytes) + `"]}`, "longer than"},
		{`{"distribution":"main","paths":[` + strings.Repeat(`"/a",`, MaxPaths) + `"/b"]}`, "more than the 3000"},
	} {
		a := fx.call(t, "POST", "/invalidations", "Bearer "+token, c.body)
		var e struct{ Error string }
		json.Unmarshal([]byte(a.body), &e)
		if a.status != http.StatusBadRequest || !strings.Contains(e.Error, c.want) {
			t.Errorf("%.60s: %d %q, want 400 with %q", c.body, a.status, e.Error, c.want)
		}
	}
	if a := fx.call(t, "POST", "/invalidations", "Bearer "+token, `{"distribution":"main","paths":["/`+strings.Repeat("a", 2<<20)+`"]}`); a.status != http.StatusBadRequest || !strings.Contains(a.body, "larger than") {
		t.Errorf("a 2 MiB body: %d %.200s", a.status, a.body)
	}
	if a := fx.call(t, "GET", "/invalidations/INOSUCHID", "Bearer "+token, ""); a.status != http.StatusNotFound {
		t.Errorf("unknown id: %d %s", a.status, a.body)
	}
	if a := fx.call(t, "DELETE", "/invalidations", "Bearer "+token, ""); a.status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /invalidations: %d", a.status)
	}
	if fx.hits.Load() != 0 {
		t.Errorf("refused invalidations reached the origin")
	}
}

func TestTheTokenIsRequiredWhenConfigured(t *testing.T) {
	fx := start(t, token)
	body := `{"distribution":"main","paths":["/a"]}`
	for _, auth := range []string{"", "Bearer", "Bearer wrong", "Basic " + token, "bearer " + token, "Bearer " + token + "x"} {
		a := fx.call(t, "POST", "/invalidations", auth, body)
		if a.status != http.StatusUnauthorized || !strings.Contains(a.header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(a.body, "admin token") {
			t.Errorf("Authorization %q: %d %q", auth, a.status, a.body)
		}
	}
	if a := fx.call(t, "POST", "/reload", "", ""); a.status != http.StatusUnauthorized {
		t.Errorf("reload without the token: %d", a.status)
	}
	if a := fx.call(t, "GET", "/debug/pprof/", "", ""); a.status != http.StatusUnauthorized {
		t.Errorf("the profiler without the token: %d", a.status)
	}
	if a := fx.call(t, "GET", "/debug/pprof/", "Bearer "+token, ""); a.status != http.StatusOK || !strings.Contains(a.body, "goroutine") {
		t.Errorf("the profiler with the token: %d", a.status)
	}
	if a := fx.call(t, "GET", "/healthz", "", ""); a.status != http.StatusOK || a.body != "ok\n" {
		t.Errorf("healthz needs no token: %d %q", a.status, a.body)
	}
	// Without a configured token (a loopback listener), no header is needed.
	open := start(t, "")
	if a := open.call(t, "POST", "/invalidations", "", body); a.status != http.StatusCreated {
		t.Errorf("no token configured: %d %s", a.status, a.body)
	}
}

func TestReloadSwapsTheConfigOrKeepsTheOldOne(t *testing.T) {
	fx := start(t, token)
	if a := fx.call(t, "POST", "/reload", "Bearer "+token, ""); a.status != http.StatusOK || !strings.Contains(a.body, "reloaded") {
		t.Errorf("reload: %d %s", a.status, a.body)
	}
	os.WriteFile(fx.configPath, []byte("distributions:\n  - name: main\n    default_behavior: {target_origin: nowhere}\n"), 0o644)
	a := fx.call(t, "POST", "/reload", "Bearer "+token, "")
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, fx.configPath+":3: ") || !strings.Contains(a.body, "keeps serving") {
		t.Errorf("a bad config: %d %s", a.status, a.body)
	}
	if body, _ := fx.get(t, "main.example", "/still"); body != "/still #1" {
		t.Errorf("after a refused reload the edge answers %q", body)
	}
}

func TestPatterns(t *testing.T) {
	got, err := Patterns([]string{"/a", "/a", "/b%20c", "/d/*", "/e?x=1", "/*", "#Product:TV", "#product:tv", "#a*"})
	if err != nil || strings.Join(got, "|") != "/a|/b c|/d/*|/e|/*|#product:tv|#a*" {
		t.Errorf("Patterns: %q %v", got, err)
	}
	for _, bad := range []string{"#", "#a,b", "#a b", "#" + strings.Repeat("t", 257), "#caf\u00e9"} {
		if _, err := Patterns([]string{bad}); err == nil {
			t.Errorf("Patterns accepted %q", bad)
		}
	}
}

// Items that start with # invalidate by cache tag, beside paths in the
// same batch, as CloudFront's: every object tagged so, without case; a
// distribution without cache_tag_header refuses them.
func TestInvalidationsByTag(t *testing.T) {
	fx := start(t, token)
	paths := []string{"/tv/a", "/tv/b", "/radio", "/other"}
	for _, p := range paths {
		fx.get(t, "main.example", p)
	}
	for _, p := range paths {
		if _, xc := fx.get(t, "main.example", p); xc != "Hit" {
			t.Fatalf("%s is not cached before the invalidation: %s", p, xc)
		}
	}
	fx.invalidate(t, `{"distribution":"main","paths":["#PRODUCT:tv","/radio"]}`)
	for p, want := range map[string]string{"/tv/a": "Miss", "/tv/b": "Miss", "/radio": "Miss", "/other": "Hit"} {
		if _, got := fx.get(t, "main.example", p); got != want {
			t.Errorf("%s after #product:tv and /radio: %s, want %s", p, got, want)
		}
	}
	fx.invalidate(t, `{"distribution":"main","paths":["#brand:a"]}`)
	if _, got := fx.get(t, "main.example", "/tv/a"); got != "Miss" {
		t.Errorf("/tv/a after #brand:a: %s", got)
	}
	if _, got := fx.get(t, "main.example", "/tv/b"); got != "Hit" {
		t.Errorf("/tv/b after #brand:a: %s; another brand", got)
	}
	a := fx.call(t, "POST", "/invalidations", "Bearer "+token, `{"distribution":"other","paths":["#product:tv"]}`)
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "cache_tag_header") {
		t.Errorf("a #tag for a distribution without cache_tag_header: %d %s", a.status, a.body)
	}
}

func TestMetrics(t *testing.T) {
	fx := start(t, token)
	fx.get(t, "main.example", "/a")
	fx.get(t, "main.example", "/a")
	fx.get(t, "main.example", "/a")
	fx.call(t, "POST", "/reload", "Bearer "+token, "")
	if a := fx.call(t, "GET", "/metrics", "", ""); a.status != http.StatusUnauthorized {
		t.Errorf("metrics without the token: %d", a.status)
	}
	a := fx.call(t, "GET", "/metrics", "Bearer "+token, "")
	for _, want := range []string{
		`edgefront_requests_total{behavior="default",cache="Miss",distribution="main",status="2xx"} 1`,
		`edgefront_requests_total{behavior="default",cache="Hit",distribution="main",status="2xx"} 2`,
		`edgefront_origin_duration_seconds_count{distribution="main",origin="o"} 1`,
		`edgefront_cache_objects 1`,
		`edgefront_cache_hit_ratio 0.6666666666666666`,
		`edgefront_reloads_total{result="ok"} 1`,
		`edgefront_response_bytes_total{distribution="main"} 15`,
		`go_goroutines`,
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", a.body)
	}
}

func TestExplainSaysWhatTheCacheHolds(t *testing.T) {
	fx := start(t, token)
	ask := func() string {
		t.Helper()
		a := fx.call(t, "GET", "/api/explain?url="+url.QueryEscape("http://main.example/tv/1"), "Bearer "+token, "")
		if a.status != http.StatusOK {
			t.Fatalf("explain: %d %s", a.status, a.body)
		}
		return a.body
	}
	if got := ask(); !strings.Contains(got, "stored:       nothing (the next request is a miss)") {
		t.Errorf("before any request:\n%s", got)
	}
	fx.get(t, "main.example", "/tv/1")
	if got := ask(); !regexp.MustCompile(`stored:       status 200, \d+ bytes on memory, age 0s of a 1h0m0s TTL \(fresh\); tags product:tv, brand:1`).MatchString(got) {
		t.Errorf("once stored:\n%s", got)
	}
	if a := fx.call(t, "GET", "/api/explain?url=ftp://x", "Bearer "+token, ""); a.status != http.StatusBadRequest {
		t.Errorf("a bad URL: %d %s", a.status, a.body)
	}
	if a := fx.call(t, "GET", "/api/explain?url=http://main.example/", "", ""); a.status != http.StatusUnauthorized {
		t.Errorf("without the token: %d", a.status)
	}
}
