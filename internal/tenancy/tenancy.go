package tenancy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"time"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// Tenant is an organization with its own data and keys.
type Tenant struct {
	ID          string
	DisplayName string
	CreateTime  time.Time
	Revision    int64
	// RequireAdminApproval reserves approving the tenant's mappings to
	// keys with SCOPE_ADMIN.
	RequireAdminApproval bool `json:",omitzero"`
}

// APIKey is a tenant's credential. The secret itself is never stored.
type APIKey struct {
	ID         string
	Tenant     string
	Scopes     []cmv1.Scope
	Hash       [sha256.Size]byte `json:"-"` // never serialized
	CreateTime time.Time
	// RevokeTime is zero while the key is valid.
	RevokeTime time.Time
	// ExpireTime, when not zero, is when the key stops working.
	ExpireTime time.Time `json:",omitzero"`
}

// Revoked reports whether the key was revoked.
func (k *APIKey) Revoked() bool { return !k.RevokeTime.IsZero() }

// Valid reports whether the key works at now: neither revoked nor expired.
func (k *APIKey) Valid(now time.Time) bool {
	return !k.Revoked() && (k.ExpireTime.IsZero() || now.Before(k.ExpireTime))
}

// Has reports whether the key carries scope s.
func (k *APIKey) Has(s cmv1.Scope) bool { return slices.Contains(k.Scopes, s) }

// AuditEvent records one change.
type AuditEvent struct {
	Revision int64
	Time     time.Time
	// Tenant whose data changed or who acted; empty for the operator.
	Tenant   string
	Actor    string
	Method   string
	Resource string
	// Before and After are JSON; empty when the resource did not exist.
	Before, After string
	// RequestID is the x-request-id of the call that made the change;
	// empty for changes made outside the API.
	RequestID string
	// Affected marks the record, in Tenant's trail, of a write of another
	// principal that changed Tenant's data; Before is what of it changed.
	// The write's own event is recorded too.
	Affected bool
}

// Actor is who makes a change, as a store records it in the audit trail.
type Actor struct {
	Tenant string
	// Name is the key's resource name, or "admin" for the operator.
	Name   string
	Method string
	// RequestID is the x-request-id of the call.
	RequestID string
}

// secretPrefix marks controlmap secrets, so a leaked one is recognisable
// (secret scanners key on prefixes).
const secretPrefix = "cmk_"

// NewSecret returns a new key id and secret: 32 random bytes, URL-safe.
func NewSecret() (id, secret string) {
	var idb [6]byte
	var sb [32]byte
	_, _ = rand.Read(idb[:])
	_, _ = rand.Read(sb[:])
	return "k" + hex.EncodeToString(idb[:]), secretPrefix + base64.RawURLEncoding.EncodeToString(sb[:])
}

// Hash is what is stored of a secret.
func Hash(secret string) [sha256.Size]byte { return sha256.Sum256([]byte(secret)) }

// LooksLikeKey reports whether a bearer token has the form of a key secret.
func LooksLikeKey(token string) bool { return strings.HasPrefix(token, secretPrefix) }

var tenantIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)

// ValidTenantID reports whether id is a well-formed tenant id.
func ValidTenantID(id string) bool { return tenantIDPattern.MatchString(id) }

// TenantName is the resource name of a tenant.
func TenantName(id string) string { return "tenants/" + id }

// KeyName is the resource name of a key.
func KeyName(tenant, id string) string { return TenantName(tenant) + "/apiKeys/" + id }

// Directory is an immutable snapshot of the tenants and keys, published by a
// store after every change to them.
type Directory struct {
	Revision int64
	tenants  map[string]Tenant
	byHash   map[[sha256.Size]byte]*APIKey
	byTenant map[string][]*APIKey // newest first
}

// NewDirectory indexes tenants and keys.
func NewDirectory(rev int64, tenants []Tenant, keys []APIKey) *Directory {
	d := &Directory{Revision: rev, tenants: map[string]Tenant{}, byHash: map[[sha256.Size]byte]*APIKey{}, byTenant: map[string][]*APIKey{}}
	for _, t := range tenants {
		d.tenants[t.ID] = t
	}
	for i := range keys {
		k := &keys[i]
		d.byHash[k.Hash] = k
		d.byTenant[k.Tenant] = append(d.byTenant[k.Tenant], k)
	}
	for _, ks := range d.byTenant {
		slices.SortFunc(ks, func(a, b *APIKey) int { return b.CreateTime.Compare(a.CreateTime) })
	}
	return d
}

// WithRevision returns the same directory labelled with another revision.
func (d *Directory) WithRevision(rev int64) *Directory {
	nd := *d
	nd.Revision = rev
	return &nd
}

// Tenant returns a tenant by id.
func (d *Directory) Tenant(id string) (Tenant, bool) {
	t, ok := d.tenants[id]
	return t, ok
}

// Tenants returns every tenant.
func (d *Directory) Tenants() []Tenant {
	out := make([]Tenant, 0, len(d.tenants))
	for _, t := range d.tenants {
		out = append(out, t)
	}
	return out
}

// KeyBySecret finds the key a secret belongs to, revoked or not.
func (d *Directory) KeyBySecret(secret string) (*APIKey, bool) {
	k, ok := d.byHash[Hash(secret)]
	return k, ok
}

// Keys returns a tenant's keys, newest first.
func (d *Directory) Keys(tenant string) []*APIKey { return d.byTenant[tenant] }

// AllKeys returns every key.
func (d *Directory) AllKeys() []APIKey {
	var out []APIKey
	for _, ks := range d.byTenant {
		for _, k := range ks {
			out = append(out, *k)
		}
	}
	return out
}
