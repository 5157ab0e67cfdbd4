package gateway

import (
	"context"
	"net/http"
	"regexp"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// gatewayFieldPatterns find the field in the errors grpc-gateway makes
// itself while decoding a request, before any handler runs.
var gatewayFieldPatterns = []*regexp.Regexp{
	regexp.MustCompile(`parsing field "([^"]+)"`),
	regexp.MustCompile(`unknown field "([^"]+)"`),
	regexp.MustCompile(`invalid value for [^ ]+ field ([A-Za-z0-9_.]+)`),
	regexp.MustCompile(`field ([A-Za-z0-9_.]+) `),
}

// errorHandler gives the decoding errors of grpc-gateway the same shape as
// the service's own: INVALID_ARGUMENT with a BadRequest field violation
// naming the field ("body" when no field can be told).
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st, ok := status.FromError(err)
	if ok && st.Code() == codes.InvalidArgument && len(st.Details()) == 0 {
		field := "body"
		for _, p := range gatewayFieldPatterns {
			if sub := p.FindStringSubmatch(st.Message()); sub != nil {
				field = sub[1]
				break
			}
		}
		if d, derr := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: field, Description: st.Message()},
		}}); derr == nil {
			err = d.Err()
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}
