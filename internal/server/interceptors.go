package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"runtime/debug"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/controlmap/controlmap/internal/service"
	"github.com/controlmap/controlmap/internal/store"
)

// chain composes interceptors into one, the first outermost, the way
// grpc.ChainUnaryInterceptor does. The gRPC server and the in-process
// connection of the REST facade both run the result, so they cannot drift.
func chain(interceptors ...grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		next := handler
		for i := len(interceptors) - 1; i >= 0; i-- {
			ic, inner := interceptors[i], next
			next = func(ctx context.Context, req any) (any, error) { return ic(ctx, req, info, inner) }
		}
		return next(ctx, req)
	}
}

type streamingKey struct{}

// streaming reports whether ctx belongs to a streaming call.
func streaming(ctx context.Context) bool { return ctx.Value(streamingKey{}) != nil }

// streamThrough runs streaming calls through the unary chain ic: the
// stream's context passes every interceptor (request id, logging, metrics,
// authentication, limits, readiness) where a unary request would, the
// handler runs where a unary handler would, with the context they built,
// and its error leaves rewritten the same way.
func streamThrough(ic grpc.UnaryServerInterceptor) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := context.WithValue(ss.Context(), streamingKey{}, true)
		_, err := ic(ctx, nil, &grpc.UnaryServerInfo{Server: srv, FullMethod: info.FullMethod}, func(ctx context.Context, _ any) (any, error) {
			return nil, handler(srv, contextStream{ServerStream: ss, ctx: ctx})
		})
		return err
	}
}

// contextStream is a server stream with the context the chain built.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s contextStream) Context() context.Context { return s.ctx }

// chainStream composes stream interceptors, the first outermost.
func chainStream(interceptors ...grpc.StreamServerInterceptor) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		next := handler
		for i := len(interceptors) - 1; i >= 0; i-- {
			ic, inner := interceptors[i], next
			next = func(srv any, ss grpc.ServerStream) error { return ic(srv, ss, info, inner) }
		}
		return next(srv, ss)
	}
}

// recoveryOptions turn a panic in anything below them into INTERNAL, logged with
// its stack, so one bad request never takes the process down.
func recoveryOptions(log *slog.Logger) []recovery.Option {
	return []recovery.Option{recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic", "panic", p, "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	})}
}

// assignRequestID takes the caller's x-request-id when it is sensible,
// otherwise makes one, and returns it in the response headers.
func assignRequestID() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		id := ""
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get("x-request-id"); len(v) > 0 && service.ValidRequestID(v[0]) {
				id = v[0]
			}
		}
		if id == "" {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		_ = grpc.SetHeader(ctx, metadata.Pairs("x-request-id", id))
		return handler(store.WithRequestID(ctx, id), req)
	}
}

// callLogger writes one line per finished call through go-grpc-middleware's
// logging: failures at warn (server faults at error), successes at debug,
// so a busy server does not drown its log.
func callLogger(log *slog.Logger) (logging.Logger, []logging.Option) {
	logger := logging.LoggerFunc(func(ctx context.Context, level logging.Level, msg string, fields ...any) {
		log.Log(ctx, slog.Level(level), msg, fields...)
	})
	return logger, []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithLevels(func(code codes.Code) logging.Level {
			switch code {
			case codes.OK:
				return logging.LevelDebug
			case codes.Internal, codes.Unknown, codes.DataLoss:
				return logging.LevelError
			}
			return logging.LevelWarn
		}),
	}
}

// rewriteErrors is the innermost interceptor: whatever a handler returns
// leaves as a proper gRPC status (service.Rewrite).
func rewriteErrors(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return nil, service.Rewrite(ctx, log, err)
		}
		return resp, nil
	}
}

// contextHandler adds the request id of the context to every log record.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := store.RequestIDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
