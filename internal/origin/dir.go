package origin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
)

// Dir serves files from a directory, or any fs.FS, the way a bucket serves
// objects: a path names a file; folders are not listed; conditional and
// range requests work; nothing outside the root can be reached.
type Dir struct {
	handler
	files  *files
	prefix string
}

// NewDir serves the directory root. It is opened with os.Root, so neither
// ".." nor a symbolic link can lead outside it.
func NewDir(root, prefix string) (*Dir, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	return NewFS(r.FS(), prefix), nil
}

// NewFS serves the files of fsys; prefix is a path inside it to serve from.
func NewFS(fsys fs.FS, prefix string) *Dir {
	f := &files{fsys: fsys}
	return &Dir{handler: handler{h: f}, files: f, prefix: prefix}
}

// conditionalHeaders make a request ask for more than the whole file.
var conditionalHeaders = []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since"}

// RoundTrip answers a plain GET or HEAD of a file directly, its body the
// open file (which the kernel can send to a viewer's socket with sendfile).
// Everything else, conditional and range requests and errors included, is
// answered by http.ServeContent through the handler.
func (d *Dir) RoundTrip(req *http.Request) (*http.Response, error) {
	if resp := d.files.direct(req); resp != nil {
		return resp, nil
	}
	return d.handler.RoundTrip(req)
}

func (f *files) direct(r *http.Request) *http.Response {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil
	}
	for _, h := range conditionalHeaders {
		if r.Header.Get(h) != "" {
			return nil
		}
	}
	name, ok := fsName(r.URL.Path)
	if !ok {
		return nil
	}
	ctype := contentType(name)
	if ctype == "" {
		return nil // ServeContent sniffs the type
	}
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil
	}
	fi, err := file.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		file.Close()
		return nil
	}
	h := make(http.Header, 6)
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	h.Set("Etag", etag(fi))
	h.Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	var body io.ReadCloser = file
	if r.Method == http.MethodHead {
		file.Close()
		body = http.NoBody
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: body, ContentLength: fi.Size(), Request: r,
	}
}

// Prepare puts the request below the origin's path prefix.
func (d *Dir) Prepare(out *http.Request) { prefixPath(out.URL, d.prefix) }

type files struct{ fsys fs.FS }

func (f *files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/" || r.URL.Path == "" {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	name, ok := fsName(r.URL.Path)
	if !ok {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	file, err := f.fsys.Open(name)
	if err != nil {
		notFound(w, err)
		return
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		notFound(w, err)
		return
	}
	// A folder is not an object; buckets answer 404 for it too.
	if fi.IsDir() || !fi.Mode().IsRegular() {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	rs, ok := file.(io.ReadSeeker)
	if !ok {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("ETag", etag(fi))
	if ctype := contentType(name); ctype != "" {
		h.Set("Content-Type", ctype)
	}
	http.ServeContent(w, r, name, fi.ModTime(), rs)
}

// fsName turns a URL path into an fs.FS name, refusing any path that tries
// to climb out of the root or hide a separator.
func fsName(p string) (string, bool) {
	if strings.ContainsAny(p, "\\\x00") {
		return "", false
	}
	name := strings.TrimPrefix(p, "/")
	if name == "" {
		return "", false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." || seg == "." {
			return "", false
		}
	}
	name = strings.TrimSuffix(name, "/")
	if !fs.ValidPath(name) || path.Clean(name) != name {
		return "", false
	}
	return name, true
}

// notFound answers a file that cannot be opened. Like a bucket, it says 404
// for what is missing and for what the root refuses (a link out of it).
func notFound(w http.ResponseWriter, err error) {
	if errors.Is(err, fs.ErrPermission) {
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	http.Error(w, "Not Found", http.StatusNotFound)
}

func contentType(name string) string { return mime.TypeByExtension(path.Ext(name)) }

// etag is a strong validator from the file's size and modification time, as
// cheap as nginx's and stable across restarts.
func etag(fi fs.FileInfo) string {
	sum := sha256.Sum256([]byte(fi.Name() + "\x00" + strconv.FormatInt(fi.Size(), 10) + "\x00" + strconv.FormatInt(fi.ModTime().UnixNano(), 10)))
	return fmt.Sprintf("%q", hex.EncodeToString(sum[:8]))
}
