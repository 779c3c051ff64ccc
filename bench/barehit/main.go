// Command barehit is the floor the edge's hit path is measured against: a
// bare net/http handler that writes, from memory, the answer a cache hit
// gives (the same fields: the origin's, Via, X-Cache, Age,
// X-Edge-Request-Id) with no routing, key or lookup. bench/cache.sh runs
// it beside edgefront, nginx and Varnish.
//
//	go run ./bench/barehit 127.0.0.1:18204 1k.bin=1024 100k.bin=102400
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	bodies := map[string][]byte{}
	for _, arg := range os.Args[2:] {
		name, size, _ := strings.Cut(arg, "=")
		n, _ := strconv.Atoi(size)
		bodies["/"+name] = make([]byte, n)
	}
	lastMod := time.Now().UTC().Format(http.TimeFormat)
	srv := &http.Server{Addr: os.Args[1], Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
