package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/writes"
)

// errorDomain is the ErrorInfo domain of every error this service returns.
const errorDomain = "controlmap"

// ErrorInfo reasons: stable, machine-readable causes that clients can switch on.
const (
	reasonInvalidArgument = "INVALID_ARGUMENT"
	reasonNotFound        = "NOT_FOUND"
	reasonAlreadyMapped   = "ALREADY_MAPPED"
	reasonEtagMismatch    = "ETAG_MISMATCH"
	reasonUnavailable     = "STORE_UNAVAILABLE"
)

// maxMessage bounds the message of an error.
const maxMessage = 2048

// invalid is INVALID_ARGUMENT with one BadRequest field violation.
func invalid(field, format string, args ...any) error {
	return invalidAll([]catalog.Violation{{Field: field, Description: fmt.Sprintf(format, catalog.ClipArgs(args)...)}})
}

// InvalidField is INVALID_ARGUMENT naming the field at fault, for checks
// made outside this package (such as min_revision in an interceptor).
func InvalidField(field, format string, args ...any) error {
	return invalid(field, format, args...)
}

// invalidAll is INVALID_ARGUMENT listing every field violation.
func invalidAll(vs []catalog.Violation) error {
	br := &errdetails.BadRequest{}
	msg := ""
	for i, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		if i > 0 {
			msg += "; "
		}
		msg += v.Field + ": " + v.Description
	}
	return withDetails(codes.InvalidArgument, msg, br, &errdetails.ErrorInfo{Reason: reasonInvalidArgument, Domain: errorDomain})
}

// notFound is NOT_FOUND for a resource of the given type.
func notFound(resourceType, name string) error {
	name = catalog.Clip(strings.ToValidUTF8(name, "\uFFFD")) // details must marshal
	return withDetails(codes.NotFound, fmt.Sprintf("%s %q not found", resourceType, name),
		&errdetails.ResourceInfo{ResourceType: resourceType, ResourceName: name},
		&errdetails.ErrorInfo{Reason: reasonNotFound, Domain: errorDomain, Metadata: map[string]string{"resource_type": resourceType}})
}

func withDetails(code codes.Code, msg string, details ...protoDetail) error {
	msg = catalog.ClipTo(msg, maxMessage) // whatever built it, an answer stays small
	st := status.New(code, strings.ToValidUTF8(msg, "\uFFFD"))
	if d, err := st.WithDetails(details...); err == nil {
		st = d
	}
	return st.Err()
}

// Rewrite turns any error a handler or the store returns into a gRPC status
// error with standard codes and details. Status errors pass unchanged;
// unknown errors become INTERNAL without leaking their text.
func Rewrite(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var inv *catalog.InvalidError
	var nf *store.NotFoundError
	var de *writes.DeniedError
	var ce *store.CompactedError
	switch {
	case errors.As(err, &de):
		return withDetails(codes.PermissionDenied, de.Message, &errdetails.ErrorInfo{Reason: de.Reason, Domain: errorDomain})
	case errors.As(err, &ce):
		return withDetails(codes.OutOfRange, ce.Error()+"; start again from a revision the log keeps",
			&errdetails.ErrorInfo{Reason: "CHANGES_COMPACTED", Domain: errorDomain,
				Metadata: map[string]string{"oldest_revision": strconv.FormatInt(ce.Oldest, 10)}})
	case errors.As(err, &inv):
		return invalidAll(inv.Violations)
	case errors.As(err, &nf):
		return notFound(nf.Type, nf.Name)
	case errors.Is(err, store.ErrNotFound):
		return withDetails(codes.NotFound, err.Error(), &errdetails.ErrorInfo{Reason: reasonNotFound, Domain: errorDomain})
	case errors.Is(err, store.ErrAlreadyExists):
		reason := "ALREADY_EXISTS"
		if strings.Contains(err.Error(), "mapped") {
			reason = reasonAlreadyMapped
		}
		return withDetails(codes.AlreadyExists, err.Error(), &errdetails.ErrorInfo{Reason: reason, Domain: errorDomain})
	case errors.Is(err, store.ErrEtagMismatch):
		return withDetails(codes.Aborted, err.Error(), &errdetails.ErrorInfo{Reason: reasonEtagMismatch, Domain: errorDomain})
	case errors.Is(err, store.ErrFailedPrecondition):
		return withDetails(codes.FailedPrecondition, err.Error(), &errdetails.ErrorInfo{Reason: "FAILED_PRECONDITION", Domain: errorDomain})
	case errors.Is(err, store.ErrUnavailable):
		return withDetails(codes.Unavailable, "the store is unavailable; nothing was written, retry later",
			&errdetails.ErrorInfo{Reason: reasonUnavailable, Domain: errorDomain})
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "the request was canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "the request deadline was exceeded")
	}
	log.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}
