// Package demo runs the single-domain layout with nothing installed: a
// sample JSON API on its own loopback port, a single-page app, a public
// thumbnails folder and a private storage folder, and the edge in front.
package demo

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"text/template"
	"time"

	"github.com/edgefront/edgefront/internal/config"
	"github.com/edgefront/edgefront/internal/server"
)

//go:embed data
var data embed.FS

// Demo is a running demo.
type Demo struct {
	Edge       *server.Server
	EdgeURL    string
	APIURL     string
	ConfigPath string
	dir        string
	api        *http.Server
}

var configTemplate = template.Must(template.New("config").Parse(`# The edgefront demo: the seed's single-domain layout.
listen:
  http: "{{.Listen}}"
distributions:
  - name: demo
    default_root_object: index.html
    origins:
      api:        {type: http, url: "{{.API}}", custom_headers: {X-Origin-Verify: demo}}
      stac:       {type: http, url: "{{.API}}"}
      thumbnails: {type: dir, root: ./data/thumbnails}
      storage:    {type: dir, root: ./data/storage}
      website:    {type: dir, root: ./data/website}
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
        strip_prefix: /storage
      - path_pattern: "/thumbnails/*"
        target_origin: thumbnails
        strip_prefix: /thumbnails
    default_behavior:
      target_origin: website
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

	if d.dir, err = os.MkdirTemp("", "edgefront-demo-"); err != nil {
		return nil, err
	}
	if err := extract(d.dir); err != nil {
		return nil, err
	}
	d.ConfigPath = filepath.Join(d.dir, "edgefront.yaml")
	f, err := os.Create(d.ConfigPath)
	if err != nil {
		return nil, err
	}
	err = configTemplate.Execute(f, map[string]string{"Listen": listen, "API": d.APIURL})
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
	if d.Edge, err = server.New(cfg, func() (*config.Config, error) { return config.Load(d.ConfigPath) }); err != nil {
		return nil, err
	}
	httpAddr, _, err := d.Edge.Listen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	d.EdgeURL = "http://" + httpAddr.String()
	ok = true
	return d, nil
}

// extract writes the embedded sample data below dir/data.
func extract(dir string) error {
	return fs.WalkDir(data, "data", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if e.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := data.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
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
  %s/thumbnails/note-1.svg     a public image
  %s/storage/report.csv        a private file (signed URLs come with a later version)

The config is %s; try:
  go run ./cmd/edgefront explain -c %s %s/docs/3

Press Ctrl-C to stop.
`, u, u, u, u, u, u, u, u, d.ConfigPath, d.ConfigPath, u)
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
	if d.dir != "" {
		errs = append(errs, os.RemoveAll(d.dir))
	}
	return errors.Join(errs...)
}
