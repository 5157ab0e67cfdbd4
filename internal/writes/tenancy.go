package writes

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/resource"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// reservedTenantIDs are the prefixes of reference framework ids: a tenant
// named so would own the ids of frameworks the content may ship.
var reservedTenantIDs = []string{"iso", "iec", "nist", "owasp", "cis", "csa", "eu", "soc", "pci", "hipaa", "aicpa", "controlmap"}

// CreateTenant stores a new tenant (the operator's write). Its id may not
// overlap another tenant's or a reference framework's prefix: internal
// framework ids start with their tenant's id and a dash, so no two tenants
// may share one, and no tenant can squat another's ids.
func (w *Writer) CreateTenant(ctx context.Context, t tenancy.Tenant) (tenancy.Tenant, error) {
	if !tenancy.ValidTenantID(t.ID) {
		return t, invalid("tenant_id", "must match [a-z0-9][a-z0-9.-]{0,62}, got %q", t.ID)
	}
	t.DisplayName = strings.TrimSpace(t.DisplayName)
	if t.DisplayName == "" || utf8.RuneCountInString(t.DisplayName) > MaxDisplayName || !utf8.ValidString(t.DisplayName) {
		return t, invalid("tenant.display_name", "is required: valid UTF-8, at most %d characters", MaxDisplayName)
	}
	if err := w.freeTenantID(t.ID); err != nil {
		return t, err
	}
	rev, err := w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		if _, taken, err := tx.Tenant(t.ID, store.Share); err != nil {
			return store.Audit{}, err
		} else if taken {
			return store.Audit{}, fmt.Errorf("%w: tenant %s", store.ErrAlreadyExists, tenancy.TenantName(t.ID))
		}
		t.CreateTime = tx.Now()
		tx.Write(store.Change{Kind: store.KindTenant, New: true, Owner: t.ID, Tenant: t})
		return store.Audit{Resource: tenancy.TenantName(t.ID), Tenant: t.ID, After: tenantAfter(t)}, nil
	})
	t.Revision = rev
	return t, err
}

// TenantPatch lists the fields of a tenant an update sets; nil leaves a
// field as it is.
type TenantPatch struct {
	DisplayName          *string
	RequireAdminApproval *bool
}

// UpdateTenant changes a tenant: the operator's write, or its own with
// SCOPE_ADMIN.
func (w *Writer) UpdateTenant(ctx context.Context, id string, patch TenantPatch) (tenancy.Tenant, error) {
	p := principal(ctx)
	if !p.MayManage(id) {
		if p.Tenant != id {
			return tenancy.Tenant{}, store.NotFound("tenant", tenancy.TenantName(id))
		}
		return tenancy.Tenant{}, denied(cmv1.ErrorReason_ERROR_REASON_NOT_ADMIN, "changing the tenant needs a key with SCOPE_ADMIN")
	}
	var out tenancy.Tenant
	rev, err := w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		before, ok, err := tx.Tenant(id, store.Exclusive)
		switch {
		case err != nil:
			return store.Audit{}, err
		case !ok:
			return store.Audit{}, store.NotFound("tenant", tenancy.TenantName(id))
		}
		out = before
		set(&out.DisplayName, patch.DisplayName)
		if patch.RequireAdminApproval != nil {
			out.RequireAdminApproval = *patch.RequireAdminApproval
		}
		if out.DisplayName == "" || utf8.RuneCountInString(out.DisplayName) > MaxDisplayName || !utf8.ValidString(out.DisplayName) {
			return store.Audit{}, invalid("tenant.display_name", "is required: valid UTF-8, at most %d characters", MaxDisplayName)
		}
		tx.Write(store.Change{Kind: store.KindTenant, Owner: id, Tenant: out})
		return store.Audit{Resource: tenancy.TenantName(id), Tenant: id, Before: resourceJSON(resource.Tenant(&before)), After: tenantAfter(out)}, nil
	})
	out.Revision = rev
	return out, err
}

// tenantAfter renders t as written, for the audit trail.
func tenantAfter(t tenancy.Tenant) func(int64) string {
	return func(rev int64) string {
		t.Revision = rev
		return resourceJSON(resource.Tenant(&t))
	}
}

func (w *Writer) freeTenantID(id string) error {
	overlaps := func(other string) bool {
		return strings.HasPrefix(id+"-", other+"-") || strings.HasPrefix(other+"-", id+"-")
	}
	for _, r := range reservedTenantIDs {
		if overlaps(r) {
			return invalid("tenant_id", "%q is reserved for reference frameworks", id)
		}
	}
	for _, f := range w.st.Snapshot().Frameworks() {
		if f.Owner == "" && strings.HasPrefix(f.ID, id+"-") {
			return invalid("tenant_id", "%q is the prefix of the reference framework %s", id, f.ID)
		}
	}
	for _, t := range w.st.Directory().Tenants() {
		if t.ID != id && overlaps(t.ID) {
			return invalid("tenant_id", "%q overlaps the tenant %q: framework ids start with the tenant id and a dash", id, t.ID)
		}
	}
	return nil
}

// CheckScopes checks the scopes of a new key: one to three distinct known
// scopes.
func CheckScopes(scopes []cmv1.Scope) error {
	if len(scopes) == 0 || len(scopes) > 3 {
		return invalid("api_key.scopes", "list one to three of SCOPE_READ, SCOPE_WRITE, SCOPE_ADMIN")
	}
	seen := map[cmv1.Scope]bool{}
	for i, sc := range scopes {
		field := "api_key.scopes[" + strconv.Itoa(i) + "]"
		if err := CheckEnum(field, sc, cmv1.Scope_name); err != nil {
			return err
		}
		if seen[sc] {
			return invalid(field, "%s is listed twice", sc)
		}
		seen[sc] = true
	}
	return nil
}

// CreateAPIKey issues a key of a tenant with the given scopes, expiring at
// expires unless that is zero, and returns it with its secret, which is
// not stored (only its hash) and never shown again, and the revision of
// the write.
func (w *Writer) CreateAPIKey(ctx context.Context, tenant string, scopes []cmv1.Scope, expires time.Time) (tenancy.APIKey, string, int64, error) {
	if err := CheckScopes(scopes); err != nil {
		return tenancy.APIKey{}, "", 0, err
	}
	if !expires.IsZero() && !expires.After(time.Now()) {
		return tenancy.APIKey{}, "", 0, invalid("api_key.expire_time", "must be in the future, got %s", expires.Format(time.RFC3339))
	}
	if err := w.checkQuota(tenant, "keys"); err != nil {
		return tenancy.APIKey{}, "", 0, err
	}
	id, secret := tenancy.NewSecret()
	k := tenancy.APIKey{ID: id, Tenant: tenant, Scopes: scopes, Hash: tenancy.Hash(secret), ExpireTime: expires.UTC().Truncate(time.Microsecond)}
	rev, err := w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		if _, ok, err := tx.Tenant(tenant, store.Share); err != nil {
			return store.Audit{}, err
		} else if !ok {
			return store.Audit{}, store.NotFound("tenant", tenancy.TenantName(tenant))
		}
		k.CreateTime = tx.Now()
		tx.Write(store.Change{Kind: store.KindAPIKey, New: true, Owner: tenant, APIKey: k})
		after := resourceJSON(resource.APIKey(&k))
		return store.Audit{Resource: tenancy.KeyName(tenant, id), Tenant: tenant, After: func(int64) string { return after }}, nil
	})
	if err != nil {
		return tenancy.APIKey{}, "", 0, err
	}
	return k, secret, rev, nil
}

// RevokeAPIKey revokes a key of a tenant and returns it with the revision
// of the write. Revoking twice keeps the first time and writes nothing
// (the revision returned is then 0).
func (w *Writer) RevokeAPIKey(ctx context.Context, tenant, id string) (tenancy.APIKey, int64, error) {
	var out tenancy.APIKey
	rev, err := w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		before, err := tx.APIKey(tenant, id)
		if err != nil {
			return store.Audit{}, err
		}
		out = before
		if before.Revoked() {
			return store.Audit{}, nil
		}
		out.RevokeTime = tx.Now()
		tx.Write(store.Change{Kind: store.KindAPIKey, Owner: tenant, APIKey: out})
		after := resourceJSON(resource.APIKey(&out))
		return store.Audit{Resource: tenancy.KeyName(tenant, id), Tenant: tenant,
			Before: resourceJSON(resource.APIKey(&before)), After: func(int64) string { return after }}, nil
	})
	return out, rev, err
}
