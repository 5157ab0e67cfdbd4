package catalog_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// model is the catalog as plain lists, the state a sequence of random
// changes should lead to; Build of it is what Apply must equal.
type model struct {
	frameworks []catalog.FrameworkContents
	mappings   []catalog.Mapping
}

func (m *model) build(t *testing.T, rev int64) *catalog.Graph {
	t.Helper()
	g, err := catalog.BuildContents(rev, m.frameworks, m.mappings)
	if err != nil {
		t.Fatalf("build of the model: %v", err)
	}
	return g
}

func testMapping(id string, a, b catalog.ControlRef, rng *rand.Rand) catalog.Mapping {
	rel := catalog.Relationships[rng.IntN(len(catalog.Relationships))]
	m := catalog.Mapping{ID: id, Source: a, Target: b, Relationship: rel, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC,
		Justification: "random", Provenance: catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED}}
	if lo, hi := catalog.StrengthRange(rel); lo != hi {
		m.Strength = lo + rng.Int32N(hi-lo+1)
	}
	if lo, hi := catalog.ReverseStrengthRange(rel); lo != hi {
		m.ReverseStrength = lo + rng.Int32N(hi-lo+1)
	}
	catalog.FillStrengths(&m)
	return m
}

// TestApplyEqualsBuild applies random writes (frameworks, controls with
// aliases and parents, mappings created, changed and deleted, cascades) one
// revision at a time and compares every index of the result with a Graph
// built from scratch from the same state, and checks the Graph before each
// write is left as it was.
func TestApplyEqualsBuild(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			m := &model{}
			g := m.build(t, 1)
			nextFW, nextMapping := 0, 0
			for rev := int64(2); rev < 150; rev++ {
				before := describe(g)
				changes := m.randomWrite(rng, &nextFW, &nextMapping)
				ng, err := g.Apply(rev, changes)
				if err != nil {
					t.Fatalf("revision %d: %v (changes %+v)", rev, err, changes)
				}
				if after := describe(g); after != before {
					t.Fatalf("revision %d: Apply changed the Graph it started from", rev)
				}
				if got, want := describe(ng), describe(m.build(t, rev)); got != want {
					t.Fatalf("revision %d after %d changes:\napplied:\n%s\nbuilt:\n%s", rev, len(changes), got, want)
				}
				g = ng
			}
		})
	}
}

// randomWrite changes the model and returns the same write as changes.
func (m *model) randomWrite(rng *rand.Rand, nextFW, nextMapping *int) []catalog.Change {
	kinds := []cmv1.ControlKind{cmv1.ControlKind_CONTROL_KIND_ANNEX_CONTROL, cmv1.ControlKind_CONTROL_KIND_SUBCATEGORY, cmv1.ControlKind_CONTROL_KIND_CONTROL}
	switch op := rng.IntN(10); {
	case op == 0 || len(m.frameworks) < 2: // a framework
		f := catalog.Framework{ID: fmt.Sprintf("fw%d", *nextFW), DisplayName: "F", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}
		*nextFW++
		m.frameworks = append(m.frameworks, catalog.FrameworkContents{Framework: f})
		slices.SortFunc(m.frameworks, func(a, b catalog.FrameworkContents) int { return strings.Compare(a.Framework.ID, b.Framework.ID) })
		return []catalog.Change{{Kind: catalog.FrameworkChange, Framework: f}}
	case op <= 3: // a control, sometimes under another
		fc := &m.frameworks[rng.IntN(len(m.frameworks))]
		c := catalog.Control{ID: fmt.Sprintf("A.%d.%d", rng.IntN(5), len(fc.Controls)+rng.IntN(3)*100), Title: "c", Kind: kinds[rng.IntN(len(kinds))], Assessable: rng.IntN(2) == 0}
		if c.Kind == cmv1.ControlKind_CONTROL_KIND_SUBCATEGORY {
			c.ID = fmt.Sprintf("GOVERN-%d.%d", rng.IntN(3), len(fc.Controls))
		}
		if rng.IntN(4) == 0 {
			c.Aliases = []string{fmt.Sprintf("x%d", rng.IntN(4))} // sometimes claimed twice: ambiguous
		}
		if len(fc.Controls) > 0 && rng.IntN(2) == 0 {
			c.Parent = fc.Controls[rng.IntN(len(fc.Controls))].ID
		}
		if slices.ContainsFunc(fc.Controls, func(x catalog.Control) bool { return strings.EqualFold(x.ID, c.ID) }) {
			return nil
		}
		fc.Controls = append(fc.Controls, c)
		return []catalog.Change{{Kind: catalog.ControlChange, Framework: fc.Framework, Control: c}}
	case op == 4: // change a control
		fc := &m.frameworks[rng.IntN(len(m.frameworks))]
		if len(fc.Controls) == 0 {
			return nil
		}
		i := rng.IntN(len(fc.Controls))
		fc.Controls[i].Title = fmt.Sprintf("t%d", rng.IntN(100))
		fc.Controls[i].Assessable = !fc.Controls[i].Assessable
		return []catalog.Change{{Kind: catalog.ControlChange, Framework: fc.Framework, Control: fc.Controls[i]}}
	case op == 5: // delete a leaf control and its mappings, or a whole framework
		fi := rng.IntN(len(m.frameworks))
		fc := &m.frameworks[fi]
		if rng.IntN(4) == 0 {
			var changes []catalog.Change
			for _, x := range m.dropMappings(func(r catalog.ControlRef) bool { return r.Framework == fc.Framework.ID }) {
				changes = append(changes, catalog.Change{Kind: catalog.MappingChange, Delete: true, Mapping: x})
			}
			for _, c := range slices.Backward(fc.Controls) {
				changes = append(changes, catalog.Change{Kind: catalog.ControlChange, Delete: true, Framework: fc.Framework, Control: c})
			}
			changes = append(changes, catalog.Change{Kind: catalog.FrameworkChange, Delete: true, Framework: fc.Framework})
			m.frameworks = slices.Delete(m.frameworks, fi, fi+1)
			return changes
		}
		for i, c := range fc.Controls {
			if slices.ContainsFunc(fc.Controls, func(x catalog.Control) bool { return x.Parent == c.ID }) {
				continue
			}
			var changes []catalog.Change
			ref := catalog.ControlRef{Framework: fc.Framework.ID, Control: c.ID}
			for _, x := range m.dropMappings(func(r catalog.ControlRef) bool { return r == ref }) {
				changes = append(changes, catalog.Change{Kind: catalog.MappingChange, Delete: true, Mapping: x})
			}
			fc.Controls = slices.Delete(fc.Controls, i, i+1)
			return append(changes, catalog.Change{Kind: catalog.ControlChange, Delete: true, Framework: fc.Framework, Control: c})
		}
		return nil
	case op <= 8: // a mapping
		a, b := &m.frameworks[rng.IntN(len(m.frameworks))], &m.frameworks[rng.IntN(len(m.frameworks))]
		if a == b || len(a.Controls) == 0 || len(b.Controls) == 0 {
			return nil
		}
		ra := catalog.ControlRef{Framework: a.Framework.ID, Control: a.Controls[rng.IntN(len(a.Controls))].ID}
		rb := catalog.ControlRef{Framework: b.Framework.ID, Control: b.Controls[rng.IntN(len(b.Controls))].ID}
		if slices.ContainsFunc(m.mappings, func(x catalog.Mapping) bool {
			return (x.Source == ra && x.Target == rb) || (x.Source == rb && x.Target == ra)
		}) {
			return nil
		}
		x := testMapping(fmt.Sprintf("m%04d", rng.IntN(10000)), ra, rb, rng)
		if slices.ContainsFunc(m.mappings, func(y catalog.Mapping) bool { return y.ID == x.ID }) {
			return nil
		}
		*nextMapping++
		m.mappings = append(m.mappings, x)
		return []catalog.Change{{Kind: catalog.MappingChange, Mapping: x}}
	default: // change or delete a mapping
		if len(m.mappings) == 0 {
			return nil
		}
		i := rng.IntN(len(m.mappings))
		if rng.IntN(2) == 0 {
			x := m.mappings[i]
			m.mappings = slices.Delete(m.mappings, i, i+1)
			return []catalog.Change{{Kind: catalog.MappingChange, Delete: true, Mapping: x}}
		}
		x := testMapping(m.mappings[i].ID, m.mappings[i].Source, m.mappings[i].Target, rng)
		m.mappings[i] = x
		return []catalog.Change{{Kind: catalog.MappingChange, Mapping: x}}
	}
}

func (m *model) dropMappings(touches func(catalog.ControlRef) bool) []catalog.Mapping {
	var gone []catalog.Mapping
	m.mappings = slices.DeleteFunc(m.mappings, func(x catalog.Mapping) bool {
		if touches(x.Source) || touches(x.Target) {
			gone = append(gone, x)
			return true
		}
		return false
	})
	return gone
}

// describe renders everything a reader of g can observe, by names, in a
// canonical order: frameworks, controls with their derived fields and every
// spelling that resolves, mappings, edges as sets, crosswalks in order.
func describe(g *catalog.Graph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "revision %d, %d mappings\n", g.Revision(), g.MappingCount())
	for _, f := range g.Frameworks() {
		fmt.Fprintf(&b, "framework %s %q assessable=%d groups=", f.ID, f.DisplayName, f.AssessableCount)
		for _, id := range f.Groups {
			fmt.Fprintf(&b, "%s,", g.Control(id).ID)
		}
		b.WriteString("\n")
		for _, c := range g.Controls(f) {
			parent := ""
			if c.ParentID != catalog.NoControl {
				parent = g.Control(c.ParentID).ID
			}
			fmt.Fprintf(&b, "  control %s %q parent=%s group=%s assessable=%v accepted=%v\n", c.ID, c.Title, parent, g.Control(c.Group).ID, c.Assessable, c.Accepted)
			for _, a := range append([]string{c.ID, strings.ToLower(c.ID)}, c.Accepted...) {
				if id, ok := g.ResolveControl(f.ID, a); !ok || id != c.Index {
					fmt.Fprintf(&b, "    %q does not resolve\n", a)
				}
			}
			var edges []string
			for _, e := range g.Edges(c.Index) {
				edges = append(edges, fmt.Sprintf("%s %v %d %s", g.MappingAt(e.Mapping).ID, e.Relationship, e.Strength, g.Ref(e.To).Name()))
			}
			slices.Sort(edges)
			fmt.Fprintf(&b, "    edges %v\n", edges)
		}
		for _, alias := range []string{"x0", "x1", "x2", "x3"} {
			id, ok := g.ResolveControl(f.ID, alias)
			if ok {
				fmt.Fprintf(&b, "  alias %s -> %s\n", alias, g.Control(id).ID)
			}
		}
	}
	for x := range g.Mappings() {
		m, ok := g.MappingBetween(x.Src, x.Dst)
		fmt.Fprintf(&b, "mapping %s %s -> %s %v %d/%d found=%v\n", x.ID, x.Source.Name(), x.Target.Name(), x.Relationship, x.Strength, x.ReverseStrength, ok && m.ID == x.ID)
	}
	for _, p := range g.CrosswalkPairs() {
		from, to := g.FrameworkAt(p[0]), g.FrameworkAt(p[1])
		pair := []string{from.ID, to.ID}
		slices.Sort(pair)
		fmt.Fprintf(&b, "crosswalk %v:", pair)
		for _, o := range g.Crosswalk(from.Index, to.Index) {
			fmt.Fprintf(&b, " %s", o.Mapping.ID)
		}
		b.WriteString("\n")
	}
	return b.String()
}
