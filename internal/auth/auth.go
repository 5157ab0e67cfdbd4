package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/apierror"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// Access is what an RPC needs of its caller.
type Access int

const (
	// Read RPCs need SCOPE_READ, or nothing when anonymous reads are on.
	Read Access = iota + 1
	// Write RPCs need SCOPE_WRITE (or the operator's token).
	Write
	// Manage RPCs act on a tenant's keys and audit trail: SCOPE_ADMIN of
	// that tenant (checked by the service) or the operator's token.
	Manage
	// Operate RPCs are the operator's alone (creating tenants).
	Operate
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
	cmv1.CatalogService_CreateFramework_FullMethodName:         Write,
	cmv1.CatalogService_UpdateFramework_FullMethodName:         Write,
	cmv1.CatalogService_DeleteFramework_FullMethodName:         Write,
	cmv1.CatalogService_CreateControl_FullMethodName:           Write,
	cmv1.CatalogService_UpdateControl_FullMethodName:           Write,
	cmv1.CatalogService_DeleteControl_FullMethodName:           Write,
	cmv1.TenantService_GetTenant_FullMethodName:                Read,
	cmv1.TenantService_CreateApiKey_FullMethodName:             Manage,
	cmv1.TenantService_ListApiKeys_FullMethodName:              Manage,
	cmv1.TenantService_RevokeApiKey_FullMethodName:             Manage,
	cmv1.TenantService_ListAuditEvents_FullMethodName:          Manage,
	cmv1.TenantService_CreateTenant_FullMethodName:             Operate,
	cmv1.TenantService_UpdateTenant_FullMethodName:             Manage,
	cmv1.ChangeService_WatchChanges_FullMethodName:             Read,
	cmv1.InterchangeService_Import_FullMethodName:              Write,
	cmv1.InterchangeService_ExportFramework_FullMethodName:     Read,
	cmv1.InterchangeService_ExportCrosswalk_FullMethodName:     Read,
}

// required is the scope a tenant key needs for each access.
var required = map[Access]cmv1.Scope{
	Read:   cmv1.Scope_SCOPE_READ,
	Write:  cmv1.Scope_SCOPE_WRITE,
	Manage: cmv1.Scope_SCOPE_ADMIN,
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
	// Name is how the caller appears in provenance, the audit trail and
	// logs: a key's resource name, "admin" or "anonymous".
	Name string
	// Tenant is the caller's tenant; empty for the operator's admin token
	// and anonymous readers, who see only public data.
	Tenant string
	// Operator is true for the operator's admin token.
	Operator bool
	// Scopes are the key's scopes.
	Scopes []cmv1.Scope
}

// Has reports whether the caller holds scope s (the operator holds all).
func (p Principal) Has(s cmv1.Scope) bool { return p.Operator || slices.Contains(p.Scopes, s) }

// MayManage reports whether the caller may manage tenant's keys and read its
// audit trail.
func (p Principal) MayManage(tenant string) bool {
	return p.Operator || (p.Tenant == tenant && p.Has(cmv1.Scope_SCOPE_ADMIN))
}

type principalKey struct{}

var anonymous = Principal{Name: "anonymous"}

// PrincipalFrom returns the caller recorded by the interceptor.
func PrincipalFrom(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return anonymous
}

// WithPrincipal records p as the caller of ctx, and as the actor of the
// audit events of the writes made with it through method.
func WithPrincipal(ctx context.Context, p Principal, method string) context.Context {
	ctx = context.WithValue(ctx, principalKey{}, p)
	return store.WithActor(ctx, tenancy.Actor{Tenant: p.Tenant, Name: p.Name, Method: method})
}

// Authenticator checks bearer tokens: the operator's admin token, or a
// tenant's API key looked up in the store's directory (no I/O).
type Authenticator struct {
	adminDigest   [sha256.Size]byte
	enabled       bool
	directory     func() *tenancy.Directory
	anonymousRead bool
}

// New returns an Authenticator. adminToken authorizes everything (empty:
// no operator token); directory gives the current keys; anonymousRead lets
// callers without a token read public data.
func New(adminToken string, directory func() *tenancy.Directory, anonymousRead bool) *Authenticator {
	return &Authenticator{adminDigest: sha256.Sum256([]byte(adminToken)), enabled: adminToken != "", directory: directory, anonymousRead: anonymousRead}
}

// UnaryInterceptor authenticates the caller, enforces the access the RPC
// needs, and records the caller for the handlers and the audit trail (the
// server runs streaming calls through it too):
// UNAUTHENTICATED without a valid token where one is needed or with an
// unknown or revoked one, PERMISSION_DENIED for a missing scope.
func (a *Authenticator) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		p, err := a.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(WithPrincipal(ctx, p, info.FullMethod), req)
	}
}

// denied is an auth failure with an ErrorInfo reason clients can switch on.
func denied(code codes.Code, reason cmv1.ErrorReason, msg string) error {
	return apierror.New(code, reason, msg)
}

func (a *Authenticator) authorize(ctx context.Context, method string) (Principal, error) {
	access, known := Classify(method)
	if !known {
		return anonymous, denied(codes.PermissionDenied, cmv1.ErrorReason_ERROR_REASON_METHOD_NOT_OPEN, "method "+method+" is not open to callers")
	}
	infra := !strings.HasPrefix(method, "/controlmap.")
	token, hasToken := bearer(ctx)
	switch {
	case hasToken && token == "":
		// A credential of another scheme is not ignored: its sender means
		// to authenticate and must learn that it did not.
		return anonymous, denied(codes.Unauthenticated, cmv1.ErrorReason_ERROR_REASON_UNSUPPORTED_AUTH_SCHEME, "the Authorization header must be one \"Bearer <API key>\"")
	case infra && !hasToken:
		return anonymous, nil
	case !hasToken && access == Read && a.anonymousRead:
		return anonymous, nil
	case !hasToken:
		return anonymous, denied(codes.Unauthenticated, cmv1.ErrorReason_ERROR_REASON_MISSING_TOKEN, "send Authorization: Bearer <API key>")
	}
	p, ok := a.identify(token)
	if !ok {
		// A wrong token is refused even where none is needed: a client
		// with a broken credential should learn it at once.
		return anonymous, denied(codes.Unauthenticated, cmv1.ErrorReason_ERROR_REASON_INVALID_TOKEN, "the bearer token is not a valid API key (unknown or revoked)")
	}
	switch {
	case p.Operator || infra:
		return p, nil
	case access == Operate:
		return p, denied(codes.PermissionDenied, cmv1.ErrorReason_ERROR_REASON_OPERATOR_ONLY, "only the operator's admin token may do this")
	case !p.Has(required[access]):
		return p, denied(codes.PermissionDenied, cmv1.ErrorReason_ERROR_REASON_MISSING_SCOPE, "this API key lacks "+required[access].String())
	}
	return p, nil
}

// Identify returns who a bearer token belongs to; false for a token that
// is no one's (unknown, revoked or expired).
func (a *Authenticator) Identify(token string) (Principal, bool) { return a.identify(token) }

// identify finds who a bearer token belongs to.
func (a *Authenticator) identify(token string) (Principal, bool) {
	if a.enabled && a.matches(token) {
		return Principal{Name: "admin", Operator: true}, true
	}
	if a.directory == nil || !tenancy.LooksLikeKey(token) {
		return anonymous, false
	}
	k, ok := a.directory().KeyBySecret(token)
	if !ok || !k.Valid(time.Now()) {
		return anonymous, false
	}
	return Principal{Name: tenancy.KeyName(k.Tenant, k.ID), Tenant: k.Tenant, Scopes: k.Scopes}, true
}

// matches compares digests in constant time, so neither the token's content
// nor its length leaks through timing.
func (a *Authenticator) matches(token string) bool {
	d := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(d[:], a.adminDigest[:]) == 1
}

// bearer returns the bearer token of the call's Authorization header. sent
// is true when the header is there at all; token is empty when it is not a
// well-formed bearer token (another scheme, such as Basic, or none).
func bearer(ctx context.Context) (token string, sent bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 0 {
		return "", false
	}
	if len(values) == 1 {
		if scheme, t, ok := strings.Cut(values[0], " "); ok && strings.EqualFold(scheme, "bearer") {
			return strings.TrimSpace(t), true
		}
	}
	return "", true
}
