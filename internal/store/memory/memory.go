package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// Store keeps the catalog in memory.
type Store struct {
	mu       sync.Mutex // serializes writers
	graph    atomic.Pointer[catalog.Graph]
	dir      atomic.Pointer[tenancy.Directory]
	tenants  []tenancy.Tenant
	keys     []tenancy.APIKey
	audit    []tenancy.AuditEvent // oldest first
	now      func() time.Time
	revision store.Revisions
}

var _ store.Store = (*Store)(nil)

// New returns a store that serves g and counts revisions on from it.
func New(g *catalog.Graph) *Store {
	s := &Store{now: time.Now}
	s.graph.Store(g)
	s.dir.Store(tenancy.NewDirectory(g.Revision(), nil, nil))
	return s
}

// Snapshot implements store.Store.
func (s *Store) Snapshot() *catalog.Graph { return s.graph.Load() }

// Directory implements store.Store.
func (s *Store) Directory() *tenancy.Directory { return s.dir.Load() }

// CreateMapping implements store.Store.
func (s *Store) CreateMapping(ctx context.Context, m catalog.Mapping) (catalog.Mapping, error) {
	if err := ctx.Err(); err != nil {
		return catalog.Mapping{}, err
	}
	if err := store.CheckMapping(&m); err != nil {
		return catalog.Mapping{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	a, okA := g.ExactControl(m.Source)
	b, okB := g.ExactControl(m.Target)
	switch {
	case !okA:
		return catalog.Mapping{}, store.NotFound("control", m.Source.Name())
	case !okB:
		return catalog.Mapping{}, store.NotFound("control", m.Target.Name())
	}
	if other, dup := g.MappingBetween(a, b); dup {
		return catalog.Mapping{}, fmt.Errorf("%w: %s and %s are already mapped by %s",
			store.ErrAlreadyExists, m.Source.Name(), m.Target.Name(), catalog.MappingName(other.ID))
	}
	m.ID = store.NewMappingID()
	m.Revision = g.Revision() + 1
	m.BuiltIn = false
	now := s.now().UTC()
	m.Provenance.CreateTime, m.Provenance.UpdateTime = now, now
	if err := s.publish(g, []catalog.Change{{Kind: catalog.MappingChange, Mapping: m}}, store.Event(ctx, catalog.MappingName(m.ID), "", nil, m)); err != nil {
		return catalog.Mapping{}, err
	}
	return m, nil
}

// UpdateMapping implements store.Store.
func (s *Store) UpdateMapping(ctx context.Context, id, etag string, change func(*catalog.Mapping) error) (catalog.Mapping, error) {
	if err := ctx.Err(); err != nil {
		return catalog.Mapping{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	cur, err := find(g, id)
	if err != nil {
		return catalog.Mapping{}, err
	}
	next := cur
	if err := change(&next); err != nil {
		return catalog.Mapping{}, err
	}
	if err := checkEtag(&cur, etag); err != nil {
		return catalog.Mapping{}, err
	}
	store.KeepIdentity(&next, cur)
	if err := store.CheckMapping(&next); err != nil {
		return catalog.Mapping{}, err
	}
	next.Provenance.UpdateTime = s.now().UTC()
	next.Revision = g.Revision() + 1
	if err := s.publish(g, []catalog.Change{{Kind: catalog.MappingChange, Mapping: next}}, store.Event(ctx, catalog.MappingName(id), "", cur, next)); err != nil {
		return catalog.Mapping{}, err
	}
	return next, nil
}

// DeleteMapping implements store.Store.
func (s *Store) DeleteMapping(ctx context.Context, id, etag string, check func(*catalog.Mapping) error) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	cur, err := find(g, id)
	if err != nil {
		return 0, err
	}
	if check != nil {
		if err := check(&cur); err != nil {
			return 0, err
		}
	}
	if err := checkEtag(&cur, etag); err != nil {
		return 0, err
	}
	if err := s.publish(g, []catalog.Change{{Kind: catalog.MappingChange, Delete: true, Mapping: cur}}, store.Event(ctx, catalog.MappingName(id), "", cur, nil)); err != nil {
		return 0, err
	}
	return g.Revision() + 1, nil
}

// CreateTenant implements store.Store.
func (s *Store) CreateTenant(ctx context.Context, t tenancy.Tenant) (tenancy.Tenant, error) {
	if err := ctx.Err(); err != nil {
		return tenancy.Tenant{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.dir.Load().Tenant(t.ID); taken {
		return tenancy.Tenant{}, fmt.Errorf("%w: tenant %s", store.ErrAlreadyExists, tenancy.TenantName(t.ID))
	}
	g := s.graph.Load()
	t.Revision = g.Revision() + 1
	t.CreateTime = s.now().UTC()
	s.tenants = append(slices.Clip(s.tenants), t)
	s.commitTenancy(g, store.Event(ctx, tenancy.TenantName(t.ID), t.ID, nil, t))
	return t, nil
}

// CreateAPIKey implements store.Store.
func (s *Store) CreateAPIKey(ctx context.Context, k tenancy.APIKey) (tenancy.APIKey, int64, error) {
	if err := ctx.Err(); err != nil {
		return tenancy.APIKey{}, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.dir.Load().Tenant(k.Tenant); !ok {
		return tenancy.APIKey{}, 0, store.NotFound("tenant", tenancy.TenantName(k.Tenant))
	}
	g := s.graph.Load()
	k.CreateTime = s.now().UTC()
	s.keys = append(slices.Clip(s.keys), k)
	s.commitTenancy(g, store.Event(ctx, tenancy.KeyName(k.Tenant, k.ID), k.Tenant, nil, keyRecord(k)))
	return k, g.Revision() + 1, nil
}

// RevokeAPIKey implements store.Store.
func (s *Store) RevokeAPIKey(ctx context.Context, tenant, id string) (tenancy.APIKey, int64, error) {
	if err := ctx.Err(); err != nil {
		return tenancy.APIKey{}, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.keys, func(k tenancy.APIKey) bool { return k.Tenant == tenant && k.ID == id })
	if i < 0 {
		return tenancy.APIKey{}, 0, store.NotFound("api key", tenancy.KeyName(tenant, id))
	}
	g := s.graph.Load()
	before := s.keys[i]
	if before.Revoked() {
		return before, g.Revision(), nil // revoking twice writes nothing
	}
	after := before
	after.RevokeTime = s.now().UTC()
	s.keys = slices.Clone(s.keys)
	s.keys[i] = after
	s.commitTenancy(g, store.Event(ctx, tenancy.KeyName(tenant, id), tenant, keyRecord(before), keyRecord(after)))
	return after, g.Revision() + 1, nil
}

// keyRecord is what the audit trail keeps of a key: never its hash.
func keyRecord(k tenancy.APIKey) map[string]any {
	return map[string]any{"name": tenancy.KeyName(k.Tenant, k.ID), "scopes": k.Scopes, "revoked": k.Revoked()}
}

// AuditEvents implements store.Store.
func (s *Store) AuditEvents(ctx context.Context, tenant string, all bool, before int64, limit int) ([]tenancy.AuditEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []tenancy.AuditEvent
	for i := len(s.audit) - 1; i >= 0 && len(out) < limit; i-- {
		e := s.audit[i]
		if (before > 0 && e.Revision >= before) || (!all && e.Tenant != tenant) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// Close implements store.Store.
func (s *Store) Close() error { return nil }

// Ready implements store.Store: a memory store is ready from the start.
func (s *Store) Ready() bool { return true }

// WaitForRevision implements store.Store.
func (s *Store) WaitForRevision(ctx context.Context, rev int64) error {
	return s.revision.Wait(ctx, rev, func() int64 { return s.Snapshot().Revision() })
}

func find(g *catalog.Graph, id string) (catalog.Mapping, error) {
	m, ok := g.Mapping(id)
	if !ok {
		return catalog.Mapping{}, store.NotFound("mapping", catalog.MappingName(id))
	}
	return m.Mapping, nil
}

func checkEtag(m *catalog.Mapping, etag string) error {
	if etag != "" && etag != m.Etag() {
		return fmt.Errorf("%w: mapping %s has etag %q, the request sent %q",
			store.ErrEtagMismatch, catalog.MappingName(m.ID), m.Etag(), etag)
	}
	return nil
}

// publish applies the changes to g and makes the result current with the
// audit event of the write: the next Graph shares all that the changes leave
// alone, so a write costs what it changes. Nothing changes if they do not
// apply.
func (s *Store) publish(g *catalog.Graph, changes []catalog.Change, ev tenancy.AuditEvent) error {
	ng, err := g.Apply(g.Revision()+1, changes)
	if err != nil {
		return err
	}
	s.record(ng.Revision(), ev)
	s.dir.Store(tenancy.NewDirectory(ng.Revision(), s.tenants, s.keys))
	s.graph.Store(ng)
	s.revision.Publish()
	return nil
}

// commitTenancy publishes a change to tenants or keys: the catalog is the
// same at the next revision.
func (s *Store) commitTenancy(g *catalog.Graph, ev tenancy.AuditEvent) {
	ng := g.WithRevision(g.Revision() + 1)
	s.record(ng.Revision(), ev)
	s.dir.Store(tenancy.NewDirectory(ng.Revision(), s.tenants, s.keys))
	s.graph.Store(ng)
	s.revision.Publish()
}

func (s *Store) record(rev int64, ev tenancy.AuditEvent) {
	ev.Revision, ev.Time = rev, s.now().UTC()
	s.audit = append(s.audit, ev)
}
