package h1

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Answers' framing and bodies: as net/http frames them, files sent with
// sendfile, bodies spliced from other connections.

// Answers are framed as net/http frames them, whatever the handler
// does: small and large bodies, flushes, declared lengths, bodiless
// statuses, Transfer-Encoding: identity, on GET and HEAD.
func TestLoopFramesAsNetHTTP(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if cl := q.Get("cl"); cl != "" {
			w.Header().Set("Content-Length", cl)
		}
		if te := q.Get("te"); te != "" {
			w.Header().Set("Transfer-Encoding", te)
		}
		if ct := q.Get("ct"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		if st, _ := strconv.Atoi(q.Get("status")); st != 0 {
			w.WriteHeader(st)
		}
		n, _ := strconv.Atoi(q.Get("n"))
		body := strings.Repeat("<html>", n/6+1)[:n]
		if q.Get("rf") != "" {
			// Through ReadFrom, as a proxy copies a body.
			io.Copy(w, &io.LimitedReader{R: strings.NewReader(body), N: int64(n)})
			return
		}
		for len(body) > 0 {
			k := min(len(body), 3000)
			w.Write([]byte(body[:k]))
			body = body[k:]
			if q.Get("flush") != "" {
				w.(http.Flusher).Flush()
			}
		}
	})
	addr, _ := loop(t, h, nil)
	ref := httptest.NewServer(h)
	defer ref.Close()
	for _, query := range []string{"n=0", "n=10", "n=2048", "n=2049", "n=9000", "n=10&flush=1", "n=9000&flush=1",
		"n=5&cl=5", "n=5000&cl=5000", "status=204", "status=304&cl=7&ct=text/plain", "n=3&status=404", "n=4000&te=identity",
		"n=20&ct=application/json", "status=301",
		"n=5000&rf=1", "n=5000&cl=5000&rf=1", "n=70000&cl=70000&ct=text/plain&rf=1", "n=4000&cl=5000&ct=text/plain&rf=1",
		"n=10&cl=10&ct=text/plain&rf=1&status=404", "n=0&cl=0&ct=text/plain&rf=1"} {
		for _, method := range []string{"GET", "HEAD"} {
			raw := fmt.Sprintf("%s /?%s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", method, query)
			got, want := exchange(t, addr, raw), exchange(t, ref.Listener.Addr().String(), raw)
			for _, field := range []string{"Content-Length", "Transfer-Encoding", "Content-Type", "Connection"} {
				if g, w := fieldOf(got, field), fieldOf(want, field); g != w {
					t.Errorf("%s ?%s: %s %q, net/http %q", method, query, field, g, w)
				}
			}
			gr, err1 := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), &http.Request{Method: method})
			wr, err2 := http.ReadResponse(bufio.NewReader(strings.NewReader(want)), &http.Request{Method: method})
			if err1 != nil || err2 != nil {
				t.Errorf("%s ?%s: %v / %v", method, query, err1, err2)
				continue
			}
			gb, _ := io.ReadAll(gr.Body)
			wb, _ := io.ReadAll(wr.Body)
			if gr.StatusCode != wr.StatusCode || string(gb) != string(wb) {
				t.Errorf("%s ?%s: %d, %d bytes; net/http %d, %d bytes", method, query, gr.StatusCode, len(gb), wr.StatusCode, len(wb))
			}
		}
	}
}

func fieldOf(answer, name string) string {
	for _, line := range strings.Split(answer, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			return v
		}
	}
	return ""
}

// A stored body in a file goes out with sendfile at offsets: large
// bodies (past the socket's buffer) arrive whole, and answers sharing
// one file at once do not disturb each other.
func TestLoopSendsFiles(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "body")
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	f.Write(want)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/section" {
			// A section of the file, after a first part written as bytes.
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(5<<20))
			w.Write(want[1000:5000])
			io.Copy(w, io.NewSectionReader(f, 5000, 5<<20-4000))
			return
		}
		if !w.(*response).WriteStoredFile(200, []byte("Content-Type: application/octet-stream\r\n"), false, f, int64(len(want))) {
			t.Error("WriteStoredFile refused a fresh answer")
		}
	})
	addr, _ := loop(t, h, nil)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, want := "/f", want
			if i%2 == 1 {
				path, want = "/section", want[1000:1000+5<<20]
			}
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil || !bytes.Equal(got, want) || resp.ContentLength != int64(len(want)) {
				t.Errorf("%s: %d of %d bytes (length %d): %v", path, len(got), len(want), resp.ContentLength, err)
			}
		}()
	}
	wg.Wait()
}

// A body copied from another connection with a declared length leaves
// through the kernel (splice): whole, framed, and the connection goes on.
func TestLoopSplicesBodies(t *testing.T) {
	want := make([]byte, 9<<20)
	for i := range want {
		want[i] = byte(i * 13)
	}
	src, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	go func() {
		for {
			c, err := src.Accept()
			if err != nil {
				return
			}
			go func() { c.Write(want); c.Close() }()
		}
	}()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := net.Dial("tcp", src.Addr().String())
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		n := int64(len(want))
		if r.URL.Path == "/short" {
			n++ // the source ends before the length it declared
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		w.(io.ReaderFrom).ReadFrom(&io.LimitedReader{R: c.(*net.TCPConn), N: n})
	})
	addr, _ := loop(t, h, nil)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		fmt.Fprintf(c, "GET /f HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("answer %d: %d of %d bytes: %v", i, len(got), len(want), err)
		}
	}
	resp, err := http.Get("http://" + addr + "/short")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || len(got) != len(want) {
		t.Errorf("a body shorter than its length: %d bytes, err %v; want the connection cut", len(got), err)
	}
}
