package server_test

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/server"
	"github.com/controlmap/controlmap/internal/writes"
)

// newTenantWithKey creates a tenant and a key with the given scopes through
// REST, as the operator, and returns the key's name and secret.
func newTenantWithKey(t *testing.T, s *stack, tenant string, scopes ...string) (name, secret string) {
	t.Helper()
	if r := s.rest(t, "POST", "/v1/tenants?tenant_id="+tenant, map[string]any{"displayName": strings.ToUpper(tenant)}, "Authorization", bearer); r.status != 200 && r.status != 409 {
		t.Fatalf("create tenant %s: %d %s", tenant, r.status, r.raw)
	}
	r := s.rest(t, "POST", "/v1/tenants/"+tenant+"/apiKeys", map[string]any{"scopes": scopes}, "Authorization", bearer)
	if r.status != 200 || !strings.HasPrefix(r.str("secret"), "cmk_") {
		t.Fatalf("create key: %d %s", r.status, r.raw)
	}
	return r.str("apiKey", "name"), r.str("secret")
}

func key(secret string) []string { return []string{"Authorization", "Bearer " + secret} }

func TestTenantsAndKeys(t *testing.T) {
	s := startDefault(t)
	_, reader := newTenantWithKey(t, s, "acme", "SCOPE_READ")
	adminName, acmeAdmin := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_ADMIN")
	_, globex := newTenantWithKey(t, s, "globex", "SCOPE_READ", "SCOPE_WRITE", "SCOPE_ADMIN")

	// A read key reads; it cannot manage keys or create tenants.
	if r := s.rest(t, "GET", "/v1/frameworks", nil, key(reader)...); r.status != 200 {
		t.Fatalf("read with a read key: %d", r.status)
	}
	if r := s.rest(t, "GET", "/v1/tenants/acme", nil, key(reader)...); r.status != 200 || r.str("tenant", "displayName") != "ACME" {
		t.Fatalf("own tenant: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "POST", "/v1/tenants/acme/apiKeys", map[string]any{"scopes": []string{"SCOPE_READ"}}, key(reader)...); r.status != 403 {
		t.Fatalf("key management without SCOPE_ADMIN: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "POST", "/v1/tenants?tenant_id=evil", map[string]any{"displayName": "x"}, key(globex)...); r.status != 403 || !strings.Contains(string(r.raw), "OPERATOR_ONLY") {
		t.Fatalf("tenant creation by a tenant: %d %s", r.status, r.raw)
	}

	// Another tenant's tenant, keys and audit trail do not exist for it.
	for _, path := range []string{"/v1/tenants/acme", "/v1/tenants/acme/apiKeys", "/v1/tenants/acme/auditEvents"} {
		if r := s.rest(t, "GET", path, nil, key(globex)...); r.status != 404 {
			t.Errorf("globex reads %s: %d %s", path, r.status, r.raw)
		}
	}
	if r := s.rest(t, "POST", "/v1/"+adminName+":revoke", map[string]any{}, key(globex)...); r.status != 404 {
		t.Errorf("globex revokes acme's key: %d %s", r.status, r.raw)
	}

	// Keys are listed without secrets, newest first.
	r := s.rest(t, "GET", "/v1/tenants/acme/apiKeys", nil, key(acmeAdmin)...)
	keys := toMaps(r.body["apiKeys"])
	if r.status != 200 || len(keys) != 2 || keys[0]["name"] != adminName || strings.Contains(string(r.raw), "cmk_") {
		t.Fatalf("list keys: %d %s", r.status, r.raw)
	}

	// A tenant key cannot write public mappings.
	if r := s.rest(t, "POST", "/v1/mappings", newMapping(), key(globex)...); r.status != 403 || !strings.Contains(string(r.raw), "NOT_OWNER") {
		t.Fatalf("public mapping by a tenant: %d %s", r.status, r.raw)
	}
	builtIn := s.rest(t, "GET", "/v1/mappings?page_size=1", nil).body["mappings"].([]any)[0].(map[string]any)["name"].(string)
	if r := s.rest(t, "DELETE", "/v1/"+builtIn, nil, key(globex)...); r.status != 403 {
		t.Fatalf("built-in mapping deleted by a tenant: %d %s", r.status, r.raw)
	}

	// Revocation takes effect at once, over REST and gRPC.
	if r := s.rest(t, "POST", "/v1/"+adminName+":revoke", map[string]any{}, key(acmeAdmin)...); r.status != 200 || r.str("apiKey", "revokeTime") == "" {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "GET", "/v1/frameworks", nil, key(acmeAdmin)...); r.status != 401 {
		t.Fatalf("revoked key over REST: %d", r.status)
	}
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+acmeAdmin)
	if _, err := s.catalog.ListFrameworks(ctx, &cmv1.ListFrameworksRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("revoked key over gRPC: %v", err)
	}
	ctx = metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer cmk_made-up")
	if _, err := s.catalog.ListFrameworks(ctx, &cmv1.ListFrameworksRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("unknown key over gRPC: %v", err)
	}

	// Bad input names the field and writes nothing.
	before := s.rest(t, "GET", "/v1/frameworks", nil).str("revision")
	for _, tc := range []struct {
		path  string
		body  any
		field string
	}{
		{"/v1/tenants?tenant_id=Bad_Id", map[string]any{"displayName": "x"}, "tenant_id"},
		{"/v1/tenants?tenant_id=ok", map[string]any{"displayName": strings.Repeat("x", 201)}, "tenant.display_name"},
		{"/v1/tenants?tenant_id=ok", map[string]any{}, "tenant.display_name"},
		{"/v1/tenants/acme/apiKeys", map[string]any{"scopes": []string{}}, "api_key.scopes"},
		{"/v1/tenants/acme/apiKeys", map[string]any{"scopes": []int{9}}, "api_key.scopes[0]"},
		{"/v1/tenants/acme/apiKeys", map[string]any{"scopes": []string{"SCOPE_READ", "SCOPE_READ"}}, "api_key.scopes[1]"},
	} {
		r := s.rest(t, "POST", tc.path, tc.body, "Authorization", bearer)
		if r.status != 400 || !slices.Contains(r.fieldViolations(), tc.field) {
			t.Errorf("%s %v: %d %s; want 400 naming %s", tc.path, tc.body, r.status, r.raw, tc.field)
		}
	}
	if after := s.rest(t, "GET", "/v1/frameworks", nil).str("revision"); after != before {
		t.Fatalf("bad input moved the revision from %s to %s", before, after)
	}
}

func TestAuditTrail(t *testing.T) {
	s := startDefault(t)
	_, acme := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_ADMIN")
	keyName, _ := newTenantWithKey(t, s, "acme", "SCOPE_READ")
	r := s.rest(t, "POST", "/v1/mappings", newMapping(), "Authorization", bearer)
	mapping := r.str("mapping", "name")
	s.rest(t, "PATCH", "/v1/"+mapping, map[string]any{"strength": 4}, "Authorization", bearer, "X-Request-Id", "client-update-1")
	s.rest(t, "DELETE", "/v1/"+mapping, nil, "Authorization", bearer)
	if r := s.rest(t, "DELETE", "/v1/"+mapping, nil, "Authorization", bearer, "X-Request-Id", "client-delete-again"); r.status != 404 {
		t.Fatalf("second delete: %d %s", r.status, r.raw)
	}
	s.rest(t, "POST", "/v1/"+keyName+":revoke", map[string]any{}, key(acme)...)

	// The operator sees everything, newest first, one event per write.
	r = s.rest(t, "GET", "/v1/tenants/-/auditEvents?page_size=3", nil, "Authorization", bearer)
	if r.status != 200 {
		t.Fatalf("operator's trail: %d %s", r.status, r.raw)
	}
	events := toMaps(r.body["auditEvents"])
	if r.status != 200 || len(events) != 3 || r.str("nextPageToken") == "" {
		t.Fatalf("operator's trail: %d %s", r.status, r.raw)
	}
	wantMethods := []string{"RevokeApiKey", "DeleteMapping", "UpdateMapping"}
	for i, e := range events {
		if !strings.HasSuffix(e["method"].(string), wantMethods[i]) {
			t.Errorf("event %d is %s, want %s", i, e["method"], wantMethods[i])
		}
	}
	if events[0]["resource"] != keyName || events[1]["actor"] != "admin" || events[1]["after"] != "" || events[1]["before"] == "" {
		t.Errorf("actors and before/after: %v", events[:2])
	}
	token := r.str("nextPageToken")
	r = s.rest(t, "GET", "/v1/tenants/-/auditEvents?page_size=3&page_token="+token, nil, "Authorization", bearer)
	if next := toMaps(r.body["auditEvents"]); len(next) != 3 || !strings.HasSuffix(next[0]["method"].(string), "CreateMapping") {
		t.Fatalf("second page: %s", r.raw)
	}
	// A token goes with the filters it was issued for.
	if r := s.rest(t, "GET", "/v1/tenants/-/auditEvents?request_id=x&page_token="+token, nil, "Authorization", bearer); r.status != 400 || !slices.Contains(r.fieldViolations(), "page_token") {
		t.Errorf("a token with other filters: %d %s", r.status, r.raw)
	}

	// A tenant sees its own trail only; tenants/- is the operator's.
	r = s.rest(t, "GET", "/v1/tenants/acme/auditEvents", nil, key(acme)...)
	for _, e := range toMaps(r.body["auditEvents"]) {
		if e["tenant"] != "acme" {
			t.Errorf("acme sees %v", e)
		}
	}
	if n := len(toMaps(r.body["auditEvents"])); n != 4 { // tenant, two keys, revocation
		t.Errorf("acme's trail has %d events: %s", n, r.raw)
	}
	if r := s.rest(t, "GET", "/v1/tenants/-/auditEvents", nil, key(acme)...); r.status != 400 {
		t.Errorf("tenant reads everything: %d", r.status)
	}
	if r := s.rest(t, "GET", "/v1/tenants/acme/auditEvents?page_token=zz", nil, key(acme)...); r.status != 400 {
		t.Errorf("bad page token: %d", r.status)
	}

	// A client settles a write by its request id: one event if it
	// happened, none if it did not.
	r = s.rest(t, "GET", "/v1/tenants/-/auditEvents?request_id=client-update-1", nil, "Authorization", bearer)
	if got := toMaps(r.body["auditEvents"]); len(got) != 1 || got[0]["requestId"] != "client-update-1" || !strings.HasSuffix(got[0]["method"].(string), "UpdateMapping") {
		t.Errorf("events of client-update-1: %s", r.raw)
	}
	resp, err := cmv1.NewTenantServiceClient(s.conn).ListAuditEvents(admin(ctxT(t)), &cmv1.ListAuditEventsRequest{Parent: "tenants/-", RequestId: "client-delete-again"})
	if err != nil || len(resp.GetAuditEvents()) != 0 {
		t.Errorf("a refused write has events: %v %v", resp, err)
	}
	if r := s.rest(t, "GET", "/v1/tenants/-/auditEvents?request_id=has%20space", nil, "Authorization", bearer); r.status != 400 || !slices.Contains(r.fieldViolations(), "request_id") {
		t.Errorf("bad request id: %d %s", r.status, r.raw)
	}
	// The server assigns an id to a call that brings none, and returns it.
	r = s.rest(t, "POST", "/v1/mappings", newMapping(), "Authorization", bearer)
	assigned := r.header.Get("X-Request-Id")
	r = s.rest(t, "GET", "/v1/tenants/-/auditEvents?request_id="+assigned, nil, "Authorization", bearer)
	if got := toMaps(r.body["auditEvents"]); assigned == "" || len(got) != 1 || !strings.HasSuffix(got[0]["method"].(string), "CreateMapping") {
		t.Errorf("events of the assigned id %q: %s", assigned, r.raw)
	}
}

func TestAnonymousReadsCanBeTurnedOff(t *testing.T) {
	s := start(t, server.Config{AdminToken: adminToken, DenyAnonymous: true})
	if r := s.rest(t, "GET", "/v1/frameworks", nil); r.status != 401 {
		t.Fatalf("anonymous read: %d", r.status)
	}
	if r := s.rest(t, "GET", "/healthz", nil); r.status != 200 {
		t.Fatalf("health needs no key: %d", r.status)
	}
	_, reader := newTenantWithKey(t, s, "acme", "SCOPE_READ")
	if r := s.rest(t, "GET", "/v1/frameworks", nil, key(reader)...); r.status != 200 {
		t.Fatalf("read with a key: %d", r.status)
	}
}

func TestRateLimit(t *testing.T) {
	s := start(t, server.Config{AdminToken: adminToken, RateLimit: 1}) // bursts of 2
	var last restResponse
	for range 3 {
		last = s.rest(t, "GET", "/v1/frameworks", nil)
	}
	if last.status != 429 || last.header.Get("Retry-After") == "" || !strings.Contains(string(last.raw), "RATE_LIMITED") {
		t.Fatalf("third call in a second: %d %v %s", last.status, last.header, last.raw)
	}
	// Each key has its own bucket.
	if r := s.rest(t, "GET", "/v1/frameworks", nil, "Authorization", bearer); r.status != 200 {
		t.Fatalf("operator limited by anonymous traffic: %d", r.status)
	}
	if _, err := s.catalog.ListFrameworks(ctxT(t), &cmv1.ListFrameworksRequest{}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("gRPC from the same address: %v", err)
	}
}

// Bad credentials from one address are slowed down before they are even
// checked, so keys and the operator token cannot be guessed at speed.
func TestFailedAuthenticationsAreLimited(t *testing.T) {
	s := startDefault(t)
	// Missing credentials are not failures: they are answered 401 each time.
	for range 20 {
		if r := s.rest(t, "POST", "/v1/mappings", newMapping()); r.status != 401 {
			t.Fatalf("anonymous write: %d", r.status)
		}
	}
	// 5 a second, bursts of 10: the first 10 are checked (401), and no more
	// than the bucket refilled meanwhile.
	last := refused(t, "bad tokens", "TOO_MANY_FAILED_AUTHENTICATIONS", 10, 5, func(i int) restResponse {
		return s.rest(t, "GET", "/v1/frameworks", nil, "Authorization", "Bearer guess"+strings.Repeat("x", i))
	})
	if last.header.Get("Retry-After") == "" {
		t.Fatalf("refused without Retry-After: %d %s", last.status, last.raw)
	}
}

// refused makes calls until one is answered 429 for reason and checks
// that a token bucket refilled at perSecond, with bursts of twice that,
// let through what it holds: at least minimum calls, and no more than a
// burst and what refilled while the calls ran (so a slow machine does not
// fail it). It returns the refused answer.
func refused(t *testing.T, what, reason string, minimum, perSecond int, call func(i int) restResponse) restResponse {
	t.Helper()
	begin := time.Now()
	for i := range 1000 {
		r := call(i)
		if r.status == 429 {
			if r.reason() != reason {
				t.Fatalf("%s: refused for %q, want %q: %s", what, r.reason(), reason, r.raw)
			}
			burst := 2 * perSecond
			if most := burst + int(math.Ceil(float64(perSecond)*time.Since(begin).Seconds())); i < minimum || i > most {
				t.Fatalf("%s: %d let through before the first 429, want %d to %d", what, i, minimum, most)
			}
			return r
		}
	}
	t.Fatalf("%s: 1000 calls and none refused", what)
	return restResponse{}
}

// Behind a trusted proxy, REST callers are told apart by the header it sets.
func TestClientIPHeader(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	s := start(t, server.Config{AdminToken: adminToken, RateLimit: 1, ClientIPHeader: "X-Forwarded-For", TrustedProxies: loopback,
		FailedAuthRate: 1.0 / 60}) // a bad credential a minute, one at a time

	// The proxies (127.0.0.1, then 10.0.0.1) append the address they saw;
	// what the client wrote in front of it is never taken.
	for range 2 {
		s.rest(t, "GET", "/v1/frameworks", nil, "X-Forwarded-For", "203.0.113.7, 10.0.0.1")
	}
	if r := s.rest(t, "GET", "/v1/frameworks", nil, "X-Forwarded-For", "203.0.113.7, 10.0.0.1"); r.status != 429 {
		t.Fatalf("third call from one client: %d", r.status)
	}
	if r := s.rest(t, "GET", "/v1/frameworks", nil, "X-Forwarded-For", "192.0.2.99, 203.0.113.7, 10.0.0.1"); r.status != 429 {
		t.Fatalf("a client forging an address in front of its own got a fresh bucket: %d", r.status)
	}
	if r := s.rest(t, "GET", "/v1/frameworks", nil, "X-Forwarded-For", "203.0.113.8, 10.0.0.1"); r.status != 200 {
		t.Fatalf("another client behind the same proxies: %d", r.status)
	}
	// A client rotating the header cannot escape the failed-auth guard.
	for i := range 3 {
		s.rest(t, "GET", "/v1/frameworks", nil, "X-Forwarded-For", fmt.Sprintf("198.51.100.%d, 203.0.113.9", i), "Authorization", "Bearer cmk_wrong")
	}
	r := s.rest(t, "GET", "/v1/frameworks", nil, "X-Forwarded-For", "198.51.100.200, 203.0.113.9", "Authorization", "Bearer cmk_wrong")
	if r.status != 429 || r.reason() != "TOO_MANY_FAILED_AUTHENTICATIONS" {
		t.Fatalf("3 bad tokens behind rotated forged addresses, then: %d %s", r.status, r.raw)
	}
	// Retry-After says when the bucket holds a token again: a minute at
	// one bad credential a minute.
	if after, _ := strconv.Atoi(r.header.Get("Retry-After")); after < 55 || after > 60 {
		t.Fatalf("Retry-After %q at one bad credential a minute", r.header.Get("Retry-After"))
	}
	// A rate that is not a finite, non-negative number is refused at start.
	for _, cfg := range []server.Config{{FailedAuthRate: -1}, {RateLimit: math.NaN()}, {TenantRateLimit: math.Inf(1)}} {
		cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
		if _, err := server.New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "rate limits must be finite and not negative") {
			t.Fatalf("%+v: %v", cfg, err)
		}
	}
	// Without trusted proxies the header is refused at start.
	if _, err := server.New(context.Background(), server.Config{ClientIPHeader: "X-Forwarded-For", GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "--trusted-proxies") {
		t.Fatalf("a client IP header without trusted proxies: %v", err)
	}
}

// A credential of another scheme is refused, not taken for an anonymous
// call, over REST and gRPC alike.
func TestOtherAuthSchemesAreRefused(t *testing.T) {
	s := startDefault(t)
	for _, h := range []string{"Basic YWRtaW46YWRtaW4=", "Token " + adminToken, "Bearer", adminToken} {
		r := s.rest(t, "GET", "/v1/frameworks", nil, "Authorization", h)
		if r.status != 401 || !strings.Contains(string(r.raw), "UNSUPPORTED_AUTH_SCHEME") {
			t.Fatalf("REST with %q: %d %s", h, r.status, r.raw)
		}
		ctx := metadata.AppendToOutgoingContext(ctxT(t), "authorization", h)
		if _, err := s.catalog.ListFrameworks(ctx, &cmv1.ListFrameworksRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("gRPC with %q: %v", h, err)
		}
	}
	if r := s.rest(t, "GET", "/v1/frameworks", nil); r.status != 200 {
		t.Fatalf("no header at all is an anonymous read: %d", r.status)
	}
}

// A tenant can reserve approving its mappings to its admin keys; by
// default every writing key approves.
func TestApprovalNeedsAdminWhenTheTenantSaysSo(t *testing.T) {
	s := startDefault(t)
	_, writer := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE")
	_, admin := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE", "SCOPE_ADMIN")
	for _, r := range []restResponse{
		s.rest(t, "POST", "/v1/frameworks?framework_id=acme-isms", map[string]any{"displayName": "ISMS"}, key(writer)...),
		s.rest(t, "POST", "/v1/frameworks/acme-isms/controls?control_id=C-1", map[string]any{"title": "One"}, key(writer)...),
	} {
		if r.status != 200 {
			t.Fatalf("setup: %d %s", r.status, r.raw)
		}
	}
	mapping := func(target, status string) map[string]any {
		m := newMapping()
		m["source"], m["target"] = "frameworks/acme-isms/controls/C-1", target
		m["provenance"] = map[string]any{"status": status}
		return m
	}
	if r := s.rest(t, "POST", "/v1/mappings", mapping("frameworks/iso-27001-2022/controls/A.5.1", "MAPPING_STATUS_APPROVED"), key(writer)...); r.status != 200 {
		t.Fatalf("a writer approves by default: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "PATCH", "/v1/tenants/acme", map[string]any{"requireAdminApproval": true}, key(writer)...); r.status != 403 {
		t.Fatalf("a writer changes the tenant's settings: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "PATCH", "/v1/tenants/acme", map[string]any{"requireAdminApproval": true}, key(admin)...); r.status != 200 || r.body["tenant"].(map[string]any)["requireAdminApproval"] != true {
		t.Fatalf("the admin requires approval: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "POST", "/v1/mappings", mapping("frameworks/iso-27001-2022/controls/A.5.2", "MAPPING_STATUS_APPROVED"), key(writer)...); r.status != 403 || !strings.Contains(string(r.raw), "NOT_ADMIN") {
		t.Fatalf("a writer creates an approved mapping: %d %s", r.status, r.raw)
	}
	r := s.rest(t, "POST", "/v1/mappings", mapping("frameworks/iso-27001-2022/controls/A.5.2", "MAPPING_STATUS_DRAFT"), key(writer)...)
	if r.status != 200 {
		t.Fatalf("a writer creates a draft: %d %s", r.status, r.raw)
	}
	name := r.str("mapping", "name")
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+writer)
	_, err := s.crosswalk.UpdateMapping(ctx, &cmv1.UpdateMappingRequest{Mapping: &cmv1.Mapping{Name: name,
		Provenance: &cmv1.Provenance{Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"provenance.status"}}})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a writer approves a draft over gRPC: %v", err)
	}
	if r := s.rest(t, "PATCH", "/v1/"+name+"?update_mask=provenance.status", map[string]any{"provenance": map[string]any{"status": "MAPPING_STATUS_APPROVED"}}, key(admin)...); r.status != 200 {
		t.Fatalf("the admin approves: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "PATCH", "/v1/"+name+"?update_mask=justification", map[string]any{"justification": "Reworded."}, key(writer)...); r.status != 200 {
		t.Fatalf("a writer edits an approved mapping without changing its status: %d %s", r.status, r.raw)
	}
}

// A tenant's holdings are bounded by quotas (RESOURCE_EXHAUSTED naming the
// quota), its keys share one rate bucket, and a key may expire.
func TestTenantBounds(t *testing.T) {
	s := start(t, server.Config{AdminToken: adminToken, Quotas: &writes.Quotas{Keys: 3, Frameworks: 1, Controls: 2, Mappings: 1}, TenantRateLimit: 5})
	_, writer := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE")
	quota := func(r restResponse, want string) {
		t.Helper()
		details, _ := r.body["details"].([]any)
		for _, d := range details {
			m, _ := d.(map[string]any)
			if meta, _ := m["metadata"].(map[string]any); m["reason"] == "QUOTA_EXCEEDED" && meta["quota"] == want {
				if r.status != 429 {
					t.Fatalf("quota %s: status %d", want, r.status)
				}
				return
			}
		}
		t.Fatalf("want the %s quota: %d %s", want, r.status, r.raw)
	}
	if r := s.rest(t, "POST", "/v1/frameworks?framework_id=acme-a", map[string]any{"displayName": "A"}, key(writer)...); r.status != 200 {
		t.Fatalf("first framework: %d %s", r.status, r.raw)
	}
	quota(s.rest(t, "POST", "/v1/frameworks?framework_id=acme-b", map[string]any{"displayName": "B"}, key(writer)...), "frameworks")
	for _, id := range []string{"C-1", "C-2"} {
		if r := s.rest(t, "POST", "/v1/frameworks/acme-a/controls?control_id="+id, map[string]any{"title": id}, key(writer)...); r.status != 200 {
			t.Fatalf("control %s: %d %s", id, r.status, r.raw)
		}
	}
	quota(s.rest(t, "POST", "/v1/frameworks/acme-a/controls?control_id=C-3", map[string]any{"title": "three"}, key(writer)...), "controls")
	m := newMapping()
	m["source"] = "frameworks/acme-a/controls/C-1"
	if r := s.rest(t, "POST", "/v1/mappings", m, key(writer)...); r.status != 200 {
		t.Fatalf("first mapping: %d %s", r.status, r.raw)
	}
	m["source"] = "frameworks/acme-a/controls/C-2"
	quota(s.rest(t, "POST", "/v1/mappings", m, key(writer)...), "mappings")
	// Over gRPC too.
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+writer)
	if _, err := s.catalog.CreateFramework(ctx, &cmv1.CreateFrameworkRequest{FrameworkId: "acme-c", Framework: &cmv1.Framework{DisplayName: "C"}}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a second framework over gRPC: %v", err)
	}
	// Keys: one exists; two more, then the quota.
	_, k2 := newTenantWithKey(t, s, "acme", "SCOPE_READ")
	_, k3 := newTenantWithKey(t, s, "acme", "SCOPE_READ")
	quota(s.rest(t, "POST", "/v1/tenants/acme/apiKeys", map[string]any{"scopes": []string{"SCOPE_READ"}}, "Authorization", bearer), "keys")

	// A key that expires works until then.
	other := start(t, server.Config{AdminToken: adminToken})
	other.rest(t, "POST", "/v1/tenants?tenant_id=globex", map[string]any{"displayName": "Globex"}, "Authorization", bearer)
	expiry := time.Now().Add(3 * time.Second)
	expires := expiry.UTC().Format(time.RFC3339Nano)
	r := other.rest(t, "POST", "/v1/tenants/globex/apiKeys", map[string]any{"scopes": []string{"SCOPE_READ"}, "expireTime": expires}, "Authorization", bearer)
	if r.status != 200 || r.str("apiKey", "expireTime") == "" {
		t.Fatalf("a key that expires: %d %s", r.status, r.raw)
	}
	secret := r.str("secret")
	if r := other.rest(t, "GET", "/v1/tenants/globex", nil, key(secret)...); r.status != 200 {
		t.Fatalf("before it expires: %d %s", r.status, r.raw)
	}
	time.Sleep(time.Until(expiry) + 100*time.Millisecond)
	if r := other.rest(t, "GET", "/v1/tenants/globex", nil, key(secret)...); r.status != 401 {
		t.Fatalf("after it expired: %d %s", r.status, r.raw)
	}
	if r := other.rest(t, "POST", "/v1/tenants/globex/apiKeys", map[string]any{"scopes": []string{"SCOPE_READ"}, "expireTime": "2001-01-01T00:00:00Z"}, "Authorization", bearer); r.status != 400 || !slices.Contains(r.fieldViolations(), "api_key.expire_time") {
		t.Fatalf("a key that expired already: %d %s", r.status, r.raw)
	}

	// The tenant's keys share one bucket (5/s, bursts of 10; full again
	// after the wait for the key to expire): a fresh key does not start a
	// fresh allowance.
	refused(t, "calls of one tenant with three keys", "RATE_LIMITED", 10, 5, func(i int) restResponse {
		return s.rest(t, "GET", "/v1/frameworks", nil, key([]string{writer, k2, k3}[i%3])...)
	})
}
