package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/interchange"
	"github.com/controlmap/controlmap/internal/store/postgres"
	"github.com/controlmap/controlmap/internal/store/postgres/pgtest"
	"github.com/controlmap/controlmap/internal/writes"
)

func TestMigrateIsIdempotent(t *testing.T) {
	s := openMigrated(t, pgtest.DatabaseURL(t), postgres.Config{})
	c, _ := content.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := postgres.Migrate(ctx, s.Pool(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 0 || res.ContentLoaded || res.Revision != 1 || res.ContentVersion != c.Version {
		t.Fatalf("second run did something: %+v", res)
	}
}

// A newer content version updates built-in rows, adds and retires built-in
// mappings, and leaves alone what users wrote, changed or deleted.
func TestMigrateNewContentKeepsUserWork(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := openMigrated(t, pgtest.DatabaseURL(t), postgres.Config{})
	old, _ := content.Load()
	g := s.Snapshot()

	// A user creates a mapping, changes one built-in mapping and deletes another.
	var free [2]catalog.ControlRef
	iso, _ := g.Framework("iso-27001-2022")
	rmf, _ := g.Framework("nist-ai-rmf-1.0")
	for _, a := range g.Controls(iso) {
		if _, mapped := g.MappingBetween(a.Index, rmf.Groups[0]+1); !mapped && a.Assessable {
			free = [2]catalog.ControlRef{g.Ref(a.Index), g.Ref(rmf.Groups[0] + 1)}
			break
		}
	}
	w := writes.New(s)
	ctx = auth.WithPrincipal(ctx, auth.Principal{Name: "admin", Operator: true}, "/test")
	user, err := w.CreateMapping(ctx, catalog.Mapping{Source: free[0], Target: free[1],
		Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, Strength: 2, ReverseStrength: 2, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC,
		Justification: "user", Provenance: catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_DRAFT, Author: "u"}})
	if err != nil {
		t.Fatal(err)
	}
	changedByUser := old.Mappings[0]
	wording := "the user's own wording"
	if _, err := w.UpdateMapping(ctx, changedByUser.ID, "", writes.MappingPatch{Justification: &wording}); err != nil {
		t.Fatal(err)
	}
	deletedByUser := old.Mappings[1].ID
	if _, err := w.DeleteMapping(ctx, deletedByUser, ""); err != nil {
		t.Fatal(err)
	}

	// The new content rewrites every built-in mapping's justification, and
	// retires one.
	next := *old
	next.Release = old.Release + 1
	next.Version = fmt.Sprintf("r%d-next", next.Release)
	next.Mappings = slices.Clone(old.Mappings)
	for i := range next.Mappings {
		next.Mappings[i].Justification = "revised: " + next.Mappings[i].Justification
	}
	retired := next.Mappings[2].ID
	// One mapping is now written the other way round (a new id, same pair).
	flipped := &next.Mappings[3]
	flipped.Source, flipped.Target = flipped.Target, flipped.Source
	flipped.Relationship = catalog.Inverse(flipped.Relationship)
	flipped.ID = content.MappingID(flipped.Source, flipped.Target)
	flippedID := flipped.ID
	next.Mappings = slices.Delete(next.Mappings, 2, 3)

	res, err := postgres.Migrate(ctx, s.Pool(), &next)
	if err != nil || !res.ContentLoaded || res.Revision != 5 {
		t.Fatalf("migrate new content: %+v %v", res, err)
	}
	// The older binary's content does not take it back.
	if res, err := postgres.Migrate(ctx, s.Pool(), old); err != nil || res.ContentLoaded || !res.ContentNewer || res.Revision != 5 {
		t.Fatalf("migrate older content over newer: %+v %v", res, err)
	}
	if err := s.WaitForRevision(ctx, 5); err != nil {
		t.Fatal(err)
	}
	g = s.Snapshot()
	if m, ok := g.Mapping(user.ID); !ok || m.Justification != "user" || m.Revision != user.Revision {
		t.Errorf("user mapping touched: %+v", m)
	}
	if m, _ := g.Mapping(changedByUser.ID); m.Justification != "the user's own wording" {
		t.Errorf("built-in mapping the user changed was overwritten: %q", m.Justification)
	}
	if _, ok := g.Mapping(deletedByUser); ok {
		t.Error("built-in mapping the user deleted came back")
	}
	if _, ok := g.Mapping(retired); ok {
		t.Error("retired built-in mapping still there")
	}
	if m, _ := g.Mapping(next.Mappings[5].ID); m.Justification != next.Mappings[5].Justification || m.Revision != 5 {
		t.Errorf("built-in mapping not updated: %+v", m)
	}
	if m, ok := g.Mapping(flippedID); !ok || m.Justification == "" {
		t.Error("a built-in mapping whose direction changed was lost")
	}
	if g.MappingCount() != len(old.Mappings)-2+1 {
		t.Errorf("%d mappings after the update, want %d", g.MappingCount(), len(old.Mappings)-1)
	}
}

// A new release of the built-in content leaves imported frameworks and
// mappings alone, and keeps a retired built-in control a group mapping
// still names, even as a member that is not the first.
func TestMigrateNewContentKeepsImports(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := openMigrated(t, pgtest.DatabaseURL(t), postgres.Config{})
	old, _ := content.Load()
	ctx = auth.WithPrincipal(ctx, auth.Principal{Name: "admin", Operator: true}, "/test")
	w := writes.New(s)
	doc := &interchange.Document{Format: interchange.OSCALCatalog, Frameworks: []interchange.Framework{{Title: "Ref", Version: "1",
		Controls: []interchange.Control{{ID: "X1", Title: "X1", Assessable: true}, {ID: "X2", Title: "X2", Assessable: true}}}}}
	if _, err := w.Import(ctx, doc, writes.ImportOptions{FrameworkID: "ref-x"}); err != nil {
		t.Fatal(err)
	}
	iso := func(id string) catalog.ControlRef {
		return catalog.ControlRef{Framework: "iso-27001-2022", Control: id}
	}
	group, err := w.CreateMapping(ctx, catalog.Mapping{Source: catalog.ControlRef{Framework: "ref-x", Control: "X1"},
		Target: iso("A.5.1"), Targets: []catalog.ControlRef{iso("A.5.1"), iso("A.5.2")},
		Relationship: cmv1.Relationship_RELATIONSHIP_SUPERSET_OF, ReverseStrength: 4, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "x"})
	if err != nil {
		t.Fatal(err)
	}
	// The next release drops A.5.2 and its mappings.
	next := *old
	next.Release = old.Release + 1
	next.Version = fmt.Sprintf("r%d-next", next.Release)
	next.Frameworks = slices.Clone(old.Frameworks)
	for i := range next.Frameworks {
		if next.Frameworks[i].ID == "iso-27001-2022" {
			next.Frameworks[i].Controls = slices.DeleteFunc(slices.Clone(next.Frameworks[i].Controls), func(c catalog.Control) bool { return c.ID == "A.5.2" })
		}
	}
	next.Mappings = slices.DeleteFunc(slices.Clone(old.Mappings), func(m catalog.Mapping) bool { return m.Source == iso("A.5.2") || m.Target == iso("A.5.2") })
	res, err := postgres.Migrate(ctx, s.Pool(), &next)
	if err != nil || !res.ContentLoaded {
		t.Fatalf("migrate: %+v %v", res, err)
	}
	if err := s.WaitForRevision(ctx, res.Revision); err != nil {
		t.Fatal(err)
	}
	g := s.Snapshot()
	if f, ok := g.Framework("ref-x"); !ok || f.ControlCount() != 2 {
		t.Fatal("the imported framework did not survive the content release")
	}
	if _, ok := g.Mapping(group.ID); !ok {
		t.Fatal("the group mapping did not survive the content release")
	}
	if _, ok := g.ExactControl(iso("A.5.2")); !ok {
		t.Fatal("a retired control a group names was deleted")
	}
	// A release with a framework of the id an import took is refused, and
	// changes nothing.
	clash := next
	clash.Release++
	clash.Version = fmt.Sprintf("r%d-clash", clash.Release)
	clash.Frameworks = append(slices.Clone(next.Frameworks), content.Framework{Framework: catalog.Framework{ID: "ref-x", DisplayName: "Built-in X", Version: "1",
		Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}, Controls: []catalog.Control{{ID: "X3", Title: "X3", Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL, Assessable: true}}})
	if _, err := postgres.Migrate(ctx, s.Pool(), &clash); err == nil || !strings.Contains(err.Error(), "ref-x, which an import created") {
		t.Fatalf("a release that takes an imported framework's id: %v", err)
	}
	var controls int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM controls WHERE framework_id = 'ref-x'").Scan(&controls); err != nil || controls != 2 {
		t.Fatalf("the imported framework after the refused release: %d controls, %v", controls, err)
	}
}
