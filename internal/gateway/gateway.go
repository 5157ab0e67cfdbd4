package gateway

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/encoding/protojson"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// MaxBodyBytes is the largest request body the facade reads; a larger one
// fails with 413 before anything is written.
const MaxBodyBytes = 1 << 20

// RequestIDHeader carries the request id both ways.
const RequestIDHeader = "X-Request-Id"

// Options tune the facade.
type Options struct {
	// CORSOrigins are the browser origins allowed to call the facade; "*"
	// allows any, none disables CORS.
	CORSOrigins []string
	// ClientIPHeader, when set, names the header the proxies in front of the
	// facade add the client's address to (X-Forwarded-For, X-Real-IP), so
	// that per-address limits apply to clients, not to the proxy. It is
	// read only on connections from TrustedProxies.
	ClientIPHeader string
	// TrustedProxies are the addresses of those proxies. The client is the
	// last address in the header (read from the right) that is not one of
	// them, as nginx's real_ip module takes it: whatever a client writes in
	// the header itself comes before and is never taken.
	TrustedProxies []netip.Prefix
	// ReceiveTimeout, when positive, is how long each piece of an import's
	// body (ImportChunk bytes) may take to arrive: an upload takes as long
	// as it keeps arriving, where the server's read timeout bounds other
	// requests whole.
	ReceiveTimeout time.Duration
}

// New returns the REST facade over conn: every controlmap.v1 route,
// GET /healthz (the gRPC health check, through the same chain) and
// GET /openapi.json (OpenAPI 3.0) and GET /openapi/v2.json (Swagger 2).
func New(ctx context.Context, conn grpc.ClientConnInterface, openAPI, swagger []byte, opts Options) (http.Handler, error) {
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, newMarshaler()),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithHealthzEndpoint(grpc_health_v1.NewHealthClient(conn)),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(routingErrorHandler(routesOf(
			cmv1.File_controlmap_v1_catalog_proto.Services().Get(0), cmv1.File_controlmap_v1_crosswalk_proto.Services().Get(0),
			cmv1.File_controlmap_v1_satisfaction_proto.Services().Get(0), cmv1.File_controlmap_v1_tenancy_proto.Services().Get(0),
			cmv1.File_controlmap_v1_changes_proto.Services().Get(0), cmv1.File_controlmap_v1_interchange_proto.Services().Get(0)))),
		runtime.SetQueryParameterParser(strictQuery{}),
	)
	if err := cmv1.RegisterCatalogServiceHandlerClient(ctx, mux, cmv1.NewCatalogServiceClient(conn)); err != nil {
		return nil, err
	}
	if err := cmv1.RegisterCrosswalkServiceHandlerClient(ctx, mux, cmv1.NewCrosswalkServiceClient(conn)); err != nil {
		return nil, err
	}
	if err := cmv1.RegisterSatisfactionServiceHandlerClient(ctx, mux, cmv1.NewSatisfactionServiceClient(conn)); err != nil {
		return nil, err
	}
	if err := cmv1.RegisterTenantServiceHandlerClient(ctx, mux, cmv1.NewTenantServiceClient(conn)); err != nil {
		return nil, err
	}
	if err := cmv1.RegisterChangeServiceHandlerClient(ctx, mux, cmv1.NewChangeServiceClient(conn)); err != nil {
		return nil, err
	}
	if err := handleInterchange(mux, conn, opts.ReceiveTimeout); err != nil {
		return nil, err
	}
	for path, doc := range map[string][]byte{"/openapi.json": openAPI, "/openapi/v2.json": swagger} {
		err := mux.HandlePath(http.MethodGet, path, func(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(doc)
		})
		if err != nil {
			return nil, err
		}
	}
	return cors(opts.CORSOrigins, withPeer(opts.ClientIPHeader, opts.TrustedProxies, limitBody(mux))), nil
}

// newMarshaler is the facade's JSON: protojson, every field written, and a
// misspelt field an error rather than a silently ignored value.
func newMarshaler() marshaler {
	return marshaler{&runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}
}

// incomingHeader forwards the request id besides what grpc-gateway forwards
// by default (Authorization, Grpc-Metadata-*).
func incomingHeader(key string) (string, bool) {
	if textproto.CanonicalMIMEHeaderKey(key) == RequestIDHeader {
		return strings.ToLower(RequestIDHeader), true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// outgoingHeader returns the request id and Retry-After under their usual
// names and every other response header with grpc-gateway's Grpc-Metadata-
// prefix.
func outgoingHeader(key string) (string, bool) {
	switch {
	case strings.EqualFold(key, RequestIDHeader):
		return RequestIDHeader, true
	case strings.EqualFold(key, "retry-after"):
		return "Retry-After", true
	}
	return runtime.MetadataHeaderPrefix + key, true
}

// limitBody caps the body at MaxBodyBytes and notes, for errorHandler,
// when reading it ran out of time.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			limit := int64(MaxBodyBytes)
			if r.URL.Path == importPath {
				limit = math.MaxInt64 // the import reads up to its own limit and answers a larger document
			}
			b := &watchedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit)}
			r.Body = b
			r = r.WithContext(context.WithValue(r.Context(), watchedBodyKey{}, b))
		}
		next.ServeHTTP(w, r)
	})
}

type watchedBodyKey struct{}

// watchedBody records why a read of the body failed, if it did for want
// of time (the server's read deadline) or of room (MaxBodyBytes): the
// decoder's error that reaches errorHandler keeps only its text.
type watchedBody struct {
	io.ReadCloser
	timedOut, tooLarge atomic.Bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.timedOut.Store(true)
	case errors.As(err, &tooLarge):
		b.tooLarge.Store(true)
	}
	return n, err
}

// bodyOf returns the watched body of r, if it has one.
func bodyOf(r *http.Request) (*watchedBody, bool) {
	b, ok := r.Context().Value(watchedBodyKey{}).(*watchedBody)
	return b, ok
}

// WithPeer wraps another handler of the REST port (such as /mcp) so that
// the calls it makes through the in-process connection see the client's
// address as the facade's own calls do.
func WithPeer(opts Options, next http.Handler) http.Handler {
	return withPeer(opts.ClientIPHeader, opts.TrustedProxies, next)
}

// withPeer records the HTTP client's address as the gRPC peer, so logs and
// per-address limits see who called whichever way the call came in: the
// connection's address, or, on a connection from a trusted proxy, the
// client's address in header (see Options.TrustedProxies).
func withPeer(header string, trusted []netip.Prefix, next http.Handler) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err == nil && header != "" && isTrusted(ap.Addr()) {
			ap = netip.AddrPortFrom(clientAddr(r.Header.Values(header), ap.Addr(), isTrusted), 0)
		}
		if err == nil {
			r = r.WithContext(peer.NewContext(r.Context(), &peer.Peer{Addr: net.TCPAddrFromAddrPort(ap)}))
		}
		next.ServeHTTP(w, r)
	})
}

// clientAddr walks the addresses of a forwarding header from the right
// (the entry the nearest proxy added) past trusted proxies; the first
// other address is the client. An entry that is not an address stops the
// walk at the last address known good.
func clientAddr(values []string, peerAddr netip.Addr, trusted func(netip.Addr) bool) netip.Addr {
	var entries []string
	for _, v := range values {
		entries = append(entries, strings.Split(v, ",")...)
	}
	client := peerAddr
	for _, e := range slices.Backward(entries) {
		a, err := netip.ParseAddr(strings.TrimSpace(e))
		if err != nil {
			return client
		}
		client = a.Unmap()
		if !trusted(client) {
			return client
		}
	}
	return client
}
