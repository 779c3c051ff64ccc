package edge

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// gRPC behaviors (grpc: true) pass calls through to an HTTP/2 origin:
// never cached, request and answer streamed both ways, trailers kept.
// What the edge itself answers (a refusal, an origin that cannot be
// reached, a deadline passed) is a gRPC answer: HTTP 200 with grpc-status
// and grpc-message and no body, which gRPC clients read as the call's
// status.

// isGRPC reports whether r is a gRPC call.
func isGRPC(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}

// gRPC status codes (grpc/codes).
const (
	grpcUnknown           = 2
	grpcDeadlineExceeded  = 4
	grpcPermissionDenied  = 7
	grpcResourceExhausted = 8
	grpcUnimplemented     = 12
	grpcInternal          = 13
	grpcUnavailable       = 14
	grpcUnauthenticated   = 16
)

// grpcStatusOf is the gRPC status of an edge answer of HTTP status s: the
// gRPC project's HTTP mapping, with the edge's own causes named where it
// knows them (a rate limit, a body too large, a deadline).
func grpcStatusOf(s int) int {
	switch s {
	case http.StatusBadRequest:
		return grpcInternal
	case http.StatusUnauthorized:
		return grpcUnauthenticated
	case http.StatusForbidden:
		return grpcPermissionDenied
	case http.StatusNotFound:
		return grpcUnimplemented
	case http.StatusTooManyRequests, http.StatusRequestEntityTooLarge:
		return grpcResourceExhausted
	case http.StatusGatewayTimeout, http.StatusRequestTimeout:
		return grpcDeadlineExceeded
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return grpcUnavailable
	}
	return grpcUnknown
}

// writeGRPCError answers a gRPC call with the status of an edge answer of
// HTTP status s (a trailers-only answer).
func writeGRPCError(w http.ResponseWriter, ex *exchange, s int, why string) {
	h := w.Header()
	ex.stamp(h, outcomeError)
	delete(h, "Content-Length")
	h.Set("Content-Type", "application/grpc")
	h.Set("Grpc-Status", strconv.Itoa(grpcStatusOf(s)))
	h.Set("Grpc-Message", grpcMessage(why))
	w.WriteHeader(http.StatusOK)
}

// grpcMessage percent-encodes a message as gRPC's grpc-message wants.
func grpcMessage(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c <= 0x7e && c != '%' {
			b.WriteByte(c)
		} else {
			b.WriteString(url.QueryEscape(string(c)))
		}
	}
	return b.String()
}

// grpcTimeout reads a grpc-timeout field: at most 8 digits and a unit
// (H, M, S, m, u, n).
func grpcTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	unit := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second, 'm': time.Millisecond, 'u': time.Microsecond, 'n': time.Nanosecond}[v[len(v)-1]]
	if unit == 0 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// withGRPCDeadline bounds a call by its grpc-timeout: past it the origin
// request is cancelled and the viewer gets DEADLINE_EXCEEDED.
func withGRPCDeadline(r *http.Request) (*http.Request, context.CancelFunc) {
	d, ok := grpcTimeout(r.Header.Get("Grpc-Timeout"))
	if !ok {
		return r, func() {}
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return r.WithContext(ctx), cancel
}
