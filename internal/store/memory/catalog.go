package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
)

// cascade is the "before" of a delete that took mappings (and controls)
// with it.
type cascade struct {
	Deleted  any               `json:"deleted"`
	Controls []catalog.Control `json:"controls,omitempty"`
	Mappings []catalog.Mapping `json:"mappings,omitempty"`
}

// checkedFramework finds a framework and lets check accept it, before
// anything about its controls is looked at.
func checkedFramework(g *catalog.Graph, id string, check func(*catalog.Framework) error) (*catalog.FrameworkNode, error) {
	f, ok := g.Framework(id)
	if !ok {
		return nil, store.NotFound("framework", catalog.FrameworkName(id))
	}
	fw := f.Framework
	return f, check(&fw)
}

// controlAt finds a control by its canonical id.
func controlAt(g *catalog.Graph, framework, id string) (*catalog.ControlNode, error) {
	if c, ok := g.ExactControl(catalog.ControlRef{Framework: framework, Control: id}); ok {
		return g.Control(c), nil
	}
	return nil, store.NotFound("control", catalog.ControlName(framework, id))
}

// removal lists the changes that delete the given controls (children after
// parents in ids, so deleted last first) and every mapping of them, mappings
// first; it returns them with what they take, for the audit trail.
func removal(g *catalog.Graph, fw string, ids []catalog.ControlID) ([]catalog.Change, []catalog.Control, []catalog.Mapping) {
	var changes []catalog.Change
	var controls []catalog.Control
	var mappings []catalog.Mapping
	seen := map[int32]bool{}
	for _, id := range ids {
		for _, e := range g.Edges(id) {
			if !seen[e.Mapping] {
				seen[e.Mapping] = true
				m := g.MappingAt(e.Mapping).Mapping
				mappings = append(mappings, m)
				changes = append(changes, catalog.Change{Kind: catalog.MappingChange, Delete: true, Mapping: m})
			}
		}
	}
	for _, id := range slices.Backward(ids) {
		c := g.Control(id).Control
		controls = append(controls, c)
		changes = append(changes, catalog.Change{Kind: catalog.ControlChange, Delete: true, Framework: catalog.Framework{ID: fw}, Control: c})
	}
	slices.Reverse(controls)
	return changes, controls, mappings
}

// CreateFramework implements store.Store.
func (s *Store) CreateFramework(ctx context.Context, f catalog.Framework) (catalog.Framework, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	if _, taken := g.Framework(f.ID); taken {
		return catalog.Framework{}, fmt.Errorf("%w: framework %s", store.ErrAlreadyExists, catalog.FrameworkName(f.ID))
	}
	f.Revision = g.Revision() + 1
	err := s.publish(g, []catalog.Change{{Kind: catalog.FrameworkChange, Framework: f}}, store.Event(ctx, catalog.FrameworkName(f.ID), "", nil, f))
	return f, err
}

// UpdateFramework implements store.Store.
func (s *Store) UpdateFramework(ctx context.Context, id string, change func(*catalog.Framework) error) (catalog.Framework, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	f, ok := g.Framework(id)
	if !ok {
		return catalog.Framework{}, store.NotFound("framework", catalog.FrameworkName(id))
	}
	before := f.Framework
	next := before
	if err := change(&next); err != nil {
		return catalog.Framework{}, err
	}
	next.ID, next.Kind, next.Owner, next.Tags = before.ID, before.Kind, before.Owner, before.Tags
	next.Revision = g.Revision() + 1
	err := s.publish(g, []catalog.Change{{Kind: catalog.FrameworkChange, Framework: next}}, store.Event(ctx, catalog.FrameworkName(id), "", before, next))
	return next, err
}

// DeleteFramework implements store.Store.
func (s *Store) DeleteFramework(ctx context.Context, id string, check func(*catalog.Framework) error) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	f, err := checkedFramework(g, id, check)
	if err != nil {
		return 0, err
	}
	changes, controls, mappings := removal(g, id, f.ControlIDs())
	changes = append(changes, catalog.Change{Kind: catalog.FrameworkChange, Delete: true, Framework: f.Framework})
	before := cascade{Deleted: f.Framework, Controls: controls, Mappings: mappings}
	if err := s.publish(g, changes, store.Event(ctx, catalog.FrameworkName(id), "", before, nil)); err != nil {
		return 0, err
	}
	return g.Revision() + 1, nil
}

// CreateControl implements store.Store.
func (s *Store) CreateControl(ctx context.Context, framework string, c catalog.Control, check func(*catalog.Framework) error) (catalog.Control, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	f, err := checkedFramework(g, framework, check)
	if err != nil {
		return catalog.Control{}, err
	}
	for _, x := range g.Controls(f) {
		if strings.EqualFold(x.ID, c.ID) {
			return catalog.Control{}, fmt.Errorf("%w: control %s", store.ErrAlreadyExists, catalog.ControlName(framework, c.ID))
		}
	}
	if _, ok := g.ExactControl(catalog.ControlRef{Framework: framework, Control: c.Parent}); c.Parent != "" && !ok {
		return catalog.Control{}, catalog.Invalid("control.parent", "is not a control of "+catalog.FrameworkName(framework))
	}
	c.Revision = g.Revision() + 1
	err = s.publish(g, []catalog.Change{{Kind: catalog.ControlChange, Framework: f.Framework, Control: c}},
		store.Event(ctx, catalog.ControlName(framework, c.ID), "", nil, c))
	return c, err
}

// UpdateControl implements store.Store.
func (s *Store) UpdateControl(ctx context.Context, framework, id string, check func(*catalog.Framework) error, change func(*catalog.Control) error) (catalog.Control, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	f, err := checkedFramework(g, framework, check)
	if err != nil {
		return catalog.Control{}, err
	}
	cur, err := controlAt(g, framework, id)
	if err != nil {
		return catalog.Control{}, err
	}
	before := cur.Control
	next := before
	if err := change(&next); err != nil {
		return catalog.Control{}, err
	}
	next.ID, next.Parent, next.Kind, next.Aliases, next.Tags = before.ID, before.Parent, before.Kind, before.Aliases, before.Tags
	next.Revision = g.Revision() + 1
	err = s.publish(g, []catalog.Change{{Kind: catalog.ControlChange, Framework: f.Framework, Control: next}},
		store.Event(ctx, catalog.ControlName(framework, id), "", before, next))
	return next, err
}

// DeleteControl implements store.Store.
func (s *Store) DeleteControl(ctx context.Context, framework, id string, check func(*catalog.Framework) error) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.graph.Load()
	f, err := checkedFramework(g, framework, check)
	if err != nil {
		return 0, err
	}
	cur, err := controlAt(g, framework, id)
	if err != nil {
		return 0, err
	}
	for _, x := range g.Controls(f) {
		if x.ParentID == cur.Index {
			return 0, fmt.Errorf("%w: control %s has child controls; delete them first", store.ErrFailedPrecondition, catalog.ControlName(framework, id))
		}
	}
	changes, _, mappings := removal(g, framework, []catalog.ControlID{cur.Index})
	var before any = cur.Control
	if len(mappings) > 0 { // the audit trail keeps what the delete took with it
		before = cascade{Deleted: cur.Control, Mappings: mappings}
	}
	if err := s.publish(g, changes, store.Event(ctx, catalog.ControlName(framework, id), "", before, nil)); err != nil {
		return 0, err
	}
	return g.Revision() + 1, nil
}
