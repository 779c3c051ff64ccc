// Command barepass is the floor the edge's pass path is measured against:
// what this machine allows any Go proxy built on goroutines and the
// runtime's network poller. A goroutine per viewer connection, each with
// one keep-alive connection to the origin of its own, forwards each
// request head as it came, reads the answer's head and its Content-Length
// body, and writes both to the viewer in one write. Nothing else: no
// parser beyond the framing, no fields added or removed, no timeouts, no
// pool shared between connections, no log. bench/run.sh runs it beside
// edgefront, nginx and HAProxy.
//
//	go run ./bench/barepass 127.0.0.1:18105 127.0.0.1:18100
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: barepass LISTEN ORIGIN")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go serve(c, os.Args[2])
	}
}

// serve proxies one viewer connection's requests (GET and HEAD without
// bodies, as the benchmark sends) to its own origin connection.
func serve(c net.Conn, origin string) {
	defer c.Close()
	o, err := net.Dial("tcp", origin)
	if err != nil {
		return
	}
	defer o.Close()
	vr, or := bufio.NewReaderSize(c, 4096), bufio.NewReaderSize(o, 16384)
	for {
		head, err := nextHead(vr)
		if err != nil {
			return
		}
		bodiless := bytes.HasPrefix(head, []byte("HEAD "))
		_, err = o.Write(head)
		vr.Discard(len(head))
		if err != nil {
			return
		}
		if head, err = nextHead(or); err != nil {
			return
		}
		n := contentLength(head)
		if n < 0 {
			return // the benchmark's origin always gives a length
		}
		if bodiless {
			n = 0
		}
		if whole := len(head) + n; whole <= or.Size() {
			// Head and body together from the buffer, in one write.
			b, err := or.Peek(whole)
			if err != nil {
				return
			}
			_, err = c.Write(b)
			or.Discard(whole)
			if err != nil {
				return
			}
			continue
		}
		_, err = c.Write(head)
		or.Discard(len(head))
		if err != nil {
			return
		}
		if _, err := io.CopyN(c, or, int64(n)); err != nil {
			return
		}
	}
}

var blank = []byte("\r\n\r\n")

// nextHead returns the head at the start of r's buffer, up to and with
// its blank line, without consuming it: the caller discards it once used.
func nextHead(r *bufio.Reader) ([]byte, error) {
	for {
		b, _ := r.Peek(r.Buffered())
		if i := bytes.Index(b, blank); i >= 0 {
			return b[:i+len(blank)], nil
		}
		if _, err := r.Peek(len(b) + 1); err != nil { // wait for more
			return nil, err
		}
	}
}

// contentLength is the Content-Length of a response head, -1 when none.
func contentLength(head []byte) int {
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Content-Length")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
