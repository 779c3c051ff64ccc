// Command barehit is the floor the edge's hit path is measured against: a
// bare net/http handler that writes, from memory, the answer a cache hit
// gives (the same fields: the origin's, Via, X-Cache, Age,
// X-Edge-Request-Id) with no routing, key or lookup. bench/cache.sh runs
// it beside edgefront, nginx and Varnish.
//
// With -raw it is the machine's floor for any Go server: a goroutine per
// connection that finds the end of each request head and the path, and
// writes the answer rendered once, head and body in one writev, with
// nothing else (no parser, no fields, no timeouts, no log). -memfd sends
// the bodies with sendfile from memory files instead, as a cache that
// kept its bodies there would; -files DIR from regular files written to
// DIR, in the page cache, as nginx sends from its cache files.
//
//	go run ./bench/barehit [-raw [-memfd | -files DIR]] 127.0.0.1:18204 1k.bin=1024 100k.bin=102400
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	raw := flag.Bool("raw", false, "a minimal HTTP/1.1 loop instead of net/http")
	memfd := flag.Bool("memfd", false, "with -raw: bodies sent with sendfile from memory files")
	dir := flag.String("files", "", "with -raw: bodies sent with sendfile from files written to this directory")
	cert := flag.String("cert", "", "with -key: serve HTTPS (and HTTP/2) with this certificate")
	key := flag.String("key", "", "the certificate's key")
	flag.Parse()
	bodies := map[string][]byte{}
	for _, arg := range flag.Args()[1:] {
		name, size, _ := strings.Cut(arg, "=")
		n, _ := strconv.Atoi(size)
		bodies["/"+name] = make([]byte, n)
	}
	lastMod := time.Now().UTC().Format(http.TimeFormat)
	if *memfd && *dir != "" {
		check(fmt.Errorf("-memfd and -files: choose one"))
	}
	if *raw {
		check(serveRaw(flag.Arg(0), bodies, lastMod, *memfd, *dir))
		return
	}
	srv := &http.Server{Addr: flag.Arg(0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h["Server"] = []string{"nginx"}
		h["Content-Type"] = []string{"application/octet-stream"}
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		h["Last-Modified"] = []string{lastMod}
		h["Etag"] = []string{`"6567e4b4-400"`}
		h["Cache-Control"] = []string{"max-age=3600"}
		h["Accept-Ranges"] = []string{"bytes"}
		h["Via"] = []string{"1.1 edgefront"}
		h["X-Cache"] = []string{"Hit from edgefront"}
		h["Age"] = []string{"3"}
		h["X-Edge-Request-Id"] = []string{"75yZw5wOmJ1SIaac-QAAAAAAAAAI"}
		w.Write(body)
	})}
	if *cert != "" {
		check(srv.ListenAndServeTLS(*cert, *key))
		return
	}
	check(srv.ListenAndServe())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// serveRaw answers GET /name with the answer for it, rendered once.
func serveRaw(addr string, bodies map[string][]byte, lastMod string, memfd bool, dir string) error {
	heads, files := map[string][]byte{}, map[string]int{}
	sendfile := memfd || dir != ""
	for path, body := range bodies {
		if sendfile {
			fd, err := bodyFile(path, body, memfd, dir)
			if err != nil {
				return err
			}
			files[path] = fd
		}
		heads[path] = fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/octet-stream\r\n"+
			"Content-Length: %d\r\nLast-Modified: %s\r\nEtag: \"6567e4b4-400\"\r\nCache-Control: max-age=3600\r\n"+
			"Accept-Ranges: bytes\r\nVia: 1.1 edgefront\r\nX-Cache: Hit from edgefront\r\nAge: 3\r\n"+
			"X-Edge-Request-Id: 75yZw5wOmJ1SIaac-QAAAAAAAAAI\r\nDate: %s\r\n\r\n", len(body), lastMod, lastMod)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			br := bufio.NewReaderSize(c, 4096)
			for {
				line, err := br.ReadSlice('\n') // GET /path HTTP/1.1
				if err != nil {
					return
				}
				_, rest, _ := bytes.Cut(line, []byte(" "))
				path, _, _ := bytes.Cut(rest, []byte(" "))
				for len(line) > 2 {
					if line, err = br.ReadSlice('\n'); err != nil {
						return
					}
				}
				head, ok := heads[string(path)]
				if !ok {
					return
				}
				if !sendfile {
					bufs := net.Buffers{head, bodies[string(path)]}
					if _, err := bufs.WriteTo(c); err != nil {
						return
					}
					continue
				}
				if _, err := c.Write(head); err != nil || sendAll(c.(*net.TCPConn), files[string(path)], len(bodies[string(path)])) != nil {
					return
				}
			}
		}()
	}
}

// bodyFile is a descriptor of a file that holds body: a memory file, or
// a regular file written to dir.
func bodyFile(path string, body []byte, memfd bool, dir string) (int, error) {
	var fd int
	var err error
	if memfd {
		fd, err = unix.MemfdCreate(path, 0)
	} else {
		fd, err = unix.Open(filepath.Join(dir, path), unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o600)
	}
	if err != nil {
		return -1, err
	}
	if n, err := unix.Write(fd, body); err != nil || n != len(body) {
		unix.Close(fd)
		return -1, fmt.Errorf("writing %s: %d of %d bytes: %v", path, n, len(body), err)
	}
	return fd, nil
}

// sendAll sends size bytes of the file fd to c with sendfile.
func sendAll(c *net.TCPConn, fd, size int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var off int64
	var serr error
	err = rc.Write(func(out uintptr) bool {
		for off < int64(size) {
			_, e := unix.Sendfile(int(out), fd, &off, size-int(off))
			if e == unix.EAGAIN {
				return false
			}
			if e != nil && e != unix.EINTR {
				serr = e
				return true
			}
		}
		return true
	})
	if serr != nil {
		return serr
	}
	return err
}
