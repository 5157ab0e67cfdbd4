package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// Sentinel errors. Implementations wrap them with detail; test with
// errors.Is.
var (
	// ErrNotFound: the mapping or a control it names does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the pair of controls is already mapped, in either
	// direction.
	ErrAlreadyExists = errors.New("already exists")
	// ErrEtagMismatch: the caller's etag is not the current one; someone
	// else changed the resource since the caller read it.
	ErrEtagMismatch = errors.New("etag mismatch")
	// ErrFailedPrecondition: the change needs something else done first
	// (such as deleting a control's children).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrUnavailable: the backing storage cannot be reached. The write was
	// not confirmed: it almost always did not happen, and retrying is safe
	// (a create then conflicts, an update with an etag is refused).
	ErrUnavailable = errors.New("store unavailable")
)

// NotFoundError says which resource does not exist; it matches ErrNotFound.
// The service answers it exactly like a resource the caller may not see.
type NotFoundError struct {
	// Type is "framework", "control", "mapping", "tenant" or "api key".
	Type string
	Name string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.Type, e.Name) }

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// NotFound returns a *NotFoundError.
func NotFound(resourceType, name string) error { return &NotFoundError{Type: resourceType, Name: name} }

// Store holds the catalog, the tenants and keys, and the audit trail, and
// applies writes to them.
//
// Every write is atomic: it either commits completely, advances the revision
// by one, records an audit event naming the actor of its context (see
// WithActor), and is visible in the next Snapshot or Directory, or it
// changes nothing. Mapping ends are canonical references (aliases already
// resolved).
type Store interface {
	// Snapshot returns the newest committed catalog. It never returns nil
	// and never blocks on storage.
	Snapshot() *catalog.Graph

	// CreateMapping stores m under a new id and returns it as stored, with
	// its revision and times set. Its ends must be canonical references. It
	// returns ErrNotFound if either end does not exist, ErrAlreadyExists if
	// the pair is mapped in either direction, and a *catalog.InvalidError if
	// m breaks a rule of catalog.CheckMapping.
	CreateMapping(ctx context.Context, m catalog.Mapping) (catalog.Mapping, error)

	// UpdateMapping applies change to the stored mapping with the given id
	// while holding it against concurrent writers, then compares the etag
	// (after change, so a change that refuses the caller decides first), then
	// checks and stores the result, so a change is always made to the latest version (never to a
	// stale copy a replica happened to hold). change may alter the mutable
	// fields (relationship, strength, rationale, justification, provenance
	// document, method, status and author); the store keeps the rest. It
	// returns ErrNotFound if there is no such mapping, ErrEtagMismatch if etag
	// is not empty and differs from the stored mapping's etag, change's own
	// error, or a *catalog.InvalidError if the result breaks a rule.
	UpdateMapping(ctx context.Context, id, etag string, change func(*catalog.Mapping) error) (catalog.Mapping, error)

	// DeleteMapping removes the mapping with the given id and returns the
	// revision of the write. check sees the stored mapping first, under the
	// same lock and before the etag is compared, and may refuse with its own
	// error. It returns ErrNotFound if
	// there is no such mapping and ErrEtagMismatch if etag is not empty and
	// differs.
	DeleteMapping(ctx context.Context, id, etag string, check func(*catalog.Mapping) error) (int64, error)

	// CreateFramework stores a new framework, without controls. It returns
	// ErrAlreadyExists if the id is taken.
	CreateFramework(ctx context.Context, f catalog.Framework) (catalog.Framework, error)

	// UpdateFramework applies change to the stored framework (display name,
	// version, description) under the write lock. It returns ErrNotFound
	// if there is no such framework, or change's own error.
	UpdateFramework(ctx context.Context, id string, change func(*catalog.Framework) error) (catalog.Framework, error)

	// DeleteFramework deletes a framework, its controls and every mapping
	// of them, after check accepts the stored framework. It returns
	// ErrNotFound if there is no such framework.
	DeleteFramework(ctx context.Context, id string, check func(*catalog.Framework) error) (int64, error)

	// CreateControl appends a control to a framework after check accepts
	// the framework. It returns ErrNotFound if there is no such framework,
	// ErrAlreadyExists if the id is taken (ignoring case), and a
	// *catalog.InvalidError if its parent is not a control of the framework.
	CreateControl(ctx context.Context, framework string, c catalog.Control, check func(*catalog.Framework) error) (catalog.Control, error)

	// UpdateControl applies change to a stored control (title, summary,
	// assessable, implementation, owner, evidence) under the write lock,
	// after check accepts its framework (checked before the control is
	// looked up, so a refused caller learns nothing of the controls). It
	// returns ErrNotFound if there is no such control.
	UpdateControl(ctx context.Context, framework, id string, check func(*catalog.Framework) error, change func(*catalog.Control) error) (catalog.Control, error)

	// DeleteControl deletes a control and every mapping of it, after check
	// accepts the framework. It returns ErrNotFound if there is no such
	// control and ErrFailedPrecondition if it has child controls.
	DeleteControl(ctx context.Context, framework, id string, check func(*catalog.Framework) error) (int64, error)

	// Directory returns the current tenants and keys. It never returns nil
	// and never blocks on storage: checking a key costs no I/O.
	Directory() *tenancy.Directory

	// CreateTenant stores a new tenant. It returns ErrAlreadyExists if the
	// id is taken.
	CreateTenant(ctx context.Context, t tenancy.Tenant) (tenancy.Tenant, error)

	// CreateAPIKey stores a new key (its hash) and returns it with the
	// revision of the write. It returns ErrNotFound if the tenant does not
	// exist.
	CreateAPIKey(ctx context.Context, k tenancy.APIKey) (tenancy.APIKey, int64, error)

	// RevokeAPIKey revokes a key of a tenant; revoking twice keeps the first
	// time. It returns ErrNotFound if there is no such key.
	RevokeAPIKey(ctx context.Context, tenant, id string) (tenancy.APIKey, int64, error)

	// AuditEvents returns up to limit events, newest first, with a revision
	// below before (0: from the newest): the tenant's, or every event when
	// all is true.
	AuditEvents(ctx context.Context, tenant string, all bool, before int64, limit int) ([]tenancy.AuditEvent, error)

	// Ready reports whether the store has loaded its catalog; before that,
	// Snapshot is empty.
	Ready() bool

	// WaitForRevision returns nil once Snapshot is at revision rev or
	// later, or ctx's error when ctx ends first.
	WaitForRevision(ctx context.Context, rev int64) error

	// Close releases the store's resources.
	Close() error
}

// NewMappingID returns a random id for a mapping a user creates (built-in
// mappings have stable ids derived from their ends).
func NewMappingID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "m" + hex.EncodeToString(b[:])
}

// CheckMapping is catalog.CheckMapping as an error.
func CheckMapping(m *catalog.Mapping) error {
	if vs := catalog.CheckMapping(m); len(vs) > 0 {
		return &catalog.InvalidError{Violations: vs}
	}
	return nil
}

// KeepIdentity restores on m what an update may not change: id, ends,
// origin, creation time.
func KeepIdentity(m *catalog.Mapping, cur catalog.Mapping) {
	m.ID, m.Source, m.Target, m.BuiltIn = cur.ID, cur.Source, cur.Target, cur.BuiltIn
	m.Provenance.CreateTime = cur.Provenance.CreateTime
}

type actorKey struct{}

// WithActor records who acts in ctx, for the audit events of the writes made
// with it.
func WithActor(ctx context.Context, a tenancy.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of ctx; the operator when none was recorded.
func ActorFrom(ctx context.Context) tenancy.Actor {
	if a, ok := ctx.Value(actorKey{}).(tenancy.Actor); ok {
		return a
	}
	return tenancy.Actor{Name: "admin"}
}

// Event is the audit event of a change to resource by the actor of ctx;
// before and after are JSON-encoded, nil meaning absent.
func Event(ctx context.Context, resource, tenant string, before, after any) tenancy.AuditEvent {
	a := ActorFrom(ctx)
	if tenant == "" {
		tenant = a.Tenant
	}
	return tenancy.AuditEvent{Tenant: tenant, Actor: a.Name, Method: a.Method, Resource: resource,
		Before: jsonOf(before), After: jsonOf(after)}
}

func jsonOf(v any) string {
	if v == nil || (reflect.ValueOf(v).Kind() == reflect.Pointer && reflect.ValueOf(v).IsNil()) {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
