// Package grpctest serves grpc-go's own test service (grpc.testing.
// TestService, from google.golang.org/grpc/interop/grpc_testing) for the
// tests and benchmarks that send gRPC through the edge: unary calls, and
// streams in each direction and both.
package grpctest

import (
	"context"
	"io"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

// Service is the test service; Calls counts the calls it took.
type Service struct {
	testgrpc.UnimplementedTestServiceServer
	Calls atomic.Int64
}

// NewServer is a gRPC server (h2c, as grpc-go serves a plain listener)
// with the test service registered.
func NewServer() (*grpc.Server, *Service) {
	s := grpc.NewServer()
	svc := &Service{}
	testgrpc.RegisterTestServiceServer(s, svc)
	return s, svc
}

func payload(n int32) *testgrpc.Payload {
	return &testgrpc.Payload{Body: make([]byte, n)}
}

// EmptyCall answers nothing.
func (s *Service) EmptyCall(context.Context, *testgrpc.Empty) (*testgrpc.Empty, error) {
	s.Calls.Add(1)
	return &testgrpc.Empty{}, nil
}

// UnaryCall answers a payload of the size asked, and a trailer
// x-trailer: done.
func (s *Service) UnaryCall(ctx context.Context, in *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	s.Calls.Add(1)
	grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "done"))
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md["x-echo"]) > 0 {
		grpc.SetHeader(ctx, metadata.Pairs("x-echo", md["x-echo"][0]))
	}
	return &testgrpc.SimpleResponse{Payload: payload(in.ResponseSize)}, nil
}

// StreamingOutputCall sends one message per response parameter, each
// after its interval.
func (s *Service) StreamingOutputCall(in *testgrpc.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testgrpc.StreamingOutputCallResponse]) error {
	s.Calls.Add(1)
	for _, p := range in.ResponseParameters {
		select {
		case <-time.After(time.Duration(p.IntervalUs) * time.Microsecond):
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
		if err := stream.Send(&testgrpc.StreamingOutputCallResponse{Payload: payload(p.Size)}); err != nil {
			return err
		}
	}
	return nil
}

// StreamingInputCall answers the total size of what it received.
func (s *Service) StreamingInputCall(stream grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) error {
	s.Calls.Add(1)
	var total int32
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&testgrpc.StreamingInputCallResponse{AggregatedPayloadSize: total})
		}
		if err != nil {
			return err
		}
		total += int32(len(m.GetPayload().GetBody()))
	}
}

// FullDuplexCall answers each message as it arrives.
func (s *Service) FullDuplexCall(stream grpc.BidiStreamingServer[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) error {
	s.Calls.Add(1)
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for _, p := range in.ResponseParameters {
			if err := stream.Send(&testgrpc.StreamingOutputCallResponse{Payload: payload(p.Size)}); err != nil {
				return err
			}
		}
	}
}
