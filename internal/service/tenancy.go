package service

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/resource"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/tenancy"
	"github.com/controlmap/controlmap/internal/writes"
)

// TenantServer implements cmv1.TenantServiceServer.
type TenantServer struct {
	cmv1.UnimplementedTenantServiceServer
	store  store.Store
	writes *writes.Writer
}

// NewTenantServer returns the tenant service over s, writing through w.
func NewTenantServer(s store.Store, w *writes.Writer) *TenantServer {
	return &TenantServer{store: s, writes: w}
}

const maxDisplayName = 200

// CreateTenant implements cmv1.TenantServiceServer (the operator's alone,
// as the auth interceptor enforces).
func (s *TenantServer) CreateTenant(ctx context.Context, req *cmv1.CreateTenantRequest) (*cmv1.CreateTenantResponse, error) {
	t, err := s.writes.CreateTenant(ctx, tenancy.Tenant{ID: req.GetTenantId(), DisplayName: req.GetTenant().GetDisplayName(),
		RequireAdminApproval: req.GetTenant().GetRequireAdminApproval()})
	if err != nil {
		return nil, err
	}
	return &cmv1.CreateTenantResponse{Tenant: tenantProto(t), Revision: t.Revision}, nil
}

// UpdateTenant implements cmv1.TenantServiceServer.
func (s *TenantServer) UpdateTenant(ctx context.Context, req *cmv1.UpdateTenantRequest) (*cmv1.UpdateTenantResponse, error) {
	in := req.GetTenant()
	id, err := s.visibleTenant(ctx, "tenant.name", in.GetName(), true)
	if err != nil {
		return nil, err
	}
	paths, err := maskPaths(req.GetUpdateMask().GetPaths(), []string{"display_name", "require_admin_approval"}, []string{"name"})
	if err != nil {
		return nil, err
	}
	var patch writes.TenantPatch
	if paths["display_name"] {
		patch.DisplayName = proto.String(in.GetDisplayName())
	}
	if paths["require_admin_approval"] {
		patch.RequireAdminApproval = proto.Bool(in.GetRequireAdminApproval())
	}
	t, err := s.writes.UpdateTenant(ctx, id, patch)
	if err != nil {
		return nil, err
	}
	return &cmv1.UpdateTenantResponse{Tenant: tenantProto(t), Revision: t.Revision}, nil
}

// GetTenant implements cmv1.TenantServiceServer.
func (s *TenantServer) GetTenant(ctx context.Context, req *cmv1.GetTenantRequest) (*cmv1.GetTenantResponse, error) {
	id, err := s.visibleTenant(ctx, "name", req.GetName(), false)
	if err != nil {
		return nil, err
	}
	t, _ := s.store.Directory().Tenant(id)
	return &cmv1.GetTenantResponse{Tenant: tenantProto(t)}, nil
}

// visibleTenant parses "tenants/{id}" and checks the caller may see it (its
// own tenant, or any for the operator; with manage, only with SCOPE_ADMIN).
// Another tenant is NOT_FOUND, exactly like one that does not exist.
func (s *TenantServer) visibleTenant(ctx context.Context, field, name string, manage bool) (string, error) {
	id, ok := strings.CutPrefix(name, "tenants/")
	if !ok || !tenancy.ValidTenantID(id) {
		return "", invalid(field, "must be tenants/{tenant}, got %q", name)
	}
	p := auth.PrincipalFrom(ctx)
	_, exists := s.store.Directory().Tenant(id)
	if !exists || (!p.Operator && p.Tenant != id) {
		return "", notFound("tenant", name)
	}
	if manage && !p.MayManage(id) {
		return "", withDetails(codes.PermissionDenied, cmv1.ErrorReason_ERROR_REASON_MISSING_SCOPE, "this API key lacks SCOPE_ADMIN")
	}
	return id, nil
}

// CreateApiKey implements cmv1.TenantServiceServer.
func (s *TenantServer) CreateApiKey(ctx context.Context, req *cmv1.CreateApiKeyRequest) (*cmv1.CreateApiKeyResponse, error) {
	tenant, err := s.visibleTenant(ctx, "parent", req.GetParent(), true)
	if err != nil {
		return nil, err
	}
	var expires time.Time
	if e := req.GetApiKey().GetExpireTime(); e != nil {
		if err := e.CheckValid(); err != nil {
			return nil, invalid("api_key.expire_time", "is not a valid time: %v", err)
		}
		expires = e.AsTime()
	}
	k, secret, rev, err := s.writes.CreateAPIKey(ctx, tenant, req.GetApiKey().GetScopes(), expires)
	if err != nil {
		return nil, err
	}
	return &cmv1.CreateApiKeyResponse{ApiKey: keyProto(&k), Secret: secret, Revision: rev}, nil
}

// ListApiKeys implements cmv1.TenantServiceServer.
func (s *TenantServer) ListApiKeys(ctx context.Context, req *cmv1.ListApiKeysRequest) (*cmv1.ListApiKeysResponse, error) {
	tenant, err := s.visibleTenant(ctx, "parent", req.GetParent(), true)
	if err != nil {
		return nil, err
	}
	resp := &cmv1.ListApiKeysResponse{}
	for _, k := range s.store.Directory().Keys(tenant) {
		resp.ApiKeys = append(resp.ApiKeys, keyProto(k))
	}
	return resp, nil
}

// RevokeApiKey implements cmv1.TenantServiceServer.
func (s *TenantServer) RevokeApiKey(ctx context.Context, req *cmv1.RevokeApiKeyRequest) (*cmv1.RevokeApiKeyResponse, error) {
	parent, id, ok := strings.Cut(strings.TrimPrefix(req.GetName(), "tenants/"), "/apiKeys/")
	if !ok || !strings.HasPrefix(req.GetName(), "tenants/") || id == "" || strings.Contains(id, "/") {
		return nil, invalid("name", "must be tenants/{tenant}/apiKeys/{key}, got %q", req.GetName())
	}
	tenant, err := s.visibleTenant(ctx, "name", "tenants/"+parent, true)
	if err != nil {
		return nil, err
	}
	k, rev, err := s.writes.RevokeAPIKey(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if rev == 0 { // revoked before: nothing was written
		rev = s.store.Snapshot().Revision()
	}
	return &cmv1.RevokeApiKeyResponse{ApiKey: keyProto(&k), Revision: rev}, nil
}

// ListAuditEvents implements cmv1.TenantServiceServer.
func (s *TenantServer) ListAuditEvents(ctx context.Context, req *cmv1.ListAuditEventsRequest) (*cmv1.ListAuditEventsResponse, error) {
	all := req.GetParent() == "tenants/-"
	tenant := ""
	if all {
		if !auth.PrincipalFrom(ctx).Operator {
			return nil, invalid("parent", "tenants/- is the operator's; name your tenant")
		}
	} else {
		var err error
		if tenant, err = s.visibleTenant(ctx, "parent", req.GetParent(), true); err != nil {
			return nil, err
		}
	}
	size := defaultPageSize
	switch {
	case req.GetPageSize() < 0:
		return nil, invalid("page_size", "must not be negative, got %d", req.GetPageSize())
	case req.GetPageSize() > maxPageSize:
		size = maxPageSize
	case req.GetPageSize() > 0:
		size = int(req.GetPageSize())
	}
	if id := req.GetRequestId(); id != "" && !ValidRequestID(id) {
		return nil, invalid("request_id", "must be 1 to 128 printable ASCII characters without spaces")
	}
	// A token is the revision to continue below and a digest of the
	// filters, so it cannot be replayed with other ones.
	query := strconv.FormatUint(queryDigest(req.GetParent(), req.GetRequestId()), 36)
	var before int64
	if req.GetPageToken() != "" {
		raw, err := base64.RawURLEncoding.DecodeString(req.GetPageToken())
		rev, digest, _ := strings.Cut(string(raw), ".")
		if err == nil {
			before, err = strconv.ParseInt(rev, 10, 64)
		}
		if err != nil || before <= 0 {
			return nil, invalid("page_token", "is not a token this service issued")
		}
		if digest != query {
			return nil, invalid("page_token", "was issued for a query with other filters; send the same filters with every page")
		}
	}
	events, err := s.store.AuditEvents(ctx, store.AuditQuery{Tenant: tenant, All: all, Before: before, RequestID: req.GetRequestId(), Limit: size + 1})
	if err != nil {
		return nil, err
	}
	resp := &cmv1.ListAuditEventsResponse{}
	if len(events) > size {
		events = events[:size]
		resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(events[size-1].Revision, 10) + "." + query))
	}
	for _, e := range events {
		owner := e.Tenant
		if owner == "" {
			owner = "-"
		}
		resp.AuditEvents = append(resp.AuditEvents, &cmv1.AuditEvent{
			Name: "tenants/" + owner + "/auditEvents/" + strconv.FormatInt(e.Revision, 10), Time: timestamppb.New(e.Time),
			Tenant: e.Tenant, Actor: e.Actor, Method: e.Method, Resource: e.Resource, Before: e.Before, After: e.After, Revision: e.Revision,
			RequestId: e.RequestID,
		})
	}
	return resp, nil
}

func tenantProto(t tenancy.Tenant) *cmv1.Tenant { return resource.Tenant(&t) }

func keyProto(k *tenancy.APIKey) *cmv1.ApiKey { return resource.APIKey(k) }

// ValidRequestID reports whether id is acceptable as an x-request-id: 1 to
// 128 printable ASCII characters, no spaces.
func ValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}
