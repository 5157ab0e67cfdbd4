package gateway

import (
	"context"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// NewStream implements grpc.ClientConnInterface for streaming methods:
// the handler runs in its own goroutine through the stream interceptor
// chain, takes the caller's messages as they are sent (one, unless the
// client streams) and hands each of its own to the caller as it is sent.
// Cancelling ctx ends the call on both sides.
func (c *Conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, fullMethod string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	m, ok := c.streams[fullMethod]
	if !ok {
		return nil, status.Errorf(codes.Unimplemented, "unknown streaming method %s", fullMethod)
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &pipe{
		ctx: ctx, cancel: cancel, method: fullMethod, clientStreams: desc.ClientStreams,
		req: make(chan proto.Message, 1), msgs: make(chan proto.Message),
		headerSent: make(chan struct{}), done: make(chan struct{}),
	}
	server := &serverSide{pipe: p, ctx: callContext(ctx, transport{p})}
	go func() {
		info := &grpc.StreamServerInfo{FullMethod: fullMethod, IsServerStream: desc.ServerStreams, IsClientStream: desc.ClientStreams}
		err := c.streamer(m.impl, server, info, func(srv any, ss grpc.ServerStream) error { return m.handler(srv, ss) })
		p.finish(err)
	}()
	return &clientSide{pipe: p}, nil
}

// pipe joins the two ends of an in-process stream.
type pipe struct {
	ctx    context.Context
	cancel context.CancelFunc
	method string
	// clientStreams: the caller sends any number of requests, then
	// CloseSend; otherwise exactly one.
	clientStreams bool
	req           chan proto.Message
	msgs          chan proto.Message // responses, unbuffered: the handler sends at the caller's pace

	mu              sync.Mutex
	header, trailer metadata.MD
	headerOnce      sync.Once
	headerSent      chan struct{}
	done            chan struct{}
	err             error
}

// transport is the grpc.ServerTransportStream of the handler's context, for
// grpc.SetHeader and grpc.SetTrailer.
type transport struct{ *pipe }

func (t transport) Method() string { return t.method }

func (t transport) SetTrailer(md metadata.MD) error {
	t.pipe.SetTrailer(md)
	return nil
}

func (p *pipe) SetHeader(md metadata.MD) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.header = metadata.Join(p.header, md)
	return nil
}

func (p *pipe) SendHeader(md metadata.MD) error {
	_ = p.SetHeader(md)
	p.headerOnce.Do(func() { close(p.headerSent) })
	return nil
}

func (p *pipe) SetTrailer(md metadata.MD) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.trailer = metadata.Join(p.trailer, md)
}

func (p *pipe) finish(err error) {
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	p.headerOnce.Do(func() { close(p.headerSent) })
	close(p.done)
}

// serverSide is the handler's grpc.ServerStream.
type serverSide struct {
	*pipe
	ctx context.Context
}

func (s *serverSide) Context() context.Context { return s.ctx }

func (s *serverSide) SendMsg(m any) error {
	_ = s.SendHeader(nil)
	select {
	case s.msgs <- proto.Clone(m.(proto.Message)): // the handler may reuse m once SendMsg returns
		return nil
	case <-s.pipe.ctx.Done():
		return status.FromContextError(s.pipe.ctx.Err()).Err()
	}
}

func (s *serverSide) RecvMsg(m any) error {
	select {
	case r, ok := <-s.req:
		if !ok {
			return io.EOF
		}
		proto.Merge(m.(proto.Message), r)
		return nil
	case <-s.pipe.ctx.Done():
		return status.FromContextError(s.pipe.ctx.Err()).Err()
	}
}

// clientSide is the caller's grpc.ClientStream.
type clientSide struct {
	*pipe
	sent bool
}

func (c *clientSide) Context() context.Context { return c.pipe.ctx }

func (c *clientSide) Header() (metadata.MD, error) {
	select {
	case <-c.headerSent:
	case <-c.pipe.ctx.Done():
		return nil, status.FromContextError(c.pipe.ctx.Err()).Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.header.Copy(), nil
}

func (c *clientSide) Trailer() metadata.MD {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.trailer.Copy()
}

// SendMsg hands the handler a request. When the handler has returned
// already, it fails with io.EOF, as gRPC does: RecvMsg then has the
// handler's answer.
func (c *clientSide) SendMsg(m any) error {
	if c.sent {
		return status.Error(codes.Internal, "in-process call: the request stream is closed")
	}
	if !c.clientStreams {
		c.sent = true
		c.req <- proto.Clone(m.(proto.Message))
		close(c.req)
		return nil
	}
	select {
	case c.req <- proto.Clone(m.(proto.Message)):
		return nil
	case <-c.done:
		return io.EOF
	case <-c.pipe.ctx.Done():
		return status.FromContextError(c.pipe.ctx.Err()).Err()
	}
}

// CloseSend ends the requests of a client stream.
func (c *clientSide) CloseSend() error {
	if c.clientStreams && !c.sent {
		c.sent = true
		close(c.req)
	}
	return nil
}

// RecvMsg takes the next message the handler sent, or io.EOF when it
// returned cleanly, or its error.
func (c *clientSide) RecvMsg(m any) error {
	select {
	case r := <-c.msgs:
		proto.Reset(m.(proto.Message))
		proto.Merge(m.(proto.Message), r)
		return nil
	case <-c.done: // sends are unbuffered: nothing is left to take
		c.cancel()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.err != nil {
			return c.err
		}
		return io.EOF
	case <-c.pipe.ctx.Done():
		return status.FromContextError(c.pipe.ctx.Err()).Err()
	}
}
