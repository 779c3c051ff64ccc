package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	testgrpc "google.golang.org/grpc/interop/grpc_testing"

	"github.com/edgefront/edgefront/internal/certtest"
	"github.com/edgefront/edgefront/internal/grpctest"
)

// TestGRPCThroughTheBinary sends grpc-go's client through the edge, over
// TLS, to grpc-go's server behind it (h2c): unary calls with trailers,
// streams each way and both, deadlines, and the edge's own errors as gRPC
// statuses; never cached. A plain behavior on an http2 origin gets HTTP/2
// too.
func TestGRPCThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs, svc := grpctest.NewServer()
	go gs.Serve(gln)
	defer gs.Stop()
	// A plain HTTP/2 (h2c) origin for the non-gRPC behavior.
	h2 := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "origin saw HTTP/%d", r.ProtoMajor)
	}), Protocols: new(http.Protocols)}
	h2.Protocols.SetUnencryptedHTTP2(true)
	hln, _ := net.Listen("tcp", "127.0.0.1:0")
	go h2.Serve(hln)
	defer h2.Close()

	cert, err := certtest.Write(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), "grpc.example")
	if err != nil {
		t.Fatal(err)
	}
	httpsAddr := freeAddr(t)
	cfg := filepath.Join(dir, "edgefront.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: {http: %q, https: %q}
tls: {certificates: [{cert_file: cert.pem, key_file: key.pem}]}
distributions:
  - name: api
    aliases: [grpc.example]
    origins:
      grpc: {type: http, url: "http://%s", http2: true}
      web: {type: http, url: "http://%s", http2: true}
    default_behavior: {target_origin: web}
    behaviors:
      - {path_pattern: "/grpc.testing.TestService/*", target_origin: grpc, grpc: true,
         allowed_methods: [GET, HEAD, OPTIONS, PUT, POST, PATCH, DELETE],
         forward: {headers: none, cookies: none, query_strings: none}}
`, freeAddr(t), httpsAddr, gln.Addr(), hln.Addr())), 0o644)
	p := startBinary(t, "edgefront serving", "serve", "-c", cfg)
	defer p.stop(t)

	conn, err := grpc.NewClient("passthrough:///"+httpsAddr,
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: certtest.Pool(cert), ServerName: "grpc.example"})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := testgrpc.NewTestServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Unary, twice: a header and a trailer come back, and both calls
	// reach the server (nothing is cached).
	for i := range 2 {
		var header, trailer metadata.MD
		out, err := c.UnaryCall(metadata.AppendToOutgoingContext(ctx, "x-echo", "hello"), &testgrpc.SimpleRequest{ResponseSize: 4096},
			grpc.Header(&header), grpc.Trailer(&trailer))
		if err != nil || len(out.GetPayload().GetBody()) != 4096 {
			t.Fatalf("unary %d: %v", i+1, err)
		}
		if header.Get("x-echo")[0] != "hello" || len(trailer.Get("x-trailer")) != 1 || trailer.Get("x-trailer")[0] != "done" {
			t.Errorf("unary %d: header %v, trailer %v", i+1, header, trailer)
		}
	}
	if n := svc.Calls.Load(); n != 2 {
		t.Errorf("the server took %d calls for 2", n)
	}

	// Server streaming: each message arrives as it is sent.
	params := make([]*testgrpc.ResponseParameters, 5)
	for i := range params {
		params[i] = &testgrpc.ResponseParameters{Size: 100, IntervalUs: 100_000}
	}
	start := time.Now()
	ss, err := c.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{ResponseParameters: params})
	if err != nil {
		t.Fatal(err)
	}
	var first time.Duration
	got := 0
	for {
		_, err := ss.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if got++; got == 1 {
			first = time.Since(start)
		}
	}
	if got != 5 || first > 300*time.Millisecond || time.Since(start) < 450*time.Millisecond {
		t.Errorf("server streaming: %d messages, the first after %s of %s: the edge buffered the stream", got, first, time.Since(start))
	}

	// Client streaming.
	cs, err := c.StreamingInputCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		cs.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: make([]byte, 1000)}})
	}
	if res, err := cs.CloseAndRecv(); err != nil || res.AggregatedPayloadSize != 10_000 {
		t.Errorf("client streaming: %v %v", res, err)
	}

	// Both ways at once: each answer comes before the next message is sent.
	bidi, err := c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := bidi.Send(&testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{Size: int32(10 + i)}}}); err != nil {
			t.Fatal(err)
		}
		m, err := bidi.Recv()
		if err != nil || len(m.GetPayload().GetBody()) != 10+i {
			t.Fatalf("full duplex, exchange %d: %v", i+1, err)
		}
	}
	bidi.CloseSend()
	if _, err := bidi.Recv(); err != io.EOF {
		t.Errorf("full duplex end: %v", err)
	}

	// A deadline: the call ends at it, with DEADLINE_EXCEEDED.
	dctx, dcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	start = time.Now()
	slow, err := c.StreamingOutputCall(dctx, &testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{Size: 1, IntervalUs: 3_000_000}}})
	if err == nil {
		_, err = slow.Recv()
	}
	dcancel()
	if status.Code(err) != codes.DeadlineExceeded || time.Since(start) > 2*time.Second {
		t.Errorf("past its deadline: %v after %s", err, time.Since(start))
	}

	// The edge's own answers are gRPC statuses: an origin that is gone.
	gs.Stop()
	_, err = c.EmptyCall(ctx, &testgrpc.Empty{})
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "origin") {
		t.Errorf("origin gone: %v", err)
	}

	// HTTP/2 to an origin for a behavior that is not gRPC.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certtest.Pool(cert), ServerName: "grpc.example"},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, httpsAddr)
		}}}
	resp, err := client.Get("https://grpc.example/page")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "origin saw HTTP/2" {
		t.Errorf("a plain behavior on an http2 origin: %q", b)
	}

	// explain says what the behavior does; validate refuses an origin
	// without http2.
	out, err := exec.Command(binary, "explain", "-c", cfg, "-X", "POST", "https://grpc.example/grpc.testing.TestService/UnaryCall").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "grpc:         calls pass through to the origin over HTTP/2") {
		t.Errorf("explain: %v\n%s", err, out)
	}
	os.WriteFile(cfg, []byte(strings.Replace(mustRead(t, cfg), `", http2: true}
      web`, `"}
      web`, 1)), 0o644)
	out, err = exec.Command(binary, "validate", "-c", cfg).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(string(out), `origin "grpc" of a grpc behavior needs http2: true`) {
		t.Errorf("validate without http2: %v\n%s", err, out)
	}
}
