package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// A cache hit answered by the HTTP/1.1 loop in one write (the stored
// object's rendered head) carries the same fields and body as the same
// hit answered by net/http, to which a request with Content-Length: 0 is
// handed; only Date, Age and the request id may differ.
func TestStoredAnswerMatchesNetHTTP(t *testing.T) {
	for _, tier := range []string{"", "cache: {memory: 64MiB, disk: {path: DIR, size: 64MiB}, max_memory_object_size: 1KiB}\n"} {
		t.Run(map[bool]string{true: "memory", false: "disk"}[tier == ""], func(t *testing.T) { storedAnswerMatchesNetHTTP(t, tier, "") })
	}
	// Compressed at the edge: the encoding is a stored object too.
	t.Run("gzip", func(t *testing.T) { storedAnswerMatchesNetHTTP(t, "", "Accept-Encoding: gzip\r\n") })
}

func storedAnswerMatchesNetHTTP(t *testing.T, tier, accept string) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Etag", `"v1"`)
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		fmt.Fprint(w, strings.Repeat("stored ", 500))
	}))
	defer o.Close()
	compress := ""
	if accept != "" {
		compress = ", compress: true"
	}
	e := startWith(t, "", fmt.Sprintf("  - name: main\n    origins: {o: {type: http, url: %q}}\n    default_behavior: {target_origin: o%s}\n%s", o.URL, compress, strings.ReplaceAll(tier, "DIR", t.TempDir())))
	addr := strings.TrimPrefix(e.http, "http://")
	get := func(method, extra string) (fields []string, body string) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprintf(c, "%s /x HTTP/1.1\r\nHost: h\r\n%s%sConnection: close\r\n\r\n", method, accept, extra)
		b, _ := io.ReadAll(c)
		head, rest, _ := strings.Cut(string(b), "\r\n\r\n")
		for _, f := range strings.Split(head, "\r\n")[1:] {
			switch name, _, _ := strings.Cut(f, ":"); name {
			case "Date", "Age", "X-Edge-Request-Id":
			default:
				fields = append(fields, f)
			}
		}
		slices.Sort(fields)
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(b))), &http.Request{Method: method})
		if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 200 OK\r\n") {
			t.Fatalf("%s %q: %v\n%s", method, extra, err, b)
		}
		rb, _ := io.ReadAll(resp.Body)
		_ = rest
		return fields, string(rb)
	}
	get("GET", "") // the miss that stores it
	for _, method := range []string{"GET", "HEAD"} {
		loopFields, loopBody := get(method, "")
		netFields, netBody := get(method, "Content-Length: 0\r\n")
		if !slices.Equal(loopFields, netFields) || loopBody != netBody {
			t.Errorf("%s hit: the loop's answer\n%s\n%d bytes\nnet/http's\n%s\n%d bytes", method,
				strings.Join(loopFields, "\n"), len(loopBody), strings.Join(netFields, "\n"), len(netBody))
		}
		if !slices.Contains(loopFields, "X-Cache: Hit from edgefront") {
			t.Errorf("%s: not a hit: %v", method, loopFields)
		}
		if accept != "" && !slices.Contains(loopFields, "Content-Encoding: gzip") {
			t.Errorf("%s: not the gzip encoding: %v", method, loopFields)
		}
	}
	if answered, handed := e.srv.viewer["http"].(interface{ Stats() (int64, int64) }).Stats(); answered < 3 || handed < 2 {
		t.Errorf("answered %d, handed over %d: the comparison did not take both paths", answered, handed)
	}
}

// A stale-while-revalidate refresh outlives the request that started it,
// while the same connection goes on with requests of its own (the loop
// reuses a request's fields for the next): the refresh's origin request
// carries the fields of the request that started it, not a later one's.
func TestRefreshOutlivesItsRequestOnAReusedConnection(t *testing.T) {
	var mu sync.Mutex
	var asked []string // X-Viewer of each origin request for /x
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/x" {
			mu.Lock()
			asked = append(asked, r.Header.Get("X-Viewer"))
			refresh := len(asked) > 1
			mu.Unlock()
			if refresh {
				time.Sleep(100 * time.Millisecond) // long enough for the viewer to move on
			}
		}
		w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=60")
		fmt.Fprint(w, "object")
	}))
	defer o.Close()
	e := start(t, fmt.Sprintf("  - name: main\n    origins: {o: {type: http, url: %q}}\n    default_behavior: {target_origin: o, min_ttl: 0}\n", o.URL))
	c, br := e.dial(t, 5*time.Second)
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: h\r\nX-Viewer: first\r\n\r\n")
	if resp, err := http.ReadResponse(br, nil); err != nil {
		t.Fatal(err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	time.Sleep(1100 * time.Millisecond) // stale now
	// The refresher and what follows it, pipelined: the loop answers them
	// one after the other with no wait between, while the refresh starts.
	var pipelined strings.Builder
	fmt.Fprintf(&pipelined, "GET /x HTTP/1.1\r\nHost: h\r\nX-Viewer: refresher\r\n\r\n")
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&pipelined, "GET /x HTTP/1.1\r\nHost: h\r\nX-Viewer: later-%d\r\n\r\n", i)
	}
	io.WriteString(c, pipelined.String())
	for i := 0; i <= 20; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if xc := resp.Header.Get("X-Cache"); !strings.HasPrefix(xc, "Hit") {
			t.Fatalf("answer %d, within stale-while-revalidate: X-Cache %q", i, xc)
		}
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		got := slices.Clone(asked)
		mu.Unlock()
		if len(got) >= 2 || time.Now().After(deadline) {
			if !slices.Equal(got, []string{"first", "refresher"}) {
				t.Errorf("the origin was asked for /x with X-Viewer %q, want the miss's and the refresher's", got)
			}
			return
		}
	}
}

// Hits, passes, fills and refreshes mixed, pipelined on a few
// connections at once (run with -race): each pass's answer is made from
// its own request's fields, although every connection reuses them from
// one request to the next.
func TestMixedPipelinedRequestsOnReusedConnections(t *testing.T) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/pass/"):
			w.Header().Set("Cache-Control", "no-store")
		case strings.HasPrefix(r.URL.Path, "/swr/"):
			w.Header().Set("Cache-Control", "max-age=0, stale-while-revalidate=60")
		default:
			w.Header().Set("Cache-Control", "max-age=60")
		}
		w.Header().Set("Content-Type", "text/plain")
		if strings.HasPrefix(r.URL.Path, "/big/") {
			fmt.Fprint(w, strings.Repeat("b", 300<<10))
			return
		}
		fmt.Fprintf(w, "%s %s", r.URL.Path, r.Header.Get("X-Viewer"))
	}))
	defer o.Close()
	e := start(t, fmt.Sprintf("  - name: main\n    origins: {o: {type: http, url: %q}}\n    default_behavior: {target_origin: o, min_ttl: 0}\n", o.URL))
	kinds := []string{"/hit/a", "/pass/p", "/swr/s", "/big/x", "/hit/b?q=1", "/pass/q?z=2"}
	var wg sync.WaitGroup
	for conn := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", strings.TrimPrefix(e.http, "http://"))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(c)
			for batch := range 4 {
				var req strings.Builder
				type sent struct{ target, viewer string }
				var want []sent
				for i := range 30 {
					target := kinds[(i+conn+batch)%len(kinds)]
					viewer := fmt.Sprintf("c%d-b%d-r%d", conn, batch, i)
					fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: h\r\nX-Viewer: %s\r\n\r\n", target, viewer)
					want = append(want, sent{target, viewer})
				}
				io.WriteString(c, req.String())
				for _, w := range want {
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Error(err)
						return
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != http.StatusOK {
						t.Errorf("%s: %d, %v", w.target, resp.StatusCode, err)
						return
					}
					path, _, _ := strings.Cut(w.target, "?")
					if strings.HasPrefix(path, "/pass/") && string(body) != path+" "+w.viewer {
						t.Errorf("a pass for %s from %s answered %q", w.target, w.viewer, body)
					}
				}
			}
		}()
	}
	wg.Wait()
}
