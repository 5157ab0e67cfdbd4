package catalog_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name, fw, ctl string
		ok            bool
	}{
		{"frameworks/iso-27001-2022/controls/A.5.15", "iso-27001-2022", "A.5.15", true},
		{"frameworks/nist-ai-rmf-1.0/controls/GOVERN 1.1", "nist-ai-rmf-1.0", "GOVERN 1.1", true},
		{"frameworks/ISO/controls/A.5.15", "", "", false},
		{"frameworks/iso/controls/", "", "", false},
		{"frameworks/iso/controls/a/b", "", "", false},
		{"frameworks/iso/controls/\xff", "", "", false},
		{"frameworks/iso/controls/a\x00", "", "", false},
		{"frameworks/iso/controls/" + strings.Repeat("x", 65), "", "", false},
		{"iso/controls/A.1", "", "", false},
	} {
		fw, ctl, ok := catalog.ParseControlName(tc.name)
		if ok != tc.ok || fw != tc.fw || ctl != tc.ctl {
			t.Errorf("ParseControlName(%q) = %q, %q, %v", tc.name, fw, ctl, ok)
		}
	}
	if id, ok := catalog.ParseFrameworkName("iso-27001-2022", true); !ok || id != "iso-27001-2022" {
		t.Error("bare framework id refused where allowed")
	}
	if _, ok := catalog.ParseFrameworkName("iso-27001-2022", false); ok {
		t.Error("bare framework id accepted where a name is required")
	}
	if _, ok := catalog.ParseMappingName("mappings/Ab"); ok {
		t.Error("upper-case mapping id accepted")
	}
}

func ctl(id, parent string, kind cmv1.ControlKind) catalog.Control {
	return catalog.Control{ID: id, Parent: parent, Title: id, Kind: kind, Assessable: parent != ""}
}

func TestAliases(t *testing.T) {
	var b catalog.Builder
	b.AddFramework(catalog.Framework{ID: "iso", DisplayName: "ISO", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}, []catalog.Control{
		ctl("5", "", cmv1.ControlKind_CONTROL_KIND_CLAUSE),
		ctl("5.1", "5", cmv1.ControlKind_CONTROL_KIND_CLAUSE),
		ctl("A.5", "", cmv1.ControlKind_CONTROL_KIND_ANNEX_GROUP),
		ctl("A.5.1", "A.5", cmv1.ControlKind_CONTROL_KIND_ANNEX_CONTROL),
		ctl("A.5.15", "A.5", cmv1.ControlKind_CONTROL_KIND_ANNEX_CONTROL),
	})
	b.AddFramework(catalog.Framework{ID: "rmf", DisplayName: "RMF", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_FRAMEWORK}, []catalog.Control{
		ctl("GOVERN", "", cmv1.ControlKind_CONTROL_KIND_FUNCTION),
		ctl("GOVERN-1", "GOVERN", cmv1.ControlKind_CONTROL_KIND_CATEGORY),
		ctl("GOVERN-1.1", "GOVERN-1", cmv1.ControlKind_CONTROL_KIND_SUBCATEGORY),
	})
	g, err := b.Build(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ fw, ref, want string }{
		{"iso", "5.15", "A.5.15"}, {"iso", "a5.15", "A.5.15"}, {"iso", " a.5.15 ", "A.5.15"},
		{"iso", "5.1", "5.1"}, // the clause, not A.5.1
		{"iso", "A5.1", "A.5.1"},
		{"rmf", "gv-1.1", "GOVERN-1.1"}, {"rmf", "GOVERN.1.1", "GOVERN-1.1"}, {"rmf", "gv 1", "GOVERN-1"}, {"rmf", "GV", "GOVERN"},
	} {
		id, ok := g.ResolveControl(tc.fw, tc.ref)
		if !ok || g.Control(id).ID != tc.want {
			t.Errorf("%s %q resolved to %v", tc.fw, tc.ref, ok)
		}
	}
	a51, _ := g.ResolveControl("iso", "A.5.1")
	if slices.Contains(g.Control(a51).Accepted, "5.1") {
		t.Error("A.5.1 lists 5.1 as an alias, but 5.1 is a clause")
	}
	if _, ok := g.ExactControl(catalog.ControlRef{Framework: "iso", Control: "a.5.15"}); ok {
		t.Error("ExactControl accepted another spelling")
	}
}

func TestBuilderRejects(t *testing.T) {
	var b catalog.Builder
	b.AddFramework(catalog.Framework{ID: "Bad ID", DisplayName: "x", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}, nil)
	b.AddFramework(catalog.Framework{ID: "ok", DisplayName: "x", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}, []catalog.Control{
		ctl("1", "", cmv1.ControlKind_CONTROL_KIND_CLAUSE),
		ctl("1", "", cmv1.ControlKind_CONTROL_KIND_CLAUSE),
		ctl("2", "9", cmv1.ControlKind_CONTROL_KIND_CLAUSE),
	})
	_, err := b.Build(1, nil)
	var ce *catalog.ControlError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "not unique") || !strings.Contains(err.Error(), "not listed before") || !strings.Contains(err.Error(), "id must match") {
		t.Fatalf("Build: %v", err)
	}
}

// A mapping read the other way round keeps what its file said: the
// coverage of each side and the subject of each qualifier follow the
// ends, and reversing twice gives the mapping back.
func TestReversedKeepsInterchange(t *testing.T) {
	share := func(x float64) *float64 { return &x }
	m := catalog.Mapping{
		Source: catalog.ControlRef{Framework: "a", Control: "1"}, Target: catalog.ControlRef{Framework: "b", Control: "2"},
		Relationship: cmv1.Relationship_RELATIONSHIP_SUBSET_OF, Strength: 4, ReverseStrength: 10,
		Interchange: &catalog.Interchange{Coverage: share(0.4), CoverageMethod: "human", Qualifiers: []catalog.Qualifier{{Subject: "source", Predicate: "has-requirement"}}},
	}
	r := m.Reversed()
	x := r.Interchange
	if r.Relationship != cmv1.Relationship_RELATIONSHIP_SUPERSET_OF || r.Strength != 10 || x.Coverage != nil || x.ReverseCoverage == nil || *x.ReverseCoverage != 0.4 ||
		x.ReverseCoverageMethod != "human" || x.Qualifiers[0].Subject != "target" || m.Interchange.Qualifiers[0].Subject != "source" {
		t.Fatalf("reversed: %+v %+v", r, x)
	}
	if back := r.Reversed(); *back.Interchange.Coverage != 0.4 || back.Interchange.CoverageMethod != "human" || back.Interchange.ReverseCoverage != nil ||
		back.Interchange.Qualifiers[0].Subject != "source" {
		t.Fatalf("reversed twice: %+v", back.Interchange)
	}
}
