package server

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/tap"
)

// Limits bound what one client connection may hold of the gRPC port; zero
// values take the defaults.
type Limits struct {
	// MaxConcurrentStreams is the most calls one connection may have open
	// at once (default 100).
	MaxConcurrentStreams uint32
	// ReceiveTimeout is how long a request may take to arrive once its
	// call has begun (default 30s), over gRPC as over REST: a client that
	// declares a message and then trickles it is cut off.
	ReceiveTimeout time.Duration
	// MaxConnectionIdle closes a connection without calls for this long
	// (default 5m).
	MaxConnectionIdle time.Duration
	// MaxConnectionAge closes a connection this old (default 1h), with a
	// GOAWAY: clients reconnect, and balance across replicas again. Calls
	// still open get MaxConnectionAgeGrace (default 1m) to finish; a watch
	// still open then ends, and its client resumes from its last position.
	MaxConnectionAge      time.Duration
	MaxConnectionAgeGrace time.Duration
	// KeepaliveMinTime is the shortest interval between a client's pings
	// the server accepts (default 10s); a client pinging more often is
	// disconnected.
	KeepaliveMinTime time.Duration
}

func (l *Limits) defaults() {
	if l.MaxConcurrentStreams == 0 {
		l.MaxConcurrentStreams = 100
	}
	if l.ReceiveTimeout <= 0 {
		l.ReceiveTimeout = 30 * time.Second
	}
	if l.MaxConnectionIdle <= 0 {
		l.MaxConnectionIdle = 5 * time.Minute
	}
	if l.MaxConnectionAge <= 0 {
		l.MaxConnectionAge = time.Hour
	}
	if l.MaxConnectionAgeGrace <= 0 {
		l.MaxConnectionAgeGrace = time.Minute
	}
	if l.KeepaliveMinTime <= 0 {
		l.KeepaliveMinTime = 10 * time.Second
	}
}

// serverOptions are the gRPC server's connection limits.
func (l Limits) serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(l.MaxConcurrentStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: l.KeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: l.MaxConnectionIdle, MaxConnectionAge: l.MaxConnectionAge, MaxConnectionAgeGrace: l.MaxConnectionAgeGrace,
		}),
		// grpc-go has no bound of its own on the time a request takes to
		// arrive: the call's context is cancelled when it has not by then,
		// which ends the read and frees the stream.
		grpc.InTapHandle(receiveDeadline(l.ReceiveTimeout)),
		grpc.StatsHandler(receiveTimerStopper{}),
	}
}

type receiveTimerKey struct{}

// receiveDeadline starts, as a call begins, a timer that cancels it unless
// its request has arrived first (receiveTimerStopper stops the timer).
func receiveDeadline(d time.Duration) tap.ServerInHandle {
	return func(ctx context.Context, _ *tap.Info) (context.Context, error) {
		ctx, cancel := context.WithCancel(ctx)
		t := time.AfterFunc(d, cancel)
		return context.WithValue(ctx, receiveTimerKey{}, t), nil
	}
}

// receiveTimerStopper stops a call's receive timer once its request has
// arrived, or once the call ends.
type receiveTimerStopper struct{}

func (receiveTimerStopper) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return ctx
}

func (receiveTimerStopper) HandleRPC(ctx context.Context, s stats.RPCStats) {
	switch s.(type) {
	case *stats.InPayload, *stats.End:
		if t, ok := ctx.Value(receiveTimerKey{}).(*time.Timer); ok {
			t.Stop()
		}
	}
}

func (receiveTimerStopper) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (receiveTimerStopper) HandleConn(context.Context, stats.ConnStats) {}
