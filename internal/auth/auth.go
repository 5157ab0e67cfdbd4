package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// Access is what an RPC does to the catalog.
type Access int

const (
	// Read RPCs are open to anonymous callers.
	Read Access = iota + 1
	// Write RPCs need the admin token.
	Write
)

// methods classifies every RPC the server exposes. An RPC missing here is
// refused, so a new one cannot slip through unclassified.
var methods = map[string]Access{
	cmv1.CatalogService_ListFrameworks_FullMethodName:          Read,
	cmv1.CatalogService_GetFramework_FullMethodName:            Read,
	cmv1.CatalogService_ListControls_FullMethodName:            Read,
	cmv1.CatalogService_GetControl_FullMethodName:              Read,
	cmv1.CrosswalkService_ListMappings_FullMethodName:          Read,
	cmv1.CrosswalkService_GetMapping_FullMethodName:            Read,
	cmv1.CrosswalkService_ListCrosswalks_FullMethodName:        Read,
	cmv1.CrosswalkService_ListCrosswalkMappings_FullMethodName: Read,
	cmv1.SatisfactionService_Satisfies_FullMethodName:          Read,
	cmv1.SatisfactionService_ComputeCoverage_FullMethodName:    Read,
	cmv1.SatisfactionService_Explain_FullMethodName:            Read,
	cmv1.CrosswalkService_CreateMapping_FullMethodName:         Write,
	cmv1.CrosswalkService_UpdateMapping_FullMethodName:         Write,
	cmv1.CrosswalkService_DeleteMapping_FullMethodName:         Write,
}

// Infrastructure services are open to every caller: health for load
// balancers and probes, reflection for grpcurl.
var openPrefixes = []string{"/grpc.health.v1.Health/", "/grpc.reflection."}

// Classify returns the access an RPC needs, and false for RPCs it does not
// know (which the interceptor refuses).
func Classify(fullMethod string) (Access, bool) {
	if a, ok := methods[fullMethod]; ok {
		return a, true
	}
	for _, p := range openPrefixes {
		if strings.HasPrefix(fullMethod, p) {
			return Read, true
		}
	}
	return 0, false
}

// Principal is the authenticated caller.
type Principal struct {
	// Name is how the caller appears in provenance and logs.
	Name string
	// Tenant is the caller's tenant; empty for the operator's admin token
	// and anonymous readers, who see only public data.
	Tenant string
}

type principalKey struct{}

// PrincipalFrom returns the caller recorded by the interceptor; anonymous
// callers have the name "anonymous".
func PrincipalFrom(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return Principal{Name: "anonymous"}
}

// Authenticator checks bearer tokens.
type Authenticator struct {
	adminDigest [sha256.Size]byte
	enabled     bool
}

// New returns an Authenticator that accepts adminToken for writes. With an
// empty token every write is refused.
func New(adminToken string) *Authenticator {
	return &Authenticator{adminDigest: sha256.Sum256([]byte(adminToken)), enabled: adminToken != ""}
}

// UnaryInterceptor authenticates the caller and enforces the access the RPC
// needs: UNAUTHENTICATED without a valid token for a write, PERMISSION_DENIED
// when writes are disabled or the RPC is unknown.
func (a *Authenticator) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamInterceptor applies the same rules to streaming calls (health Watch
// and reflection are the only streams served); unknown streams are refused.
func (a *Authenticator) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if _, err := a.authorize(ss.Context(), info.FullMethod); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

// denied is an auth failure with an ErrorInfo reason clients can switch on.
func denied(code codes.Code, reason, msg string) error {
	st := status.New(code, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "controlmap"}); err == nil {
		st = d
	}
	return st.Err()
}

func (a *Authenticator) authorize(ctx context.Context, method string) (context.Context, error) {
	access, known := Classify(method)
	if !known {
		return ctx, denied(codes.PermissionDenied, "METHOD_NOT_OPEN", "method "+method+" is not open to callers")
	}
	token, hasToken := bearer(ctx)
	switch {
	case hasToken && a.enabled && a.matches(token):
		return context.WithValue(ctx, principalKey{}, Principal{Name: "admin"}), nil
	case hasToken:
		// A wrong token is refused even where none is needed: a client
		// with a broken credential should learn it at once.
		return ctx, denied(codes.Unauthenticated, "INVALID_TOKEN", "the bearer token is not valid")
	case access == Read:
		return ctx, nil
	case !a.enabled:
		return ctx, denied(codes.PermissionDenied, "WRITES_DISABLED", "writes are disabled: the server has no admin token configured (--admin-token or CONTROLMAP_ADMIN_TOKEN)")
	default:
		return ctx, denied(codes.Unauthenticated, "MISSING_TOKEN", "this method changes data: send Authorization: Bearer <admin token>")
	}
}

// matches compares digests in constant time, so neither the token's content
// nor its length leaks through timing.
func (a *Authenticator) matches(token string) bool {
	d := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(d[:], a.adminDigest[:]) == 1
}

func bearer(ctx context.Context) (string, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if scheme, token, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "bearer") && token != "" {
			return strings.TrimSpace(token), true
		}
	}
	return "", false
}
