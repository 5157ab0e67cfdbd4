package satisfaction_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/satisfaction"
)

// setModel is a catalog whose controls are sets of requirements (bits of a
// word) and whose mappings, between controls and between groups of them,
// state exactly how their unions relate: every answer can be checked
// against the sets themselves.
type setModel struct {
	g    *catalog.Graph
	sets map[catalog.ControlRef]uint16
}

func relationOf(a, b uint16) cmv1.Relationship {
	switch {
	case a == b:
		return cmv1.Relationship_RELATIONSHIP_EQUAL
	case a&b == a:
		return cmv1.Relationship_RELATIONSHIP_SUBSET_OF
	case a&b == b:
		return cmv1.Relationship_RELATIONSHIP_SUPERSET_OF
	case a&b != 0:
		return cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH
	}
	return cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP
}

func holds(rel cmv1.Relationship, a, b uint16) bool {
	switch rel {
	case cmv1.Relationship_RELATIONSHIP_EQUAL:
		return a == b
	case cmv1.Relationship_RELATIONSHIP_SUBSET_OF:
		return a&b == a
	case cmv1.Relationship_RELATIONSHIP_SUPERSET_OF:
		return a&b == b
	case cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH:
		return a&b != 0
	}
	return a&b == 0
}

func randomSetModel(rng *rand.Rand) *setModel {
	const fws, perFW = 3, 7
	m := &setModel{sets: map[catalog.ControlRef]uint16{}}
	var b catalog.Builder
	for f := range fws {
		var controls []catalog.Control
		for c := range perFW {
			ref := catalog.ControlRef{Framework: fmt.Sprintf("fw%d", f), Control: fmt.Sprintf("C%d", c)}
			var set uint16
			for set == 0 {
				for range 1 + rng.IntN(4) {
					set |= 1 << rng.IntN(12)
				}
			}
			m.sets[ref] = set
			controls = append(controls, catalog.Control{ID: ref.Control, Title: "t", Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL, Assessable: true})
		}
		b.AddFramework(catalog.Framework{ID: fmt.Sprintf("fw%d", f), DisplayName: "f", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}, controls)
	}
	side := func(f int) []catalog.ControlRef {
		n := 1 + rng.IntN(3)
		var out []catalog.ControlRef
		for _, c := range rng.Perm(perFW)[:n] {
			out = append(out, catalog.ControlRef{Framework: fmt.Sprintf("fw%d", f), Control: fmt.Sprintf("C%d", c)})
		}
		return out
	}
	union := func(side []catalog.ControlRef) uint16 {
		var u uint16
		for _, r := range side {
			u |= m.sets[r]
		}
		return u
	}
	var ms []catalog.Mapping
	seen := map[string]bool{}
	for len(ms) < 40 {
		fa, fb := rng.IntN(fws), rng.IntN(fws)
		if fa == fb {
			continue
		}
		src, tgt := side(fa), side(fb)
		mp := catalog.Mapping{ID: fmt.Sprintf("m%02d", len(ms)), Source: src[0], Target: tgt[0], Rationale: cmv1.Rationale_RATIONALE_SEMANTIC,
			Justification: "model", Provenance: catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED}}
		if len(src) > 1 {
			mp.Sources = src
		}
		if len(tgt) > 1 {
			mp.Targets = tgt
		}
		if seen[mp.PairKey()] {
			continue
		}
		seen[mp.PairKey()] = true
		mp.Relationship = relationOf(union(src), union(tgt))
		lo, hi := catalog.StrengthRange(mp.Relationship)
		rlo, rhi := catalog.ReverseStrengthRange(mp.Relationship)
		mp.Strength, mp.ReverseStrength = lo+rng.Int32N(hi-lo+1), rlo+rng.Int32N(rhi-rlo+1)
		ms = append(ms, mp)
	}
	g, err := b.Build(1, ms)
	if err != nil {
		panic(err)
	}
	m.g = g
	return m
}

func (m *setModel) set(c catalog.ControlID) uint16 { return m.sets[m.g.Ref(c)] }

func (m *setModel) union(side []catalog.ControlID) uint16 {
	var u uint16
	for _, c := range side {
		u |= m.set(c)
	}
	return u
}

// groupCovers checks a Group answer: the mapping has subject in a side of
// several controls whose union contains control.
func (m *setModel) groupCovers(slot int32, subject, control catalog.ControlID) error {
	mp := m.g.MappingAt(slot)
	own, other := mp.SrcSide, mp.DstSide
	if !slices.Contains(own, subject) {
		own, other = other, own
	}
	switch {
	case !slices.Contains(own, subject) || !slices.Contains(other, control):
		return fmt.Errorf("group mapping %s does not join them", mp.ID)
	case len(own) < 2:
		return fmt.Errorf("group answer from a side of one control")
	case m.union(own)&m.set(control) != m.set(control):
		return fmt.Errorf("the group %v does not contain %s", own, m.g.Ref(control).Name())
	}
	return nil
}

// TestAnswersHoldInSetModels checks, on random catalogs of sets with
// mappings between controls and between groups, that every answer of
// Satisfies and Coverage is true of the sets: a FULL answer's control is
// contained in what is implemented, a PARTIAL one meets it (or, from a
// group, is contained in a group the subject is a member of), and every
// relationship reported holds.
func TestAnswersHoldInSetModels(t *testing.T) {
	groups := 0
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		m := randomSetModel(rng)
		for mp := range m.g.Mappings() {
			if mp.IsGroup() {
				groups++
			}
		}
		o := satisfaction.Options{IncludeInferred: true, MaxHops: 3}
		for id := range catalog.ControlID(m.g.ControlCount()) {
			x := m.set(id)
			answered := map[catalog.ControlID]bool{}
			for _, f := range satisfaction.Satisfies(m.g, id, nil, o) {
				name := fmt.Sprintf("seed %d: %s -> %s", seed, m.g.Ref(id).Name(), m.g.Ref(f.Control).Name())
				if answered[f.Control] {
					t.Fatalf("%s: answered twice", name)
				}
				answered[f.Control] = true
				tset := m.set(f.Control)
				if f.Group {
					if err := m.groupCovers(f.Path[0], id, f.Control); err != nil || f.Satisfaction != cmv1.Satisfaction_SATISFACTION_PARTIAL {
						t.Fatalf("%s: group answer %v: %v", name, f.Satisfaction, err)
					}
					if mp := m.g.MappingAt(f.Path[0]); !holds(f.Relationship, m.union(mp.SrcSide), m.union(mp.DstSide)) &&
						!holds(f.Relationship, m.union(mp.DstSide), m.union(mp.SrcSide)) {
						t.Fatalf("%s: the group's %v does not hold", name, f.Relationship)
					}
					continue
				}
				if !holds(f.Relationship, x, tset) {
					t.Fatalf("%s: %v does not hold (%012b vs %012b), path %v", name, f.Relationship, x, tset, f.Path)
				}
				if f.Satisfaction == cmv1.Satisfaction_SATISFACTION_FULL && x&tset != tset {
					t.Fatalf("%s: FULL but not contained", name)
				}
				if f.Satisfaction == cmv1.Satisfaction_SATISFACTION_PARTIAL && x&tset == 0 {
					t.Fatalf("%s: PARTIAL but disjoint", name)
				}
			}
		}
		// Coverage of fw1 by a random part of fw0 implemented.
		fw0, _ := m.g.Framework("fw0")
		fw1, _ := m.g.Framework("fw1")
		var sources []satisfaction.SourceControl
		var implemented uint16
		in := map[catalog.ControlID]bool{}
		for _, c := range fw0.ControlIDs() {
			if rng.IntN(3) > 0 {
				sources = append(sources, satisfaction.SourceControl{Control: c, Implementation: cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED})
				implemented |= m.set(c)
				in[c] = true
			}
		}
		rep, err := satisfaction.Coverage(context.Background(), m.g, sources, fw1, o)
		if err != nil {
			t.Fatal(err)
		}
		status := map[catalog.ControlID]cmv1.Satisfaction{}
		for _, cc := range rep.Controls {
			status[cc.Control] = cc.Status
			tset := m.set(cc.Control)
			switch cc.Status {
			case cmv1.Satisfaction_SATISFACTION_FULL:
				if implemented&tset != tset {
					t.Fatalf("seed %d: %s FULL but not contained in what is implemented", seed, m.g.Ref(cc.Control).Name())
				}
			case cmv1.Satisfaction_SATISFACTION_PARTIAL:
				if implemented&tset == 0 && !slices.ContainsFunc(cc.Sources, func(k satisfaction.Contribution) bool {
					return k.Group && m.groupCovers(k.Path[0], k.Source, cc.Control) == nil
				}) {
					t.Fatalf("seed %d: %s PARTIAL but nothing implemented meets it", seed, m.g.Ref(cc.Control).Name())
				}
			}
		}
		// And the rule fires: a group wholly implemented that contains a
		// control of fw1 makes it FULL.
		for mp := range m.g.Mappings() {
			for _, dir := range []bool{false, true} {
				own, other, rel := mp.SrcSide, mp.DstSide, mp.Relationship
				if dir {
					own, other, rel = mp.DstSide, mp.SrcSide, catalog.Inverse(rel)
				}
				whole := len(own) > 1 && !slices.ContainsFunc(own, func(c catalog.ControlID) bool { return !in[c] })
				if !whole || (rel != cmv1.Relationship_RELATIONSHIP_SUPERSET_OF && rel != cmv1.Relationship_RELATIONSHIP_EQUAL) {
					continue
				}
				for _, c := range other {
					if m.g.Control(c).Framework == fw1.Index && status[c] != cmv1.Satisfaction_SATISFACTION_FULL {
						t.Fatalf("seed %d: group %s wholly implemented contains %s, which is %v", seed, mp.ID, m.g.Ref(c).Name(), status[c])
					}
				}
			}
		}
	}
	if groups < 1000 {
		t.Fatalf("only %d group mappings in the models", groups)
	}
}

// A direct mapping between two controls decides what one gives the other,
// whatever a group mapping implies: a reviewed NO_RELATIONSHIP excludes a
// member a group statement would give.
func TestDirectMappingDecidesOverGroups(t *testing.T) {
	var b catalog.Builder
	for _, fw := range []string{"fa", "fb"} {
		var cs []catalog.Control
		for _, id := range []string{"A", "B", "C"} {
			cs = append(cs, catalog.Control{ID: id, Title: id, Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL, Assessable: true})
		}
		b.AddFramework(catalog.Framework{ID: fw, DisplayName: fw, Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}, cs)
	}
	ref := func(fw, id string) catalog.ControlRef { return catalog.ControlRef{Framework: fw, Control: id} }
	prov := catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED}
	g, err := b.Build(1, []catalog.Mapping{
		{ID: "m1", Source: ref("fa", "A"), Target: ref("fb", "B"), Relationship: cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP, Rationale: 2, Justification: "x", Provenance: prov},
		{ID: "m2", Source: ref("fa", "A"), Target: ref("fb", "B"), Targets: []catalog.ControlRef{ref("fb", "B"), ref("fb", "C")},
			Relationship: cmv1.Relationship_RELATIONSHIP_SUPERSET_OF, Strength: 10, ReverseStrength: 5, Rationale: 2, Justification: "x", Provenance: prov},
		{ID: "m3", Source: ref("fa", "B"), Sources: []catalog.ControlRef{ref("fa", "B"), ref("fa", "C")}, Target: ref("fb", "B"),
			Relationship: cmv1.Relationship_RELATIONSHIP_SUPERSET_OF, Strength: 10, ReverseStrength: 5, Rationale: 2, Justification: "x", Provenance: prov},
		{ID: "m4", Source: ref("fa", "B"), Target: ref("fb", "B"), Relationship: cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP, Rationale: 2, Justification: "x", Provenance: prov},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := g.ExactControl(ref("fa", "A"))
	var got []string
	for _, f := range satisfaction.Satisfies(g, a, nil, satisfaction.Options{IncludeInferred: true, MaxHops: 3}) {
		got = append(got, fmt.Sprintf("%s %v inferred=%v", g.Ref(f.Control).Control, f.Satisfaction, f.Inferred))
	}
	if want := []string{"C SATISFACTION_FULL inferred=false"}; !slices.Equal(got, want) {
		t.Errorf("Satisfies(A) = %v, want %v", got, want)
	}
	// B of fa is a member of a group containing fb's B, but reviewed unrelated to it.
	fb, _ := g.ExactControl(ref("fa", "B"))
	if found := satisfaction.Satisfies(g, fb, nil, satisfaction.Options{}); len(found) != 0 {
		t.Errorf("Satisfies(fa/B) = %+v, want nothing", found)
	}
}
