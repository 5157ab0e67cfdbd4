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
	mu       sync.Mutex // serializes writers; guards what follows it
	tenants  []tenancy.Tenant
	keys     []tenancy.APIKey
	audit    []tenancy.AuditEvent // oldest first
	log      []store.Record       // oldest first
	logStart int64                // the oldest revision the log holds all changes of
	retain   time.Duration
	now      func() time.Time

	graph    atomic.Pointer[catalog.Graph]
	dir      atomic.Pointer[tenancy.Directory]
	revision store.Revisions
}

var _ store.Store = (*Store)(nil)

// DefaultRetention is how long the change log keeps a change by default.
const DefaultRetention = 7 * 24 * time.Hour

// New returns a store that serves g and counts revisions on from it. Its
// change log starts after g and keeps changes for DefaultRetention.
func New(g *catalog.Graph) *Store {
	s := &Store{now: time.Now, retain: DefaultRetention, logStart: g.Revision() + 1}
	s.graph.Store(g)
	s.dir.Store(tenancy.NewDirectory(g.Revision(), nil, nil))
	return s
}

// SetRetention sets how long the change log keeps a change (the changes of
// the latest write are always kept); 0 keeps the default.
func (s *Store) SetRetention(d time.Duration) {
	if d <= 0 {
		d = DefaultRetention
	}
	s.mu.Lock()
	s.retain = d
	s.mu.Unlock()
}

// Snapshot implements store.Store.
func (s *Store) Snapshot() *catalog.Graph { return s.graph.Load() }

// Directory implements store.Store.
func (s *Store) Directory() *tenancy.Directory { return s.dir.Load() }

// Close implements store.Store.
func (s *Store) Close() error { return nil }

// Ready implements store.Store: a memory store is ready from the start.
func (s *Store) Ready() bool { return true }

// WaitForRevision implements store.Store.
func (s *Store) WaitForRevision(ctx context.Context, rev int64) error {
	return s.revision.Wait(ctx, rev, func() int64 { return s.Snapshot().Revision() })
}

// Update implements store.Writer: writers take turns; each works on the
// current catalog and publishes the next one, which shares all that the
// write left alone.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) (store.Audit, error)) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	// Times to the microsecond, as PostgreSQL keeps them.
	tx := &tx{g: g, rev: g.Revision() + 1, now: s.now().UTC().Truncate(time.Microsecond), tenants: s.tenants, keys: s.keys}
	a, err := fn(tx)
	if err == nil {
		err = tx.flush()
	}
	if err != nil {
		return 0, err
	}
	if len(tx.changes) == 0 {
		return 0, nil
	}
	ev := store.Event(ctx, a, tx.rev)
	ev.Time = tx.now
	s.audit = append(s.audit, ev)
	s.audit = append(s.audit, store.AffectedEvents(ev, a)...)
	s.appendLog(tx)
	s.tenants, s.keys = tx.tenants, tx.keys
	s.dir.Store(tenancy.NewDirectory(tx.rev, s.tenants, s.keys))
	s.graph.Store(tx.g.WithRevision(tx.rev))
	s.revision.Publish()
	return tx.rev, nil
}

// appendLog records a write's changes, without key hashes, and lets go of
// those older than the retention.
func (s *Store) appendLog(tx *tx) {
	for i, c := range tx.changes {
		c.APIKey.Hash = [32]byte{}
		s.log = append(s.log, store.Record{Revision: tx.rev, Index: int32(i), Time: tx.now, Change: c})
	}
	cut := tx.now.Add(-s.retain)
	n := 0
	for n < len(s.log) && s.log[n].Time.Before(cut) && s.log[n].Revision < tx.rev {
		n++
	}
	if n > 0 {
		// Keep whole revisions: the log starts at a revision boundary.
		for n < len(s.log) && s.log[n].Revision == s.log[n-1].Revision {
			n++
		}
		s.logStart = s.log[n].Revision
		s.log = slices.Clone(s.log[n:])
	}
}

// Changes implements store.ChangeLog.
func (s *Store) Changes(ctx context.Context, from store.Position, limit int) ([]store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if from.Revision < s.logStart {
		return nil, &store.CompactedError{Asked: from.Revision, Oldest: s.logStart}
	}
	i, _ := slices.BinarySearchFunc(s.log, from, func(r store.Record, p store.Position) int {
		switch {
		case (store.Position{Revision: r.Revision, Index: r.Index}).Before(p):
			return -1
		case r.Revision == p.Revision && r.Index == p.Index:
			return 0
		}
		return 1
	})
	end := min(len(s.log), i+limit)
	return slices.Clone(s.log[i:end]), nil
}

// AuditEvents implements store.Store.
func (s *Store) AuditEvents(ctx context.Context, q store.AuditQuery) ([]tenancy.AuditEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []tenancy.AuditEvent
	for i := len(s.audit) - 1; i >= 0 && len(out) < q.Limit; i-- {
		if q.Match(&s.audit[i]) {
			out = append(out, s.audit[i])
		}
	}
	return out, nil
}

// tx is a write in progress: catalog changes are applied to a working
// Graph before the next read, so reads see the write's own changes.
type tx struct {
	g       *catalog.Graph
	rev     int64
	now     time.Time
	pending []catalog.Change // written, not yet applied to g
	changes []store.Change
	tenants []tenancy.Tenant // copied on first write
	keys    []tenancy.APIKey
	err     error // a write refused: the transaction cannot commit
	// frameworks found for the controls written so far
	frameworks map[string]bool
}

// checkControl refuses a control of a framework that does not exist, as of
// the writes so far.
func (t *tx) checkControl(c *store.Change) error {
	if t.frameworks[c.Framework.ID] {
		return nil
	}
	if err := t.flush(); err != nil {
		return err
	}
	if _, ok := t.g.Framework(c.Framework.ID); !ok {
		return store.NotFound("framework", catalog.FrameworkName(c.Framework.ID))
	}
	if t.frameworks == nil {
		t.frameworks = map[string]bool{}
	}
	t.frameworks[c.Framework.ID] = true
	return nil
}

// checkMapping refuses a mapping whose ends do not exist or whose pair
// another mapping maps, as of the writes so far.
func (t *tx) checkMapping(m *catalog.Mapping) error {
	if err := t.flush(); err != nil {
		return err
	}
	var sides [2][]catalog.ControlID
	for i, side := range [2][]catalog.ControlRef{m.SourceSide(), m.TargetSide()} {
		for _, r := range side {
			c, ok := t.g.ExactControl(r)
			if !ok {
				return store.NotFound("control", r.Name())
			}
			sides[i] = append(sides[i], c)
		}
	}
	if m.IsGroup() {
		if other, dup := t.g.GroupBetween(sides[0], sides[1]); dup && other.ID != m.ID {
			return fmt.Errorf("%w: %s and %s are already mapped by %s",
				store.ErrAlreadyMapped, catalog.SideKey(m.SourceSide()), catalog.SideKey(m.TargetSide()), catalog.MappingName(other.ID))
		}
		return nil
	}
	if other, dup := t.g.MappingBetween(sides[0][0], sides[1][0]); dup && other.ID != m.ID {
		return fmt.Errorf("%w: %s and %s are already mapped by %s",
			store.ErrAlreadyMapped, m.Source.Name(), m.Target.Name(), catalog.MappingName(other.ID))
	}
	return nil
}

func (t *tx) flush() error {
	if t.err != nil {
		return t.err
	}
	if len(t.pending) == 0 {
		return nil
	}
	g, err := t.g.Apply(t.rev, t.pending)
	t.pending = nil
	if err != nil {
		t.err = err // the transaction cannot commit
		return err
	}
	t.g = g
	return nil
}

func (t *tx) Now() time.Time { return t.now }

func (t *tx) Write(changes ...store.Change) {
	for _, c := range changes {
		c = c.At(t.rev)
		if t.err != nil {
			return
		}
		if c.Kind == store.KindMapping && !c.Delete {
			if t.err = t.checkMapping(&c.Mapping); t.err != nil {
				return
			}
		}
		if c.Kind == store.KindControl && !c.Delete {
			if t.err = t.checkControl(&c); t.err != nil {
				return
			}
		}
		if c.Kind == store.KindFramework && c.Delete {
			clear(t.frameworks)
		}
		t.changes = append(t.changes, c)
		if cc, ok := c.Catalog(); ok {
			t.pending = append(t.pending, cc)
			continue
		}
		switch c.Kind {
		case store.KindTenant:
			t.tenants = upsert(t.tenants, c.Tenant, func(x tenancy.Tenant) bool { return x.ID == c.Tenant.ID })
		case store.KindAPIKey:
			t.keys = upsert(t.keys, c.APIKey, func(x tenancy.APIKey) bool { return x.Tenant == c.APIKey.Tenant && x.ID == c.APIKey.ID })
		}
	}
}

// upsert returns a copy of list with v replacing the element same matches,
// or appended.
func upsert[T any](list []T, v T, same func(T) bool) []T {
	list = slices.Clone(list)
	if i := slices.IndexFunc(list, same); i >= 0 {
		list[i] = v
		return list
	}
	return append(list, v)
}

func (t *tx) Framework(id string, _ store.Lock) (catalog.Framework, error) {
	if err := t.flush(); err != nil {
		return catalog.Framework{}, err
	}
	if f, ok := t.g.Framework(id); ok {
		return f.Framework, nil
	}
	return catalog.Framework{}, store.NotFound("framework", catalog.FrameworkName(id))
}

func (t *tx) Control(framework, id string, _ store.Lock) (catalog.Control, error) {
	if err := t.flush(); err != nil {
		return catalog.Control{}, err
	}
	if c, ok := t.g.ExactControl(catalog.ControlRef{Framework: framework, Control: id}); ok {
		return t.g.Control(c).Control, nil
	}
	return catalog.Control{}, store.NotFound("control", catalog.ControlName(framework, id))
}

func (t *tx) LockControls(refs []catalog.ControlRef) error {
	if err := t.flush(); err != nil {
		return err
	}
	for _, r := range refs {
		if _, ok := t.g.ExactControl(r); !ok {
			return store.NotFound("control", r.Name())
		}
	}
	return nil
}

func (t *tx) Controls(framework string, _ store.Lock) ([]catalog.Control, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	f, ok := t.g.Framework(framework)
	if !ok {
		return nil, nil
	}
	out := make([]catalog.Control, 0, f.ControlCount())
	for _, c := range t.g.Controls(f) {
		out = append(out, c.Control)
	}
	return out, nil
}

func (t *tx) Mapping(id string) (catalog.Mapping, error) {
	if err := t.flush(); err != nil {
		return catalog.Mapping{}, err
	}
	if m, ok := t.g.Mapping(id); ok {
		return m.Mapping, nil
	}
	return catalog.Mapping{}, store.NotFound("mapping", catalog.MappingName(id))
}

func (t *tx) Frameworks(ids ...string) ([]catalog.Framework, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	var out []catalog.Framework
	for _, id := range ids {
		if f, ok := t.g.Framework(id); ok {
			out = append(out, f.Framework)
		}
	}
	return out, nil
}

func (t *tx) MappingsOf(framework, control string, _ store.Lock) ([]catalog.Mapping, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	var ids []catalog.ControlID
	if control != "" {
		if c, ok := t.g.ExactControl(catalog.ControlRef{Framework: framework, Control: control}); ok {
			ids = []catalog.ControlID{c}
		}
	} else if f, ok := t.g.Framework(framework); ok {
		ids = f.ControlIDs()
	}
	var out []catalog.Mapping
	seen := map[int32]bool{}
	for _, id := range ids {
		slots := t.g.Groups(id)
		for _, e := range t.g.Edges(id) {
			slots = append(slots[:len(slots):len(slots)], e.Mapping)
		}
		for _, slot := range slots {
			if !seen[slot] {
				seen[slot] = true
				out = append(out, t.g.MappingAt(slot).Mapping)
			}
		}
	}
	return out, nil
}

func (t *tx) Tenant(id string, _ store.Lock) (tenancy.Tenant, bool, error) {
	i := slices.IndexFunc(t.tenants, func(x tenancy.Tenant) bool { return x.ID == id })
	if i < 0 {
		return tenancy.Tenant{}, false, nil
	}
	return t.tenants[i], true, nil
}

func (t *tx) APIKey(tenant, id string) (tenancy.APIKey, error) {
	i := slices.IndexFunc(t.keys, func(k tenancy.APIKey) bool { return k.Tenant == tenant && k.ID == id })
	if i < 0 {
		return tenancy.APIKey{}, store.NotFound("api key", tenancy.KeyName(tenant, id))
	}
	return t.keys[i], nil
}
