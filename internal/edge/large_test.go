package edge

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// An answer too large to store, on a cached behavior, goes from the
// origin to its viewer as a pass would (handed over by the fill, not
// through its window): whole for each viewer at once, each asking the
// origin itself, and cut short visibly when the origin cuts it.
func TestLargeAnswersOnCachedBehaviors(t *testing.T) {
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i * 31)
	}
	o, seen := largeOrigin(t, big, "max-age=60")
	e := edgeFor(t, fmt.Sprintf(`
cache: {memory: 4MiB, max_object_size: 1MiB}
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o}
`, o.URL), nil)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := http.Get(e.URL + "/big")
			if err != nil {
				t.Error(err)
				return
			}
			defer r.Body.Close()
			got, err := io.ReadAll(r.Body)
			if err != nil || !bytes.Equal(got, big) || r.Header.Get("X-Cache") != "Miss from edgefront" {
				t.Errorf("viewer %d: %d of %d bytes, %q: %v", i, len(got), len(big), r.Header.Get("X-Cache"), err)
			}
		}()
	}
	wg.Wait()
	if n := seen.count(); n != 4 {
		t.Errorf("the origin was asked %d times for 4 viewers of an answer nobody stores", n)
	}
	if r := get(t, e.URL+"/big"); r.Header.Get("X-Cache") != "Miss from edgefront" || len(r.body) != len(big) {
		t.Errorf("asked again: %q, %d bytes", r.Header.Get("X-Cache"), len(r.body))
	}
	r, err := http.Get(e.URL + "/cut")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err == nil || len(got) >= len(big) {
		t.Errorf("an origin that cut its body short: the viewer read %d bytes, err %v; want an error", len(got), err)
	}
}

// A large pass the kernel cannot splice (the viewer is on TLS) is copied
// with large buffers: whole and in order, over a keep-alive connection,
// and cut short visibly when the origin cuts it.
func TestLargePassOverTLSArrivesIntact(t *testing.T) {
	big := make([]byte, 3<<20+777)
	for i := range big {
		big[i] = byte(i*13 + i/509)
	}
	o, _ := largeOrigin(t, big, "")
	ts, _ := unstartedEdge(t, fmt.Sprintf(`
distributions:
  - name: main
    origins: {o: {type: http, url: %q}}
    default_behavior: {target_origin: o, min_ttl: 0, default_ttl: 0, max_ttl: 0}
`, o.URL), nil, nil)
	ts.StartTLS() // HTTP/1.1 over TLS: EnableHTTP2 is left off
	client := ts.Client()
	for i := range 3 {
		resp, err := client.Get(ts.URL + "/big")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(body, big) || resp.ProtoMajor != 1 {
			t.Fatalf("round %d: %v, %d bytes, intact %v, HTTP/%d", i, err, len(body), bytes.Equal(body, big), resp.ProtoMajor)
		}
	}
	resp, err := client.Get(ts.URL + "/cut")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Errorf("a body the origin cut arrived whole-looking: %d bytes, no error", len(body))
	}
}

// largeOrigin answers every path with big (with Cache-Control:
// cacheControl unless it is ""), and /cut with its first half, then
// cuts the connection.
func largeOrigin(t *testing.T, big []byte, cacheControl string) (*httptest.Server, *seen) {
	return upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		if r.URL.Path == "/cut" {
			w.Write(big[:len(big)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		w.Write(big)
	})
}
