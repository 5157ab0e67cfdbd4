package gateway

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/apierror"
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
	body, watched := bodyOf(r)
	if watched && body.tooLarge.Load() {
		writeTooLarge(w, m)
		return
	}
	if watched && body.timedOut.Load() {
		writeError(w, m, http.StatusRequestTimeout, apierror.Status(codes.DeadlineExceeded, cmv1.ErrorReason_ERROR_REASON_REQUEST_TIMEOUT,
			"the request body did not arrive in time; send it at once, then wait for the answer"))
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
		msg := catalog.ClipTo(st.Message(), maxDecodeMessage)
		err = apierror.New(codes.InvalidArgument, cmv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT, msg,
			&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: msg}}})
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// writeError answers an error the gateway finds itself, in the shape of
// every other error.
func writeError(w http.ResponseWriter, m runtime.Marshaler, httpStatus int, st *status.Status) {
	body, err := m.Marshal(st.Proto())
	if err != nil {
		body = []byte(`{"code":13,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}

// writeTooLarge answers 413 for a body over MaxBodyBytes; nothing was read
// past the limit, nothing written.
func writeTooLarge(w http.ResponseWriter, m runtime.Marshaler) {
	msg := fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes)
	writeError(w, m, http.StatusRequestEntityTooLarge, apierror.Status(codes.InvalidArgument, cmv1.ErrorReason_ERROR_REASON_BODY_TOO_LARGE, msg,
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "body", Description: msg}}}))
}
