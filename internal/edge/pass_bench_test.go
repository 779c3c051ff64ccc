package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// An API answer's fields as nginx sends them: what a raw pass filters.
var benchOriginFields = []byte("Server: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 14:17:44 GMT\r\nContent-Type: application/json\r\n" +
	"Content-Length: 76\r\nConnection: keep-alive\r\nCache-Control: no-store\r\nVary: Accept-Encoding\r\n")

func BenchmarkProxiedFields(b *testing.B) {
	var buf []byte // a pass's storage, reused as passes reuse it
	b.ReportAllocs()
	for b.Loop() {
		out, info := proxiedFields(buf, benchOriginFields)
		if len(out) == 0 || !info.typed {
			b.Fatal("no fields")
		}
		buf = out[:0]
	}
}

// browserPass is a raw pass's behavior and a browser's request to it.
func browserPass(b *testing.B) (*Behavior, *http.Request) {
	_, rt := edgeWithClock(b, `
distributions:
  - name: bench
    origins: {o: {type: http, url: "http://127.0.0.1:1"}}
    default_behavior: {target_origin: o, min_ttl: 0, default_ttl: 0, max_ttl: 0}
`, nil, nil)
	in := httptest.NewRequest("GET", "http://example.org/api/notes/3?page=2", nil)
	for _, f := range [][2]string{{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0"},
		{"Accept", "application/json"}, {"Accept-Language", "en-US,en;q=0.9"}, {"Accept-Encoding", "gzip, deflate, br"},
		{"Referer", "http://example.org/notes"}, {"Cookie", "session=abc123"}, {"Sec-Fetch-Mode", "cors"}, {"Connection", "keep-alive"}} {
		in.Header.Set(f[0], f[1])
	}
	return rt.dists[0].def, in
}

// BenchmarkOriginRequest is a raw pass's origin request made from a
// browser's request: the fields' copy, the hop-by-hop fields dropped, the
// forwarded ones added, the rewrite.
func BenchmarkOriginRequest(b *testing.B) {
	beh, in := browserPass(b)
	ex := &exchange{}
	b.ReportAllocs()
	for b.Loop() {
		pr := newPassRequest(in)
		out := beh.originRequest(in, ex, pr)
		if out.Header["X-Forwarded-Proto"] == nil {
			b.Fatalf("no forwarded fields: %v", out.Header)
		}
		pr.release()
	}
}

// BenchmarkDirectRequest is the same origin request as the viewer's
// request with edits (directRequest): no copy of its fields.
func BenchmarkDirectRequest(b *testing.B) {
	beh, in := browserPass(b)
	ex := &exchange{}
	b.ReportAllocs()
	for b.Loop() {
		pr := newPassRequest(in)
		_, e := beh.directRequest(in, ex, pr)
		if len(e.Extra) == 0 {
			b.Fatal("no forwarded fields")
		}
		pr.release()
	}
}
