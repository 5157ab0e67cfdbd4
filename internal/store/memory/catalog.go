package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
)

// rebuild publishes the next Graph made of the given frameworks and the
// current mappings minus those that touch a removed control.
func (s *Store) rebuild(ctx context.Context, g *catalog.Graph, fws []catalog.FrameworkContents, resource string, before, after any) (*catalog.Graph, error) {
	exists := map[catalog.ControlRef]bool{}
	for _, f := range fws {
		for _, c := range f.Controls {
			exists[catalog.ControlRef{Framework: f.Framework.ID, Control: c.ID}] = true
		}
	}
	var removed []catalog.Mapping
	mappings := slices.DeleteFunc(slices.Clone(s.mappings), func(m catalog.Mapping) bool {
		gone := !exists[m.Source] || !exists[m.Target]
		if gone {
			removed = append(removed, m)
		}
		return gone
	})
	ng, err := catalog.BuildContents(g.Revision()+1, fws, mappings)
	if err != nil {
		return nil, err
	}
	if len(removed) > 0 { // the audit trail keeps what the delete took with it
		before = cascade{Deleted: before, Mappings: removed}
	}
	s.mappings = mappings
	s.record(ng.Revision(), store.Event(ctx, resource, "", before, after))
	s.dir.Store(s.dir.Load().WithRevision(ng.Revision()))
	s.graph.Store(ng)
	s.revision.Publish()
	return ng, nil
}

// cascade is the "before" of a delete that took mappings (and controls)
// with it.
type cascade struct {
	Deleted  any               `json:"deleted"`
	Controls []catalog.Control `json:"controls,omitempty"`
	Mappings []catalog.Mapping `json:"mappings,omitempty"`
}

func frameworkAt(fws []catalog.FrameworkContents, id string) int {
	return slices.IndexFunc(fws, func(f catalog.FrameworkContents) bool { return f.Framework.ID == id })
}

// checkedFramework finds a framework and lets check accept it, before
// anything about its controls is looked at.
func checkedFramework(fws []catalog.FrameworkContents, id string, check func(*catalog.Framework) error) (int, error) {
	i := frameworkAt(fws, id)
	if i < 0 {
		return 0, store.NotFound("framework", catalog.FrameworkName(id))
	}
	return i, check(&fws[i].Framework)
}

// controlAt finds a control: the index of its framework and its own.
func controlAt(fws []catalog.FrameworkContents, framework, id string) (int, int, error) {
	if i := frameworkAt(fws, framework); i >= 0 {
		if j := slices.IndexFunc(fws[i].Controls, func(x catalog.Control) bool { return x.ID == id }); j >= 0 {
			return i, j, nil
		}
	}
	return 0, 0, store.NotFound("control", catalog.ControlName(framework, id))
}

// CreateFramework implements store.Store.
func (s *Store) CreateFramework(ctx context.Context, f catalog.Framework) (catalog.Framework, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	fws := g.Contents()
	if frameworkAt(fws, f.ID) >= 0 {
		return catalog.Framework{}, fmt.Errorf("%w: framework %s", store.ErrAlreadyExists, catalog.FrameworkName(f.ID))
	}
	f.Revision = g.Revision() + 1
	fws = append(fws, catalog.FrameworkContents{Framework: f})
	if _, err := s.rebuild(ctx, g, fws, catalog.FrameworkName(f.ID), nil, f); err != nil {
		return catalog.Framework{}, err
	}
	return f, nil
}

// UpdateFramework implements store.Store.
func (s *Store) UpdateFramework(ctx context.Context, id string, change func(*catalog.Framework) error) (catalog.Framework, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	fws := g.Contents()
	i := frameworkAt(fws, id)
	if i < 0 {
		return catalog.Framework{}, store.NotFound("framework", catalog.FrameworkName(id))
	}
	before := fws[i].Framework
	next := before
	if err := change(&next); err != nil {
		return catalog.Framework{}, err
	}
	next.ID, next.Kind, next.Owner, next.Tags = before.ID, before.Kind, before.Owner, before.Tags
	next.Revision = g.Revision() + 1
	fws[i].Framework = next
	if _, err := s.rebuild(ctx, g, fws, catalog.FrameworkName(id), before, next); err != nil {
		return catalog.Framework{}, err
	}
	return next, nil
}

// DeleteFramework implements store.Store.
func (s *Store) DeleteFramework(ctx context.Context, id string, check func(*catalog.Framework) error) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	fws := g.Contents()
	i := frameworkAt(fws, id)
	if i < 0 {
		return 0, store.NotFound("framework", catalog.FrameworkName(id))
	}
	f := fws[i].Framework
	if err := check(&f); err != nil {
		return 0, err
	}
	before := cascade{Deleted: f, Controls: fws[i].Controls}
	ng, err := s.rebuild(ctx, g, slices.Delete(fws, i, i+1), catalog.FrameworkName(id), before, nil)
	if err != nil {
		return 0, err
	}
	return ng.Revision(), nil
}

// CreateControl implements store.Store.
func (s *Store) CreateControl(ctx context.Context, framework string, c catalog.Control, check func(*catalog.Framework) error) (catalog.Control, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	fws := g.Contents()
	i, err := checkedFramework(fws, framework, check)
	if err != nil {
		return catalog.Control{}, err
	}
	if slices.ContainsFunc(fws[i].Controls, func(x catalog.Control) bool { return strings.EqualFold(x.ID, c.ID) }) {
		return catalog.Control{}, fmt.Errorf("%w: control %s", store.ErrAlreadyExists, catalog.ControlName(framework, c.ID))
	}
	if c.Parent != "" && !slices.ContainsFunc(fws[i].Controls, func(x catalog.Control) bool { return x.ID == c.Parent }) {
		return catalog.Control{}, catalog.Invalid("control.parent", "is not a control of "+catalog.FrameworkName(framework))
	}
	c.Revision = g.Revision() + 1
	fws[i].Controls = append(fws[i].Controls, c)
	if _, err := s.rebuild(ctx, g, fws, catalog.ControlName(framework, c.ID), nil, c); err != nil {
		return catalog.Control{}, err
	}
	return c, nil
}

// UpdateControl implements store.Store.
func (s *Store) UpdateControl(ctx context.Context, framework, id string, check func(*catalog.Framework) error, change func(*catalog.Control) error) (catalog.Control, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	fws := g.Contents()
	if _, err := checkedFramework(fws, framework, check); err != nil {
		return catalog.Control{}, err
	}
	i, j, err := controlAt(fws, framework, id)
	if err != nil {
		return catalog.Control{}, err
	}
	before := fws[i].Controls[j]
	next := before
	if err := change(&next); err != nil {
		return catalog.Control{}, err
	}
	next.ID, next.Parent, next.Kind, next.Aliases, next.Tags = before.ID, before.Parent, before.Kind, before.Aliases, before.Tags
	next.Revision = g.Revision() + 1
	fws[i].Controls[j] = next
	if _, err := s.rebuild(ctx, g, fws, catalog.ControlName(framework, id), before, next); err != nil {
		return catalog.Control{}, err
	}
	return next, nil
}

// DeleteControl implements store.Store.
func (s *Store) DeleteControl(ctx context.Context, framework, id string, check func(*catalog.Framework) error) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	fws := g.Contents()
	if _, err := checkedFramework(fws, framework, check); err != nil {
		return 0, err
	}
	i, j, err := controlAt(fws, framework, id)
	if err != nil {
		return 0, err
	}
	if slices.ContainsFunc(fws[i].Controls, func(x catalog.Control) bool { return x.Parent == id }) {
		return 0, fmt.Errorf("%w: control %s has child controls; delete them first", store.ErrFailedPrecondition, catalog.ControlName(framework, id))
	}
	before := fws[i].Controls[j]
	fws[i].Controls = slices.Delete(fws[i].Controls, j, j+1)
	ng, err := s.rebuild(ctx, g, fws, catalog.ControlName(framework, id), before, nil)
	if err != nil {
		return 0, err
	}
	return ng.Revision(), nil
}
