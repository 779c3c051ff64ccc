package origin

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// handler turns an http.Handler into an origin's RoundTrip: the handler runs
// in its own goroutine and writes into a pipe that is the response body, so
// bodies stream and are never held whole in memory. The goroutine ends when
// the handler returns; if the reader goes away first, its writes fail and it
// returns early.
type handler struct{ h http.Handler }

func (h handler) RoundTrip(req *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	w := &pipeWriter{header: make(http.Header), pw: pw, req: req, ready: make(chan *http.Response, 1)}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				w.fail(fmt.Errorf("origin handler panicked: %v", p))
				return
			}
			w.WriteHeader(http.StatusOK) // a handler that wrote nothing sent an empty 200
			pw.Close()
		}()
		h.h.ServeHTTP(w, req)
	}()
	select {
	case resp := <-w.ready:
		if resp.StatusCode == 0 {
			return nil, w.err
		}
		resp.Body = pr
		return resp, nil
	case <-req.Context().Done():
		pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
}

// pipeWriter is the http.ResponseWriter the handler writes to.
type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	req    *http.Request
	ready  chan *http.Response
	once   sync.Once
	err    error
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		resp := &http.Response{
			Status:        strconv.Itoa(code) + " " + http.StatusText(code),
			StatusCode:    code,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        w.header.Clone(),
			Request:       w.req,
			ContentLength: -1,
		}
		if cl := resp.Header.Get("Content-Length"); cl != "" {
			if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
				resp.ContentLength = n
			}
		}
		if code == http.StatusNotModified || code == http.StatusNoContent {
			resp.ContentLength = 0
		}
		w.ready <- resp
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(p)
}

// Flush is a no-op: every Write already reaches the reader.
func (w *pipeWriter) Flush() {}

func (w *pipeWriter) fail(err error) {
	w.err = err
	w.once.Do(func() { w.ready <- &http.Response{} })
	w.pw.CloseWithError(err)
}
