// Package demo runs the single-domain layout with nothing installed: a
// sample JSON API on its own loopback port, an in-process S3 server holding
// a website bucket (a single-page app), a private storage bucket and a
// public thumbnails bucket, and the edge in front.
package demo

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/edgefront/edgefront/internal/admin"
	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/server"
	"github.com/edgefront/edgefront/internal/signedurl"
)

//go:embed data
var data embed.FS

// Demo is a running demo.
type Demo struct {
	Edge       *server.Server
	EdgeURL    string
	APIURL     string
	S3URL      string
	ConfigPath string
	AdminURL   string
	// SignedURL is a URL of the private bucket signed for an hour.
	SignedURL      string
	PrivateKeyFile string
	dir            string
	api            *http.Server
	s3             *http.Server
}

// The demo's S3 server takes any credentials; the edge signs with these.
const (
	demoAccessKey = "EDGEFRONTDEMOKEY"
	demoSecretKey = "edgefront-demo-secret"
)

// DemoKeyPairID names the demo's signing key.
const DemoKeyPairID = "K2DEMOEDGEFRONT"

var configTemplate = template.Must(template.New("config").Parse(`# The edgefront demo: the seed's single-domain layout.
listen:
  http: "{{.Listen}}"
admin:
  listen: "{{.Admin}}"
key_groups:
  signers: [{id: {{.KeyID}}, public_key_file: ./public_key.pem}]
distributions:
  - name: demo
    default_root_object: index.html
    origins:
      api:        {type: http, url: "{{.API}}", custom_headers: {X-Origin-Verify: demo}}
      stac:       {type: http, url: "{{.API}}"}
      storage:    {type: s3, bucket: private-data, endpoint: "{{.S3}}", access_key_id: {{.Key}}, secret_access_key: {{.Secret}}}
      thumbnails: {type: s3, bucket: thumbnails, endpoint: "{{.S3}}", anonymous: true}
      website:    {type: s3, bucket: website, endpoint: "{{.S3}}", access_key_id: {{.Key}}, secret_access_key: {{.Secret}}, website: {index_document: index.html}}
    behaviors:
      - path_pattern: "/api*"
        target_origin: api
        allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]
        min_ttl: 0
        default_ttl: 0
        max_ttl: 0
        forward: {headers: [referer, authorization, origin, accept, host], query_strings: all, cookies: all}
      - path_pattern: "/stac/*"
        target_origin: stac
        strip_prefix: /stac
        default_ttl: 0
      - path_pattern: "/storage/*"
        target_origin: storage
        trusted_key_groups: [signers]
      - path_pattern: "/thumbnails/*"
        target_origin: thumbnails
    default_behavior:
      target_origin: website
      compress: true
      error_responses:
        - {error_code: 404, when_accept: text/html, response_page_path: /index.html, response_code: 200}
`))

// Start runs the demo with the edge on listen ("127.0.0.1:0" picks a port).
func Start(listen string) (*Demo, error) {
	d := &Demo{}
	ok := false
	defer func() {
		if !ok {
			d.Close()
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sample API: %w", err)
	}
	d.APIURL = "http://" + ln.Addr().String()
	d.api = &http.Server{Handler: API(), ReadHeaderTimeout: 10 * time.Second}
	go d.api.Serve(ln)

	if err := d.startS3(); err != nil {
		return nil, fmt.Errorf("in-process S3: %w", err)
	}
	if d.dir, err = os.MkdirTemp("", "edgefront-demo-"); err != nil {
		return nil, err
	}
	if d.PrivateKeyFile, _, err = signedurl.WriteKeyPair(d.dir); err != nil {
		return nil, err
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	defer func() {
		if !ok {
			adminLn.Close()
		}
	}()
	d.AdminURL = "http://" + adminLn.Addr().String()
	d.ConfigPath = filepath.Join(d.dir, "edgefront.yaml")
	f, err := os.Create(d.ConfigPath)
	if err != nil {
		return nil, err
	}
	err = configTemplate.Execute(f, map[string]string{"Listen": listen, "Admin": adminLn.Addr().String(), "API": d.APIURL, "S3": d.S3URL, "Key": demoAccessKey, "Secret": demoSecretKey, "KeyID": DemoKeyPairID})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(d.ConfigPath)
	if err != nil {
		return nil, err
	}
	if d.Edge, err = server.New(cfg, func() (*config.Config, error) { return config.Load(d.ConfigPath) }, nil); err != nil {
		return nil, err
	}
	httpAddr, _, err := d.Edge.Listen(cfg.Listen)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s is in use by another program: run the demo on another address, such as edgefront demo --http 127.0.0.1:8081", listen)
	}
	if err != nil {
		return nil, err
	}
	d.EdgeURL = "http://" + httpAddr.String()
	d.Edge.ServeAdmin(adminLn, admin.New(d.Edge, "", nil))
	key, err := signedurl.LoadPrivateKey(d.PrivateKeyFile)
	if err != nil {
		return nil, err
	}
	if d.SignedURL, err = sign.NewURLSigner(DemoKeyPairID, key).Sign(d.EdgeURL+"/storage/report.csv", time.Now().Add(time.Hour)); err != nil {
		return nil, err
	}
	ok = true
	return d, nil
}

// startS3 serves the sample buckets from memory, as the seed lays them out:
// the app at the root of the website bucket, and keys under storage/ and
// thumbnails/ in theirs, so that no prefix needs stripping.
func (d *Demo) startS3() error {
	backend := s3mem.New()
	buckets := map[string]struct{ dir, prefix string }{
		"website":      {"data/website", ""},
		"private-data": {"data/storage", "storage/"},
		"thumbnails":   {"data/thumbnails", "thumbnails/"},
	}
	for bucket, src := range buckets {
		if err := backend.CreateBucket(bucket); err != nil {
			return err
		}
		entries, err := data.ReadDir(src.dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			b, err := data.ReadFile(src.dir + "/" + e.Name())
			if err != nil {
				return err
			}
			meta := map[string]string{"Content-Type": mime.TypeByExtension(path.Ext(e.Name()))}
			if _, err := backend.PutObject(bucket, src.prefix+e.Name(), meta, bytes.NewReader(b), int64(len(b)), nil); err != nil {
				return err
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.S3URL = "http://" + ln.Addr().String()
	d.s3 = &http.Server{Handler: gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server(), ReadHeaderTimeout: 10 * time.Second}
	go d.s3.Serve(ln)
	return nil
}

// PrintURLs writes the URLs worth trying.
func (d *Demo) PrintURLs(w io.Writer) {
	u := d.EdgeURL
	fmt.Fprintf(w, `edgefront demo is running at %s

  %s/                          the single-page app (from the website origin)
  %s/docs/3                    a deep link: the browser gets index.html, the app fetches /api/notes/3
  %s/api/notes/3               the sample API through /api*
  %s/api/notes/42              the API's own 404 JSON, untouched
  %s/stac/collections          strip_prefix: the API is asked for /collections
  %s/thumbnails/note-1.svg     a public bucket
  %s/storage/report.csv        a private bucket: 403 without a signature

A signed URL for the private bucket, valid for one hour:
  %s

Signed cookies for the whole /storage/ folder:
  go run ./cmd/edgefront sign --cookies --url '%s/storage/*' --key-pair-id %s --private-key %s --expires 1h

The edge cache: the first request is a Miss, the next ones Hits (never for /api*):
  for i in 1 2 3; do curl -s -o /dev/null -D - %s/thumbnails/note-1.svg | grep -iE '^(x-cache|age):'; done

Invalidate them, and the next request is a Miss again:
  go run ./cmd/edgefront invalidate -c %s '/thumbnails/*'

The admin API is at %s (GET /healthz, POST /invalidations, POST /reload).
The config is %s; try:
  go run ./cmd/edgefront explain -c %s %s/docs/3

Press Ctrl-C to stop.
`, u, u, u, u, u, u, u, u, d.SignedURL, u, DemoKeyPairID, d.PrivateKeyFile, u, d.ConfigPath, d.AdminURL, d.ConfigPath, d.ConfigPath, u)
}

// Close stops the edge and the API and removes the sample data.
func (d *Demo) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if d.Edge != nil {
		errs = append(errs, d.Edge.Shutdown(ctx))
	}
	if d.api != nil {
		errs = append(errs, d.api.Shutdown(ctx))
	}
	if d.s3 != nil {
		errs = append(errs, d.s3.Shutdown(ctx))
	}
	if d.dir != "" {
		errs = append(errs, os.RemoveAll(d.dir))
	}
	return errors.Join(errs...)
}
