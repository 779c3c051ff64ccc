package edge

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a cache clock the test steps.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

// newClock starts at the real time: origins stamp Date, and an answer
// whose Date is far from the cache's clock has an age of its own.
func newClock() *testClock { return &testClock{now: time.Now()} }

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// cachingEdge runs an edge whose default behavior caches from origin, with
// extra behavior settings, on the test's clock.
func cachingEdge(t *testing.T, originURL, settings string) (string, *testClock) {
	t.Helper()
	return cachingEdgeOn(t, newClock(), originURL, settings)
}

// cachingEdgeOn is cachingEdge on a given clock; origins whose answers
// live across steps of the clock stamp Date from it too.
func cachingEdgeOn(t *testing.T, clk *testClock, originURL, settings string) (string, *testClock) {
	t.Helper()
	srv, _ := edgeWithClock(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o%s}
    custom_error_responses: [{error_code: 503, error_caching_min_ttl: 30}]
`, originURL, settings), nil, clk.Now)
	return srv.URL, clk
}

func wantCache(t *testing.T, r resp, xcache, body string) {
	t.Helper()
	if got := r.Header.Get("X-Cache"); got != xcache+" from edgefront" {
		t.Errorf("%s: X-Cache %q, want %s", r.Request.URL.Path, got, xcache)
	}
	if body != "" && r.body != body {
		t.Errorf("%s: body %q, want %q", r.Request.URL.Path, r.body, body)
	}
}

// counter answers with a body naming how many requests it has seen.
func counter(header ...string) (http.HandlerFunc, *atomic.Int64) {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		for j := 0; j+1 < len(header); j += 2 {
			w.Header().Set(header[j], header[j+1])
		}
		fmt.Fprintf(w, "answer %d", i)
	}, &n
}

func TestMissThenHitWithAge(t *testing.T) {
	h, n := counter("Cache-Control", "max-age=60")
	o, _ := upstream(t, h)
	e, clk := cachingEdge(t, o.URL, "")
	wantCache(t, get(t, e+"/a"), "Miss", "answer 1")
	clk.Add(7 * time.Second)
	r := get(t, e+"/a")
	wantCache(t, r, "Hit", "answer 1")
	if r.Header.Get("Age") != "7" || len(r.Header.Values("Via")) != 1 || r.Header.Get("X-Edge-Request-Id") == "" {
		t.Errorf("hit headers: Age %q Via %q id %q", r.Header.Get("Age"), r.Header.Get("Via"), r.Header.Get("X-Edge-Request-Id"))
	}
	wantCache(t, get(t, e+"/a?v=2"), "Miss", "answer 2") // the query is part of the key
	clk.Add(60 * time.Second)
	wantCache(t, get(t, e+"/a"), "Miss", "answer 3") // expired, no validator: fetched again
	if n.Load() != 3 {
		t.Errorf("origin asked %d times, want 3", n.Load())
	}
}

func TestTTLRulesAtTheEdge(t *testing.T) {
	for _, c := range []struct {
		name, cc, settings string
		after              time.Duration
		xcache             string
	}{
		{"max-age clamped to max_ttl", "max-age=60", ", max_ttl: 10", 11 * time.Second, "Miss"},
		{"max-age within max_ttl", "max-age=60", ", max_ttl: 100", 59 * time.Second, "Hit"},
		{"default_ttl without freshness", "", ", default_ttl: 5", 4 * time.Second, "Hit"},
		{"default_ttl expires", "", ", default_ttl: 5", 6 * time.Second, "Miss"},
		{"no-store is not stored", "no-store", "", 0, "Miss"},
		{"no-store stored for min_ttl", "no-store", ", min_ttl: 20, default_ttl: 20, max_ttl: 30", 19 * time.Second, "Hit"},
		{"max_ttl 0 disables caching", "max-age=60", ", min_ttl: 0, default_ttl: 0, max_ttl: 0", 0, "Miss"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, _ := counter("Cache-Control", c.cc)
			o, _ := upstream(t, h)
			e, clk := cachingEdge(t, o.URL, c.settings)
			wantCache(t, get(t, e+"/x"), "Miss", "answer 1")
			clk.Add(c.after)
			wantCache(t, get(t, e+"/x"), c.xcache, "")
		})
	}
}

func TestSetCookieNeverReachesAnotherViewer(t *testing.T) {
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Set-Cookie", "session="+r.URL.Query().Get("who"))
		io.WriteString(w, "page")
	})
	e, _ := cachingEdge(t, o.URL, ", cache_key: {query_strings: none}")
	a := get(t, e+"/p?who=alice")
	b := get(t, e+"/p?who=bob")
	if a.Header.Get("Set-Cookie") != "session=alice" || b.Header.Get("Set-Cookie") != "session=bob" {
		t.Errorf("cookies: alice got %q, bob got %q", a.Header.Get("Set-Cookie"), b.Header.Get("Set-Cookie"))
	}
	wantCache(t, b, "Miss", "page")
}

func TestVaryStoresVariantsSideBySide(t *testing.T) {
	o, seen := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "lang "+r.Header.Get("Accept-Language"))
	})
	e, _ := cachingEdge(t, o.URL, "")
	for i := 0; i < 2; i++ {
		for _, lang := range []string{"fr", "de"} {
			r := do(t, "GET", e+"/v", map[string]string{"Accept-Language": lang})
			if r.body != "lang "+lang {
				t.Errorf("%s got %q", lang, r.body)
			}
		}
	}
	if seen.count() != 2 {
		t.Errorf("origin asked %d times for two variants, want 2", seen.count())
	}
	star, n := counter("Cache-Control", "max-age=60", "Vary", "*")
	o2, _ := upstream(t, star)
	e2, _ := cachingEdge(t, o2.URL, "")
	get(t, e2+"/s")
	wantCache(t, get(t, e2+"/s"), "Miss", "answer 2")
	_ = n
}

func TestConditionalRangeAndHeadFromTheCache(t *testing.T) {
	body := "0123456789abcdefghij"
	o, seen := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" || r.Header.Get("If-None-Match") != "" {
			t.Errorf("the fill forwarded the viewer's Range or If-None-Match")
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Etag", `"v1"`)
		w.Header().Set("Last-Modified", "Wed, 25 Nov 2026 10:00:00 GMT")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	})
	e, _ := cachingEdge(t, o.URL, "")
	// A conditional miss fills the cache and is answered from it.
	r := do(t, "GET", e+"/f", map[string]string{"If-None-Match": `"v1"`})
	wantStatus(t, r, 304)
	r = do(t, "GET", e+"/f", map[string]string{"If-None-Match": `"v1"`})
	wantStatus(t, r, 304)
	wantCache(t, r, "Hit", "")
	wantStatus(t, do(t, "GET", e+"/f", map[string]string{"If-Modified-Since": "Thu, 26 Nov 2026 10:00:00 GMT"}), 304)
	r = do(t, "GET", e+"/f", map[string]string{"Range": "bytes=2-5"})
	wantStatus(t, r, 206)
	if r.body != "2345" || r.Header.Get("Content-Range") != "bytes 2-5/20" {
		t.Errorf("range: %q %q", r.body, r.Header.Get("Content-Range"))
	}
	r = do(t, "GET", e+"/f", map[string]string{"Range": "bytes=0-1,18-19"})
	wantStatus(t, r, 206)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/byteranges") || !strings.Contains(r.body, "01") || !strings.Contains(r.body, "ij") {
		t.Errorf("multiple ranges: %q %q", r.Header.Get("Content-Type"), r.body)
	}
	wantStatus(t, do(t, "GET", e+"/f", map[string]string{"Range": "bytes=50-60"}), 416)
	r = do(t, "HEAD", e+"/f", nil)
	wantStatus(t, r, 200)
	wantCache(t, r, "Hit", "")
	if r.Header.Get("Content-Length") != "20" || r.body != "" {
		t.Errorf("HEAD: length %q body %q", r.Header.Get("Content-Length"), r.body)
	}
	if seen.count() != 1 {
		t.Errorf("origin asked %d times, want 1", seen.count())
	}
}

func TestRevalidationRefreshHit(t *testing.T) {
	var conditional atomic.Int64
	clk := newClock()
	o, seen := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clk.Now().Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Etag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(304)
			return
		}
		io.WriteString(w, "stored body")
	})
	e, _ := cachingEdgeOn(t, clk, o.URL, "")
	get(t, e+"/r")
	clk.Add(11 * time.Second)
	r := get(t, e+"/r")
	wantCache(t, r, "RefreshHit", "stored body")
	if conditional.Load() != 1 {
		t.Errorf("the stale object was not revalidated with If-None-Match (%d origin requests)", seen.count())
	}
	clk.Add(5 * time.Second)
	wantCache(t, get(t, e+"/r"), "Hit", "stored body") // fresh again after the 304
}

func TestStaleWhileRevalidate(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int64
	clk := newClock()
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		if i > 1 {
			<-release // the refresh takes its time; viewers must not wait
		}
		w.Header().Set("Date", clk.Now().Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
		fmt.Fprintf(w, "v%d", i)
	})
	e, _ := cachingEdgeOn(t, clk, o.URL, "")
	get(t, e+"/s")
	clk.Add(15 * time.Second)
	for i := 0; i < 5; i++ {
		wantCache(t, get(t, e+"/s"), "Hit", "v1")
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for get(t, e+"/s").body != "v2" {
		if time.Now().After(deadline) {
			t.Fatal("the background refresh never stored v2")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n.Load() != 2 {
		t.Errorf("origin asked %d times, want 2 (one refresh per key)", n.Load())
	}
}

func TestStaleIfErrorAndOrigin5xx(t *testing.T) {
	var fail atomic.Bool
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(503)
			io.WriteString(w, "down")
			return
		}
		w.Header().Set("Cache-Control", "max-age=10, stale-if-error=60")
		io.WriteString(w, "good")
	})
	e, clk := cachingEdge(t, o.URL, "")
	get(t, e+"/e")
	fail.Store(true)
	clk.Add(20 * time.Second)
	wantCache(t, get(t, e+"/e"), "Hit", "good")
	clk.Add(60 * time.Second) // past stale-if-error
	r := get(t, e+"/e")
	wantStatus(t, r, 503)

	// An origin that refuses connections: the stale object, or a 502.
	refused := refusedURL(t)
	e2, clk2 := cachingEdge(t, refused, "")
	wantStatus(t, get(t, e2+"/x"), 502)
	_ = clk2
}

func TestUnsafeMethodInvalidates(t *testing.T) {
	h, n := counter("Cache-Control", "max-age=60")
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			w.Header().Set("Location", "/other")
			w.WriteHeader(201)
			return
		}
		h(w, r)
	})
	e, _ := cachingEdge(t, o.URL, ", allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]")
	get(t, e+"/item")
	get(t, e+"/other")
	wantCache(t, get(t, e+"/item"), "Hit", "")
	wantStatus(t, do(t, "POST", e+"/item", nil), 201)
	wantCache(t, get(t, e+"/item"), "Miss", "")
	wantCache(t, get(t, e+"/other"), "Miss", "")
	if n.Load() != 4 {
		t.Errorf("origin GETs %d, want 4", n.Load())
	}
}

func TestErrorsCachedAndPagesChosenPerViewer(t *testing.T) {
	h, n := counter()
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/index.html" {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<app>")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		h(w, r)
	})
	e, clk := cachingEdge(t, o.URL, `, error_responses: [{error_code: 404, when_accept: text/html, response_page_path: /index.html, response_code: 200}]`)
	api := do(t, "GET", e+"/missing", map[string]string{"Accept": "application/json"})
	wantStatus(t, api, 404)
	page := do(t, "GET", e+"/missing", map[string]string{"Accept": "text/html"})
	wantStatus(t, page, 200)
	if page.body != "<app>" {
		t.Errorf("browser got %q, want the app", page.body)
	}
	api = do(t, "GET", e+"/missing", map[string]string{"Accept": "application/json"})
	if api.StatusCode != 404 || api.body != "answer 1" {
		t.Errorf("the API's own 404 from the cache: %d %q", api.StatusCode, api.body)
	}
	clk.Add(11 * time.Second) // the 10 s error caching TTL
	do(t, "GET", e+"/missing", nil)
	if n.Load() != 2 {
		t.Errorf("origin asked %d times for the 404, want 2", n.Load())
	}
}

func TestAuthorizationNotSharedUnlessAllowed(t *testing.T) {
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "for "+r.Header.Get("Authorization"))
	})
	e, _ := cachingEdge(t, o.URL, "")
	do(t, "GET", e+"/me", map[string]string{"Authorization": "alice"})
	r := do(t, "GET", e+"/me", map[string]string{"Authorization": "bob"})
	if r.body != "for bob" {
		t.Errorf("bob got %q", r.body)
	}
	e2, _ := cachingEdge(t, o.URL, ", cache_key: {headers: [authorization]}")
	do(t, "GET", e2+"/me", map[string]string{"Authorization": "alice"})
	r = do(t, "GET", e2+"/me", map[string]string{"Authorization": "alice"})
	wantCache(t, r, "Hit", "for alice")
	if r := do(t, "GET", e2+"/me", map[string]string{"Authorization": "bob"}); r.body != "for bob" {
		t.Errorf("with authorization in the key, bob got %q", r.body)
	}
}

// Inputs outside the key never change what another viewer gets.
func TestCachePoisoningThroughUnkeyedInputs(t *testing.T) {
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "host=%s fwd=%s orig=%s override=%s method=%s",
			r.Host, r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Original-Url"), r.Header.Get("X-Http-Method-Override"), r.Method)
	})
	e, _ := cachingEdge(t, o.URL, ", forward: {headers: all, query_strings: all, cookies: all}")
	clean := get(t, e+"/page").body
	for _, h := range []map[string]string{
		{"X-Forwarded-Host": "evil.example"},
		{"X-Original-URL": "/admin"},
		{"X-HTTP-Method-Override": "DELETE"},
		{"Host": "127.0.0.1:1"},
		{"Host": "localhost."},
	} {
		r := do(t, "GET", e+"/page", h)
		if strings.Contains(r.body, "evil") || strings.Contains(r.body, "/admin") || strings.Contains(r.body, "DELETE") {
			t.Errorf("%v reached the origin on a cached request: %q", h, r.body)
		}
		if got := get(t, e+"/page").body; got != clean {
			t.Errorf("after %v the clean request got %q, want %q", h, got, clean)
		}
	}
	// A path with ; parameters or encoded characters is its own key.
	get(t, e+"/page;x=1")
	get(t, e+"/p%61ge%2F")
	if got := get(t, e+"/page").body; got != clean {
		t.Errorf("after odd paths the clean request got %q", got)
	}
}

// Concurrent misses make one origin request, and every viewer gets the
// body as it arrives.
func TestCollapsedMissesStreamToEveryViewer(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int64
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "first|")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "second")
	})
	e, _ := cachingEdge(t, o.URL, "")
	const viewers = 20
	firsts := make(chan string, viewers)
	bodies := make(chan string, viewers)
	for i := 0; i < viewers; i++ {
		go func() {
			resp, err := http.Get(e + "/big")
			if err != nil {
				firsts <- err.Error()
				bodies <- ""
				return
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			line, _ := br.ReadString('|')
			firsts <- line
			rest, _ := io.ReadAll(br)
			bodies <- line + string(rest)
		}()
	}
	for i := 0; i < viewers; i++ {
		select {
		case f := <-firsts:
			if f != "first|" {
				t.Fatalf("viewer %d: %q", i, f)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d viewers got the first bytes before the origin finished", i, viewers)
		}
	}
	close(release)
	for i := 0; i < viewers; i++ {
		if b := <-bodies; b != "first|second" {
			t.Errorf("viewer body %q", b)
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d origin requests for %d concurrent misses, want 1", n.Load(), viewers)
	}
}

// An origin that promises more than it sends: nothing partial is stored,
// the viewer sees a broken response, and the next request tries again.
func TestTruncatedOriginBodyIsNeverStored(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				n.Add(1)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 100\r\n\r\nonly fifty bytes of the hundred promised.........")
			}()
		}
	}()
	e, _ := cachingEdge(t, "http://"+ln.Addr().String(), "")
	for i := 0; i < 2; i++ {
		resp, err := http.Get(e + "/t")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("request %d: a truncated body read as complete (%d bytes, status %d)", i, len(b), resp.StatusCode)
		}
		if resp.Header.Get("Content-Length") != "" && resp.Header.Get("Content-Length") != "100" {
			t.Errorf("Content-Length %q", resp.Header.Get("Content-Length"))
		}
	}
	if n.Load() != 2 {
		t.Errorf("origin asked %d times, want 2: nothing partial may be stored", n.Load())
	}
}

// A viewer that leaves does not stop the fill for the others.
func TestViewerLeavingDoesNotCancelTheFill(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int64
	o, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "12")
		io.WriteString(w, "hello ")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "world!")
	})
	e, _ := cachingEdge(t, o.URL, "")
	resp, err := http.Get(e + "/l")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	io.ReadFull(resp.Body, buf)
	resp.Body.Close() // the only viewer leaves mid-body
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := get(t, e+"/l")
		if r.Header.Get("X-Cache") == "Hit from edgefront" && r.body == "hello world!" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the fill did not complete after its viewer left")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n.Load() > 2 {
		t.Errorf("origin asked %d times", n.Load())
	}
}
