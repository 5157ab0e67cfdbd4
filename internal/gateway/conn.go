package gateway

import (
	"context"
	"net"
	"reflect"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Conn invokes registered gRPC handlers in-process through the server's
// interceptor chains: unary calls, and server-streaming calls. It
// implements grpc.ClientConnInterface for clients and grpc.ServiceRegistrar
// for services. Register every service before the first call; registration
// is not safe concurrently with calls.
type Conn struct {
	interceptor grpc.UnaryServerInterceptor
	streamer    grpc.StreamServerInterceptor
	methods     map[string]method
	streams     map[string]streamMethod
}

type method struct {
	impl    any
	handler grpc.MethodHandler
}

type streamMethod struct {
	impl    any
	handler grpc.StreamHandler
}

var (
	_ grpc.ClientConnInterface = (*Conn)(nil)
	_ grpc.ServiceRegistrar    = (*Conn)(nil)
)

// NewConn returns a Conn whose unary calls pass through interceptor and
// streaming calls through streamer, which must be the chains the gRPC
// server uses.
func NewConn(interceptor grpc.UnaryServerInterceptor, streamer grpc.StreamServerInterceptor) *Conn {
	return &Conn{interceptor: interceptor, streamer: streamer, methods: map[string]method{}, streams: map[string]streamMethod{}}
}

// RegisterService implements grpc.ServiceRegistrar. Streaming methods are
// served whichever side streams; bidirectional ones are not.
func (c *Conn) RegisterService(desc *grpc.ServiceDesc, impl any) {
	for _, m := range desc.Methods {
		c.methods["/"+desc.ServiceName+"/"+m.MethodName] = method{impl: impl, handler: m.Handler}
	}
	for _, m := range desc.Streams {
		if m.ServerStreams != m.ClientStreams {
			c.streams["/"+desc.ServiceName+"/"+m.StreamName] = streamMethod{impl: impl, handler: m.Handler}
		}
	}
}

// callContext is the server side's context of an in-process call: the
// caller's outgoing metadata as incoming metadata, a transport stream for
// headers and trailers, and the peer when the caller did not set one.
func callContext(ctx context.Context, ts grpc.ServerTransportStream) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	ctx = metadata.NewIncomingContext(ctx, md)
	ctx = grpc.NewContextWithServerTransportStream(ctx, ts)
	if _, ok := peer.FromContext(ctx); !ok {
		ctx = peer.NewContext(ctx, &peer.Peer{Addr: inProcessAddr{}})
	}
	return ctx
}

// Invoke implements grpc.ClientConnInterface: it runs the handler of the
// method through the interceptor chain as the gRPC server would, with the
// caller's outgoing metadata as incoming metadata.
func (c *Conn) Invoke(ctx context.Context, fullMethod string, args, reply any, opts ...grpc.CallOption) error {
	m, ok := c.methods[fullMethod]
	if !ok {
		return status.Errorf(codes.Unimplemented, "unknown method %s", fullMethod)
	}
	stream := &transportStream{method: fullMethod}
	ctx = callContext(ctx, stream)
	dec := func(in any) error {
		proto.Merge(in.(proto.Message), args.(proto.Message))
		return nil
	}
	resp, err := m.handler(m.impl, ctx, dec, c.interceptor)
	stream.deliver(opts)
	if err != nil {
		return err
	}
	return setReply(reply, resp)
}

// setReply hands the handler's response to the caller. The response is
// fresh and owned by nobody else, so its fields are moved rather than deep
// copied.
func setReply(reply, resp any) error {
	dst, src := reflect.ValueOf(reply), reflect.ValueOf(resp)
	if dst.Kind() != reflect.Pointer || src.Type() != dst.Type() || src.IsNil() {
		return status.Errorf(codes.Internal, "in-process call: reply of type %T cannot hold %T", reply, resp)
	}
	dst.Elem().Set(src.Elem())
	return nil
}

// transportStream collects the headers and trailers a handler or
// interceptor sets, as grpc.SetHeader and grpc.SetTrailer expect.
type transportStream struct {
	method          string
	mu              sync.Mutex
	header, trailer metadata.MD
}

func (s *transportStream) Method() string { return s.method }

func (s *transportStream) SetHeader(md metadata.MD) error {
	s.mu.Lock()
	s.header = metadata.Join(s.header, md)
	s.mu.Unlock()
	return nil
}

func (s *transportStream) SendHeader(md metadata.MD) error { return s.SetHeader(md) }

func (s *transportStream) SetTrailer(md metadata.MD) error {
	s.mu.Lock()
	s.trailer = metadata.Join(s.trailer, md)
	s.mu.Unlock()
	return nil
}

// deliver fills the grpc.Header and grpc.Trailer call options, which is how
// the gateway reads response metadata.
func (s *transportStream) deliver(opts []grpc.CallOption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = s.header
		case grpc.TrailerCallOption:
			*o.TrailerAddr = s.trailer
		}
	}
}

type inProcessAddr struct{}

func (inProcessAddr) Network() string { return "inprocess" }
func (inProcessAddr) String() string  { return "inprocess" }

var _ net.Addr = inProcessAddr{}
