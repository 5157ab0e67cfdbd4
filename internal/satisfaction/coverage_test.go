package satisfaction_test

import (
	"context"
	"math/rand/v2"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/satisfaction"
)

var implementations = []cmv1.ImplementationStatus{
	cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED,
	cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL,
	cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PLANNED,
	cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_NOT_IMPLEMENTED,
	cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_NOT_APPLICABLE,
}

// Coverage totals always add up, per group too, and implementation status
// caps what a source gives.
func TestCoverageInvariants(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 3))
		g := randomGraph(rng, 3+rng.IntN(3), 8+rng.IntN(16), 30+rng.IntN(120))
		target := g.Frameworks()[rng.IntN(len(g.Frameworks()))]
		var sources []satisfaction.SourceControl
		impl := map[catalog.ControlID]cmv1.ImplementationStatus{}
		for c := range g.ControlCount() {
			id := catalog.ControlID(c)
			if g.Control(id).Framework == target.Index || rng.IntN(2) == 0 {
				continue
			}
			s := implementations[rng.IntN(len(implementations))]
			sources = append(sources, satisfaction.SourceControl{Control: id, Implementation: s})
			impl[id] = s
		}
		o := satisfaction.Options{MaxHops: 1 + rng.IntN(5), IncludeInferred: true}
		r, _ := satisfaction.Coverage(context.Background(), g, sources, target, o)

		if tt := r.Totals; tt.Full+tt.Partial+tt.None != tt.Total || tt.Total != int(target.AssessableCount) || len(r.Controls) != tt.Total {
			t.Fatalf("seed %d: totals %+v for %d assessable controls, %d listed", seed, tt, target.AssessableCount, len(r.Controls))
		}
		var sum satisfaction.Totals
		for _, gr := range r.Groups {
			if gr.Full+gr.Partial+gr.None != gr.Total {
				t.Fatalf("seed %d: group %+v does not add up", seed, gr)
			}
			sum.Total += gr.Total
			sum.Full += gr.Full
			sum.Partial += gr.Partial
			sum.None += gr.None
		}
		if sum != r.Totals {
			t.Fatalf("seed %d: groups sum to %+v, totals %+v", seed, sum, r.Totals)
		}
		for _, cc := range r.Controls {
			best := cmv1.Satisfaction_SATISFACTION_NONE
			for _, k := range cc.Sources {
				switch impl[k.Source] {
				case cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED:
					if k.Satisfaction != catalog.SatisfactionOf(k.Relationship) {
						t.Fatalf("seed %d: %v from %v", seed, k.Satisfaction, k.Relationship)
					}
				case cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL:
					if k.Satisfaction != cmv1.Satisfaction_SATISFACTION_PARTIAL {
						t.Fatalf("seed %d: a partly implemented source gave %v", seed, k.Satisfaction)
					}
				default:
					t.Fatalf("seed %d: a %v source contributed", seed, impl[k.Source])
				}
				if end, rel, _, err := walk(g, k.Source, k.Path); err != nil || end != cc.Control || rel != k.Relationship {
					t.Fatalf("seed %d: contribution path %v: %v", seed, k.Path, err)
				}
				best = min(best, k.Satisfaction)
			}
			if cc.Status != best {
				t.Fatalf("seed %d: status %v, best contribution %v", seed, cc.Status, best)
			}
		}
		if r.ReuseAssessable > r.SourceAssessable || len(r.Reuse) > len(sources) {
			t.Fatalf("seed %d: reuse %d of %d", seed, r.ReuseAssessable, r.SourceAssessable)
		}
	}
}

// A SUBSET_OF link never makes a target FULL, however many sources carry
// part of it.
func TestSubsetNeverFull(t *testing.T) {
	var b catalog.Builder
	ctl := func(id string) catalog.Control {
		return catalog.Control{ID: id, Title: id, Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL, Assessable: true}
	}
	b.AddFramework(catalog.Framework{ID: "src", DisplayName: "s", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL}, []catalog.Control{ctl("a"), ctl("b"), ctl("c")})
	b.AddFramework(catalog.Framework{ID: "dst", DisplayName: "d", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}, []catalog.Control{ctl("t")})
	var ms []catalog.Mapping
	for _, s := range []string{"a", "b", "c"} {
		ms = append(ms, catalog.Mapping{ID: "m" + s, Source: catalog.ControlRef{Framework: "src", Control: s}, Target: catalog.ControlRef{Framework: "dst", Control: "t"},
			Relationship: cmv1.Relationship_RELATIONSHIP_SUBSET_OF, Strength: 9, ReverseStrength: 10, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "part",
			Provenance: catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED}})
	}
	g, err := b.Build(1, ms)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := g.Framework("src")
	dst, _ := g.Framework("dst")
	var sources []satisfaction.SourceControl
	for _, c := range g.Controls(src) {
		sources = append(sources, satisfaction.SourceControl{Control: c.Index, Implementation: cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED})
	}
	r, _ := satisfaction.Coverage(context.Background(), g, sources, dst, satisfaction.Options{MaxHops: 5, IncludeInferred: true})
	if r.Totals.Full != 0 || r.Totals.Partial != 1 || len(r.Controls[0].Sources) != 3 {
		t.Fatalf("three SUBSET_OF sources: %+v, %d sources", r.Totals, len(r.Controls[0].Sources))
	}
}

func TestCoverageOfBuiltInContent(t *testing.T) {
	_, g, err := content.LoadGraph()
	if err != nil {
		t.Fatal(err)
	}
	iso27001, _ := g.Framework("iso-27001-2022")
	iso42001, _ := g.Framework("iso-42001-2023")
	var sources []satisfaction.SourceControl
	for _, c := range g.Controls(iso27001) {
		sources = append(sources, satisfaction.SourceControl{Control: c.Index, Implementation: cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED})
	}
	r, _ := satisfaction.Coverage(context.Background(), g, sources, iso42001, satisfaction.Options{MaxHops: 3, IncludeInferred: true})
	// No ISMS process is by itself the AIMS process: the harmonized
	// clauses intersect, so a whole 27001 program fully covers nothing.
	if r.Totals.Total != 70 || r.Totals.Full != 0 || r.Totals.Partial == 0 || r.Totals.None == 0 {
		t.Fatalf("ISO 42001 by ISO 27001: %+v", r.Totals)
	}
	// The AI system impact assessment is new work for a 27001 program.
	for _, cc := range r.Controls {
		if id := g.Control(cc.Control).ID; (id == "6.1.4" || id == "8.4") && cc.Status != cmv1.Satisfaction_SATISFACTION_NONE {
			t.Errorf("%s covered %v by ISO 27001", id, cc.Status)
		}
	}
}

// A tenant's framework is a wall for everyone else: no path of another
// caller passes through it, and its owner's paths do.
func TestViewsHideOtherTenants(t *testing.T) {
	var b catalog.Builder
	one := func(id string) []catalog.Control {
		return []catalog.Control{{ID: id, Title: id, Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL, Assessable: true}}
	}
	b.AddFramework(catalog.Framework{ID: "pub-a", DisplayName: "a", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}, one("x"))
	b.AddFramework(catalog.Framework{ID: "pub-b", DisplayName: "b", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}, one("z"))
	b.AddFramework(catalog.Framework{ID: "acme-program", DisplayName: "acme", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL, Owner: "acme"}, one("y"))
	m := func(id string, a, z catalog.ControlRef) catalog.Mapping {
		return catalog.Mapping{ID: id, Source: a, Target: z, Relationship: cmv1.Relationship_RELATIONSHIP_EQUAL, Strength: 10, ReverseStrength: 10,
			Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "same",
			Provenance: catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED}}
	}
	x := catalog.ControlRef{Framework: "pub-a", Control: "x"}
	y := catalog.ControlRef{Framework: "acme-program", Control: "y"}
	z := catalog.ControlRef{Framework: "pub-b", Control: "z"}
	g, err := b.Build(1, []catalog.Mapping{m("m1", x, y), m("m2", y, z)})
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := g.ExactControl(x)
	for tenant, want := range map[string]int{"": 0, "other": 0, "acme": 2} {
		v := g.View(tenant)
		o := satisfaction.Options{MaxHops: 3, IncludeInferred: true, Visible: v.Visible()}
		if got := satisfaction.Satisfies(g, subject, nil, o); len(got) != want {
			t.Errorf("tenant %q: %d results through acme's framework, want %d", tenant, len(got), want)
		}
		zID, _ := g.ExactControl(z)
		if ex := satisfaction.Explain(g, subject, zID, 3, v.Visible(), false); (len(ex.Paths) > 0) != (want > 0) {
			t.Errorf("tenant %q: explain found %d paths", tenant, len(ex.Paths))
		}
		if fw, _ := g.Framework("acme-program"); v.SeesFramework(fw.Index) != (tenant == "acme") {
			t.Errorf("tenant %q sees acme's framework: %v", tenant, v.SeesFramework(fw.Index))
		}
	}
}
