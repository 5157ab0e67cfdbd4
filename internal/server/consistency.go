package server

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/apierror"
	"github.com/controlmap/controlmap/internal/service"
	"github.com/controlmap/controlmap/internal/store"
)

// apiPrefix marks the controlmap RPCs, as opposed to health and reflection.
const apiPrefix = "/controlmap."

// consistency holds back controlmap RPCs until the store has loaded its
// catalog, and reads that ask for min_revision until the store has reached
// it, at most wait; then it answers UNAVAILABLE rather than stale data.
func consistency(st store.Store, wait time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !strings.HasPrefix(info.FullMethod, apiPrefix) {
			return handler(ctx, req)
		}
		if !st.Ready() {
			return nil, unavailable("the catalog is still loading from the database; retry shortly", cmv1.ErrorReason_ERROR_REASON_STORE_NOT_READY)
		}
		r, ok := req.(interface{ GetMinRevision() int64 })
		switch {
		case !ok:
			return handler(ctx, req)
		case r.GetMinRevision() < 0:
			return nil, service.InvalidField("min_revision", "must not be negative, got %d", r.GetMinRevision())
		case r.GetMinRevision() <= st.Snapshot().Revision():
			return handler(ctx, req)
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		err := st.WaitForRevision(wctx, r.GetMinRevision())
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, status.FromContextError(ctx.Err()).Err()
			}
			return nil, unavailable("this replica has not reached the requested min_revision yet; retry, or read without it", cmv1.ErrorReason_ERROR_REASON_REVISION_NOT_REACHED)
		}
		return handler(ctx, req)
	}
}

func unavailable(msg string, reason cmv1.ErrorReason) error {
	return apierror.New(codes.Unavailable, reason, msg)
}
