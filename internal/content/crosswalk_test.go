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

	n, _, in42001 := ends(g, "iso-27001-2022", "iso-42001-2023")
	if n < 60 {
		t.Errorf("ISO 27001 -> ISO 42001: %d mappings, want at least 60", n)
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

	if n, _, _ := ends(g, "iso-27001-2022", "nist-ai-rmf-1.0"); n < 30 {
		t.Errorf("ISO 27001 <-> AI RMF: %d mappings, want at least 30", n)
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
