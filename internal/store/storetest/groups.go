package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
)

// testGroupMappings writes mappings whose sides are groups: the same two
// sides map once whatever their order and direction, every member must
// exist, and deleting a member deletes the group mapping with it, audited.
func testGroupMappings(t *testing.T, s store.Store) {
	w, ctx := acmeFramework(t, s)
	for _, id := range []string{"GOV-1", "GOV-2", "GOV-3"} {
		if _, err := w.CreateControl(ctx, "acme-isms", catalog.Control{ID: id, Title: "Control " + id}); err != nil {
			t.Fatal(err)
		}
	}
	ref := func(fw, id string) catalog.ControlRef { return catalog.ControlRef{Framework: fw, Control: id} }
	group := catalog.Mapping{
		Sources:      []catalog.ControlRef{ref("acme-isms", "GOV-2"), ref("acme-isms", "GOV-1")},
		Target:       ref("iso-42001-2023", "A.2.2"),
		Relationship: cmv1.Relationship_RELATIONSHIP_SUPERSET_OF, ReverseStrength: 6,
		Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "Together the two policies cover the AI policy.",
	}
	group.Source = group.Sources[0]
	created, err := w.CreateMapping(ctx, group)
	if err != nil {
		t.Fatalf("create a group mapping: %v", err)
	}
	if created.Source.Control != "GOV-1" || len(created.Sources) != 2 || created.Sources[1].Control != "GOV-2" {
		t.Fatalf("members are kept in id order, the first as source: %+v", created.Sources)
	}
	g := s.Snapshot()
	m, ok := g.Mapping(created.ID)
	if !ok || !m.IsGroup() || len(m.SrcSide) != 2 {
		t.Fatalf("the replica's catalog: %+v", m)
	}
	gov1, _ := g.ExactControl(ref("acme-isms", "GOV-1"))
	if !slices.ContainsFunc(g.Groups(gov1), func(slot int32) bool { return g.MappingAt(slot).ID == created.ID }) {
		t.Fatal("GOV-1 is not indexed as a member")
	}
	// The same sides again, in another order or the other way round.
	again := group
	again.Sources = []catalog.ControlRef{ref("acme-isms", "GOV-1"), ref("acme-isms", "GOV-2")}
	again.Source = again.Sources[0]
	if _, err := w.CreateMapping(ctx, again); !errors.Is(err, store.ErrAlreadyMapped) {
		t.Fatalf("the same groups again: %v", err)
	}
	reverse := catalog.Mapping{Source: group.Target, Target: ref("acme-isms", "GOV-1"), Targets: again.Sources,
		Relationship: cmv1.Relationship_RELATIONSHIP_SUBSET_OF, Strength: 6, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "x"}
	if _, err := w.CreateMapping(ctx, reverse); !errors.Is(err, store.ErrAlreadyMapped) {
		t.Fatalf("the same groups the other way round: %v", err)
	}
	// A pair of its members is another statement, and may be mapped.
	pair := catalog.Mapping{Source: ref("acme-isms", "GOV-1"), Target: group.Target, Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH,
		Strength: 4, ReverseStrength: 3, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "GOV-1 alone covers part of it."}
	if _, err := w.CreateMapping(ctx, pair); err != nil {
		t.Fatalf("a pair of members: %v", err)
	}
	missing := group
	missing.Sources = []catalog.ControlRef{ref("acme-isms", "GOV-1"), ref("acme-isms", "NOPE")}
	missing.Source = missing.Sources[0]
	if _, err := w.CreateMapping(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a group with an unknown member: %v", err)
	}
	// Deleting a member takes the group mapping with it.
	rev, err := w.DeleteControl(ctx, "acme-isms", "GOV-2")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Snapshot().Mapping(created.ID); ok {
		t.Fatal("the group mapping outlived its member")
	}
	after := s.Snapshot()
	if _, ok := after.MappingBetween(mustControl(t, after, ref("acme-isms", "GOV-1")), mustControl(t, after, group.Target)); !ok {
		t.Fatal("the pair of GOV-1 went too")
	}
	events, err := s.AuditEvents(ctx, store.AuditQuery{Tenant: "acme", Limit: 1})
	if err != nil || len(events) != 1 || events[0].Revision != rev || !strings.Contains(events[0].Before, catalog.MappingName(created.ID)) {
		t.Fatalf("the delete's audit event names the group mapping: %v %+v", err, events)
	}
}

func mustControl(t *testing.T, g *catalog.Graph, r catalog.ControlRef) catalog.ControlID {
	c, ok := g.ExactControl(r)
	if !ok {
		t.Fatalf("no control %s", r.Name())
	}
	return c
}
