package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/controlmap/controlmap/internal/catalog"
)

// gatewayFieldPatterns find the field in the errors grpc-gateway makes
// itself while decoding a request, before any handler runs.
var gatewayFieldPatterns = []*regexp.Regexp{
	regexp.MustCompile(`unknown query parameter "([^"]+)"`),
	regexp.MustCompile(`parsing field "([^"]+)"`),
	regexp.MustCompile(`unknown field "([^"]+)"`),
	regexp.MustCompile(`invalid value for [^ ]+ field ([A-Za-z0-9_.]+)`),
	regexp.MustCompile(`field ([A-Za-z0-9_.]+) `),
}

// maxDecodeMessage bounds the message of a decoding error.
const maxDecodeMessage = 512

// errorHandler gives the decoding errors of grpc-gateway the same shape as
// the service's own: INVALID_ARGUMENT with a BadRequest field violation
// naming the field ("body" when no field can be told).
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st, ok := status.FromError(err)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || (ok && strings.Contains(st.Message(), "request body too large")) {
		writeTooLarge(w, m)
		return
	}
	if bodyTimedOut(r) {
		writeError(w, m, http.StatusRequestTimeout, codes.DeadlineExceeded, "REQUEST_TIMEOUT",
			"the request body did not arrive in time; send it at once, then wait for the answer")
		return
	}
	if ok && st.Code() == codes.InvalidArgument && len(st.Details()) == 0 {
		field := "body"
		for _, p := range gatewayFieldPatterns {
			if sub := p.FindStringSubmatch(st.Message()); sub != nil {
				field = catalog.Clip(sub[1])
				break
			}
		}
		// The decoder's message may quote the input: repeat only its start.
		st = status.New(st.Code(), catalog.ClipTo(st.Message(), maxDecodeMessage))
		if d, derr := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: field, Description: st.Message()},
		}}, &errdetails.ErrorInfo{Reason: "INVALID_ARGUMENT", Domain: "controlmap"}); derr == nil {
			err = d.Err()
		} else {
			err = st.Err()
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// writeError answers an error the gateway finds itself, in the shape of
// every other error.
func writeError(w http.ResponseWriter, m runtime.Marshaler, httpStatus int, code codes.Code, reason, msg string) {
	st := status.New(code, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "controlmap"}); err == nil {
		st = d
	}
	body, err := m.Marshal(st.Proto())
	if err != nil {
		body = []byte(`{"code":4}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}

// writeTooLarge answers 413 for a body over MaxBodyBytes, in the shape of
// every other error; nothing was read past the limit, nothing written.
func writeTooLarge(w http.ResponseWriter, m runtime.Marshaler) {
	st := status.New(codes.InvalidArgument, fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes))
	if d, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: "body", Description: st.Message()},
	}}, &errdetails.ErrorInfo{Reason: "BODY_TOO_LARGE", Domain: "controlmap"}); err == nil {
		st = d
	}
	body, err := m.Marshal(st.Proto())
	if err != nil {
		body = []byte(`{"code":3,"message":"request body too large"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	_, _ = w.Write(body)
}
