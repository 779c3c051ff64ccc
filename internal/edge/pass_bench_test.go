package edge

import "testing"

// An API answer's fields as nginx sends them: what a raw pass filters.
var benchOriginFields = []byte("Server: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 14:17:44 GMT\r\nContent-Type: application/json\r\n" +
	"Content-Length: 76\r\nConnection: keep-alive\r\nCache-Control: no-store\r\nVary: Accept-Encoding\r\n")

func BenchmarkProxiedFields(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		out, info := proxiedFields(benchOriginFields)
		if len(out) == 0 || !info.typed {
			b.Fatal("no fields")
		}
	}
}
