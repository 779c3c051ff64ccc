// Package redistest runs a real redis-server for tests, on loopback, and a
// TCP relay in front of it that a test can cut. The server is Debian's
// redis-server (./test.sh installs it when missing), or REDIS_SERVER.
package redistest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running redis-server.
type Server struct {
	t        testing.TB
	Addr     string // host:port on loopback
	Password string // "" for none
	dir      string
	port     int
	cmd      *exec.Cmd
	extra    []string    // more redis-server arguments
	tls      *tls.Config // how to reach a server that speaks TLS only
	lenient  bool        // Do returns "" instead of failing on a connection refused or closed
}

// Binary is the redis-server to run: $REDIS_SERVER, or the one on PATH.
// A test that needs it fails when it is missing: ./test.sh installs it.
func Binary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("REDIS_SERVER"); b != "" {
		return b
	}
	b, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed: run ./test.sh, which installs it (Debian package redis-server), or set REDIS_SERVER")
	}
	return b
}

// Start runs a redis-server on a free loopback port, with password when
// not "", stopped when the test ends.
func Start(t testing.TB, password string) *Server {
	t.Helper()
	return startWith(t, password)
}

func startWith(t testing.TB, password string, extra ...string) *Server {
	t.Helper()
	s := &Server{t: t, Password: password, dir: t.TempDir(), port: freePort(t), extra: extra}
	s.Addr = fmt.Sprintf("127.0.0.1:%d", s.port)
	s.start()
	t.Cleanup(s.stop)
	return s
}

// StartTLS runs a redis-server that speaks TLS only, with the
// certificate and key in certFile and keyFile; clients are not asked for
// one. roots are what the test trusts to reach it.
func StartTLS(t testing.TB, password, certFile, keyFile string, roots *x509.CertPool) *Server {
	t.Helper()
	s := &Server{t: t, Password: password, dir: t.TempDir(), port: freePort(t),
		tls: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}}
	s.extra = []string{"--port", "0", "--tls-port", fmt.Sprint(s.port), "--tls-cert-file", certFile, "--tls-key-file", keyFile,
		"--tls-auth-clients", "no"}
	s.Addr = fmt.Sprintf("127.0.0.1:%d", s.port)
	s.start()
	t.Cleanup(s.stop)
	return s
}

// dial connects to the server, over TLS when it speaks only that.
func (s *Server) dial() (net.Conn, error) {
	d := &net.Dialer{Timeout: time.Second}
	if s.tls != nil {
		return tls.DialWithDialer(d, "tcp", s.Addr, s.tls)
	}
	return d.Dial("tcp", s.Addr)
}

// StartReplica runs a redis-server that replicates primary, with the
// same password.
func StartReplica(t testing.TB, primary *Server) *Server {
	t.Helper()
	host, port, _ := net.SplitHostPort(primary.Addr)
	extra := []string{"--replicaof", host, port}
	if primary.Password != "" {
		extra = append(extra, "--masterauth", primary.Password)
	}
	return startWith(t, primary.Password, extra...)
}

// StartSentinel runs a Sentinel that watches primary under the name
// master, quick to fail it over, and returns its address.
func StartSentinel(t testing.TB, primary *Server, master string) string {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	host, pport, _ := net.SplitHostPort(primary.Addr)
	conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s %s %s 1\nsentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 5000\n",
		port, dir, master, host, pport, master, master)
	if primary.Password != "" {
		conf += fmt.Sprintf("sentinel auth-pass %s %s\n", master, primary.Password)
	}
	file := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Binary(t), file, "--sentinel")
	logf, _ := os.Create(filepath.Join(dir, "sentinel.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server --sentinel: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	s := &Server{t: t, Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	for deadline := time.Now().Add(10 * time.Second); s.ping() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "sentinel.log"))
			t.Fatalf("Sentinel did not answer: %s", b)
		}
	}
	return s.Addr
}

// Sentinel sends a command to the Sentinel at addr and returns its
// answer as Do does ("" when the Sentinel closed the connection).
func Sentinel(t testing.TB, addr string, words ...string) string {
	t.Helper()
	return (&Server{t: t, Addr: addr, lenient: true}).Do(words...)
}

// URL is the redis:// URL of the server, with its password.
func (s *Server) URL() string {
	if s.Password != "" {
		return "redis://:" + s.Password + "@" + s.Addr + "/0"
	}
	return "redis://" + s.Addr + "/0"
}

func (s *Server) start() {
	t := s.t
	t.Helper()
	port := []string{"--port", fmt.Sprint(s.port)}
	if s.tls != nil {
		port = nil // in extra: --port 0 --tls-port N
	}
	args := append(port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
		"--repl-diskless-sync-delay", "0") // a replica syncs at once, not after 5 s
	if s.Password != "" {
		args = append(args, "--requirepass", s.Password)
	}
	args = append(args, s.extra...)
	s.cmd = exec.Command(Binary(t), args...)
	logf, err := os.Create(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s.ping() == nil {
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			t.Fatalf("redis-server did not answer on %s: %s", s.Addr, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends PING (after AUTH) and expects PONG.
func (s *Server) ping() error {
	c, err := s.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if s.Password != "" {
		fmt.Fprintf(c, "AUTH %s\r\n", s.Password)
	}
	fmt.Fprintf(c, "PING\r\n")
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "+PONG") {
			return nil
		}
		if strings.HasPrefix(line, "-") && !strings.HasPrefix(line, "-LOADING") {
			return fmt.Errorf("%s", strings.TrimSpace(line))
		}
		if strings.HasPrefix(line, "-LOADING") {
			return fmt.Errorf("loading")
		}
	}
}

func (s *Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGCONT)
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Kill stops the server with SIGKILL; Restart starts it again, empty, on
// the same port.
func (s *Server) Kill() { s.stop() }

// Restart starts a killed server again on the same port: empty, as a Redis
// that lost its data.
func (s *Server) Restart() { s.start() }

// Freeze stops the server with SIGSTOP: connections stay open and nothing
// answers. Thaw resumes it.
func (s *Server) Freeze() { s.cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server.
func (s *Server) Thaw() { s.cmd.Process.Signal(syscall.SIGCONT) }

// Poll is Do for a condition polled while the server may drop its
// clients (a replica that Sentinel promotes kills its normal clients): a
// connection closed under it reads as "", not yet, rather than failing.
func (s *Server) Poll(words ...string) string {
	s.t.Helper()
	l := &Server{t: s.t, Addr: s.Addr, Password: s.Password, tls: s.tls, lenient: true}
	return l.Do(words...)
}

// Do sends one command and returns its answer: a bulk string's content
// ("" for none), else the answer's first line (+OK, :1, -ERR …).
func (s *Server) Do(words ...string) string {
	s.t.Helper()
	c, err := s.dial()
	if err != nil {
		if s.lenient {
			return ""
		}
		s.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if s.Password != "" {
		fmt.Fprintf(c, "AUTH %s\r\n", s.Password)
		r.ReadString('\n')
	}
	fmt.Fprintf(c, "*%d\r\n", len(words))
	for _, w := range words {
		fmt.Fprintf(c, "$%d\r\n%s\r\n", len(w), w)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		if s.lenient {
			return ""
		}
		s.t.Fatal(err)
	}
	line = strings.TrimSpace(line)
	var n int
	if _, err := fmt.Sscanf(line, "$%d", &n); err == nil {
		if n < 0 {
			return ""
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			s.t.Fatal(err)
		}
		return string(b[:n])
	}
	return line
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Relay is a TCP relay to a server that a test can cut: while cut, it
// holds connections open and forwards nothing, as a network that drops
// packets.
type Relay struct {
	Addr string
	to   string
	ln   net.Listener

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

// NewRelay relays a loopback port to addr until the test ends.
func NewRelay(t testing.TB, addr string) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{Addr: ln.Addr().String(), to: addr, ln: ln}
	go r.accept()
	t.Cleanup(func() {
		ln.Close()
		r.mu.Lock()
		for _, c := range r.conns {
			c.Close()
		}
		r.mu.Unlock()
	})
	return r
}

// Cut stops forwarding: what is sent either way waits, and new
// connections are accepted and left silent.
func (r *Relay) Cut() {
	r.mu.Lock()
	r.cut = true
	r.mu.Unlock()
}

// Mend forwards again, and drops the connections held while cut, as a
// network that came back after the peers gave up on them.
func (r *Relay) Mend() {
	r.mu.Lock()
	r.cut = false
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
	r.mu.Unlock()
}

func (r *Relay) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns = append(r.conns, c)
		r.mu.Unlock()
		go r.serve(c)
	}
}

func (r *Relay) serve(c net.Conn) {
	up, err := net.Dial("tcp", r.to)
	if err != nil {
		c.Close()
		return
	}
	r.mu.Lock()
	r.conns = append(r.conns, up)
	r.mu.Unlock()
	go r.pipe(up, c)
	r.pipe(c, up)
}

// pipe copies from src to dst, waiting while the relay is cut.
func (r *Relay) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for n > 0 {
			r.mu.Lock()
			cut := r.cut
			r.mu.Unlock()
			if !cut {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
