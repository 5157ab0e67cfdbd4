package content_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/content"
)

func builtIn(t *testing.T) *catalog.Graph {
	t.Helper()
	_, g, err := content.LoadGraph()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// children counts the controls of kind under each parent id.
func children(g *catalog.Graph, fw string, kind cmv1.ControlKind) map[string]int {
	f, _ := g.Framework(fw)
	out := map[string]int{}
	for _, c := range g.Controls(f) {
		if c.Kind == kind {
			out[c.Parent]++
		}
	}
	return out
}

func TestFrameworkCounts(t *testing.T) {
	g := builtIn(t)
	annex := cmv1.ControlKind_CONTROL_KIND_ANNEX_CONTROL
	if got := children(g, "iso-27001-2022", annex); got["A.5"] != 37 || got["A.6"] != 8 || got["A.7"] != 14 || got["A.8"] != 34 || len(got) != 4 {
		t.Errorf("ISO 27001 Annex A per theme: %v", got)
	}
	want42001 := map[string]int{"A.2": 3, "A.3": 2, "A.4": 5, "A.5": 4, "A.6.1": 2, "A.6.2": 7, "A.7": 5, "A.8": 4, "A.9": 3, "A.10": 3}
	if got := children(g, "iso-42001-2023", annex); !mapsEqual(got, want42001) {
		t.Errorf("ISO 42001 Annex A per objective: %v", got)
	}
	wantRMF := map[string]int{
		"GOVERN-1": 7, "GOVERN-2": 3, "GOVERN-3": 2, "GOVERN-4": 3, "GOVERN-5": 2, "GOVERN-6": 2,
		"MAP-1": 6, "MAP-2": 3, "MAP-3": 5, "MAP-4": 2, "MAP-5": 2,
		"MEASURE-1": 3, "MEASURE-2": 13, "MEASURE-3": 3, "MEASURE-4": 3,
		"MANAGE-1": 4, "MANAGE-2": 4, "MANAGE-3": 2, "MANAGE-4": 3,
	}
	if got := children(g, "nist-ai-rmf-1.0", cmv1.ControlKind_CONTROL_KIND_SUBCATEGORY); !mapsEqual(got, wantRMF) {
		t.Errorf("AI RMF subcategories per category: %v", got)
	}
	for fw, want := range map[string][2]int32{"iso-27001-2022": {138, 123}, "iso-42001-2023": {92, 70}, "nist-ai-rmf-1.0": {95, 72}} {
		f, _ := g.Framework(fw)
		if int32(f.ControlCount()) != want[0] || f.AssessableCount != want[1] {
			t.Errorf("%s: %d controls, %d assessable; want %v", fw, f.ControlCount(), f.AssessableCount, want)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestClauses(t *testing.T) {
	g := builtIn(t)
	leaves27001 := []string{
		"4.1", "4.2", "4.3", "4.4", "5.1", "5.2", "5.3", "6.1.1", "6.1.2", "6.1.3", "6.2", "6.3",
		"7.1", "7.2", "7.3", "7.4", "7.5.1", "7.5.2", "7.5.3", "8.1", "8.2", "8.3", "9.1",
		"9.2.1", "9.2.2", "9.3.1", "9.3.2", "9.3.3", "10.1", "10.2",
	}
	headings := []string{"4", "5", "6", "7", "8", "9", "10", "6.1", "7.5", "9.2", "9.3"}
	check := func(fw string, leaves []string) {
		f, _ := g.Framework(fw)
		var gotLeaves, gotHeadings []string
		for _, c := range g.Controls(f) {
			if c.Kind != cmv1.ControlKind_CONTROL_KIND_CLAUSE {
				continue
			}
			if c.Assessable {
				gotLeaves = append(gotLeaves, c.ID)
			} else {
				gotHeadings = append(gotHeadings, c.ID)
			}
		}
		slices.Sort(gotLeaves)
		slices.Sort(gotHeadings)
		want := slices.Sorted(slices.Values(leaves))
		if !slices.Equal(gotLeaves, want) {
			t.Errorf("%s assessable clauses %v, want %v", fw, gotLeaves, want)
		}
		if !slices.Equal(gotHeadings, slices.Sorted(slices.Values(headings))) {
			t.Errorf("%s clause headings %v", fw, gotHeadings)
		}
	}
	check("iso-27001-2022", leaves27001)
	check("iso-42001-2023", append(slices.Clone(leaves27001), "6.1.4", "8.4"))

	for _, tc := range []struct{ fw, id, title string }{
		{"iso-27001-2022", "A.5.23", "Information security for use of cloud services"},
		{"iso-27001-2022", "A.8.34", "Protection of information systems during audit testing"},
		{"iso-27001-2022", "6.1.2", "Information security risk assessment"},
		{"iso-42001-2023", "6.1.4", "AI system impact assessment"},
		{"iso-42001-2023", "8.4", "AI system impact assessment"},
		{"iso-42001-2023", "A.7.5", "Data provenance"},
		{"iso-42001-2023", "A.10.4", "Customers"},
		{"nist-ai-rmf-1.0", "MANAGE", "Manage"},
	} {
		id, ok := g.ResolveControl(tc.fw, tc.id)
		if !ok || g.Control(id).Title != tc.title {
			t.Errorf("%s %s: want title %q", tc.fw, tc.id, tc.title)
		}
	}
}

// TestIntegrity checks what every control of the built-in content must
// have, beyond what the loader enforces.
func TestIntegrity(t *testing.T) {
	g := builtIn(t)
	rmfID := regexp.MustCompile(`^(GOVERN|MAP|MEASURE|MANAGE)(-[1-9][0-9]?(\.[1-9][0-9]?)?)?$`)
	isoID := regexp.MustCompile(`^(A\.)?[1-9][0-9]?(\.[1-9][0-9]?){0,2}$`)
	for _, f := range g.Frameworks() {
		for _, c := range g.Controls(f) {
			if len(strings.Fields(c.Summary)) < 8 {
				t.Errorf("%s %s: summary too short: %q", f.ID, c.ID, c.Summary)
			}
			pattern := isoID
			if f.ID == "nist-ai-rmf-1.0" {
				pattern = rmfID
			}
			if !pattern.MatchString(c.ID) {
				t.Errorf("%s: id %q does not follow the framework's scheme", f.ID, c.ID)
			}
			if c.ParentID != catalog.NoControl && !strings.HasPrefix(strings.ReplaceAll(c.ID, "-", "."), strings.ReplaceAll(g.Control(c.ParentID).ID, "-", ".")+".") {
				t.Errorf("%s: %s sits under %s", f.ID, c.ID, g.Control(c.ParentID).ID)
			}
		}
	}
	// Annex C tags are used, and only on ISO 42001.
	f, _ := g.Framework("iso-42001-2023")
	tagged := 0
	for _, c := range g.Controls(f) {
		if len(c.Tags) > 0 {
			tagged++
		}
	}
	if tagged < 10 {
		t.Errorf("only %d ISO 42001 controls carry Annex C tags", tagged)
	}
}
