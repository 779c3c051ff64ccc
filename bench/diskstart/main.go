// Command diskstart measures how soon edgefront serves from a disk tier
// of a million objects after it starts: it fills the tier (once; kept in
// -dir for later runs), starts `edgefront serve` on it with an origin that
// refuses every connection, and times the first hit from the start of the
// process.
//
//	go run ./bench/diskstart [-n 1000000] [-dir /var/tmp/edgefront-diskstart]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgefront/edgefront/bench/internal/benchkit"
	"github.com/edgefront/edgefront/internal/cache"
)

func main() {
	n := flag.Int("n", 1_000_000, "objects on disk")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "edgefront-diskstart"), "where the disk tier is kept between runs")
	flag.Parse()
	cacheDir := filepath.Join(*dir, "cache")
	marker := filepath.Join(*dir, "filled")
	if b, _ := os.ReadFile(marker); string(b) != strconv.Itoa(*n) {
		fill(cacheDir, *n)
		benchkit.Check(os.WriteFile(marker, []byte(strconv.Itoa(*n)), 0o644))
	}

	bin := filepath.Join(*dir, "edgefront")
	build := exec.Command("go", "build", "-o", bin, "./cmd/edgefront")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	benchkit.Check(build.Run())
	addr, dead := benchkit.FreeAddr(), benchkit.FreeAddr() // nothing listens on dead: a miss would be a 502
	cfg := filepath.Join(*dir, "edgefront.yaml")
	benchkit.Check(os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q}
cache: {memory: 256MiB, disk: {path: %q, size: 100GiB}}
distributions:
  - name: main
    origins: {o: {type: http, url: "http://%s"}}
    default_behavior: {target_origin: o}
`, addr, cacheDir, dead)), 0o644))

	cmd := exec.Command(bin, "serve", "-c", cfg)
	logs, err := cmd.StderrPipe()
	benchkit.Check(err)
	start := time.Now()
	benchkit.Check(cmd.Start())
	scanned := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "disk cache found") {
				scanned <- sc.Text()
			}
		}
	}()
	defer cmd.Process.Kill()
	key := *n / 2
	for {
		if time.Since(start) > 30*time.Second {
			fmt.Println("no hit within 30 s")
			os.Exit(1)
		}
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/o/%d", addr, key), nil)
		req.Host = "bench.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			time.Sleep(time.Millisecond)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != 200 || string(body) != fmt.Sprintf("object %d\n", key) {
			fmt.Printf("first answer after %v: %d %q %s\n", took, resp.StatusCode, body, resp.Header.Get("X-Cache"))
			os.Exit(1)
		}
		fmt.Printf("%d objects on disk: first hit %v after the process started (%s)\n", *n, took.Round(time.Millisecond), resp.Header.Get("X-Cache"))
		select {
		case line := <-scanned:
			fmt.Printf("the index of sizes, built in the background: %s\n", line[strings.Index(line, "objects="):])
		case <-time.After(2 * time.Minute):
		}
		if took > 3*time.Second {
			os.Exit(1)
		}
		return
	}
}

// fill writes n small objects into the disk tier as the edge keys them.
func fill(dir string, n int) {
	os.RemoveAll(dir)
	d, err := cache.OpenDisk(dir, 1<<40, nil)
	benchkit.Check(err)
	start := time.Now()
	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				body := []byte(fmt.Sprintf("object %d\n", i))
				o := cache.NewObject(http.Header{"Content-Type": {"text/plain"}, "Content-Length": {strconv.Itoa(len(body))}}, body,
					cache.Meta{Status: 200, ResponseTime: time.Now(), TTL: 365 * 24 * time.Hour})
				benchkit.Check(d.Put(fmt.Sprintf("main\x00http://bench.example\x00/o/%d", i), o))
			}
		}()
	}
	wg.Wait()
	fmt.Printf("wrote %d objects in %v\n", n, time.Since(start).Round(time.Second))
}
