package h1

import (
	"net/http"
	"testing"
)

// A browser's request for an API answer.
var benchRequest = []byte("GET /api/notes/3?page=2 HTTP/1.1\r\nHost: example.org\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0\r\nAccept: application/json\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br\r\nReferer: http://example.org/notes\r\n" +
	"Cookie: session=abc123\r\nSec-Fetch-Mode: cors\r\nConnection: keep-alive\r\n\r\n")

// BenchmarkParseHead is what the loop does with a request head before the
// handler: the parse, and the fields into the connection's map.
func BenchmarkParseHead(b *testing.B) {
	var h head
	hdr, vals := make(http.Header), []string(nil)
	b.ReportAllocs()
	for b.Loop() {
		if parseHead(benchRequest, &h) != parsed {
			b.Fatal("not parsed")
		}
		clear(hdr)
		hdr, vals = h.headerInto(hdr, vals)
	}
}
