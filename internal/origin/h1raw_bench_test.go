package origin

import "testing"

// An API answer's head as nginx sends it, as bufferedHead returns it.
var benchHead = []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 14:17:44 GMT\r\n" +
	"Content-Type: application/json\r\nContent-Length: 76\r\nConnection: keep-alive\r\nCache-Control: no-store\r\nVary: Accept-Encoding\r\n")

// BenchmarkReadRawHead is what a raw pass does with the origin's head:
// the framing check and the parse.
func BenchmarkReadRawHead(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := checkFraming(benchHead); err != nil {
			b.Fatal(err)
		}
		h, ok := parseRawHead(benchHead)
		if !ok || h.Length != 76 || h.close {
			b.Fatalf("parsed %+v, %v", h, ok)
		}
	}
}
