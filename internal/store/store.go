package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// Sentinel errors. Implementations wrap them with detail; test with
// errors.Is.
var (
	// ErrNotFound: the mapping or a control it names does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a resource with the id exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrAlreadyMapped: the pair of controls is mapped already, in either
	// direction. It matches ErrAlreadyExists too.
	ErrAlreadyMapped = fmt.Errorf("%w: the pair is mapped", ErrAlreadyExists)
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
	// ErrOutcomeUnknown: the storage failed while the write was
	// committing, so it may or may not have happened. The audit trail
	// settles it: the write happened if an event carries its request id.
	ErrOutcomeUnknown = errors.New("write outcome unknown")
)

// NotFoundError says which resource does not exist; it matches ErrNotFound.
// The service answers it exactly like a resource the caller may not see.
type NotFoundError struct {
	// Type is "framework", "control", "mapping", "tenant" or "api key".
	Type string
	Name string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %q not found", e.Type, catalog.Clip(e.Name))
}

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// NotFound returns a *NotFoundError.
func NotFound(resourceType, name string) error { return &NotFoundError{Type: resourceType, Name: name} }

// Snapshots serves the committed state without touching storage.
type Snapshots interface {
	// Snapshot returns the newest committed catalog. It never returns nil
	// and never blocks on storage.
	Snapshot() *catalog.Graph

	// Directory returns the current tenants and keys. It never returns nil
	// and never blocks on storage: checking a key costs no I/O.
	Directory() *tenancy.Directory

	// Ready reports whether the store has loaded its catalog; before that,
	// Snapshot is empty.
	Ready() bool

	// WaitForRevision returns nil once Snapshot is at revision rev or
	// later, or ctx's error when ctx ends first.
	WaitForRevision(ctx context.Context, rev int64) error
}

// AuditLog reads the audit trail.
type AuditLog interface {
	// AuditEvents returns up to q.Limit events that q selects, newest
	// first.
	AuditEvents(ctx context.Context, q AuditQuery) ([]tenancy.AuditEvent, error)
}

// ChangeLog reads what writes changed, in commit order.
type ChangeLog interface {
	// Changes returns up to limit records at position from or after it,
	// oldest first. It returns a *CompactedError when changes at from are
	// no longer kept.
	Changes(ctx context.Context, from Position, limit int) ([]Record, error)
}

// CompactedError says the change log no longer holds a position: its
// oldest kept revision is Oldest.
type CompactedError struct {
	Asked  int64
	Oldest int64
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("the change log keeps revisions from %d on; revision %d is no longer available", e.Oldest, e.Asked)
}

// Store holds the catalog, the tenants and keys, the change log and the
// audit trail. Every write goes through Update: it either commits
// completely, advances the revision by one, records its changes and an
// audit event, and is visible in the next Snapshot or Directory, or it
// changes nothing.
type Store interface {
	Snapshots
	Writer
	AuditLog
	ChangeLog

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

// AuditQuery selects audit events.
type AuditQuery struct {
	// Tenant whose events to list ("" for the operator's own), unless All.
	Tenant string
	All    bool
	// Before, when positive, keeps events of older revisions only.
	Before int64
	// RequestID, when set, keeps the events of that request only.
	RequestID string
	// Limit is the most events returned.
	Limit int
}

// Match reports whether e is selected by q, Limit aside.
func (q AuditQuery) Match(e *tenancy.AuditEvent) bool {
	return (q.All && !e.Affected || !q.All && e.Tenant == q.Tenant) && (q.Before <= 0 || e.Revision < q.Before) && (q.RequestID == "" || e.RequestID == q.RequestID)
}

type actorKey struct{}

// WithActor records who acts in ctx, for the audit events of the writes made
// with it.
func WithActor(ctx context.Context, a tenancy.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of ctx, the operator when none was recorded,
// with the request id of ctx.
func ActorFrom(ctx context.Context) tenancy.Actor {
	a, ok := ctx.Value(actorKey{}).(tenancy.Actor)
	if !ok {
		a = tenancy.Actor{Name: "admin"}
	}
	a.RequestID = RequestIDFrom(ctx)
	return a
}

type writeTimeoutKey struct{}

// WithWriteTimeout lets the writes made with ctx take up to d, for bulk
// writes (an import) that need longer than an engine's usual bound.
func WithWriteTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, writeTimeoutKey{}, d)
}

// WriteTimeout is the bound WithWriteTimeout set on ctx, or def.
func WriteTimeout(ctx context.Context, def time.Duration) time.Duration {
	if d, ok := ctx.Value(writeTimeoutKey{}).(time.Duration); ok && d > def {
		return d
	}
	return def
}

type requestIDKey struct{}

// WithRequestID records the id of the request ctx belongs to; the audit
// events of its writes carry it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the id recorded by WithRequestID, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
