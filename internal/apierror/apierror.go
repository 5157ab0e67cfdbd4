package apierror

import (
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// Domain is the ErrorInfo domain of every error of this API.
const Domain = "controlmap"

// Reason is the ErrorInfo reason of r: its name without the prefix.
func Reason(r cmv1.ErrorReason) string { return strings.TrimPrefix(r.String(), "ERROR_REASON_") }

// Info is the ErrorInfo of reason r, with metadata as key, value pairs.
func Info(r cmv1.ErrorReason, metadata ...string) *errdetails.ErrorInfo {
	info := &errdetails.ErrorInfo{Reason: Reason(r), Domain: Domain}
	if len(metadata) > 0 {
		info.Metadata = map[string]string{}
		for i := 0; i+1 < len(metadata); i += 2 {
			info.Metadata[metadata[i]] = metadata[i+1]
		}
	}
	return info
}

// Status is the status of code and msg, carrying the ErrorInfo of reason
// and the details given (a BadRequest, RetryInfo, ResourceInfo).
func Status(code codes.Code, reason cmv1.ErrorReason, msg string, details ...protoadapt.MessageV1) *status.Status {
	return WithInfo(code, Info(reason), msg, details...)
}

// WithInfo is Status with an ErrorInfo built by the caller (Info with
// metadata).
func WithInfo(code codes.Code, info *errdetails.ErrorInfo, msg string, details ...protoadapt.MessageV1) *status.Status {
	st := status.New(code, strings.ToValidUTF8(msg, "\uFFFD"))
	if d, err := st.WithDetails(append(details, info)...); err == nil {
		st = d
	}
	return st
}

// New is Status as an error.
func New(code codes.Code, reason cmv1.ErrorReason, msg string, details ...protoadapt.MessageV1) error {
	return Status(code, reason, msg, details...).Err()
}
