package h1

import (
	"net/http"
	"testing"
)

// BenchmarkStoredHead frames the head of a raw pass's answer, as a hit's:
// the handler's fields (the edge's two), the origin's lines, the length.
func BenchmarkStoredHead(b *testing.B) {
	cn := &conn{}
	fields := []byte("Server: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 14:17:44 GMT\r\nContent-Type: application/json\r\nVia: 1.1 edgefront\r\n")
	h := http.Header{"X-Cache": {"Miss from edgefront"}, "X-Edge-Request-Id": {"KZn7GCJwSni_MqH2FgAAAAAAAAAB"}}
	b.ReportAllocs()
	for b.Loop() {
		w := response{cn: cn, header: h, contentLength: -1}
		if !w.storedHead(http.StatusOK, fields, true, 76) {
			b.Fatal("not written")
		}
		cn.bw.b = cn.bw.b[:0]
	}
}
