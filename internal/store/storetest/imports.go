package storetest

import (
	"errors"
	"fmt"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/interchange"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/writes"
)

// testImports applies bulk documents: each is one revision whose changes
// are numbered within it, a second application changes nothing, and a
// bulk write that breaks a rule of the store writes none of its rows.
func testImports(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := writes.New(s)
	fw := interchange.Framework{Title: "Bulk", Version: "1", Loc: "/catalog"}
	for i := range 120 {
		c := interchange.Control{ID: fmt.Sprintf("B-%d", i), Title: fmt.Sprintf("Bulk %d", i), Assessable: i%10 != 0, Loc: fmt.Sprintf("/c/%d", i)}
		if i%10 != 0 {
			c.Parent = fmt.Sprintf("B-%d", i-i%10)
		}
		fw.Controls = append(fw.Controls, c)
	}
	cat := &interchange.Document{Format: interchange.OSCALCatalog, Frameworks: []interchange.Framework{fw}}
	rep, err := w.Import(ctx, cat, writes.ImportOptions{FrameworkID: "bulk"})
	if err != nil || rep.Revision != 2 || rep.Counts["control"].Created != 120 {
		t.Fatalf("catalog: %v %+v", err, rep)
	}
	recs, err := s.Changes(ctx, store.Position{Revision: 2}, 1000)
	if err != nil || len(recs) != 121 {
		t.Fatalf("change log of the import: %d records, %v", len(recs), err)
	}
	for i, r := range recs {
		if r.Revision != 2 || r.Index != int32(i) {
			t.Fatalf("record %d at %d.%d: one revision, numbered in order", i, r.Revision, r.Index)
		}
	}
	iso, _ := s.Snapshot().Framework("iso-27001-2022")
	var targets []string
	for _, c := range s.Snapshot().Controls(iso) {
		targets = append(targets, c.ID)
	}
	cw := interchange.Crosswalk{Source: interchange.Resource{Key: "bulk"}, Target: interchange.Resource{Key: "iso-27001-2022"}}
	for i := range 250 {
		cw.Maps = append(cw.Maps, interchange.Map{Loc: fmt.Sprintf("line %d", i+2), Sources: []string{fmt.Sprintf("B-%d", i%120)},
			Targets: []string{targets[(i/120*17+i)%len(targets)]}, Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, Strength: 3, ReverseStrength: 4,
			Justification: "Bulk row.", Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED})
	}
	maps := &interchange.Document{Format: interchange.OLIRCSV, Crosswalks: []interchange.Crosswalk{cw}}
	if rep, err := w.Import(ctx, maps, writes.ImportOptions{}); err != nil || rep.Revision != 3 || rep.Counts["mapping"].Created != 250 {
		t.Fatalf("mappings: %v %+v", err, rep)
	}
	bulk, _ := s.Snapshot().Framework("bulk")
	if got := s.Snapshot().MappingsBetween(bulk.Index, iso.Index); got != 250 {
		t.Fatalf("%d mappings after the import", got)
	}
	for _, doc := range []*interchange.Document{cat, maps} {
		opt := writes.ImportOptions{FrameworkID: "bulk"}
		if rep, err := w.Import(ctx, doc, opt); err != nil || rep.Revision != 0 {
			t.Fatalf("the same document again: %v %+v", err, rep)
		}
	}
	// One write of many rows where the last breaks a rule: none is written.
	var first catalog.Mapping
	for m := range s.Snapshot().Mappings() {
		if m.Source.Framework == "bulk" {
			first = m.Mapping
			break
		}
	}
	_, err = s.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		for i := range 20 {
			m := first
			m.ID, m.Target.Control = fmt.Sprintf("bulk-new-%d", i), targets[(i*5+3)%len(targets)]
			if i == 19 {
				m.Target = first.Target // the pair is mapped
			}
			tx.Write(store.Change{Kind: store.KindMapping, New: true, Mapping: m})
		}
		return store.Audit{Resource: "crosswalks/bulk/iso-27001-2022"}, nil
	})
	if !errors.Is(err, store.ErrAlreadyMapped) {
		t.Fatalf("a bulk write with a mapped pair: %v", err)
	}
	_, err = s.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		for i := range 20 {
			tx.Write(store.Change{Kind: store.KindControl, New: true, Framework: catalog.Framework{ID: "nope"},
				Control: catalog.Control{ID: fmt.Sprintf("X-%d", i), Title: "x", Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL}})
		}
		return store.Audit{Resource: "frameworks/nope"}, nil
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("controls of a missing framework: %v", err)
	}
	if g := s.Snapshot(); g.Revision() != 3 || g.MappingsBetween(bulk.Index, iso.Index) != 250 {
		t.Fatalf("a refused bulk write changed the catalog: revision %d", g.Revision())
	}
}
