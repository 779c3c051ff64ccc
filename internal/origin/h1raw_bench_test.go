package origin

import (
	"bufio"
	"io"
	"net/http"
	"testing"
)

// An API answer's head as nginx sends it, as bufferedHead returns it.
var benchHead = []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 14:17:44 GMT\r\n" +
	"Content-Type: application/json\r\nContent-Length: 76\r\nConnection: keep-alive\r\nCache-Control: no-store\r\nVary: Accept-Encoding\r\n")

// BenchmarkReadRawHead is what a raw pass does with the origin's head:
// the parse, which checks its framing too.
func BenchmarkReadRawHead(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		h, ok, err := parseRawHead(benchHead)
		if err != nil || !ok || h.Length != 76 || h.close {
			b.Fatalf("parsed %+v, %v", h, ok)
		}
	}
}

// BenchmarkWriteRequest writes a pass's origin request from a browser's
// fields.
func BenchmarkWriteRequest(b *testing.B) {
	req, _ := http.NewRequest("GET", "http://127.0.0.1:8080/api/notes/3?page=2", nil)
	for _, f := range [][2]string{{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0"},
		{"Accept", "application/json"}, {"Accept-Language", "en-US,en;q=0.9"}, {"Accept-Encoding", "gzip, deflate, br"},
		{"Referer", "http://example.org/notes"}, {"Cookie", "session=abc123"}, {"Via", "1.1 edgefront"},
		{"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-Host", "example.org"}, {"X-Forwarded-Proto", "https"}} {
		req.Header.Set(f[0], f[1])
	}
	bw := bufio.NewWriterSize(io.Discard, 4096)
	b.ReportAllocs()
	for b.Loop() {
		if !writeRequest(bw, req, nil) {
			b.Fatal("not written")
		}
		bw.Flush()
	}
}
