package content_test

import (
	"strings"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// ends lists, for the crosswalk between frameworks a and b, the controls of
// each side that appear in it (any relationship: a NO_RELATIONSHIP row
// records that the control was reviewed).
func ends(g *catalog.Graph, a, b string) (count int, inA, inB map[string]bool) {
	fa, _ := g.Framework(a)
	fb, _ := g.Framework(b)
	inA, inB = map[string]bool{}, map[string]bool{}
	for _, o := range g.Crosswalk(fa.Index, fb.Index) {
		count++
		inA[g.Control(o.From).ID] = true
		inB[g.Control(o.To).ID] = true
	}
	return count, inA, inB
}

func missing(g *catalog.Graph, fw string, seen map[string]bool, want func(*catalog.ControlNode) bool) []string {
	f, _ := g.Framework(fw)
	var out []string
	for _, c := range g.Controls(f) {
		if want(c) && !seen[c.ID] {
			out = append(out, c.ID)
		}
	}
	return out
}

func annexControl(c *catalog.ControlNode) bool {
	return c.Kind == cmv1.ControlKind_CONTROL_KIND_ANNEX_CONTROL
}
func assessable(c *catalog.ControlNode) bool { return c.Assessable }

func TestCrosswalkCompleteness(t *testing.T) {
	g := builtIn(t)

	n, in27001, in42001 := ends(g, "iso-27001-2022", "iso-42001-2023")
	if n < 100 {
		t.Errorf("ISO 27001 -> ISO 42001: %d mappings, want at least 100", n)
	}
	if m := missing(g, "iso-27001-2022", in27001, clause); len(m) > 0 {
		t.Errorf("ISO 27001 clauses never reviewed against ISO 42001: %v", m)
	}
	if m := missing(g, "iso-42001-2023", in42001, assessable); len(m) > 0 {
		t.Errorf("ISO 42001 controls never reviewed against ISO 27001: %v", m)
	}

	n, inRMF, in42001 := ends(g, "nist-ai-rmf-1.0", "iso-42001-2023")
	if n < 70 {
		t.Errorf("AI RMF <-> ISO 42001: %d mappings, want at least 70", n)
	}
	if m := missing(g, "nist-ai-rmf-1.0", inRMF, assessable); len(m) > 0 {
		t.Errorf("AI RMF subcategories missing from the NIST crosswalk: %v", m)
	}
	if m := missing(g, "iso-42001-2023", in42001, annexControl); len(m) > 0 {
		t.Errorf("ISO 42001 Annex A controls missing from the NIST crosswalk: %v", m)
	}

	n, in27001, _ = ends(g, "iso-27001-2022", "nist-ai-rmf-1.0")
	if n < 90 {
		t.Errorf("ISO 27001 <-> AI RMF: %d mappings, want at least 90", n)
	}
	// Every assessable clause was reviewed against the AI RMF. 7.5.2 (how a
	// document is identified, formatted and approved) yields no AI RMF
	// outcome on its own, so it alone has no row.
	if m := missing(g, "iso-27001-2022", in27001, func(c *catalog.ControlNode) bool { return clause(c) && c.ID != "7.5.2" }); len(m) > 0 {
		t.Errorf("ISO 27001 clauses never reviewed against the AI RMF: %v", m)
	}
}

func clause(c *catalog.ControlNode) bool {
	return c.Assessable && c.Kind == cmv1.ControlKind_CONTROL_KIND_CLAUSE
}

// strengthRule is the strength each relationship allows, read in the
// mapping's own direction (Strength: how much of the target implementing the
// source accomplishes) and in reverse (ReverseStrength: how much of the
// source implementing the target accomplishes). It is written out here rather
// than taken from the catalog package, so the content is held to the rule
// even if the code that enforces it changes.
var strengthRule = map[cmv1.Relationship]struct{ lo, hi, revLo, revHi int32 }{
	cmv1.Relationship_RELATIONSHIP_EQUAL:           {10, 10, 10, 10},
	cmv1.Relationship_RELATIONSHIP_SUPERSET_OF:     {10, 10, 1, 9},
	cmv1.Relationship_RELATIONSHIP_SUBSET_OF:       {1, 9, 10, 10},
	cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH: {1, 9, 1, 9},
	cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP: {0, 0, 0, 0},
}

// Every built-in mapping is served in both directions, each with its own
// strength, and both must fit the relationship read that way.
func TestBuiltInStrengthsAreDirectional(t *testing.T) {
	g := builtIn(t)
	per := map[cmv1.Relationship]int{}
	for m := range g.Mappings() {
		rule, ok := strengthRule[m.Relationship]
		if !ok {
			t.Errorf("%s: relationship %v", m.ID, m.Relationship)
			continue
		}
		per[m.Relationship]++
		if m.Strength < rule.lo || m.Strength > rule.hi {
			t.Errorf("%s (%s %v %s): strength %d, want %d-%d", m.ID, m.Source.Control, m.Relationship, m.Target.Control, m.Strength, rule.lo, rule.hi)
		}
		if m.ReverseStrength < rule.revLo || m.ReverseStrength > rule.revHi {
			t.Errorf("%s (%s %v %s): reverse strength %d, want %d-%d", m.ID, m.Target.Control, catalog.Inverse(m.Relationship), m.Source.Control, m.ReverseStrength, rule.revLo, rule.revHi)
		}
	}
	if per[cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH] == 0 || per[cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP] == 0 {
		t.Errorf("mappings per relationship: %v", per)
	}
}

// harmonizedContainment lists the clause pairs of ISO 27001 and ISO 42001
// (clauses 4-10, keyed 27001 clause then 42001 clause) that may be EQUAL,
// SUBSET_OF or SUPERSET_OF. Such a row tells a whole ISO 27001 program that it
// fully meets the ISO 42001 clause, or the reverse, so an entry needs a reason
// why one process, by its own standard's requirements, serves both the ISMS
// and the AIMS; a shared mechanism that each standard only requires for its
// own system (document control, corrective action, management review) is not
// enough and stays INTERSECTS_WITH. The list is empty: no clause pair
// qualifies today.
var harmonizedContainment = map[[2]string]string{}

func TestHarmonizedClausesAreNotContainment(t *testing.T) {
	g := builtIn(t)
	used := map[[2]string]bool{}
	for m := range g.Mappings() {
		a, b := g.Control(m.Src), g.Control(m.Dst)
		if m.Relationship == cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH || m.Relationship == cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP ||
			a.Kind != cmv1.ControlKind_CONTROL_KIND_CLAUSE || b.Kind != cmv1.ControlKind_CONTROL_KIND_CLAUSE {
			continue
		}
		var key [2]string
		switch {
		case m.Source.Framework == "iso-27001-2022" && m.Target.Framework == "iso-42001-2023":
			key = [2]string{m.Source.Control, m.Target.Control}
		case m.Source.Framework == "iso-42001-2023" && m.Target.Framework == "iso-27001-2022":
			key = [2]string{m.Target.Control, m.Source.Control}
		default:
			continue
		}
		if _, ok := harmonizedContainment[key]; !ok {
			t.Errorf("%s: ISO 27001 %s %v ISO 42001 %s would report the clause fully met by the other management system; "+
				"make it INTERSECTS_WITH or add the pair to harmonizedContainment with the reason one process serves both", m.ID, key[0], m.Relationship, key[1])
		}
		used[key] = true
	}
	for key := range harmonizedContainment {
		if !used[key] {
			t.Errorf("harmonizedContainment lists %v, which is not an EQUAL, SUBSET_OF or SUPERSET_OF row", key)
		}
	}
}

func TestBuiltInMappingsAreWellFormed(t *testing.T) {
	g := builtIn(t)
	citesNIST := 0
	for m := range g.Mappings() {
		p := m.Provenance
		if p.Status != cmv1.MappingStatus_MAPPING_STATUS_APPROVED || p.Document == "" || p.Author == "" || !m.BuiltIn {
			t.Errorf("%s: shipped content must be approved with a document and an author: %+v", m.ID, p)
		}
		if n := len(strings.Fields(m.Justification)); n < 6 {
			t.Errorf("%s: justification of %d words", m.ID, n)
		}
		if !g.Control(m.Src).Assessable || !g.Control(m.Dst).Assessable {
			t.Errorf("%s: maps a heading or group (%s -> %s)", m.ID, m.Source.Control, m.Target.Control)
		}
		if strings.Contains(p.Document, "NIST AI RMF to ISO/IEC 42001") {
			citesNIST++
		}
	}
	if citesNIST == 0 {
		t.Error("no mapping cites NIST's AI RMF to ISO/IEC 42001 crosswalk")
	}
}
