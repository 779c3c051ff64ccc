package h1

import (
	"bufio"
	"bytes"
	"maps"
	"net/http"
	"slices"
	"testing"
)

// FuzzParseHead is the parser's differential test: every head the loop
// answers, net/http's ReadRequest reads the same way (method, target,
// Host, fields, no body, the same Connection: close), so that answering
// it here or there cannot differ; all else is handed over.
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"HEAD /x?y=1 HTTP/1.1\r\nHost: example.org:8080\r\nAccept: */*\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
		"GET /a%20b HTTP/1.1\r\nhost: a\r\nconnection: close\r\nX-Empty:\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
		"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET //a HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
		"GET /a?b?c HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a? HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a!b*(c)'d%2Fe?q=%zz HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /~u/$&+,:;=@-_. HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var h head
		if parseHead(in, &h) != parsed {
			return
		}
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			t.Fatalf("the loop answers %q, net/http refuses it: %v", in, err)
		}
		if r.Method != h.method || r.RequestURI != h.target || r.Host != h.host || r.ContentLength != 0 || len(r.TransferEncoding) != 0 || r.Close != h.close {
			t.Fatalf("%q: loop %s %s host %q close %v; net/http %s %s host %q close %v length %d te %v",
				in, h.method, h.target, h.host, h.close, r.Method, r.RequestURI, r.Host, r.Close, r.ContentLength, r.TransferEncoding)
		}
		if *r.URL != h.url {
			t.Fatalf("%q: loop URL %#v, net/http %#v", in, h.url, *r.URL)
		}
		if got, _ := h.headerInto(nil, nil); !maps.EqualFunc(got, r.Header, slices.Equal) {
			t.Fatalf("%q: loop fields %v, net/http %v", in, got, r.Header)
		}
		if h.n != len(in)-len(bytes.TrimPrefix(in, in[:h.n])) || !bytes.HasSuffix(in[:h.n], []byte("\r\n\r\n")) {
			t.Fatalf("%q: head length %d", in, h.n)
		}
	})
}

func TestParseHead(t *testing.T) {
	for in, want := range map[string]int{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n":                                          parsed,
		"GET / HTTP/1.1\r\nHost: a\r\n":                                              partial,
		"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n":                        parsed, // pipelined: the first head
		"GET / HTTP/1.1\nHost: a\n\n":                                                handOver,
		"GET / HTTP/1.1\r\nHost: a\n\r\n":                                            handOver,
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n":                                         handOver,
		"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n":                               handOver,
		"GET / HTTP/1.1\r\n\r\n":                                                     handOver,
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n":                               handOver,
		"POST / HTTP/1.1\r\nHost: a\r\n\r\n":                                         handOver,
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n":                     handOver,
		"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n":            handOver,
		"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n":                    handOver,
		"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n":                  handOver,
		"GET * HTTP/1.1\r\nHost: a\r\n\r\n":                                          handOver,
		"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n":                                  handOver,
		"GET / HTTP/1.0\r\nHost: a\r\n\r\n":                                          handOver,
		"GET / HTTP/2.0\r\nHost: a\r\n\r\n":                                          handOver,
		"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n":                                      handOver,
		"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n":                        handOver,
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n":                                        handOver,
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n\r\n":       handOver,
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-A: 1\r\nX-A: 2\r\n\r\n": parsed,
	} {
		var h head
		if got := parseHead([]byte(in), &h); got != want {
			t.Errorf("%q: %d, want %d", in, got, want)
		}
	}
}
