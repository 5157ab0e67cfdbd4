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

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/apierror"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/writes"
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
	return apierror.New(codes.InvalidArgument, cmv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT, msg, br)
}

// notFound is NOT_FOUND for a resource of the given type.
func notFound(resourceType, name string) error {
	name = catalog.Clip(strings.ToValidUTF8(name, "\uFFFD")) // details must marshal
	return apierror.WithInfo(codes.NotFound, apierror.Info(cmv1.ErrorReason_ERROR_REASON_NOT_FOUND, "resource_type", resourceType),
		fmt.Sprintf("%s %q not found", resourceType, name),
		&errdetails.ResourceInfo{ResourceType: resourceType, ResourceName: name}).Err()
}

// withDetails is an error of the API with its reason and details; its
// message is bounded.
func withDetails(code codes.Code, reason cmv1.ErrorReason, msg string, details ...protoDetail) error {
	return apierror.New(code, reason, catalog.ClipTo(msg, maxMessage), details...)
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
	var qe *writes.QuotaError
	switch {
	case errors.As(err, &qe):
		return apierror.WithInfo(codes.ResourceExhausted, apierror.Info(qe.Reason(), qe.Metadata()...), qe.Error(), qe.Detail()).Err()
	case errors.As(err, &de):
		return withDetails(codes.PermissionDenied, de.Reason, de.Message)
	case errors.As(err, &ce):
		return apierror.WithInfo(codes.OutOfRange, apierror.Info(cmv1.ErrorReason_ERROR_REASON_CHANGES_COMPACTED, "oldest_revision", strconv.FormatInt(ce.Oldest, 10)),
			ce.Error()+"; start again from a revision the log keeps").Err()
	case errors.As(err, &inv):
		return invalidAll(inv.Violations)
	case errors.As(err, &nf):
		return notFound(nf.Type, nf.Name)
	case errors.Is(err, store.ErrNotFound):
		return withDetails(codes.NotFound, cmv1.ErrorReason_ERROR_REASON_NOT_FOUND, err.Error())
	case errors.Is(err, store.ErrAlreadyMapped):
		return withDetails(codes.AlreadyExists, cmv1.ErrorReason_ERROR_REASON_ALREADY_MAPPED, err.Error())
	case errors.Is(err, store.ErrAlreadyExists):
		return withDetails(codes.AlreadyExists, cmv1.ErrorReason_ERROR_REASON_ALREADY_EXISTS, err.Error())
	case errors.Is(err, store.ErrEtagMismatch):
		return withDetails(codes.Aborted, cmv1.ErrorReason_ERROR_REASON_ETAG_MISMATCH, err.Error())
	case errors.Is(err, store.ErrFailedPrecondition):
		return withDetails(codes.FailedPrecondition, cmv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, err.Error())
	case errors.Is(err, store.ErrOutcomeUnknown):
		return withDetails(codes.Unknown, cmv1.ErrorReason_ERROR_REASON_WRITE_OUTCOME_UNKNOWN,
			"the database failed while the write was committing, so it may have happened; before retrying, look for this request's x-request-id in the audit trail (ListAuditEvents with request_id) or read the resource")
	case errors.Is(err, store.ErrUnavailable):
		return withDetails(codes.Unavailable, cmv1.ErrorReason_ERROR_REASON_STORE_UNAVAILABLE, "the store is unavailable; nothing was written, retry later")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "the request was canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "the request deadline was exceeded")
	}
	log.ErrorContext(ctx, "internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}
