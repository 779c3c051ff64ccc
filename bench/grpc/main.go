// Command grpc measures gRPC unary calls through the edge against the same
// calls made to the server directly and through nginx's grpc_pass (when
// nginx is installed), all over TLS from grpc-go's client to grpc-go's
// server (its own test service), in interleaved rounds, and prints the
// medians and their ratios. The client and the server run in this
// process; nginx runs in its own, tuned as its experts run gRPC: a worker
// per core, TLS 1.3, keep-alive connections to the upstream with TLS
// session reuse.
//
//	go run ./bench/grpc [-rounds 5] [-duration 3s] [-conns 4] [-streams 16] [-size 1024]
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	testgrpc "google.golang.org/grpc/interop/grpc_testing"

	"github.com/edgefront/edgefront/bench/internal/benchkit"
	"github.com/edgefront/edgefront/internal/certtest"
	"github.com/edgefront/edgefront/internal/grpctest"
)

func main() {
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	duration := flag.Duration("duration", 3*time.Second, "length of each run")
	conns := flag.Int("conns", 4, "client connections")
	streams := flag.Int("streams", 16, "concurrent calls on each connection")
	size := flag.Int("size", 1024, "answer payload, bytes")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the runs through the edge to this file")
	flag.Parse()

	dir, _ := os.MkdirTemp("", "grpc-bench-")
	defer os.RemoveAll(dir)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert, err := certtest.Write(certFile, keyFile, "grpc.example")
	benchkit.Check(err)
	creds, err := credentials.NewServerTLSFromFile(certFile, keyFile)
	benchkit.Check(err)

	// The server, over TLS (h2), as the edge reaches an https:// origin.
	gs := grpc.NewServer(grpc.Creds(creds))
	testgrpc.RegisterTestServiceServer(gs, &grpctest.Service{})
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	benchkit.Check(err)
	go gs.Serve(gln)

	httpsAddr := benchkit.FreeAddr()
	yaml := fmt.Sprintf(`listen: {https: %q}
tls: {certificates: [{cert_file: cert.pem, key_file: key.pem}]}
distributions:
  - name: api
    aliases: [grpc.example]
    origins: {g: {type: http, url: "https://%s", http2: true, ca_file: cert.pem}}
    default_behavior: {target_origin: g, grpc: true, allowed_methods: [GET, HEAD, OPTIONS, PUT, POST, PATCH, DELETE]}
`, httpsAddr, gln.Addr())
	srv, cfg := benchkit.Edge(filepath.Join(dir, "edgefront.yaml"), yaml)
	_, _, err = srv.Listen(cfg.Listen)
	benchkit.Check(err)
	defer srv.Shutdown(context.Background())

	tlsConf := &tls.Config{RootCAs: certtest.Pool(cert), ServerName: "grpc.example"}
	// Each target's CPU is this process's (client, server and, for
	// edgefront, the edge) and that of its other processes (nginx's).
	type target struct {
		name, addr string
		pids       func() []int
	}
	self := func() []int { return []int{os.Getpid()} }
	targets := []target{{"direct", gln.Addr().String(), self}, {"edgefront", httpsAddr, self}}
	if addr, pids, stop, err := startNginx(dir, certFile, keyFile, gln.Addr().String()); err != nil {
		fmt.Println("nginx:", err, "(install nginx to compare with its grpc_pass)")
	} else {
		defer stop()
		targets = append(targets, target{"nginx", addr, func() []int { return append(self(), pids()...) }})
	}
	results, perCall := map[string][]float64{}, map[string][]float64{}
	var prof *os.File
	if *profile != "" {
		prof, err = os.Create(*profile)
		benchkit.Check(err)
		defer prof.Close()
	}
	for r := range *rounds {
		for _, tg := range targets {
			if prof != nil && tg.name == "edgefront" && r == 0 {
				benchkit.Check(pprof.StartCPUProfile(prof))
			}
			cpu0 := cpuTime(tg.pids())
			rps, calls := run(tg.addr, tlsConf, *conns, *streams, int32(*size), *duration)
			perCall[tg.name] = append(perCall[tg.name], float64((cpuTime(tg.pids())-cpu0).Microseconds())/float64(calls))
			if prof != nil && tg.name == "edgefront" && r == 0 {
				pprof.StopCPUProfile()
			}
			results[tg.name] = append(results[tg.name], rps)
			fmt.Printf("round %d  %-9s %8.0f calls/s  %5.1f µs CPU a call\n", r+1, tg.name, rps, perCall[tg.name][r])
		}
	}
	med := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	d, e := med(results["direct"]), med(results["edgefront"])
	fmt.Printf("unary calls (%d-byte answers, %d connections x %d calls): direct %.0f/s, through edgefront %.0f/s: %.2fx (target >= 0.7x)\n",
		*size, *conns, *streams, d, e, e/d)
	if n := results["nginx"]; n != nil {
		m := med(n)
		fmt.Printf("through nginx grpc_pass %.0f/s: %.2fx direct; edgefront / nginx %.2fx\n", m, m/d, e/m)
	}
	// What the proxy itself costs: a call's CPU through it less a direct
	// call's, client and server being the same.
	dc := med(perCall["direct"])
	fmt.Printf("CPU a call: direct %.1f µs; the proxy's own: edgefront %.1f µs", dc, med(perCall["edgefront"])-dc)
	if n := perCall["nginx"]; n != nil {
		fmt.Printf(", nginx %.1f µs", med(n)-dc)
	}
	fmt.Println()
}

// cpuTime is the user and system CPU the processes have used so far.
func cpuTime(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The fields after the command's closing parenthesis: utime and
		// stime are the 12th and 13th, in clock ticks (100 a second).
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// startNginx runs nginx as a gRPC proxy in front of upstream (TLS on both
// sides) and returns its address, its processes and how to stop it.
// nginx dies with this process should it end first.
func startNginx(dir, certFile, keyFile, upstream string) (string, func() []int, func(), error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		return "", nil, nil, err
	}
	addr := benchkit.FreeAddr()
	conf := filepath.Join(dir, "nginx.conf")
	err = os.WriteFile(conf, fmt.Appendf(nil, `daemon off; worker_processes auto; error_log stderr crit; pid %[1]s/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; http2_max_concurrent_streams 128;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  ssl_protocols TLSv1.3; ssl_session_cache shared:SSL:10m;
  upstream g { server %[2]s; keepalive 64; keepalive_requests 1000000; }
  server {
    listen %[3]s ssl http2;
    ssl_certificate %[4]s; ssl_certificate_key %[5]s;
    location / { grpc_pass grpcs://g; grpc_ssl_session_reuse on; }
  }
}
`, dir, upstream, addr, certFile, keyFile), 0o644)
	if err != nil {
		return "", nil, nil, err
	}
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", "stderr")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // the master stops its workers
	if err := cmd.Start(); err != nil {
		return "", nil, nil, err
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			return "", nil, nil, fmt.Errorf("nginx did not listen on %s", addr)
		}
	}
	// The workers are the master's children.
	pids := func() []int {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		ps := []int{cmd.Process.Pid}
		for _, f := range strings.Fields(string(b)) {
			if p, err := strconv.Atoi(f); err == nil {
				ps = append(ps, p)
			}
		}
		return ps
	}
	return addr, pids, func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }, nil
}

// run makes unary calls to addr for d and returns calls per second and
// the calls made.
func run(addr string, tlsConf *tls.Config, conns, streams int, size int32, d time.Duration) (float64, int64) {
	var calls atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for range conns {
		cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)))
		benchkit.Check(err)
		defer cc.Close()
		c := testgrpc.NewTestServiceClient(cc)
		// One call first: the connection and its handshake are not timed.
		_, err = c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{ResponseSize: size})
		benchkit.Check(err)
		for range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if _, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseSize: size}); err == nil {
						calls.Add(1)
					}
				}
			}()
		}
	}
	start := time.Now()
	wg.Wait()
	return float64(calls.Load()) / time.Since(start).Seconds(), calls.Load()
}
