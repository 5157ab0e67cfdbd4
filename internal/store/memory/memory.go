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
)

// Store keeps the catalog in memory.
type Store struct {
	mu       sync.Mutex // serializes writers
	graph    atomic.Pointer[catalog.Graph]
	mappings []catalog.Mapping // the mappings of graph, owned by writers
	now      func() time.Time
	revision store.Revisions
}

var _ store.Store = (*Store)(nil)

// New returns a store that serves g and counts revisions on from it.
func New(g *catalog.Graph) *Store {
	s := &Store{now: time.Now}
	s.graph.Store(g)
	for _, m := range g.Mappings() {
		s.mappings = append(s.mappings, m.Mapping)
	}
	return s
}

// Snapshot implements store.Store.
func (s *Store) Snapshot() *catalog.Graph { return s.graph.Load() }

// CreateMapping implements store.Store.
func (s *Store) CreateMapping(ctx context.Context, m catalog.Mapping) (catalog.Mapping, error) {
	if err := ctx.Err(); err != nil {
		return catalog.Mapping{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := store.CheckMapping(&m); err != nil {
		return catalog.Mapping{}, err
	}
	g := s.graph.Load()
	a, okA := g.ExactControl(m.Source)
	b, okB := g.ExactControl(m.Target)
	switch {
	case !okA:
		return catalog.Mapping{}, fmt.Errorf("%w: control %s", store.ErrNotFound, m.Source.Name())
	case !okB:
		return catalog.Mapping{}, fmt.Errorf("%w: control %s", store.ErrNotFound, m.Target.Name())
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
	next := append(slices.Clip(s.mappings), m)
	if err := s.publish(g, next); err != nil {
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
	i, err := s.find(g, id, etag)
	if err != nil {
		return catalog.Mapping{}, err
	}
	cur := s.mappings[i]
	next := cur
	if err := change(&next); err != nil {
		return catalog.Mapping{}, err
	}
	store.KeepIdentity(&next, cur)
	if err := store.CheckMapping(&next); err != nil {
		return catalog.Mapping{}, err
	}
	next.Provenance.UpdateTime = s.now().UTC()
	next.Revision = g.Revision() + 1
	all := slices.Clone(s.mappings)
	all[i] = next
	if err := s.publish(g, all); err != nil {
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
	i, err := s.find(g, id, etag)
	if err != nil {
		return 0, err
	}
	if cur := s.mappings[i]; check != nil {
		if err := check(&cur); err != nil {
			return 0, err
		}
	}
	next := slices.Delete(slices.Clone(s.mappings), i, i+1)
	if err := s.publish(g, next); err != nil {
		return 0, err
	}
	return g.Revision() + 1, nil
}

// Close implements store.Store.
func (s *Store) Close() error { return nil }

// Ready implements store.Store: a memory store is ready from the start.
func (s *Store) Ready() bool { return true }

// WaitForRevision implements store.Store.
func (s *Store) WaitForRevision(ctx context.Context, rev int64) error {
	return s.revision.Wait(ctx, rev, func() int64 { return s.Snapshot().Revision() })
}

func (s *Store) find(g *catalog.Graph, id, etag string) (int, error) {
	m, ok := g.Mapping(id)
	if !ok {
		return 0, fmt.Errorf("%w: mapping %s", store.ErrNotFound, catalog.MappingName(id))
	}
	if etag != "" && etag != m.Etag() {
		return 0, fmt.Errorf("%w: mapping %s has etag %q, the request sent %q",
			store.ErrEtagMismatch, catalog.MappingName(id), m.Etag(), etag)
	}
	i := slices.IndexFunc(s.mappings, func(x catalog.Mapping) bool { return x.ID == id })
	return i, nil
}

// publish builds the next Graph from g's frameworks and the given mappings
// and makes it current. Nothing changes if the build fails.
func (s *Store) publish(g *catalog.Graph, mappings []catalog.Mapping) error {
	ng, err := g.WithMappings(g.Revision()+1, mappings)
	if err != nil {
		return err
	}
	s.mappings = mappings
	s.graph.Store(ng)
	s.revision.Publish()
	return nil
}
