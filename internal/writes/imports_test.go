package writes_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/interchange"
	"github.com/controlmap/controlmap/internal/store/memory"
	"github.com/controlmap/controlmap/internal/writes"
)

var operator = auth.Principal{Name: "admin", Operator: true}

func asOperator() context.Context {
	return auth.WithPrincipal(context.Background(), operator, "/test")
}

// builtIn is a memory store with the built-in content and a writer on it.
func builtIn(t *testing.T) (*memory.Store, *writes.Writer) {
	t.Helper()
	_, g, err := content.LoadGraph()
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New(g)
	return st, writes.New(st)
}

// empty is a memory store without any framework, as `serve
// --builtin-content=false` starts.
func empty(t *testing.T) (*memory.Store, *writes.Writer) {
	t.Helper()
	var b catalog.Builder
	g, err := b.Build(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New(g)
	return st, writes.New(st)
}

// exported writes a framework of the store in format fm and reads the
// file back, as a user exports and imports it.
func exported(t *testing.T, st *memory.Store, id string, fm interchange.Format) *interchange.Document {
	t.Helper()
	g := st.Snapshot()
	f, ok := g.Framework(id)
	if !ok {
		t.Fatalf("no framework %s", id)
	}
	file := &interchange.FrameworkFile{Framework: f.Framework}
	for _, c := range g.Controls(f) {
		file.Controls = append(file.Controls, c.Control)
	}
	var buf bytes.Buffer
	if err := interchange.WriteFramework(&buf, fm, file); err != nil {
		t.Fatal(err)
	}
	doc, err := interchange.Read(&buf, fm, interchange.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// An exported framework imported twice: the second import changes nothing,
// though ISO 27001 has both clause 5 and Annex A 5, whose derived spelling
// is "5".
func TestReimportOfAFrameworkChangesNothing(t *testing.T) {
	src, _ := builtIn(t)
	for _, fm := range interchange.FrameworkFormats {
		t.Run(string(fm), func(t *testing.T) {
			doc := exported(t, src, "iso-27001-2022", fm)
			st, w := empty(t)
			rep, err := w.Import(asOperator(), doc, writes.ImportOptions{FrameworkID: "iso-27001-2022"})
			if err != nil || rep.Revision == 0 || rep.Counts["control"].Created != 138 {
				t.Fatalf("first import: %v %+v", err, rep)
			}
			rep, err = w.Import(asOperator(), exported(t, src, "iso-27001-2022", fm), writes.ImportOptions{FrameworkID: "iso-27001-2022"})
			if err != nil {
				t.Fatalf("the same file again: %v", err)
			}
			if rep.Revision != 0 || rep.Counts["control"].Unchanged != 138 || rep.Counts["framework"].Unchanged != 1 {
				t.Fatalf("the same file again changed something: revision %d, %+v %+v %v", rep.Revision, *rep.Counts["framework"], *rep.Counts["control"], rep.Changes)
			}
			// Clause 5 and Annex A 5 are both there, each under its own id.
			g := st.Snapshot()
			for ref, want := range map[string]string{"5": "5", "A.5": "A.5", "5.1": "5.1", "a.5.1": "A.5.1"} {
				if c, ok := g.ResolveControl("iso-27001-2022", ref); !ok || g.Control(c).ID != want {
					t.Errorf("%s resolves to %v, want %s", ref, g.Control(c), want)
				}
			}
		})
	}
}

// A file that says less than the store keeps: updating in place leaves
// what the file does not say as it is.
func TestImportUpdatesOnlyWhatTheFileSays(t *testing.T) {
	st, w := builtIn(t)
	ctx := asOperator()
	created, err := w.CreateMapping(ctx, catalog.Mapping{
		Source:       catalog.ControlRef{Framework: "iso-27001-2022", Control: "A.5.7"},
		Target:       catalog.ControlRef{Framework: "nist-ai-rmf-1.0", Control: "MEASURE-2.7"},
		Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, Strength: 2, ReverseStrength: 1, Rationale: cmv1.Rationale_RATIONALE_FUNCTIONAL,
		Justification: "Threat intelligence informs the security evaluation.",
		Provenance:    catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED, Document: "review 2026"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// An OLIR row of the same pair, read the other way round, that words the
	// justification anew and says nothing of reverse strength, method or
	// status.
	sheet := "Focal Document Element,Relationship,Reference Document Element,Rationale,Comments,Strength of Relationship\n" +
		"MEASURE-2.7,intersects with,A.5.7,Functional,Threat intelligence feeds the evaluation of security.,1\n"
	doc, err := interchange.Read(strings.NewReader(sheet), interchange.OLIRCSV, interchange.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := w.Import(ctx, doc, writes.ImportOptions{Bindings: map[string]string{"source": "nist-ai-rmf-1.0", "target": "iso-27001-2022"}})
	if err != nil || rep.Counts["mapping"].Updated != 1 {
		t.Fatalf("import: %v %+v", err, rep)
	}
	for _, p := range rep.Problems {
		if strings.Contains(p.Message, "reverse strength") {
			t.Errorf("a stored reverse strength was reported as defaulted: %s", p.Message)
		}
	}
	got, ok := st.Snapshot().Mapping(created.ID)
	if !ok {
		t.Fatal("the mapping is gone")
	}
	m := got.Mapping
	want := created
	want.Justification = "Threat intelligence feeds the evaluation of security."
	if m.Justification != want.Justification || m.Strength != 2 || m.ReverseStrength != 1 || m.Rationale != want.Rationale ||
		m.Provenance.Method != cmv1.MappingMethod_MAPPING_METHOD_HUMAN || m.Provenance.Status != cmv1.MappingStatus_MAPPING_STATUS_APPROVED ||
		m.Provenance.Document != "review 2026" {
		t.Fatalf("after the import: %+v\nwant the stored fields kept and the justification %q", m, want.Justification)
	}
}

// The controls of a framework updated from a file without kinds or aliases
// (CISO Assistant's) keep theirs.
func TestImportKeepsControlFieldsTheFileLacks(t *testing.T) {
	src, _ := builtIn(t)
	st, w := empty(t)
	if _, err := w.Import(asOperator(), exported(t, src, "nist-ai-rmf-1.0", interchange.OSCALCatalog), writes.ImportOptions{FrameworkID: "nist-ai-rmf-1.0"}); err != nil {
		t.Fatal(err)
	}
	rep, err := w.Import(asOperator(), exported(t, src, "nist-ai-rmf-1.0", interchange.CISOYAML), writes.ImportOptions{FrameworkID: "nist-ai-rmf-1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Revision != 0 || rep.Counts["control"].Updated != 0 {
		t.Fatalf("the CISO Assistant file of the same framework changed %d controls: %v", rep.Counts["control"].Updated, rep.Changes[:min(3, len(rep.Changes))])
	}
	g := st.Snapshot()
	id, ok := g.ResolveControl("nist-ai-rmf-1.0", "GV-1.2")
	if !ok || g.Control(id).ID != "GOVERN-1.2" || g.Control(id).Kind != cmv1.ControlKind_CONTROL_KIND_SUBCATEGORY {
		t.Fatalf("GV-1.2 after the import: found %t", ok)
	}
}

// "5.1" of ISO/IEC 27001 is clause 5.1 and, as ISO/IEC 27002 numbers it,
// Annex A 5.1: a document that numbers Annex A without the letter means
// the annex control, and the report says so; one that does not means the
// clause, as it says.
func TestImportReadsBareAnnexNumbersByTheDocument(t *testing.T) {
	row := func(loc, iso string) interchange.Map {
		return interchange.Map{Loc: loc, Sources: []string{iso}, Targets: []string{"GOVERN-1.2"}, Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH,
			Strength: 2, ReverseStrength: 2, Justification: "Both are about policy."}
	}
	for _, c := range []struct {
		name  string
		rows  []interchange.Map
		want  map[string]string // name in the file -> control mapped
		warns string
	}{
		{"annex numbering", []interchange.Map{row("line 2", "5.1"), row("line 3", "5.15")}, map[string]string{"5.1": "A.5.1", "5.15": "A.5.15"}, "read as annex controls, since the document numbers annex controls without their letter (5.15 at line 3)"},
		{"clauses", []interchange.Map{row("line 2", "5.1"), row("line 3", "4.1")}, map[string]string{"5.1": "5.1", "4.1": "4.1"}, ""},
		// An annex control written with its letter: bare numbers are clauses.
		{"lettered annex", []interchange.Map{row("line 2", "5.1"), row("line 3", "8.34"), row("line 4", "A.5.2")}, map[string]string{"5.1": "5.1", "8.34": "A.8.34", "A.5.2": "A.5.2"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, w := builtIn(t)
			doc := &interchange.Document{Format: interchange.OLIRCSV, Crosswalks: []interchange.Crosswalk{{Source: interchange.Resource{Key: "source"}, Target: interchange.Resource{Key: "target"}, Maps: c.rows}}}
			rep, err := w.Import(asOperator(), doc, writes.ImportOptions{Bindings: map[string]string{"source": "iso-27001-2022", "target": "nist-ai-rmf-1.0"}})
			if err != nil {
				t.Fatal(err)
			}
			var warned []string
			for _, p := range rep.Problems {
				warned = append(warned, p.Message)
			}
			said := strings.Join(warned, "\n")
			if c.warns == "" && strings.Contains(said, "names are both") || c.warns != "" &&
				!strings.Contains(said, "1 names that are both a control of frameworks/iso-27001-2022 and the number of an annex control were "+c.warns+": 5.1 (read as "+c.want["5.1"]+") at line 2") {
				t.Errorf("the report says %q", warned)
			}
			g := st.Snapshot()
			for _, want := range c.want {
				found := false
				for m := range g.Mappings() {
					found = found || (m.Mapping.Source.Control == want && m.Mapping.Target.Control == "GOVERN-1.2" && m.Mapping.Justification == "Both are about policy.")
				}
				if !found {
					t.Errorf("no mapping of %s to GOVERN-1.2 was imported", want)
				}
			}
		})
	}
}

// exportedCrosswalk writes the crosswalk of the store from a to b in
// format fm, as the service exports it, and reads the file back.
func exportedCrosswalk(t *testing.T, st *memory.Store, a, b string, fm interchange.Format) *interchange.Document {
	t.Helper()
	g := st.Snapshot()
	from, _ := g.Framework(a)
	to, _ := g.Framework(b)
	file := &interchange.CrosswalkFile{Source: from.Framework, Target: to.Framework}
	for _, o := range g.Crosswalk(from.Index, to.Index) {
		m := o.Mapping.Mapping
		if o.Inverse {
			m = m.Reversed()
		}
		file.Mappings = append(file.Mappings, m)
	}
	var buf bytes.Buffer
	if err := interchange.WriteCrosswalk(&buf, fm, file); err != nil {
		t.Fatal(err)
	}
	doc, err := interchange.Read(&buf, fm, interchange.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// What an OSCAL map says of coverage survives an export read the other
// way round: imported again, that export changes nothing.
func TestCoverageSurvivesTheReverseExport(t *testing.T) {
	st, w := builtIn(t)
	ctx := asOperator()
	share := 0.3
	file := &interchange.CrosswalkFile{Source: catalog.Framework{ID: "iso-42001-2023"}, Target: catalog.Framework{ID: "nist-ai-rmf-1.0"},
		Mappings: []catalog.Mapping{{Source: catalog.ControlRef{Framework: "iso-42001-2023", Control: "9.1"}, Target: catalog.ControlRef{Framework: "nist-ai-rmf-1.0", Control: "MEASURE-1.1"},
			Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, Strength: 3, ReverseStrength: 4, Rationale: cmv1.Rationale_RATIONALE_FUNCTIONAL,
			Justification: "Both monitor and measure.", Provenance: catalog.Provenance{Document: "coverage test", Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED},
			Interchange: &catalog.Interchange{Coverage: &share, CoverageMethod: "human"}}}}
	var buf bytes.Buffer
	if err := interchange.WriteCrosswalk(&buf, interchange.OSCALMapping, file); err != nil {
		t.Fatal(err)
	}
	doc, err := interchange.Read(&buf, interchange.OSCALMapping, interchange.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := w.Import(ctx, doc, writes.ImportOptions{}); err != nil || rep.Revision == 0 {
		t.Fatal(err, rep)
	}
	covered := func() *catalog.Interchange {
		for m := range st.Snapshot().Mappings() {
			if m.Mapping.Justification == "Both monitor and measure." {
				if m.Mapping.Source.Control == "9.1" {
					return m.Mapping.Interchange
				}
				r := m.Mapping.Reversed()
				return r.Interchange
			}
		}
		return nil
	}
	if x := covered(); x == nil || x.Coverage == nil || *x.Coverage != 0.3 {
		t.Fatalf("the coverage imported: %+v", x)
	}
	for _, fm := range []interchange.Format{interchange.OSCALMapping, interchange.JSON} {
		rep, err := w.Import(ctx, exportedCrosswalk(t, st, "nist-ai-rmf-1.0", "iso-42001-2023", fm), writes.ImportOptions{})
		if err != nil || rep.Revision != 0 || rep.Counts["mapping"].Updated != 0 {
			t.Fatalf("%s: the reverse export imported again: %v %+v", fm, err, rep)
		}
	}
	if x := covered(); x == nil || x.Coverage == nil || *x.Coverage != 0.3 || x.CoverageMethod != "human" {
		t.Fatalf("the coverage after the round trip: %+v", x)
	}
}

// What a row says beyond a mapping's fields is kept within OSCAL's
// bounds (the rest left out, and said), and a newer file that says part of
// it keeps the rest.
func TestImportInterchangeIsCheckedAndMerged(t *testing.T) {
	st, w := builtIn(t)
	ctx := asOperator()
	share := func(x float64) *float64 { return &x }
	row := func(x *catalog.Interchange) *interchange.Document {
		return &interchange.Document{Format: interchange.JSON, Crosswalks: []interchange.Crosswalk{{Source: interchange.Resource{Key: "source"}, Target: interchange.Resource{Key: "target"},
			Maps: []interchange.Map{{Loc: "/mappings/0", Sources: []string{"A.5.1"}, Targets: []string{"GOVERN-1.2"}, Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH,
				Strength: 2, ReverseStrength: 2, Justification: "Both are about policy.", Extras: x}}}}}
	}
	bind := writes.ImportOptions{Bindings: map[string]string{"source": "iso-27001-2022", "target": "nist-ai-rmf-1.0"}}
	rep, err := w.Import(ctx, row(&catalog.Interchange{Coverage: share(-2), ReverseCoverage: share(0.4), ConfidencePercentage: share(40),
		Qualifiers: []catalog.Qualifier{{Subject: "nobody", Predicate: "has-requirement", Category: "blocked", Description: "x"},
			{Subject: "target", Predicate: "has-requirement", Category: "addressable", Description: "Only for models in production."}}}), bind)
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	for _, p := range rep.Problems {
		said = append(said, p.Loc+": "+p.Message)
	}
	for _, want := range []string{"/mappings/0: the coverage must be from 0 to 1, got -2; left out", "/mappings/0: the confidence percentage must be from 0 to 1, got 40; left out",
		"/mappings/0: qualifier 0 needs a subject"} {
		if !slices.ContainsFunc(said, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("the report does not say %q: %q", want, said)
		}
	}
	stored := func() *catalog.Interchange {
		for m := range st.Snapshot().Mappings() {
			if m.Mapping.Source.Control == "A.5.1" && m.Mapping.Target.Control == "GOVERN-1.2" {
				return m.Mapping.Interchange
			}
		}
		return nil
	}
	x := stored()
	if x == nil || x.Coverage != nil || x.ConfidencePercentage != nil || *x.ReverseCoverage != 0.4 || len(x.Qualifiers) != 1 || x.Qualifiers[0].Subject != "target" {
		t.Fatalf("stored: %+v", x)
	}
	// A newer file says only a confidence: the rest stays.
	if _, err := w.Import(ctx, row(&catalog.Interchange{ConfidenceCategory: "high"}), bind); err != nil {
		t.Fatal(err)
	}
	if x := stored(); x == nil || x.ConfidenceCategory != "high" || x.ReverseCoverage == nil || *x.ReverseCoverage != 0.4 || len(x.Qualifiers) != 1 {
		t.Fatalf("after a file that adds a confidence: %+v", x)
	}
}

// Control ids match ignoring case, a parent's too.
func TestImportMatchesParentsIgnoringCase(t *testing.T) {
	_, w := empty(t)
	doc := func(parent string) *interchange.Document {
		return &interchange.Document{Format: interchange.OSCALCatalog, Frameworks: []interchange.Framework{{Title: "Cased", Version: "1", Loc: "/catalog",
			Controls: []interchange.Control{{ID: "GRP", Title: "Group"}, {ID: "GRP.1", Title: "One", Parent: parent, Assessable: true}}}}}
	}
	if _, err := w.Import(asOperator(), doc("GRP"), writes.ImportOptions{FrameworkID: "cased"}); err != nil {
		t.Fatal(err)
	}
	if rep, err := w.Import(asOperator(), doc("grp"), writes.ImportOptions{FrameworkID: "cased"}); err != nil || rep.Revision != 0 {
		t.Fatalf("the same catalog, the parent spelt in lower case: %v %+v", err, rep)
	}
}

// A pairwise export of a crosswalk with a group mapping, imported where
// the group is, changes nothing: the rows the group implies are its
// consequences, not mappings of their own.
func TestPairwiseExportOfAGroupImportedWhereTheGroupIs(t *testing.T) {
	st, w := builtIn(t)
	ctx := asOperator()
	rmf := func(id string) catalog.ControlRef {
		return catalog.ControlRef{Framework: "nist-ai-rmf-1.0", Control: id}
	}
	group, err := w.CreateMapping(ctx, catalog.Mapping{Source: catalog.ControlRef{Framework: "iso-27001-2022", Control: "A.8.20"},
		Target: rmf("GOVERN-1.5"), Targets: []catalog.ControlRef{rmf("GOVERN-1.5"), rmf("GOVERN-1.6")}, Relationship: cmv1.Relationship_RELATIONSHIP_SUPERSET_OF,
		ReverseStrength: 3, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "Network security asks for all of both.",
		Provenance: catalog.Provenance{Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED}})
	if err != nil {
		t.Fatal(err)
	}
	for _, fm := range []interchange.Format{interchange.OLIRCSV, interchange.STRMCSV, interchange.CISOYAML} {
		doc := exportedCrosswalk(t, st, "iso-27001-2022", "nist-ai-rmf-1.0", fm)
		marked := 0
		for _, m := range doc.Crosswalks[0].Maps {
			if m.ImpliedBy == catalog.MappingName(group.ID) {
				marked++
			}
		}
		rep, err := w.Import(ctx, doc, writes.ImportOptions{Bindings: map[string]string{"source": "iso-27001-2022", "target": "nist-ai-rmf-1.0"}})
		if err != nil || marked != 2 || rep.Revision != 0 || rep.Counts["mapping"].Created != 0 {
			t.Fatalf("%s: %d rows name the group; imported where it is: %v %+v", fm, marked, err, rep)
		}
	}
}

// A binding no resource of the document uses is said to be unused: a typo
// in a key is not silently ignored.
func TestImportSaysWhichBindingsAreUnused(t *testing.T) {
	_, w := builtIn(t)
	doc := &interchange.Document{Format: interchange.OLIRCSV, Crosswalks: []interchange.Crosswalk{{Source: interchange.Resource{Key: "source"}, Target: interchange.Resource{Key: "target"},
		Maps: []interchange.Map{{Loc: "line 2", Sources: []string{"A.5.1"}, Targets: []string{"GOVERN-1.2"}, Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH,
			Strength: 2, ReverseStrength: 2, Justification: "Both are about policy."}}}}}
	rep, err := w.Import(asOperator(), doc, writes.ImportOptions{ValidateOnly: true,
		Bindings: map[string]string{"source": "iso-27001-2022", "target": "nist-ai-rmf-1.0", "sourse": "iso-42001-2023"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Problems, func(p interchange.Problem) bool {
		return p.Message == `the binding of "sourse" names no resource of the document; unused`
	}) {
		t.Fatalf("the report: %+v", rep.Problems)
	}
}

// A newer edition of an OSCAL collection whose map keeps its uuid and names
// other controls replaces the mapping the earlier edition made: the claim
// the newer edition no longer makes is gone.
func TestNewerEditionReplacesAMapByItsUUID(t *testing.T) {
	st, w := builtIn(t)
	ctx := asOperator()
	const uuid = "5b0f4a2e-6f0c-4d51-9b8e-2c1d3a4b5c6d"
	edition := func(version string, targets ...string) *interchange.Document {
		return &interchange.Document{Format: interchange.OSCALMapping, Title: "Acme crosswalk", Version: version,
			Crosswalks: []interchange.Crosswalk{{Source: interchange.Resource{Key: "#src"}, Target: interchange.Resource{Key: "#tgt"},
				Maps: []interchange.Map{{Loc: "/mapping-collection/mappings/0/maps/0", UUID: uuid, Sources: []string{"A.8.20"}, Targets: targets,
					Relationship: cmv1.Relationship_RELATIONSHIP_SUPERSET_OF, Strength: interchange.NoStrength, ReverseStrength: 3,
					Justification: "Network security asks for all of them.", Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED}}}}}
	}
	bind := writes.ImportOptions{Bindings: map[string]string{"#src": "iso-27001-2022", "#tgt": "nist-ai-rmf-1.0"}}
	first, err := w.Import(ctx, edition("1", "GOVERN-1.5", "GOVERN-1.6", "GOVERN-1.7"), bind)
	if err != nil || first.Counts["mapping"].Created != 1 {
		t.Fatalf("first edition: %v %+v", err, first)
	}
	old := first.Changes[0].Name
	second, err := w.Import(ctx, edition("2", "GOVERN-1.5", "GOVERN-1.6"), bind)
	if err != nil || second.Counts["mapping"].Updated != 1 || second.Counts["mapping"].Created != 0 || len(second.Changes) != 2 ||
		second.Changes[0] != (writes.ImportedResource{Name: old, Action: "deleted"}) || second.Changes[1].Action != "replaced" {
		t.Fatalf("second edition: %v %+v %v", err, second.Counts["mapping"], second.Changes)
	}
	g := st.Snapshot()
	if _, ok := g.Mapping(strings.TrimPrefix(old, "mappings/")); ok {
		t.Fatal("the first edition's group is still there")
	}
	m, ok := g.Mapping(strings.TrimPrefix(second.Changes[1].Name, "mappings/"))
	if !ok || len(m.Mapping.Targets) != 2 || m.Mapping.Interchange == nil || m.Mapping.Interchange.MapUUID != uuid || m.Mapping.Provenance.Status != cmv1.MappingStatus_MAPPING_STATUS_APPROVED {
		t.Fatalf("the second edition's group: %t %+v", ok, m)
	}
	// The same edition again changes nothing.
	if rep, err := w.Import(ctx, edition("2", "GOVERN-1.5", "GOVERN-1.6"), bind); err != nil || rep.Revision != 0 {
		t.Fatalf("the second edition again: %v %+v", err, rep)
	}
}
