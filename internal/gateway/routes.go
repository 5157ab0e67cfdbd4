package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/apierror"
	"github.com/controlmap/controlmap/internal/catalog"
)

// route is an HTTP method and the path template an RPC is bound to.
type route struct {
	method string
	path   *regexp.Regexp
}

// routesOf reads the HTTP bindings (google.api.http) of the services'
// methods.
func routesOf(services ...protoreflect.ServiceDescriptor) []route {
	var out []route
	for _, sd := range services {
		for i := range sd.Methods().Len() {
			rule, _ := proto.GetExtension(sd.Methods().Get(i).Options(), annotations.E_Http).(*annotations.HttpRule)
			for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
				for method, tmpl := range map[string]string{http.MethodGet: r.GetGet(), http.MethodPost: r.GetPost(),
					http.MethodPatch: r.GetPatch(), http.MethodDelete: r.GetDelete(), http.MethodPut: r.GetPut()} {
					if tmpl != "" {
						out = append(out, route{method: method, path: templateRegexp(tmpl)})
					}
				}
			}
		}
	}
	return out
}

// templateRegexp turns a path template ("/v1/{name=frameworks/*}:verb")
// into a regular expression of the paths it matches.
func templateRegexp(tmpl string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for tmpl != "" {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			b.WriteString(segments(tmpl))
			break
		}
		b.WriteString(segments(tmpl[:open]))
		end := strings.IndexByte(tmpl[open:], '}') + open
		_, pattern, found := strings.Cut(tmpl[open+1:end], "=")
		if !found {
			pattern = "*"
		}
		b.WriteString(segments(pattern))
		tmpl = tmpl[end+1:]
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// segments is the expression of literal path text with * (one segment)
// and ** (any number of them). No name of this API has a colon, which
// starts a custom verb (":satisfies").
func segments(s string) string {
	s = regexp.QuoteMeta(s)
	s = strings.ReplaceAll(s, `\*\*`, `[^:]+`)
	return strings.ReplaceAll(s, `\*`, `[^/:]+`)
}

// allowed lists the methods bound to a path, sorted.
func allowed(routes []route, path string) []string {
	var out []string
	for _, r := range routes {
		if r.path.MatchString(path) && !slices.Contains(out, r.method) {
			out = append(out, r.method)
		}
	}
	slices.Sort(out)
	return out
}

// routingErrorHandler answers a path no RPC is bound to with 404, and a
// method the path does not take with 405 and the Allow header (the
// gateway's own answer is 501), in the shape of every other error.
func routingErrorHandler(routes []route) runtime.RoutingErrorHandlerFunc {
	return func(_ context.Context, _ *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
		methods := allowed(routes, r.URL.Path)
		if httpStatus == http.StatusMethodNotAllowed || (len(methods) > 0 && !slices.Contains(methods, r.Method)) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeError(w, m, http.StatusMethodNotAllowed, apierror.Status(codes.Unimplemented, cmv1.ErrorReason_ERROR_REASON_METHOD_NOT_ALLOWED,
				r.Method+" is not a method of this path; allowed: "+strings.Join(methods, ", ")))
			return
		}
		writeError(w, m, http.StatusNotFound, apierror.Status(codes.NotFound, cmv1.ErrorReason_ERROR_REASON_NOT_FOUND, "no API at this path; see /openapi.json"))
	}
}

// strictQuery is grpc-gateway's query parser, refusing a parameter that
// names no field of the request, rather than ignoring it: a misspelt
// filter must not pass for no filter.
type strictQuery struct{ runtime.DefaultQueryParser }

func (q strictQuery) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	for key := range values {
		field, _, _ := strings.Cut(key, "[") // map entries: labels[key]
		if !knownField(msg.ProtoReflect().Descriptor(), strings.Split(field, ".")) {
			return fmt.Errorf("unknown query parameter %q", catalog.Clip(key))
		}
	}
	return q.DefaultQueryParser.Parse(msg, values, filter)
}

// knownField reports whether a path of field names (proto or JSON names)
// leads to a field of md.
func knownField(md protoreflect.MessageDescriptor, path []string) bool {
	for i, name := range path {
		f := md.Fields().ByName(protoreflect.Name(name))
		if f == nil {
			f = md.Fields().ByJSONName(name)
		}
		switch {
		case f == nil:
			return false
		case i == len(path)-1:
			return true
		case f.Message() == nil || f.IsList() || f.IsMap():
			return false
		}
		md = f.Message()
	}
	return false
}
