package store

import (
	"context"
	"time"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// Kind says what a Change writes.
type Kind uint8

// The kinds of change, as the change log and WatchChanges name them.
const (
	KindFramework Kind = iota + 1
	KindControl
	KindMapping
	KindTenant
	KindAPIKey
	// KindContent is a load of the built-in content: many catalog rows at
	// once, logged as one change naming the content version.
	KindContent
)

var kindNames = [...]string{KindFramework: "framework", KindControl: "control", KindMapping: "mapping",
	KindTenant: "tenant", KindAPIKey: "api_key", KindContent: "content"}

// String is the kind's name in the change log.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s && n != "" {
			return Kind(k), true
		}
	}
	return 0, false
}

// Change is one row a write puts (creates or replaces) or deletes. A delete
// needs only the identifying fields. The engine sets the revision of what
// it writes.
type Change struct {
	Kind   Kind
	Delete bool `json:",omitzero"`
	// Owner is the tenant whose data this is; empty for public data (the
	// reference catalog and its crosswalks). A tenant watching changes sees
	// its own and public ones.
	Owner string `json:",omitzero"`
	// Framework is the framework written, or the framework of a control
	// (its ID).
	Framework catalog.Framework `json:",omitzero"`
	Control   catalog.Control   `json:",omitzero"`
	Mapping   catalog.Mapping   `json:",omitzero"`
	// New says the row must not exist yet: the write fails with
	// ErrAlreadyExists if another one created it first.
	New    bool           `json:"-"`
	Tenant tenancy.Tenant `json:",omitzero"`
	// APIKey is the key written; its hash is never serialized.
	APIKey tenancy.APIKey `json:",omitzero"`
	// Content is the built-in content version a KindContent change loaded.
	Content string `json:",omitzero"`
}

// UnknownOwner is the Owner of a logged change whose owner was not
// recorded (written by an older release): only the operator sees it.
const UnknownOwner = "-"

// Catalog is the change as the catalog applies it; ok is false for changes
// to tenancy.
func (c *Change) Catalog() (catalog.Change, bool) {
	var kind catalog.ChangeKind
	switch c.Kind {
	case KindFramework:
		kind = catalog.FrameworkChange
	case KindControl:
		kind = catalog.ControlChange
	case KindMapping:
		kind = catalog.MappingChange
	default:
		return catalog.Change{}, false
	}
	return catalog.Change{Kind: kind, Delete: c.Delete, Framework: c.Framework, Control: c.Control, Mapping: c.Mapping}, true
}

// Name is the resource name of what the change writes.
func (c *Change) Name() string {
	switch c.Kind {
	case KindTenant:
		return tenancy.TenantName(c.Tenant.ID)
	case KindAPIKey:
		return tenancy.KeyName(c.APIKey.Tenant, c.APIKey.ID)
	case KindContent:
		return "content/" + c.Content
	}
	cc, _ := c.Catalog()
	return cc.Name()
}

// At returns the change with the revision it commits at stamped on what
// it puts.
func (c Change) At(rev int64) Change {
	if c.Delete {
		return c
	}
	switch c.Kind {
	case KindFramework:
		c.Framework.Revision = rev
	case KindControl:
		c.Control.Revision = rev
	case KindMapping:
		c.Mapping.Revision = rev
	case KindTenant:
		c.Tenant.Revision = rev
	}
	return c
}

// Record is one entry of the change log: a change and its position, the
// revision that committed it and its index within that revision.
type Record struct {
	Revision int64
	Index    int32
	Time     time.Time
	Change   Change
}

// Position is a place in the change log: a revision and the index of a
// change within it.
type Position struct {
	Revision int64
	Index    int32
}

// Before reports whether p comes before q.
func (p Position) Before(q Position) bool {
	return p.Revision < q.Revision || (p.Revision == q.Revision && p.Index < q.Index)
}

// Audit is what a write tells the audit trail; the engine adds the
// revision, the time and the actor of the context.
type Audit struct {
	// Resource is the name of the resource the caller wrote.
	Resource string
	// Tenant whose data changed; empty for the operator's own changes of
	// public data (then the acting tenant, if any, is recorded).
	Tenant string
	// Before is the JSON of the resource before the write; empty when it
	// did not exist.
	Before string
	// After renders the JSON of the resource as written at the given
	// revision; nil when the write deleted it.
	After func(rev int64) string
	// Affected are the other tenants whose data the write changed (their
	// mappings a delete of public data took with it), each with what of its
	// data changed: the write is in their trails too, with that as before.
	Affected []AffectedTenant
}

// AffectedTenant is a tenant whose data a write by another changed.
type AffectedTenant struct {
	Tenant string
	// Before is the JSON of what of the tenant's data the write changed.
	Before string
}

// Lock says how a read within a transaction holds what it read until
// commit.
type Lock uint8

const (
	// Share reads the latest committed row without holding it. A rule
	// that depends on it must stay safe if another writer changes it
	// before commit: a concurrent delete of what a write refers to makes
	// the write fail at commit, never apply in part.
	Share Lock = iota
	// Exclusive locks the row until commit: for the row the transaction
	// changes, and rows whose state decides what it writes.
	Exclusive
)

// Tx is a read-write transaction. Reads see the committed state, this
// transaction's own writes included; locks hold until commit. Writes are
// made at commit, in order, all or none.
type Tx interface {
	// Framework reads a framework; a *NotFoundError when there is none.
	Framework(id string, lock Lock) (catalog.Framework, error)
	// Frameworks reads who owns several frameworks (those found, in id
	// order: their id, kind, owner and revision; an engine may fill in
	// more) in one read, without locking them. A write that refers to controls of
	// theirs needs no lock: the database's own checks of a new mapping's
	// ends hold its controls until commit, and a delete locks the controls
	// it takes with it before it lists their mappings, so either the write
	// commits first and the delete sees it, or the write finds them gone.
	Frameworks(ids ...string) ([]catalog.Framework, error)
	// Control reads a control by its canonical id; a *NotFoundError when
	// there is none.
	Control(framework, id string, lock Lock) (catalog.Control, error)
	// LockControls locks several controls, given by canonical reference,
	// exclusively until commit, in one read and in one order (framework,
	// then id); a *NotFoundError naming one that does not exist.
	LockControls(refs []catalog.ControlRef) error
	// Controls reads every control of a framework in document order,
	// parents before children; Exclusive locks them all.
	Controls(framework string, lock Lock) ([]catalog.Control, error)
	// Mapping reads a mapping and locks it exclusively; a *NotFoundError
	// when there is none.
	Mapping(id string) (catalog.Mapping, error)
	// MappingsOf reads every mapping with an end in the framework, or only
	// of one of its controls when control is not empty: a group mapping
	// when a member is. Exclusive locks them, for a write that changes them
	// as they are.
	MappingsOf(framework, control string, lock Lock) ([]catalog.Mapping, error)
	// Tenant reads a tenant.
	Tenant(id string, lock Lock) (tenancy.Tenant, bool, error)
	// APIKey reads a key of a tenant and locks it exclusively; a
	// *NotFoundError when there is none.
	APIKey(tenant, id string) (tenancy.APIKey, error)
	// Now is the time the transaction stamps on what it writes.
	Now() time.Time
	// Write queues changes, applied in order at commit. The engine keeps
	// the catalog whole: a write fails with ErrNotFound when it refers to
	// a framework or control that does not exist (a mapping's ends, every
	// member of a group, a control's framework) and with ErrAlreadyExists
	// when a new mapping's pair (or pair of groups) is mapped already, in
	// either direction.
	Write(changes ...Change)
}

// Writer applies writes.
type Writer interface {
	// Update runs fn in a transaction and commits what it wrote, with the
	// audit event it returns, as one new revision: the engine advances the
	// revision, logs every change, records the audit event with the actor
	// of ctx (see WithActor) and tells every replica. It returns the
	// revision of the write, or 0 when fn wrote nothing (then nothing is
	// recorded). When fn fails, nothing is written and its error is
	// returned as it is. An error of the engine is ErrUnavailable when the
	// storage could not be reached before the write committed,
	// ErrOutcomeUnknown when it failed while the write was committing, or
	// a sentinel of this package.
	Update(ctx context.Context, fn func(Tx) (Audit, error)) (int64, error)
}

// Event is the audit event of a write by the actor of ctx, committed at
// revision rev.
func Event(ctx context.Context, a Audit, rev int64) tenancy.AuditEvent {
	actor := ActorFrom(ctx)
	tenant := a.Tenant
	if tenant == "" {
		tenant = actor.Tenant
	}
	ev := tenancy.AuditEvent{Revision: rev, Tenant: tenant, Actor: actor.Name, Method: actor.Method, Resource: a.Resource, Before: a.Before, RequestID: actor.RequestID}
	if a.After != nil {
		ev.After = a.After(rev)
	}
	return ev
}

// AffectedEvents are the events of a write in the trails of the tenants it
// affected (see Audit.Affected): the write's event, each with the tenant's
// own before and no after.
func AffectedEvents(ev tenancy.AuditEvent, a Audit) []tenancy.AuditEvent {
	out := make([]tenancy.AuditEvent, len(a.Affected))
	for i, t := range a.Affected {
		out[i] = ev
		out[i].Tenant, out[i].Before, out[i].After, out[i].Affected = t.Tenant, t.Before, "", true
	}
	return out
}
