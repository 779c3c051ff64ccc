package edge

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/edgefront/edgefront/internal/origin"
)

// headOrigin answers every request with the head it received, as a
// sorted list of lines: the request line, Host, then each field.
func headOrigin(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					lines := []string{req.Method + " " + req.RequestURI, "Host: " + req.Host}
					for k, vs := range req.Header {
						lines = append(lines, k+": "+strings.Join(vs, " | "))
					}
					slices.Sort(lines[2:])
					body := strings.Join(lines, "\n")
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// A direct origin request (the viewer's fields read in place, with
// edits) reaches the origin as the same request copied for it does
// (originRequest): the same target, Host and fields, for viewers that
// send connection fields, forwarded ones, Via, a Te, no User-Agent or an
// empty one, a field the origin's custom fields replace, an escaped path
// under strip_prefix, over TLS or from an address that is not one.
func TestDirectRequestsMatchCopies(t *testing.T) {
	url := headOrigin(t)
	for _, trusted := range []string{"", "trusted_proxies: [10.0.0.0/8]\n"} {
		_, rt := edgeWithClock(t, trusted+`
distributions:
  - name: d
    origins:
      o: {type: http, url: "`+url+`", path: /base, custom_headers: {X-Origin-Secret: s3cr3t, x-forwarded-proto: from-origin}}
    behaviors:
      - {path_pattern: "/api/*", target_origin: o, strip_prefix: /api, min_ttl: 0, default_ttl: 0, max_ttl: 0}
    default_behavior: {target_origin: o, min_ttl: 0, default_ttl: 0, max_ttl: 0}
`, nil, nil)
		d := rt.dists[0]
		cases := []struct {
			name, target, remote string
			tls                  bool
			fields               [][2]string
		}{
			{"bare", "/x", "192.0.2.1:1234", false, nil},
			{"connection and forwarded fields", "/x?q=1&r", "10.1.2.3:5", false, [][2]string{
				{"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-For", "198.51.100.2"}, {"Via", "1.1 a"}, {"Via", "1.0 b"},
				{"Connection", "X-Drop, keep-alive"}, {"X-Drop", "d"}, {"Keep-Alive", "timeout=5"}, {"Te", "trailers, deflate"},
				{"Proxy-Authorization", "Basic x"}, {"Forwarded", "for=1.2.3.4"}, {"X-Forwarded-Host", "spoof"},
				{"X-Forwarded-Proto", "spoof"}, {"User-Agent", "curl/8"}, {"Accept", "a"}, {"Accept", "b"}}},
			{"empty user agent", "/x", "192.0.2.1:1", false, [][2]string{{"User-Agent", ""}, {"Upgrade-Insecure-Requests", "1"}}},
			{"a field the origin sets", "/x", "192.0.2.1:1", false, [][2]string{{"X-Origin-Secret", "spoof"}, {"Cookie", "a=1; b=2"}}},
			{"connection naming rewritten fields", "/x", "192.0.2.1:1", false, [][2]string{
				{"Connection", "Via, X-Forwarded-For, Te"}, {"Via", "1.1 a"}, {"X-Forwarded-For", "203.0.113.9"}, {"Te", "trailers"}}},
			{"escaped path under the prefix", "/api/a%2Fb/c?x=%20", "192.0.2.1:1", false, nil},
			{"over TLS", "/api/", "[2001:db8::1]:443", true, [][2]string{{"Accept-Encoding", "gzip"}}},
			{"no address", "/x", "pipe", false, [][2]string{{"X-Forwarded-For", "203.0.113.9"}}},
		}
		for _, c := range cases {
			in := httptest.NewRequest("GET", "http://viewer.example"+c.target, nil)
			in.RemoteAddr = c.remote
			if c.tls {
				in.TLS = &tls.ConnectionState{}
			}
			for _, f := range c.fields {
				in.Header.Add(f[0], f[1])
			}
			b := d.Match(in.URL.Path)
			if b.direct == nil {
				t.Fatalf("%s: the behavior takes no direct requests", c.name)
			}
			ex := &exchange{in: in, dist: d, behavior: b}
			ex.client, ex.viaProxy = clientAddr(in, rt.trusted)
			send := func(out *http.Request, e *origin.Edits) string {
				raw, err := b.raw.RoundTripRaw(out, e)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				defer raw.Body.Close()
				got, err := io.ReadAll(raw.Body)
				if err != nil {
					t.Fatal(err)
				}
				return string(got)
			}
			pr := newPassRequest(in)
			copied := send(b.originRequest(in, ex, pr), nil)
			pr.release()
			pr = newPassRequest(in)
			out, e := b.directRequest(in, ex, pr)
			direct := send(out, e)
			pr.release()
			if direct != copied {
				t.Errorf("%s (%q): the origin got, directly\n%s\nand from the copy\n%s", c.name, trusted, direct, copied)
			}
			if !strings.Contains(direct, "X-Origin-Secret: s3cr3t") || !strings.Contains(direct, "X-Forwarded-Proto: from-origin") ||
				strings.Contains(direct, "spoof") || strings.Contains(direct, "X-Drop") || strings.Contains(direct, "Keep-Alive") {
				t.Errorf("%s: the origin got\n%s", c.name, direct)
			}
		}
	}
}

// A behavior whose rewrite does more than every pass's (a header list, a
// cookie policy) copies its origin requests.
func TestDirectRequestsOnlyForPlainRewrites(t *testing.T) {
	_, rt := edgeWithClock(t, `
distributions:
  - name: d
    origins: {o: {type: http, url: "http://127.0.0.1:1"}}
    behaviors:
      - {path_pattern: "/list/*", target_origin: o, forward: {headers: [Authorization]}}
      - {path_pattern: "/except/*", target_origin: o, forward: {headers: {all_except: [X-Secret]}}}
      - {path_pattern: "/cookies/*", target_origin: o, forward: {cookies: none}}
      - {path_pattern: "/host/*", target_origin: o, forward: {headers: all}}
    default_behavior: {target_origin: o}
`, nil, nil)
	d := rt.dists[0]
	for path, direct := range map[string]bool{"/list/x": false, "/except/x": false, "/cookies/x": false, "/host/x": true, "/x": true} {
		if got := d.Match(path).direct != nil; got != direct {
			t.Errorf("%s: direct %v, want %v", path, got, direct)
		}
	}
}
