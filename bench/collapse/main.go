// Command collapse sends 1,000 concurrent requests for one uncached key
// through the edge and reports how many reached the origin, and when the
// viewers got their first byte compared with when the origin sent its
// last. The origin sends half its body, waits, then sends the rest.
//
//	go run ./bench/collapse [-n 1000] [-pause 500ms]
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgefront/edgefront/bench/internal/benchkit"
)

func main() {
	n := flag.Int("n", 1000, "concurrent viewers")
	pause := flag.Duration("pause", 500*time.Millisecond, "the origin's pause between the halves of its body")
	flag.Parse()

	body := make([]byte, 256<<10)
	var requests atomic.Int64
	var lastByte atomic.Int64
	origin := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		time.Sleep(*pause)
		w.Write(body[len(body)/2:])
		lastByte.Store(time.Now().UnixNano())
	})}
	oln := listen()
	go origin.Serve(oln)

	dir, _ := os.MkdirTemp("", "collapse-")
	defer os.RemoveAll(dir)
	eln := listen()
	yaml := fmt.Sprintf("distributions:\n  - name: main\n    origins: {o: {type: http, url: \"http://%s\"}}\n    default_behavior: {target_origin: o}\n", oln.Addr())
	srv, _ := benchkit.Edge(filepath.Join(dir, "edgefront.yaml"), yaml)
	go (&http.Server{Handler: srv}).Serve(eln)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *n, MaxConnsPerHost: 0}}
	url := "http://" + eln.Addr().String() + "/one-key"
	firstBytes := make([]int64, *n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := make(chan struct{})
	for i := range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := client.Get(url)
			if err != nil {
				failed.Add(1)
				return
			}
			defer resp.Body.Close()
			var one [1]byte
			if _, err := io.ReadFull(resp.Body, one[:]); err != nil {
				failed.Add(1)
				return
			}
			firstBytes[i] = time.Now().UnixNano()
			if m, err := io.Copy(io.Discard, resp.Body); err != nil || m != int64(len(body)-1) {
				failed.Add(1)
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	last := lastByte.Load()
	before := 0
	for _, fb := range firstBytes {
		if fb != 0 && fb < last {
			before++
		}
	}
	slices.Sort(firstBytes)
	ms := func(ns int64) float64 { return float64(ns-t0.UnixNano()) / 1e6 }
	fmt.Printf("%d concurrent misses on one key: %d origin request(s), %d failed\n", *n, requests.Load(), failed.Load())
	fmt.Printf("first byte at the viewers: median %.0f ms, last %.0f ms; the origin's last byte at %.0f ms\n",
		ms(firstBytes[len(firstBytes)/2]), ms(firstBytes[len(firstBytes)-1]), ms(last))
	fmt.Printf("%d of %d viewers had their first byte before the origin sent its last\n", before, *n)
	if requests.Load() != 1 || failed.Load() != 0 || before != *n {
		os.Exit(1)
	}
}

func listen() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	benchkit.Check(err)
	return ln
}
