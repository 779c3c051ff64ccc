package edge

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// fakeS3 starts gofakes3, an in-process S3 protocol server, with objects.
// It does not check signatures; the versitygw tests in internal/origin do.
func fakeS3(t *testing.T, objects map[string]map[string]string, meta map[string]map[string]string) string {
	t.Helper()
	backend := s3mem.New()
	for bucket, objs := range objects {
		if err := backend.CreateBucket(bucket); err != nil {
			t.Fatal(err)
		}
		for key, body := range objs {
			m := map[string]string{"Content-Type": "text/plain"}
			if strings.HasSuffix(key, ".html") {
				m["Content-Type"] = "text/html"
			}
			for k, v := range meta[bucket+"/"+key] {
				m[k] = v
			}
			if _, err := backend.PutObject(bucket, key, m, bytes.NewReader([]byte(body)), int64(len(body)), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestS3OriginsOfTheSeed(t *testing.T) {
	s3 := fakeS3(t, map[string]map[string]string{
		"private-data": {"storage/report.csv": "a,b\n1,2\n", "storage/a b+c~%é.txt": "odd key", "storage/x//y.txt": "double slash"},
		"thumbnails":   {"thumbnails/one.png": "png"},
		"website": {
			"index.html": "<html>app</html>", "app.js": "js", "docs/index.html": "<html>docs</html>",
			"404.html": "<html>not found</html>", "old.html": "", "blog/2020/post.html": "post",
		},
	}, map[string]map[string]string{
		"website/old.html": {"X-Amz-Website-Redirect-Location": "/app.js"},
	})
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins:
      storage:    {type: s3, bucket: private-data, endpoint: %[1]q, access_key_id: AKIDEXAMPLE, secret_access_key: secret}
      thumbnails: {type: s3, bucket: thumbnails, endpoint: %[1]q, anonymous: true}
      website:
        type: s3
        bucket: website
        endpoint: %[1]q
        anonymous: true
        website:
          index_document: index.html
          error_document: 404.html
          routing_rules:
            - condition: {key_prefix_equals: articles/}
              redirect: {replace_key_prefix_with: blog/}
            - condition: {key_prefix_equals: gone/, http_error_code_returned_equals: 404}
              redirect: {host_name: archive.example.org, http_redirect_code: 302}
      nosuch: {type: s3, bucket: no-such-bucket, endpoint: %[1]q, anonymous: true}
    behaviors:
      - {path_pattern: "/storage/*", target_origin: storage}
      - {path_pattern: "/thumbnails/*", target_origin: thumbnails}
      - {path_pattern: "/nosuch/*", target_origin: nosuch}
      - {path_pattern: "/site/*", target_origin: website, strip_prefix: /site}
    default_behavior: {target_origin: website}
`, s3), nil)
	cases := []struct {
		path   string
		status int
		body   string
		loc    string
	}{
		{"/storage/report.csv", 200, "a,b\n1,2\n", ""},
		{"/storage/a%20b+c~%25%C3%A9.txt", 200, "odd key", ""},
		{"/storage/x//y.txt", 200, "double slash", ""},
		{"/storage/missing.csv", 404, "no such object", ""},
		{"/thumbnails/one.png", 200, "png", ""},
		{"/nosuch/x", 502, "bucket does not exist", ""},
		{"/", 200, "<html>app</html>", ""},
		{"/app.js", 200, "js", ""},
		{"/docs/", 200, "<html>docs</html>", ""},
		{"/docs", 302, "", "docs/"},
		{"/site/docs", 302, "", "docs/"},
		{"/nothing/here", 404, "<html>not found</html>", ""},
		{"/old.html", 301, "", "app.js"},
		{"/articles/2020/post.html", 301, "", "../../blog/2020/post.html"},
		{"/site/articles/2020/post.html", 301, "", "../../blog/2020/post.html"},
		{"/gone/thing", 302, "", "https://archive.example.org/gone/thing"},
		{"/storage/" + strings.Repeat("k", 1100), 400, "longer than", ""},
	}
	for _, c := range cases {
		r := get(t, e.URL+c.path)
		if r.StatusCode != c.status || !strings.Contains(r.body, c.body) || r.Header.Get("Location") != c.loc {
			t.Errorf("%s: %d %q Location %q; want %d %q Location %q", c.path, r.StatusCode, r.body, r.Header.Get("Location"), c.status, c.body, c.loc)
		}
		for name := range r.Header {
			if strings.HasPrefix(name, "X-Amz-") {
				t.Errorf("%s: S3 header %s reached the viewer", c.path, name)
			}
		}
		if strings.Contains(r.body, "<Error>") {
			t.Errorf("%s: S3's XML reached the viewer: %q", c.path, r.body)
		}
	}
	// Relative redirects resolve to the right place below a stripped prefix.
	r := get(t, e.URL+"/site/docs")
	if loc, _ := r.Request.URL.Parse(r.Header.Get("Location")); loc.Path != "/site/docs/" {
		t.Errorf("/site/docs redirects to %s", loc.Path)
	}
	// Ranges and validators pass through.
	r = do(t, "GET", e.URL+"/storage/report.csv", map[string]string{"Range": "bytes=0-2"})
	if r.StatusCode != 206 || r.body != "a,b" {
		t.Errorf("range: %d %q", r.StatusCode, r.body)
	}
	if etag := get(t, e.URL+"/storage/report.csv").Header.Get("ETag"); etag == "" {
		t.Error("no ETag from S3")
	} else if r := do(t, "GET", e.URL+"/storage/report.csv", map[string]string{"If-None-Match": etag}); r.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", r.StatusCode)
	}
	// A write is refused at the edge unless the behavior allows it.
	if r := do(t, "PUT", e.URL+"/storage/report.csv", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("PUT: %d", r.StatusCode)
	}
	// The viewer's query string never reaches the bucket.
	if r := get(t, e.URL+"/storage/report.csv?acl"); r.StatusCode != 200 || r.body != "a,b\n1,2\n" {
		t.Errorf("?acl: %d %q", r.StatusCode, r.body)
	}
}

// Large bodies from a plain-HTTP bucket go from socket to socket; the bytes
// must arrive whole and in order, over keep-alive viewer connections too.
func TestS3LargeObjectsArriveIntact(t *testing.T) {
	big := make([]byte, 3<<20+12345)
	for i := range big {
		big[i] = byte(i*7 + i/251)
	}
	s3 := fakeS3(t, map[string]map[string]string{"media": {"big.bin": string(big), "small.txt": "small"}}, nil)
	e := edgeFor(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {media: {type: s3, bucket: media, endpoint: %q, anonymous: true}}
    default_behavior: {target_origin: media}
`, s3), nil)
	for i := 0; i < 3; i++ {
		if r := get(t, e.URL+"/big.bin"); r.StatusCode != 200 || r.body != string(big) {
			t.Fatalf("round %d: %d, %d bytes, intact %v", i, r.StatusCode, len(r.body), r.body == string(big))
		}
		if r := get(t, e.URL+"/small.txt"); r.body != "small" {
			t.Fatalf("small after big: %q", r.body)
		}
	}
	if r := do(t, "GET", e.URL+"/big.bin", map[string]string{"Range": "bytes=100000-100009"}); r.StatusCode != 206 || r.body != string(big[100000:100010]) {
		t.Errorf("range: %d %q", r.StatusCode, r.body)
	}
}
