package edge

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// decode undoes a Content-Encoding with the libraries' own readers.
func decode(t *testing.T, enc, body string) string {
	t.Helper()
	var r io.Reader = strings.NewReader(body)
	switch enc {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(r)
	case "zstd":
		zr, err := zstd.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unknown encoding %q", enc)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s body does not decode: %v", enc, err)
	}
	return string(b)
}

func varies(h http.Header) bool {
	return strings.Contains(strings.Join(h.Values("Vary"), ","), "Accept-Encoding")
}

// page is a compressible body of n bytes.
func page(n int) string {
	return strings.Repeat("<p>edgefront compresses this</p>\n", n/33+1)[:n]
}

// contentOrigin serves each path with the header and body the test set.
type contentOrigin struct {
	n     atomic.Int64
	paths map[string]func(w http.ResponseWriter)
}

func (o *contentOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.n.Add(1)
	if f := o.paths[r.URL.Path]; f != nil {
		f(w)
		return
	}
	http.NotFound(w, r)
}

func serveBody(ctype, body string, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "max-age=3600")
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if w.Header().Get("Transfer-Encoding") == "" {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		}
		w.Header().Del("Transfer-Encoding")
		io.WriteString(w, body)
	}
}

func TestCompressionByAcceptEncodingCachedOncePerEncoding(t *testing.T) {
	body := page(5000)
	o := &contentOrigin{paths: map[string]func(http.ResponseWriter){
		"/app.html": serveBody("text/html; charset=utf-8", body, "Etag", `"v1"`),
	}}
	up, _ := upstream(t, o.ServeHTTP)
	e, _ := cachingEdge(t, up.URL, ", compress: true")
	before := encodeCount.Load()
	for i, c := range []struct{ ae, enc, xcache string }{
		{"gzip, deflate, br, zstd", "br", "Miss"}, // curl --compressed; br first, as CloudFront
		{"gzip, deflate, br, zstd", "br", "Hit"},
		{"br", "br", "Hit"},
		{"gzip", "gzip", "Hit"},
		{"gzip;q=1, br;q=0.5", "gzip", "Hit"},
		{"br;q=0, gzip", "gzip", "Hit"},
		{"zstd", "zstd", "Hit"},
		{"zstd, gzip;q=0.9", "zstd", "Hit"},
		{"identity", "", "Hit"},
		{"deflate", "", "Hit"},
	} {
		r := do(t, "GET", e+"/app.html", map[string]string{"Accept-Encoding": c.ae})
		wantStatus(t, r, 200)
		wantCache(t, r, c.xcache, "")
		if got := r.Header.Get("Content-Encoding"); got != c.enc {
			t.Errorf("%d: Accept-Encoding %q: Content-Encoding %q, want %q", i, c.ae, got, c.enc)
		}
		if decode(t, r.Header.Get("Content-Encoding"), r.body) != body {
			t.Errorf("%d: %q: the body does not decode to the origin's", i, c.ae)
		}
		if !varies(r.Header) {
			t.Errorf("%d: %q: no Vary: Accept-Encoding", i, c.ae)
		}
		etag := r.Header.Get("Etag")
		if c.enc != "" && (etag != `W/"v1"` || len(r.body) >= len(body)) {
			t.Errorf("%d: %q: ETag %q, %d bytes for %d", i, c.ae, etag, len(r.body), len(body))
		}
		if c.enc == "" && (etag != `"v1"` || r.ContentLength != int64(len(body))) {
			t.Errorf("%d: identity: ETag %q, Content-Length %d", i, etag, r.ContentLength)
		}
		if c.xcache == "Hit" && r.ContentLength != int64(len(r.body)) {
			t.Errorf("%d: %q: a hit has Content-Length %d for %d bytes", i, c.ae, r.ContentLength, len(r.body))
		}
	}
	if n := o.n.Load(); n != 1 {
		t.Errorf("the origin was asked %d times; every encoding comes from the one cached answer", n)
	}
	// The miss streams its own br; the hits make br, gzip and zstd once.
	if n := encodeCount.Load() - before; n != 3 {
		t.Errorf("%d encodings made for 3 encodings served many times", n)
	}
	// Conditional and HEAD requests get the encoded answer's fields.
	r := do(t, "GET", e+"/app.html", map[string]string{"Accept-Encoding": "br", "If-None-Match": `W/"v1"`})
	wantStatus(t, r, http.StatusNotModified)
	r = do(t, "HEAD", e+"/app.html", map[string]string{"Accept-Encoding": "gzip"})
	if r.Header.Get("Content-Encoding") != "gzip" || r.body != "" {
		t.Errorf("HEAD: %q %q", r.Header.Get("Content-Encoding"), r.body)
	}
	// A range is served from the identity answer.
	r = do(t, "GET", e+"/app.html", map[string]string{"Accept-Encoding": "br", "Range": "bytes=0-9"})
	wantStatus(t, r, http.StatusPartialContent)
	if r.Header.Get("Content-Encoding") != "" || r.body != body[:10] {
		t.Errorf("range: %q %q", r.Header.Get("Content-Encoding"), r.body)
	}
}

func TestCompressionOnlyWhenCloudFrontWould(t *testing.T) {
	pre := new(bytes.Buffer)
	zw := gzip.NewWriter(pre)
	zw.Write([]byte(page(4000)))
	zw.Close()
	o := &contentOrigin{paths: map[string]func(http.ResponseWriter){
		"/small.css":   serveBody("text/css", page(999)),
		"/min.css":     serveBody("text/css", page(1000)),
		"/big.txt":     serveBody("text/plain", page(10_000_001)),
		"/photo.png":   serveBody("image/png", page(5000)),
		"/pre.js":      serveBody("application/javascript", pre.String(), "Content-Encoding", "gzip"),
		"/keep.json":   serveBody("application/json", page(5000), "Cache-Control", "max-age=60, no-transform"),
		"/chunked.txt": serveBody("text/plain", page(5000), "Transfer-Encoding", "chunked"),
		"/gone.html": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusGone)
			io.WriteString(w, page(5000))
		},
		"/missing.html": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Length", "5000")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, page(5000))
		},
	}}
	up, _ := upstream(t, o.ServeHTTP)
	e, _ := cachingEdge(t, up.URL, ", compress: true")
	for path, want := range map[string]string{
		"/small.css": "", "/min.css": "gzip", "/big.txt": "", "/photo.png": "",
		"/pre.js": "gzip", "/keep.json": "", "/chunked.txt": "", "/gone.html": "", "/missing.html": "gzip",
	} {
		for _, xc := range []string{"miss", "hit"} {
			r := do(t, "GET", e+path, map[string]string{"Accept-Encoding": "gzip"})
			for i := 0; xc == "hit" && r.Header.Get("X-Cache") != "Hit from edgefront" && i < 100; i++ {
				time.Sleep(10 * time.Millisecond) // the fill that the miss made is being stored
				r = do(t, "GET", e+path, map[string]string{"Accept-Encoding": "gzip"})
			}
			if path == "/chunked.txt" && xc == "hit" {
				want = "gzip" // stored, its length is known
			}
			if got := r.Header.Get("Content-Encoding"); got != want {
				t.Errorf("%s (%s): Content-Encoding %q, want %q", path, xc, got, want)
			}
			if path == "/pre.js" && r.body != pre.String() {
				t.Errorf("the origin's gzip was changed")
			}
		}
	}
}

func TestCompressionWithoutCacheAndOffByDefault(t *testing.T) {
	body := page(3000)
	o := &contentOrigin{paths: map[string]func(http.ResponseWriter){"/api/notes": serveBody("application/json", body)}}
	up, _ := upstream(t, o.ServeHTTP)
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    behaviors:
      - {path_pattern: "/api/*", target_origin: o, max_ttl: 0, default_ttl: 0, compress: true}
    default_behavior: {target_origin: o}
`, up.URL), nil)
	r := do(t, "GET", e.URL+"/api/notes", map[string]string{"Accept-Encoding": "zstd"})
	wantCache(t, r, "Miss", "")
	if r.Header.Get("Content-Encoding") != "zstd" || decode(t, "zstd", r.body) != body || !varies(r.Header) {
		t.Errorf("uncached behavior with compress: %q", r.Header.Get("Content-Encoding"))
	}
	r = do(t, "GET", e.URL+"/notes", map[string]string{"Accept-Encoding": "gzip"})
	if r.Header.Get("Content-Encoding") != "" {
		t.Errorf("compress is off by default, got %q", r.Header.Get("Content-Encoding"))
	}
}

// A media type is matched as nginx's gzip_types matches it: the type and
// subtype without case, the parameters left out.
func TestMediaType(t *testing.T) {
	for v, want := range map[string]string{
		"text/html":                "text/html",
		"Text/HTML; charset=utf-8": "text/html",
		" application/json ;q":     "application/json",
		"":                         "",
		"image/png":                "image/png",
	} {
		if got := mediaType(v); got != want {
			t.Errorf("mediaType(%q) = %q, want %q", v, got, want)
		}
	}
	if !compressible(200, http.Header{"Content-Type": {"Text/CSS; charset=utf-8"}, "Content-Length": {"4096"}}) {
		t.Error("text/css with a charset, upper-cased, is not compressed")
	}
	if compressible(200, http.Header{"Content-Type": {"image/png"}, "Content-Length": {"4096"}}) {
		t.Error("image/png is compressed")
	}
}
