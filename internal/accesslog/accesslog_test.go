package accesslog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func entry() *Entry {
	return &Entry{
		Time: time.Date(2026, 11, 27, 8, 30, 5, 0, time.UTC), Location: "PAR1", BytesOut: 392, ClientIP: "192.0.2.100",
		Method: "GET", Distribution: "main", Path: "/docs/a b%7C", Status: 200, UserAgent: `Mozilla/5.0 (X11; "Linux") ~x`,
		Result: "Hit", RequestID: "abc", Host: "www.example.com", Protocol: "https", BytesIn: 23,
		TimeTaken: 1500 * time.Microsecond, TLSProtocol: "TLSv1.3", TLSCipher: "TLS_AES_128_GCM_SHA256", Response: "Hit",
		ProtoVersion: "HTTP/2.0", ClientPort: "11040", TTFB: time.Millisecond, Detailed: "Hit", ContentType: "text/html", ContentLength: "78",
	}
}

func TestW3CLineAsCloudFrontWritesIt(t *testing.T) {
	line := string(entry().appendW3C(nil))
	want := "2026-11-27\t08:30:05\tPAR1\t392\t192.0.2.100\tGET\tmain\t/docs/a%20b%257C\t200\t-\t" +
		"Mozilla/5.0%20(X11;%20%22Linux%22)%20%7Ex\t-\t-\tHit\tabc\twww.example.com\thttps\t23\t0.002\t-\tTLSv1.3\t" +
		"TLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-\n"
	if line != want {
		t.Errorf("line:\n%q\nwant\n%q", line, want)
	}
	if n := len(strings.Split(strings.TrimSuffix(line, "\n"), "\t")); n != 33 {
		t.Errorf("%d fields, want CloudFront's 33", n)
	}
	if n := len(strings.Fields(strings.TrimPrefix(Fields, "#Fields: "))); n != 33 {
		t.Errorf("the #Fields line names %d fields", n)
	}
	e := entry()
	e.Status = 0
	if f := strings.Split(string(e.appendW3C(nil)), "\t"); f[8] != "000" {
		t.Errorf("a viewer that left before an answer: status %q, want 000", f[8])
	}
}

func TestFileHeaderJSONAndRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	l, err := Open(path, "cloudfront", 0)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(entry())
	// Rotation: the file is moved away, SIGUSR1 reopens the path.
	os.Rename(path, path+".1")
	l.Log(entry())
	time.Sleep(50 * time.Millisecond)
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Log(entry())
	l.Close()
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(old), Header) || strings.Count(string(old), "\tPAR1\t") != 2 {
		t.Errorf("the rotated file:\n%s", old)
	}
	if !strings.HasPrefix(string(cur), Header) || strings.Count(string(cur), "\tPAR1\t") != 1 {
		t.Errorf("the new file:\n%s", cur)
	}
	// Opening a file that has lines adds no second header.
	l, _ = Open(path, "cloudfront", 0)
	l.Log(entry())
	l.Close()
	cur, _ = os.ReadFile(path)
	if strings.Count(string(cur), "#Version") != 1 {
		t.Errorf("header written twice:\n%s", cur)
	}

	jpath := filepath.Join(dir, "access.json")
	l, _ = Open(jpath, "json", 0)
	l.Log(entry())
	l.Close()
	b, _ := os.ReadFile(jpath)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m["x-edge-result-type"] != "Hit" || m["cs-uri-stem"] != "/docs/a b%7C" || m["sc-status"] != 200.0 {
		t.Errorf("JSON line %s: %v", b, err)
	}
}

func TestAFullQueueDropsAndCounts(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "a.log"), "cloudfront", 2)
	big := entry()
	big.UserAgent = strings.Repeat("x", 3000) // a line of 3 KiB: 21 fit in the 64 KiB that may wait
	if err != nil {
		t.Fatal(err)
	}
	l.fmu.Lock() // the disk stalls
	done := make(chan struct{})
	go func() {
		for range 100 {
			l.Log(big)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Log blocked while the disk stalled")
	}
	l.fmu.Unlock()
	if d := l.Dropped(); d < 70 || d > 80 {
		t.Errorf("%d lines dropped of 100 with room for %d bytes", d, flushBytes)
	}
	l.Close()
}
