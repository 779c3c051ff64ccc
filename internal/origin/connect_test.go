package origin

import (
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/config"
)

// fullListener is a loopback port whose accept queue is full, so that a new
// connection's SYN goes unanswered: the way an origin that is down behind a
// firewall looks. It returns the address.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue; nothing ever accepts.
	for i := 0; i < 4; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return addr
}

func TestConnectTimeout(t *testing.T) {
	addr := fullListener(t)
	for name, o := range map[string]Origin{
		"http": must2(NewHTTP("slow", config.Origin{Type: "http", URL: "http://" + addr, ConnectTimeout: config.Duration(300 * time.Millisecond)})),
		"s3":   must2(NewS3("slow", config.Origin{Type: "s3", Bucket: "bkt", Endpoint: "http://" + addr, Anonymous: true, ConnectTimeout: config.Duration(300 * time.Millisecond)}, nil)),
	} {
		req, _ := http.NewRequest("GET", "http://edge/x", nil)
		o.Prepare(req)
		start := time.Now()
		_, err := o.RoundTrip(req)
		took := time.Since(start)
		if err == nil || !IsTimeout(err) {
			t.Errorf("%s: %v, want a connect timeout", name, err)
		}
		if took < 250*time.Millisecond || took > 3*time.Second {
			t.Errorf("%s: gave up after %v, want about connect_timeout (300ms)", name, took)
		}
	}
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
