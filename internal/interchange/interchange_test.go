package interchange

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

func readFile(t *testing.T, name string, f Format) *Document {
	t.Helper()
	fh, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	doc, err := Read(fh, f, DefaultLimits)
	if err != nil {
		t.Fatalf("Read %s: %v", name, err)
	}
	return doc
}

// problems renders a document's problems, one per line, for matching.
func problems(d *Document) string {
	var b strings.Builder
	for _, p := range d.Problems {
		if p.Skipped {
			b.WriteString("skipped ")
		}
		b.WriteString(p.Loc + ": " + p.Message + "\n")
	}
	return b.String()
}

func wantProblem(t *testing.T, d *Document, fragments ...string) {
	t.Helper()
	all := problems(d)
	for _, f := range fragments {
		if !strings.Contains(all, f) {
			t.Errorf("no problem mentions %q; problems:\n%s", f, all)
		}
	}
}

func TestReadOSCALMappingPitfalls(t *testing.T) {
	d := readFile(t, "mapping-pitfalls.json", OSCALMapping)
	if d.Title != "Sample crosswalk with the pitfalls of published files" || d.Version != "0.3" {
		t.Errorf("title %q version %q", d.Title, d.Version)
	}
	wantProblem(t, d,
		"/mapping-collection/mappings: mappings is one object instead of an array",
		`key "tool-name" is not part of OSCAL provenance`,
		// mappings is one object: its pointers have no /0.
		`skipped /mapping-collection/mappings/maps/3/sources/0: statement items are not mapped`,
		`skipped /mapping-collection/mappings/maps/4/relationship: unknown relationship "loosely-related"`)
	for _, p := range d.Problems {
		if strings.Contains(p.Loc, "/mappings/0") {
			t.Errorf("a location that is not in the file: %s", p.Error())
		}
	}
	if m := d.Crosswalks[0].Maps[0]; m.Loc != "/mapping-collection/mappings/maps/0" {
		t.Errorf("a row of the one mapping is at %q", m.Loc)
	}
	if len(d.Crosswalks) != 1 {
		t.Fatalf("%d crosswalks", len(d.Crosswalks))
	}
	cw := d.Crosswalks[0]
	if cw.Source != (Resource{Key: "#res-27001", Title: "ISO/IEC 27001:2022", Version: "2022"}) || cw.Target != (Resource{Key: "#res-rmf", Title: "NIST AI RMF 1.0"}) {
		t.Errorf("resources %+v %+v", cw.Source, cw.Target)
	}
	if len(cw.Maps) != 4 {
		t.Fatalf("%d maps, want 4 (two skipped): %+v", len(cw.Maps), cw.Maps)
	}
	first := cw.Maps[0]
	// The mapping's status (draft) overrides the provenance's (complete);
	// method hybrid is IMPORTED; the strength comes from the namespaced prop.
	if first.Relationship != cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH || first.Strength != 4 || first.ReverseStrength != NoStrength ||
		first.Status != cmv1.MappingStatus_MAPPING_STATUS_DRAFT || first.Method != cmv1.MappingMethod_MAPPING_METHOD_IMPORTED ||
		first.Rationale != cmv1.Rationale_RATIONALE_SEMANTIC || first.Justification != "Both ask for policies that management approves." ||
		!slices.Equal(first.Sources, []string{"5.1"}) || !slices.Equal(first.Targets, []string{"GV-1.2"}) || first.Document != "" {
		t.Errorf("first map %+v", first)
	}
	want := &catalog.Interchange{Method: "hybrid", ConfidenceCategory: "medium", Qualifiers: []catalog.Qualifier{{Subject: "target",
		Predicate: "has-requirement", Category: "addressable", Description: "Only where the organization builds AI systems."}}}
	if !reflect.DeepEqual(first.Extras, want) {
		t.Errorf("kept for export: %+v, want %+v", first.Extras, want)
	}
	// EQUAL fixes the strength (10): the coverage is kept but gives none.
	if m := cw.Maps[1]; m.Relationship != cmv1.Relationship_RELATIONSHIP_EQUAL || m.Strength != NoStrength || m.Extras == nil || *m.Extras.Coverage != 0.9 {
		t.Errorf("equivalent-to with coverage 0.9: %+v", m)
	}
	if m := cw.Maps[2]; len(m.Targets) != 2 || m.Relationship != cmv1.Relationship_RELATIONSHIP_SUBSET_OF {
		t.Errorf("a map with two targets is read whole: %+v", m)
	}
	if m := cw.Maps[3]; m.Strength != 3 || m.Justification != "Written for the importer's tests." {
		t.Errorf("coverage object and the provenance's description: %+v", m)
	}
}

func TestReadNISTExampleCatalog(t *testing.T) {
	d := readFile(t, "nist-example-basic-catalog.json", OSCALCatalog)
	if len(d.Frameworks) != 1 {
		t.Fatalf("%d frameworks", len(d.Frameworks))
	}
	f := d.Frameworks[0]
	if f.Title != "Sample Security Catalog *for Demonstration* and Testing" || f.Version != "1.1" {
		t.Errorf("framework %q %q", f.Title, f.Version)
	}
	var ids []string
	for _, c := range f.Controls {
		ids = append(ids, c.ID+"<"+c.Parent)
	}
	// Labels are display ids where there are any; groups are not assessable.
	want := []string{"1<", "s1.1<1", "1.1.1<s1.1", "1.1.2<s1.1", "2<", "2.1<2", "2.1.1<2.1", "2.1.2<2.1"}
	if !slices.Equal(ids, want) {
		t.Errorf("controls %v, want %v", ids, want)
	}
	c := f.Controls[2]
	if !c.Assessable || f.Controls[0].Assessable || !slices.Contains(c.Aliases, "s1.1.1") || c.Title != "Information security roles and responsibilities" {
		t.Errorf("control %+v", c)
	}
	if !strings.Contains(c.Text, "information security responsibilities") || strings.Contains(c.Text, "{{") {
		t.Errorf("statement prose with parameters filled in: %q", c.Text)
	}
}

func TestReadOLIR(t *testing.T) {
	d := readFile(t, "olir.csv", OLIRCSV)
	wantProblem(t, d, `skipped line 10: unknown relationship "overlaps"`, "1 rows name a focal element without a relationship",
		`relationship "Intersects With" read as INTERSECTS_WITH (1 rows)`)
	maps := d.Crosswalks[0].Maps
	if len(maps) != 3 {
		t.Fatalf("%d rows: %+v", len(maps), maps)
	}
	// Headers with line breaks, "(optional)" and asterisks; tokens in any case.
	if m := maps[0]; m.Loc != "line 6" || m.Sources[0] != "5.1" || m.Targets[0] != "GV-1.2" || m.Relationship != cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH ||
		m.Strength != 4 || m.Rationale != cmv1.Rationale_RATIONALE_SEMANTIC || m.Justification != "Both ask for approved policies." {
		t.Errorf("row %+v", m)
	}
	if m := maps[1]; m.Relationship != cmv1.Relationship_RELATIONSHIP_EQUAL || m.Strength != 10 {
		t.Errorf("row %+v", m)
	}
	if m := maps[2]; m.Relationship != cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP || m.Rationale != cmv1.Rationale_RATIONALE_FUNCTIONAL {
		t.Errorf("row %+v", m)
	}
	if d.Crosswalks[0].Source.Key != "source" || d.Crosswalks[0].Target.Key != "target" {
		t.Errorf("sides %+v", d.Crosswalks[0])
	}
}

func TestReadSTRM(t *testing.T) {
	d := readFile(t, "strm.csv", STRMCSV)
	maps := d.Crosswalks[0].Maps
	if len(maps) != 4 || len(d.Problems) != 0 {
		t.Fatalf("%d rows, problems %s", len(maps), problems(d))
	}
	// A row with a blank FDE # continues the one above.
	if m := maps[1]; m.Sources[0] != "5.1" || m.Targets[0] != "GOVERN-1.3" || m.Relationship != cmv1.Relationship_RELATIONSHIP_SUBSET_OF || m.Strength != 6 {
		t.Errorf("continuation row %+v", m)
	}
	if m := maps[3]; m.Relationship != cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP {
		t.Errorf("row %+v", m)
	}
}

func TestReadCISOAssistant(t *testing.T) {
	d := readFile(t, "ciso.yaml", CISOYAML)
	wantProblem(t, d, `skipped line 53: unknown relationship "kinda"`)
	f := d.Frameworks[0]
	if f.Key != "urn:example:risk:framework:acme-ai" || f.Title != "ACME AI control set" || f.Version != "2" || f.Publisher != "ACME" {
		t.Errorf("framework %+v", f)
	}
	var ids []string
	for _, c := range f.Controls {
		ids = append(ids, c.ID+"<"+c.Parent)
	}
	// A ref_id that is not a well-formed id gives way to the URN's end.
	if want := []string{"GOV<", "GOV-1<GOV", "gov-2<GOV"}; !slices.Equal(ids, want) {
		t.Errorf("controls %v, want %v", ids, want)
	}
	maps := d.Crosswalks[0].Maps
	if len(maps) != 2 {
		t.Fatalf("%d mappings", len(maps))
	}
	if m := maps[0]; m.Sources[0] != "GOV-1" || m.Targets[0] != "govern-1.2" || m.Strength != 6 || m.Relationship != cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH {
		t.Errorf("mapping %+v", m)
	}
	if m := maps[1]; m.Strength != NoStrength || m.Relationship != cmv1.Relationship_RELATIONSHIP_SUPERSET_OF || m.Sources[0] != "gov-2" {
		t.Errorf("mapping with a null strength %+v", m)
	}
}

func TestReadRefusesMalformedDocuments(t *testing.T) {
	cases := []struct {
		name   string
		format Format
		in     string
		want   string
	}{
		{"truncated JSON", OSCALCatalog, `{"catalog": {"uuid": "x", "metadata": {"title": "T"`, "cut short"},
		{"not a catalog", OSCALCatalog, `{"profile": {}}`, `no "catalog"`},
		{"catalog without controls", OSCALCatalog, `{"catalog": {"uuid": "x", "metadata": {"title": "T"}}}`, "no groups or controls"},
		{"wrong type", OSCALMapping, `{"mapping-collection": {"mappings": [{"maps": "many"}]}}`, "expected"},
		{"trailing data", JSON, `{"source": "a", "target": "b", "mappings": []} {}`, "after the JSON document"},
		{"no header", OLIRCSV, "a,b,c\n1,2,3\n", "no header row"},
		{"bad quoting", STRMCSV, "FDE #,SCF #\n\"5.1,GV-1\n", "line"},
		{"YAML that is not a library", CISOYAML, "just: text\n", "no framework"},
		{"not YAML", CISOYAML, "objects: [unclosed\n", "malformed"},
	}
	for _, tc := range cases {
		_, err := Read(strings.NewReader(tc.in), tc.format, DefaultLimits)
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrSyntax mentioning %q", tc.name, err, tc.want)
		}
	}
	big := `{"source":"a","target":"b","mappings":[` + strings.Repeat(`{},`, 100) + `{}]}`
	var le *LimitError
	if _, err := Read(strings.NewReader(big), JSON, Limits{MaxBytes: 100}); !errors.As(err, &le) || le.What != "bytes" {
		t.Errorf("over the byte limit: %v", err)
	}
	if _, err := Read(strings.NewReader(big), JSON, Limits{MaxRows: 10}); !errors.As(err, &le) || le.What != "rows" {
		t.Errorf("over the row limit: %v", err)
	}
	exact := `{"source":"a","target":"b","mappings":[]}`
	if _, err := Read(strings.NewReader(exact), JSON, Limits{MaxBytes: int64(len(exact))}); err != nil {
		t.Errorf("a document of exactly the limit: %v", err)
	}
}

// sample is a framework and a crosswalk with every relationship, status
// and method, for the writers.
func sample() (*FrameworkFile, *CrosswalkFile) {
	fw := catalog.Framework{ID: "acme-sec", DisplayName: "ACME security", Version: "3", Publisher: "ACME", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD,
		Description: "Controls, \"quoted\", and more.", Tags: []catalog.Tag{{ID: "people", Title: "People"}}}
	controls := []catalog.Control{
		{ID: "5", Title: "Organizational", Kind: cmv1.ControlKind_CONTROL_KIND_CLAUSE},
		{ID: "5.1", Title: "Policies", Parent: "5", Assessable: true, Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL, Summary: "Line one.\nLine two, with a comma.", Tags: []string{"people"}},
		{ID: "A.5.2", Title: "Roles", Parent: "5", Assessable: true, Kind: cmv1.ControlKind_CONTROL_KIND_ANNEX_CONTROL, Aliases: []string{"R-2"}},
	}
	other := catalog.Framework{ID: "rmf", DisplayName: "RMF", Version: "1.0"}
	var ms []catalog.Mapping
	rels := []cmv1.Relationship{cmv1.Relationship_RELATIONSHIP_EQUAL, cmv1.Relationship_RELATIONSHIP_SUBSET_OF, cmv1.Relationship_RELATIONSHIP_SUPERSET_OF,
		cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP}
	strengths := [][2]int32{{10, 10}, {4, 10}, {10, 7}, {3, 6}, {0, 0}}
	for i, r := range rels {
		ms = append(ms, catalog.Mapping{ID: "m" + string(rune('a'+i)), Source: catalog.ControlRef{Framework: "acme-sec", Control: controls[1+i%2].ID},
			Target: catalog.ControlRef{Framework: "rmf", Control: []string{"GOVERN-1.1", "MAP-2.3", "MEASURE-1", "GOVERN-1.1x", "MANAGE-4.2"}[i]}, Relationship: r,
			Strength: strengths[i][0], ReverseStrength: strengths[i][1], Rationale: cmv1.Rationale(1 + i%3),
			Justification: "Reason " + string(rune('A'+i)) + ", with \"quotes\", commas\nand a line break.",
			Provenance: catalog.Provenance{Document: "Doc " + string(rune('A'+i)), Method: cmv1.MappingMethod(1 + i%2), Status: cmv1.MappingStatus(1 + i%4),
				UpdateTime: time.Date(2026, 3, i+1, 0, 0, 0, 0, time.UTC)}})
	}
	half := 0.5
	ms[1].Interchange = &catalog.Interchange{Method: "automation", ConfidencePercentage: &half, Coverage: &half, CoverageMethod: "arbitrary",
		Qualifiers: []catalog.Qualifier{{Subject: "source", Predicate: "has-incompatibility", Category: "blocked", Description: "Not for systems bought in."}}}
	ms[3].Interchange = &catalog.Interchange{ConfidenceCategory: "low"}
	// A coverage of the source, as a mapping stored the other way round has.
	seven := 0.7
	ms[2].Interchange = &catalog.Interchange{ReverseCoverage: &seven, ReverseCoverageMethod: "arbitrary"}
	// Group mappings: one that implies pairwise statements, one that does not.
	rmf := func(ids ...string) []catalog.ControlRef {
		var out []catalog.ControlRef
		for _, id := range ids {
			out = append(out, catalog.ControlRef{Framework: "rmf", Control: id})
		}
		return out
	}
	ms = append(ms, catalog.Mapping{ID: "mg1", Source: catalog.ControlRef{Framework: "acme-sec", Control: "5.1"}, Target: rmf("GOVERN-2")[0], Targets: rmf("GOVERN-2", "MAP-1"),
		Relationship: cmv1.Relationship_RELATIONSHIP_SUPERSET_OF, Strength: 10, ReverseStrength: 4, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC,
		Justification: "The policy covers both.", Provenance: catalog.Provenance{Document: "Doc G", Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED}},
		catalog.Mapping{ID: "mg2", Source: catalog.ControlRef{Framework: "acme-sec", Control: "5.1"}, Sources: []catalog.ControlRef{{Framework: "acme-sec", Control: "5.1"}, {Framework: "acme-sec", Control: "A.5.2"}},
			Target: rmf("MAP-1")[0], Targets: rmf("MAP-1", "MAP-2"), Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, Strength: 3, ReverseStrength: 2,
			Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "They meet.", Provenance: catalog.Provenance{Document: "Doc G", Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED}})
	return &FrameworkFile{Framework: fw, Controls: controls}, &CrosswalkFile{Source: fw, Target: other, Mappings: ms, Titles: map[catalog.ControlRef]string{}}
}

func TestCrosswalkFormatsReadBackExactly(t *testing.T) {
	_, cw := sample()
	for _, f := range CrosswalkFormats {
		want := cw.Mappings
		if f != OSCALMapping && f != JSON {
			// One control per side: a group gives what holds pairwise.
			want = pairwise(cw.Mappings)
			if len(want) != len(cw.Mappings) { // mg1 gives two rows, mg2 none
				t.Fatalf("%d pairwise rows of %d mappings", len(want), len(cw.Mappings))
			}
			if r := want[len(want)-1]; r.Relationship != cmv1.Relationship_RELATIONSHIP_SUPERSET_OF || r.Target.Control != "MAP-1" ||
				!strings.HasPrefix(r.Justification, "Implied by group mapping mappings/mg1 (5.1 SUPERSET_OF {GOVERN-2, MAP-1}): ") {
				t.Fatalf("the row a group implies: %+v", r)
			}
		}
		var buf bytes.Buffer
		if err := WriteCrosswalk(&buf, f, cw); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got, ok := Detect("export"+f.Extension(), buf.Bytes()); !ok || got != f {
			t.Errorf("%s: detected as %q", f, got)
		}
		d, err := Read(&buf, f, DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(d.Problems) > 0 || len(d.Crosswalks) != 1 || len(d.Crosswalks[0].Maps) != len(want) {
			t.Fatalf("%s: problems %s, %+v", f, problems(d), d.Crosswalks)
		}
		for i, m := range want {
			// OSCAL orders maps by method and status.
			j := slices.IndexFunc(d.Crosswalks[0].Maps, func(x Map) bool {
				return x.Justification == m.Justification && strings.EqualFold(strings.TrimPrefix(x.Targets[0], "id-"), Token(m.Target.Control)) ||
					x.Justification == m.Justification && strings.EqualFold(x.Targets[0], m.Target.Control)
			})
			if j < 0 {
				t.Fatalf("%s: row %d missing", f, i)
			}
			got := d.Crosswalks[0].Maps[j]
			srcs, tgts := got.Sources, got.Targets
			if f == OSCALMapping { // ids as tokens: they resolve through the catalog's tokens
				if srcs[0] != Token(m.Source.Control) {
					t.Errorf("%s: source token %q", f, srcs[0])
				}
			} else if srcs[0] != m.Source.Control && !strings.EqualFold(srcs[0], m.Source.Control) {
				t.Errorf("%s: source %q, want %q", f, srcs[0], m.Source.Control)
			}
			if len(tgts) != len(m.TargetSide()) || len(srcs) != len(m.SourceSide()) ||
				!strings.EqualFold(strings.TrimPrefix(tgts[0], "id-"), m.Target.Control) && tgts[0] != Token(m.Target.Control) {
				t.Errorf("%s: sides %v %v, want %v %v", f, srcs, tgts, m.SourceSide(), m.TargetSide())
			}
			if (f == OSCALMapping || f == JSON) && !reflect.DeepEqual(got.Extras, m.Interchange) {
				t.Errorf("%s row %d: extras %+v, want %+v", f, i, got.Extras, m.Interchange)
			}
			if got.Relationship != m.Relationship || got.Strength != m.Strength || got.ReverseStrength != m.ReverseStrength || got.Rationale != m.Rationale ||
				got.Justification != m.Justification || got.Status != m.Provenance.Status || got.Method != m.Provenance.Method || got.Document != m.Provenance.Document {
				t.Errorf("%s row %d: %+v, want %+v", f, i, got, m)
			}
		}
	}
}

func TestFrameworkFormatsReadBackExactly(t *testing.T) {
	ff, _ := sample()
	for _, f := range FrameworkFormats {
		var buf bytes.Buffer
		if err := WriteFramework(&buf, f, ff); err != nil {
			t.Fatal(err)
		}
		d, err := Read(&buf, f, DefaultLimits)
		if err != nil || len(d.Problems) > 0 {
			t.Fatalf("%s: %v %s", f, err, problems(d))
		}
		got := d.Frameworks[0]
		if got.ID != "acme-sec" || got.Title != ff.Framework.DisplayName || got.Version != "3" || got.Publisher != "ACME" || got.Description != ff.Framework.Description {
			t.Errorf("%s: framework %+v", f, got)
		}
		if len(got.Controls) != len(ff.Controls) {
			t.Fatalf("%s: %d controls", f, len(got.Controls))
		}
		for i, c := range ff.Controls {
			g := got.Controls[i]
			if g.ID != c.ID || g.Parent != c.Parent || g.Title != c.Title || g.Text != c.Summary || g.Assessable != c.Assessable {
				t.Errorf("%s: control %+v, want %+v", f, g, c)
			}
			if f == OSCALCatalog && (g.Kind != c.Kind || !slices.Equal(g.Tags, c.Tags) || !slices.Contains(g.Aliases, Token(c.ID)) && Token(c.ID) != c.ID) {
				t.Errorf("oscal: kind, tags or token alias lost: %+v", g)
			}
		}
		if f == OSCALCatalog && (got.Kind != cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD || !slices.Equal(got.Tags, ff.Framework.Tags)) {
			t.Errorf("oscal: framework kind or tags lost: %+v", got)
		}
	}
}

// edgeSample is sample() with what OSCAL's datatypes do not take as it
// is: no version, a description of several lines, white space and line
// breaks in titles and prop values, a coverage Go writes with an exponent,
// a qualifier without its required values.
func edgeSample() (*FrameworkFile, *CrosswalkFile) {
	ff, cw := sample()
	fw := &ff.Framework
	fw.Version, fw.Revision = "", 12
	fw.Description = "First paragraph.\n\nSecond, with *markup*."
	fw.Publisher, fw.DisplayName = " ACME\n", "ACME\nsecurity "
	fw.Tags = append(fw.Tags, catalog.Tag{ID: "ops", Title: "Operations,\nday to day"})
	ff.Controls[1].Title = "Policies\nfor security"
	ff.Controls[2].Aliases = append(ff.Controls[2].Aliases, " R 2 ")
	cw.Source, cw.Target.Version = *fw, ""
	tiny, big := 1e-7, 0.9999999999
	cw.Mappings[1].Interchange = &catalog.Interchange{ConfidencePercentage: &big, Coverage: &tiny, CoverageMethod: " arbitrary\n",
		Qualifiers: []catalog.Qualifier{{Subject: "source", Description: "No predicate, no category."}}}
	cw.Mappings[0].Provenance.Document = "Doc\nA "
	return ff, cw
}

func TestOSCALExportsFollowTheMetaschema(t *testing.T) {
	s := loadSchema(t)
	for name, in := range map[string]func() (*FrameworkFile, *CrosswalkFile){"sample": sample, "edge cases": edgeSample} {
		ff, cw := in()
		var cat, maps bytes.Buffer
		if err := WriteFramework(&cat, OSCALCatalog, ff); err != nil {
			t.Fatal(err)
		}
		if err := WriteCrosswalk(&maps, OSCALMapping, cw); err != nil {
			t.Fatal(err)
		}
		if errs := s.conform(t, "catalog", cat.Bytes()); len(errs) > 0 {
			t.Errorf("%s: catalog export:\n%s", name, strings.Join(errs, "\n"))
		}
		if errs := s.conform(t, "mapping-collection", maps.Bytes()); len(errs) > 0 {
			t.Errorf("%s: mapping export:\n%s", name, strings.Join(errs, "\n"))
		}
	}
	// The checker finds what the pitfalls break.
	raw, _ := os.ReadFile("testdata/mapping-pitfalls.json")
	errs := strings.Join(s.conform(t, "mapping-collection", raw), "\n")
	for _, want := range []string{`"loosely-related" is not one of`, `"tool-name" is not part of`, `"res-27001" is not a valid uuid`} {
		if !strings.Contains(errs, want) {
			t.Errorf("the metaschema check misses %s; it found:\n%s", want, errs)
		}
	}
	bad := `{"catalog": {"uuid": "74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724", "metadata": {"title": "T", "version": "1", "oscal-version": "1.2.2"},
		"controls": [{"id": "5.1", "title": "Policies"}]}}`
	errs = strings.Join(s.conform(t, "catalog", []byte(bad)), "\n")
	for _, want := range []string{`/catalog/controls/0/id: "5.1" is not a valid token`, `/catalog/metadata: "last-modified" is required`} {
		if !strings.Contains(errs, want) {
			t.Errorf("the metaschema check misses %s; it found:\n%s", want, errs)
		}
	}
	// What exports wrote before: an empty version, a description of two
	// lines in a prop, a title of two lines, a time without its zone, a
	// decimal with an exponent, a number as a string.
	old := `{"catalog": {"uuid": "74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724", "metadata": {"title": "T\nU", "last-modified": "2026-03-01T10:00:00",
		"version": "", "oscal-version": "1.2.2", "props": [{"name": "description", "ns": "https://github.com/controlmap/controlmap/ns/oscal",
		"value": "Line one.\nLine two."}, {"name": "publisher", "ns": "not a uri", "value": " ACME"}]},
		"controls": [{"id": "a.5.1", "title": "Policies"}]}}`
	errs = strings.Join(s.conform(t, "catalog", []byte(old)), "\n")
	for _, want := range []string{`/catalog/metadata/version: "" is not a valid string`, `/catalog/metadata/props/0/value: "Line one.\nLine two." is not a valid string`,
		`/catalog/metadata/title: "T\nU" is not a valid markup-line`, `/catalog/metadata/last-modified: "2026-03-01T10:00:00" is not a valid date-time-with-timezone`,
		`/catalog/metadata/props/1/ns: "not a uri" is not a valid uri`, `/catalog/metadata/props/1/value: " ACME" is not a valid string`} {
		if !strings.Contains(errs, want) {
			t.Errorf("the metaschema check misses %s; it found:\n%s", want, errs)
		}
	}
	oldMaps := `{"mapping-collection": {"uuid": "7d1f3c52-0b7e-4c41-9f1e-2b8f4a6d9c10", "metadata": {"title": "T", "last-modified": "2026-03-01T10:00:00Z",
		"version": "_", "oscal-version": "1.2.2"}, "provenance": {"method": "human", "matching-rationale": "semantic", "status": "complete", "mapping-description": "d"},
		"mappings": [{"uuid": "0b9ad7f1-54e3-4d8b-9d25-3c1c2f7a6e01", "source-resource": {"type": "catalog", "href": "#a"}, "target-resource": {"type": "catalog", "href": "#b"},
		"maps": [{"uuid": "9b0c5a1e-1111-4c2a-8a9e-000000000001", "relationship": "subset-of", "sources": [{"type": "control", "id-ref": "x"}],
		"targets": [{"type": "control", "id-ref": "y"}], "coverage": {"target-coverage": 1e-07}, "confidence-score": {"percentage": "0.5"}}]}]}}`
	errs = strings.Join(s.conform(t, "mapping-collection", []byte(oldMaps)), "\n")
	for _, want := range []string{`/mapping-collection/mappings/0/maps/0/coverage/target-coverage: 1e-07 is not a valid decimal`,
		`/mapping-collection/mappings/0/maps/0/confidence-score/percentage: "0.5" is not a JSON number (decimal)`} {
		if !strings.Contains(errs, want) {
			t.Errorf("the metaschema check misses %s; it found:\n%s", want, errs)
		}
	}
	// The same content exports the same uuids.
	_, cw := sample()
	var maps, again bytes.Buffer
	if err := WriteCrosswalk(&maps, OSCALMapping, cw); err != nil {
		t.Fatal(err)
	}
	if err := WriteCrosswalk(&again, OSCALMapping, cw); err != nil {
		t.Fatal(err)
	}
	if again.String() != maps.String() {
		t.Error("exporting the same crosswalk twice gave different documents")
	}
}

func TestToken(t *testing.T) {
	for in, want := range map[string]string{"A.5.1": "a.5.1", "5.1": "id-5.1", "GOVERN-1.1": "govern-1.1", "AC-2(1)": "ac-2_1_", "_x": "_x", "": "id-"} {
		if got := Token(in); got != want || !ValidToken(got) {
			t.Errorf("Token(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExtensionsNameEveryFormatApart(t *testing.T) {
	want := map[Format]string{OSCALCatalog: ".oscal.json", OSCALMapping: ".oscal.json", OLIRCSV: ".olir.csv", STRMCSV: ".strm.csv", CISOYAML: ".ciso.yaml", JSON: ".json"}
	seen := map[string]Format{}
	for _, f := range CrosswalkFormats {
		ext := f.Extension()
		if ext != want[f] {
			t.Errorf("%s: extension %q, want %q", f, ext, want[f])
		}
		// The service names a crosswalk export {a}_{b}{ext}: no two formats
		// of a crosswalk may share it.
		if prev, dup := seen[ext]; dup {
			t.Errorf("%s and %s share the extension %q", prev, f, ext)
		}
		seen[ext] = f
	}
	for _, f := range FrameworkFormats {
		if f.Extension() != want[f] {
			t.Errorf("%s: extension %q, want %q", f, f.Extension(), want[f])
		}
	}
	// A sheet whose head has no header row yet is known by its name.
	for _, f := range []Format{OLIRCSV, STRMCSV} {
		if got, ok := Detect("a_b"+f.Extension(), []byte("Title,,\n")); !ok || got != f {
			t.Errorf("%s: a file named a_b%s detected as %q", f, f.Extension(), got)
		}
	}
	if got, ok := Detect("a_b"+CISOYAML.Extension(), []byte("urn: x\n")); !ok || got != CISOYAML {
		t.Errorf("ciso-yaml: detected as %q", got)
	}
}

// TestCISOExportsLeaveOutWhatTheyDoNotCarry: CISO Assistant's loader
// checks which keys of objects exist, so a framework library has no
// mapping set keys and a mapping library no framework key; nothing is
// written as null.
func TestCISOExportsLeaveOutWhatTheyDoNotCarry(t *testing.T) {
	ff, cw := sample()
	cases := []struct {
		name         string
		write        func(*bytes.Buffer) error
		want, absent []string
	}{
		{"framework", func(b *bytes.Buffer) error { return WriteFramework(b, CISOYAML, ff) }, []string{"framework"},
			[]string{"requirement_mapping_sets", "requirement_mapping_set"}},
		{"crosswalk", func(b *bytes.Buffer) error { return WriteCrosswalk(b, CISOYAML, cw) }, []string{"requirement_mapping_sets"},
			[]string{"framework", "requirement_mapping_set"}},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		if err := tc.write(&buf); err != nil {
			t.Fatal(err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(buf.Bytes(), &root); err != nil {
			t.Fatal(err)
		}
		var lib struct {
			Objects map[string]yaml.Node `yaml:"objects"`
		}
		if err := root.Decode(&lib); err != nil {
			t.Fatal(err)
		}
		for _, k := range tc.want {
			if _, ok := lib.Objects[k]; !ok {
				t.Errorf("%s export: objects.%s is missing", tc.name, k)
			}
		}
		for _, k := range tc.absent {
			if _, ok := lib.Objects[k]; ok {
				t.Errorf("%s export: objects.%s is present; it must be left out", tc.name, k)
			}
		}
		var nulls []string
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				nulls = append(nulls, fmt.Sprintf("line %d", n.Line))
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(&root)
		if len(nulls) > 0 {
			t.Errorf("%s export: null values at %v:\n%s", tc.name, nulls, buf.String())
		}
	}
}

// TestCoverageGivesAStrengthOnlyWhereJudgementDoes: a map with a coverage
// and no strength prop takes its strength from the coverage only for
// SUBSET_OF and INTERSECTS_WITH (1 to 9); the relationships that fix the
// strength leave it to the fixed value, which a strict import then applies
// (superset-of with target-coverage 0.5 is not strength 5).
func TestCoverageGivesAStrengthOnlyWhereJudgementDoes(t *testing.T) {
	cases := []struct {
		rel      string
		coverage string
		want     int32
	}{
		{"subset-of", "0.5", 5}, {"subset-of", "0", 1}, {"subset-of", "1", 9}, {"subset-of", `{"target-coverage": 0.34}`, 3},
		{"intersects-with", "0.96", 9}, {"intersects-with", "0.04", 1},
		{"superset-of", "0.5", NoStrength}, {"equivalent-to", "0.5", NoStrength}, {"equal-to", "0.2", NoStrength},
		{"no-relationship", "0.5", NoStrength}, {"no-relationship", "0", NoStrength},
	}
	for _, tc := range cases {
		doc := `{"mapping-collection": {"uuid": "7d1f3c52-0b7e-4c41-9f1e-2b8f4a6d9c10", "provenance": {"method": "human", "matching-rationale": "semantic",
			"status": "complete", "mapping-description": "x"}, "mappings": [{"uuid": "0b9ad7f1-54e3-4d8b-9d25-3c1c2f7a6e01",
			"source-resource": {"type": "catalog", "href": "#a"}, "target-resource": {"type": "catalog", "href": "#b"},
			"maps": [{"uuid": "9b0c5a1e-1111-4c2a-8a9e-000000000001", "relationship": "` + tc.rel + `", "sources": [{"type": "control", "id-ref": "x"}],
			"targets": [{"type": "control", "id-ref": "y"}], "coverage": ` + tc.coverage + `}]}]}}`
		d, err := Read(strings.NewReader(doc), OSCALMapping, DefaultLimits)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.rel, tc.coverage, err)
		}
		m := d.Crosswalks[0].Maps[0]
		if m.Strength != tc.want || m.ReverseStrength != NoStrength {
			t.Errorf("%s with coverage %s: strength %d, reverse %d; want %d, none", tc.rel, tc.coverage, m.Strength, m.ReverseStrength, tc.want)
		}
		if lo, hi := catalog.StrengthRange(m.Relationship); m.Strength != NoStrength && (m.Strength < lo || m.Strength > hi) {
			t.Errorf("%s: strength %d outside the relationship's %d-%d", tc.rel, m.Strength, lo, hi)
		}
		if m.Extras == nil || m.Extras.Coverage == nil {
			t.Errorf("%s: the coverage is not kept for export", tc.rel)
		}
	}
	// Our reverse-coverage prop, read back: a reverse strength where the
	// relationship read back leaves it to judgement.
	for _, tc := range []struct {
		rel      string
		coverage string
		want     int32
	}{{"superset-of", "0.7", 7}, {"intersects-with", "0", 1}, {"subset-of", "0.5", NoStrength}, {"equal-to", "0.5", NoStrength}, {"no-relationship", "0.5", NoStrength}} {
		doc := `{"mapping-collection": {"uuid": "7d1f3c52-0b7e-4c41-9f1e-2b8f4a6d9c10", "provenance": {"method": "human", "matching-rationale": "semantic",
			"status": "complete", "mapping-description": "x"}, "mappings": [{"uuid": "0b9ad7f1-54e3-4d8b-9d25-3c1c2f7a6e01",
			"source-resource": {"type": "catalog", "href": "#a"}, "target-resource": {"type": "catalog", "href": "#b"},
			"maps": [{"uuid": "9b0c5a1e-1111-4c2a-8a9e-000000000001", "relationship": "` + tc.rel + `", "sources": [{"type": "control", "id-ref": "x"}],
			"targets": [{"type": "control", "id-ref": "y"}], "props": [{"name": "reverse-coverage", "ns": "` + Namespace + `", "value": "` + tc.coverage + `"}]}]}]}}`
		d, err := Read(strings.NewReader(doc), OSCALMapping, DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		m := d.Crosswalks[0].Maps[0]
		if m.ReverseStrength != tc.want || m.Strength != NoStrength || m.Extras == nil || m.Extras.ReverseCoverage == nil {
			t.Errorf("%s with reverse-coverage %s: reverse strength %d, strength %d, extras %+v; want %d", tc.rel, tc.coverage, m.ReverseStrength, m.Strength, m.Extras, tc.want)
		}
	}
}

// TestOSCALProblemsAreLocatedAtTheField: a method, status or rationale a map
// inherits is reported where the file gives it (the provenance, the
// mapping), naming the map it skips.
func TestOSCALProblemsAreLocatedAtTheField(t *testing.T) {
	doc := func(prov, mapping, mp string) string {
		return `{"mapping-collection": {"uuid": "7d1f3c52-0b7e-4c41-9f1e-2b8f4a6d9c10", "provenance": {"matching-rationale": "semantic",
			"mapping-description": "x"` + prov + `}, "mappings": [{"uuid": "0b9ad7f1-54e3-4d8b-9d25-3c1c2f7a6e01"` + mapping + `,
			"source-resource": {"type": "catalog", "href": "#a"}, "target-resource": {"type": "catalog", "href": "#b"},
			"maps": [{"uuid": "9b0c5a1e-1111-4c2a-8a9e-000000000001", "relationship": "subset-of", "sources": [{"type": "control", "id-ref": "x"}],
			"targets": [{"type": "control", "id-ref": "y"}]` + mp + `}]}]}}`
	}
	cases := []struct {
		name, in, want string
	}{
		{"provenance method", doc(`, "method": "by hand", "status": "complete"`, "", ""),
			`skipped /mapping-collection/provenance/method: unknown method "by hand" (human, automation, hybrid); the map at /mapping-collection/mappings/0/maps/0 is skipped`},
		{"provenance status", doc(`, "method": "human", "status": "final"`, "", ""),
			`skipped /mapping-collection/provenance/status: unknown status "final"`},
		{"mapping status", doc(`, "method": "human", "status": "complete"`, `, "status": "final"`, ""),
			`skipped /mapping-collection/mappings/0/status: unknown status "final"`},
		{"mapping method", doc(`, "method": "human", "status": "complete"`, `, "method": "by hand"`, ""),
			`/mapping-collection/mappings/0/method: method "by hand" is not human`},
		{"mapping rationale", doc(`, "method": "human", "status": "complete"`, `, "matching-rationale": "gut"`, ""),
			`skipped /mapping-collection/mappings/0/matching-rationale: unknown matching-rationale "gut"`},
		{"map rationale", doc(`, "method": "human", "status": "complete"`, "", `, "matching-rationale": "gut"`),
			`skipped /mapping-collection/mappings/0/maps/0/matching-rationale: unknown matching-rationale "gut" (syntactic, semantic, functional)` + "\n"},
	}
	for _, tc := range cases {
		d, err := Read(strings.NewReader(tc.in), OSCALMapping, DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := problems(d); !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems\n%s\nwant %s", tc.name, got, tc.want)
		}
	}
	// One object instead of an array: the field of the mapping is at
	// /mappings/status.
	one := strings.Replace(strings.Replace(doc(`, "method": "human", "status": "complete"`, `, "status": "final"`, ""), `"mappings": [`, `"mappings": `, 1), `}]}]}}`, `}]}}}`, 1)
	d, err := Read(strings.NewReader(one), OSCALMapping, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, d, `skipped /mapping-collection/mappings/status: unknown status "final" (complete, not-complete, draft, deprecated, superseded); the map at /mapping-collection/mappings/maps/0 is skipped`)
}

// TestInvalidTokensAreWarnedOncePerKind: ids that are not OSCAL tokens are
// read as written, with one warning per kind (how many, the first and
// where), not one per row.
func TestInvalidTokensAreWarnedOncePerKind(t *testing.T) {
	cat := `{"catalog": {"uuid": "74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724", "metadata": {"title": "T", "version": "1"},
		"groups": [{"id": "5", "title": "Organizational", "controls": [{"id": "5.1", "title": "Policies"}, {"id": "5.2", "title": "Roles"},
		{"id": "a.5.3", "title": "Duties"}]}, {"id": "g-6", "title": "People", "controls": [{"id": "6.1", "title": "Screening"}]}]}}`
	d, err := Read(strings.NewReader(cat), OSCALCatalog, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := "/catalog/groups/0/id: 1 group id is not a valid OSCAL token (a token starts with a letter or '_'), read as written; the first is \"5\", here\n" +
		"/catalog/groups/0/controls/0/id: 3 control ids are not valid OSCAL tokens (a token starts with a letter or '_'), read as written; the first is \"5.1\", here\n"
	if got := problems(d); got != want {
		t.Errorf("problems\n%s\nwant\n%s", got, want)
	}
	if ids := len(d.Frameworks[0].Controls); ids != 6 {
		t.Errorf("%d controls read, want all 6", ids)
	}
	raw, err := os.ReadFile("testdata/mapping-pitfalls.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err = Read(bytes.NewReader(raw), OSCALMapping, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var warned []Problem
	for _, p := range d.Problems {
		if strings.Contains(p.Message, "OSCAL token") {
			warned = append(warned, p)
		}
	}
	// 5.1, 5.31 and 5.9 (twice, one of them in a map skipped for its
	// relationship before its items are read).
	if len(warned) != 1 || warned[0].Loc != "/mapping-collection/mappings/maps/0/sources/0/id-ref" ||
		!strings.HasPrefix(warned[0].Message, `3 id-refs are not`) || !strings.Contains(warned[0].Message, `the first is "5.1"`) || warned[0].Skipped {
		t.Errorf("token warnings %+v", warned)
	}
}

// groupCrosswalk has group mappings that imply the same pair twice, one
// that implies a pair a direct mapping has, one that implies another
// relationship of a pair, and a group NO_RELATIONSHIP.
func groupCrosswalk() *CrosswalkFile {
	ref := func(fw string, ids ...string) []catalog.ControlRef {
		var out []catalog.ControlRef
		for _, id := range ids {
			out = append(out, catalog.ControlRef{Framework: fw, Control: id})
		}
		return out
	}
	prov := catalog.Provenance{Document: "Doc", Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED}
	group := func(id string, src, tgt []catalog.ControlRef, r cmv1.Relationship, s, rs int32) catalog.Mapping {
		m := catalog.Mapping{ID: id, Source: src[0], Target: tgt[0], Relationship: r, Strength: s, ReverseStrength: rs,
			Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "Why " + id + ".", Provenance: prov}
		if len(src) > 1 {
			m.Sources = src
		}
		if len(tgt) > 1 {
			m.Targets = tgt
		}
		return m
	}
	const (
		eq   = cmv1.Relationship_RELATIONSHIP_EQUAL
		sub  = cmv1.Relationship_RELATIONSHIP_SUBSET_OF
		sup  = cmv1.Relationship_RELATIONSHIP_SUPERSET_OF
		in   = cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH
		none = cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP
	)
	a, b := "acme-sec", "rmf"
	ms := []catalog.Mapping{
		// Listed before the one with the lower id: the kept row is g1's.
		group("g2", ref(a, "5.1"), ref(b, "X", "Z"), eq, 10, 5),
		group("g1", ref(a, "5.1"), ref(b, "X", "Y"), sup, 10, 4),
		// A direct mapping of a pair g1 implies: it decides.
		group("d1", ref(a, "5.1"), ref(b, "Y"), in, 6, 6),
		// {5.1, 5.2} SUBSET_OF Z: 5.1 SUBSET_OF Z, where g2 implies SUPERSET_OF.
		group("g3", ref(a, "5.1", "5.2"), ref(b, "Z"), sub, 3, 10),
		// Disjoint unions: every member pair is disjoint.
		group("g4", ref(a, "5.2", "5.3"), ref(b, "V", "W"), none, 0, 0),
	}
	return &CrosswalkFile{Source: catalog.Framework{ID: a, DisplayName: "ACME"}, Target: catalog.Framework{ID: b, DisplayName: "RMF"},
		Mappings: ms, Titles: map[catalog.ControlRef]string{}}
}

func TestPairwiseWritesEachPairOnce(t *testing.T) {
	cw := groupCrosswalk()
	rows := pairwise(cw.Mappings)
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s %s %s %d/%d %s", r.Source.Control, strings.TrimPrefix(r.Relationship.String(), "RELATIONSHIP_"), r.Target.Control,
			r.Strength, r.ReverseStrength, r.ID))
	}
	want := []string{
		"5.1 SUPERSET_OF X 10/1 g1", // implied by g2 and g1: g1's, at g2's place
		"5.1 SUPERSET_OF Z 10/1 g2", // g3 implies SUBSET_OF: g2 has the lower id
		"5.1 INTERSECTS_WITH Y 6/6 d1",
		"5.2 SUBSET_OF Z 1/10 g3",
		"5.2 NO_RELATIONSHIP V 0/0 g4", "5.2 NO_RELATIONSHIP W 0/0 g4", "5.3 NO_RELATIONSHIP V 0/0 g4", "5.3 NO_RELATIONSHIP W 0/0 g4",
	}
	if !slices.Equal(got, want) {
		t.Errorf("pairwise rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	just := map[string]string{}
	for _, r := range rows {
		just[r.Source.Control+" "+r.Target.Control] = r.Justification
	}
	for pair, want := range map[string]string{
		"5.1 X": "Implied by group mapping mappings/g1 (5.1 SUPERSET_OF {X, Y}): Why g1. Also implied by group mapping mappings/g2 (5.1 EQUAL {X, Z}): Why g2.",
		"5.1 Z": "Implied by group mapping mappings/g2 (5.1 EQUAL {X, Z}): Why g2. Group mapping mappings/g3 ({5.1, 5.2} SUBSET_OF Z) implies SUBSET_OF of this pair instead: Why g3.",
		"5.1 Y": "Why d1.",
		"5.3 W": "Implied by group mapping mappings/g4 ({5.2, 5.3} NO_RELATIONSHIP {V, W}): Why g4.",
	} {
		if just[pair] != want {
			t.Errorf("%s: justification %q, want %q", pair, just[pair], want)
		}
	}
	// Each pairwise format reads back with no problem and no pair twice,
	// in either direction (what a strict import refuses), with the
	// strengths each relationship allows.
	for _, f := range []Format{OLIRCSV, STRMCSV, CISOYAML} {
		var buf bytes.Buffer
		if err := WriteCrosswalk(&buf, f, cw); err != nil {
			t.Fatal(err)
		}
		d, err := Read(&buf, f, DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(d.Problems) > 0 {
			t.Errorf("%s: problems\n%s", f, problems(d))
		}
		seen := map[string]string{}
		for _, m := range d.Crosswalks[0].Maps {
			k := strings.ToLower(m.Sources[0] + " | " + m.Targets[0])
			if strings.ToLower(m.Targets[0]) < strings.ToLower(m.Sources[0]) {
				k = strings.ToLower(m.Targets[0] + " | " + m.Sources[0])
			}
			if prev, dup := seen[k]; dup {
				t.Errorf("%s: %s and %s are mapped already at %s", f, m.Sources[0], m.Targets[0], prev)
			}
			seen[k] = m.Loc
			if lo, hi := catalog.StrengthRange(m.Relationship); m.Strength < lo || m.Strength > hi {
				t.Errorf("%s: %s %s: strength %d outside %d-%d", f, m.Sources[0], m.Targets[0], m.Strength, lo, hi)
			}
			if lo, hi := catalog.ReverseStrengthRange(m.Relationship); m.ReverseStrength < lo || m.ReverseStrength > hi {
				t.Errorf("%s: %s %s: reverse strength %d outside %d-%d", f, m.Sources[0], m.Targets[0], m.ReverseStrength, lo, hi)
			}
		}
		if len(seen) != len(want) {
			t.Errorf("%s: %d rows read back, want %d", f, len(seen), len(want))
		}
	}
}

// TestMetaschemaDatatypesAreAllChecked: every datatype the vendored
// modules name is one the check knows, so no value goes unchecked.
func TestMetaschemaDatatypesAreAllChecked(t *testing.T) {
	s := loadSchema(t)
	used := map[string]bool{}
	for _, defs := range []map[string]*xnode{s.assemblies, s.fields, s.flags} {
		for _, d := range defs {
			var walk func(n *xnode)
			walk = func(n *xnode) {
				if l := n.XMLName.Local; l == "define-flag" || l == "define-field" {
					used[asType(n)] = true
				}
				for i := range n.Nodes {
					walk(&n.Nodes[i])
				}
			}
			walk(d)
		}
	}
	for typ := range used {
		if datatypes[typ] == nil {
			t.Errorf("datatype %q of the metaschema is not checked", typ)
		}
	}
	for _, typ := range []string{"string", "token", "uuid", "uri", "uri-reference", "date-time-with-timezone", "decimal", "markup-line", "markup-multiline"} {
		if !used[typ] {
			t.Errorf("the vendored metaschema names no %s: is it loaded?", typ)
		}
	}
	num := func(s string) json.Number { return json.Number(s) }
	for _, c := range []struct {
		typ  string
		v    any
		good bool
	}{
		{"string", "a b", true}, {"string", "", false}, {"string", " a", false}, {"string", "a\tb", true}, {"string", "a\nb", false}, {"string", "a\u00a0", false},
		{"token", "a.5_1-x", true}, {"token", "5.1", false}, {"token", "_x", true}, {"token", "a b", false},
		{"uuid", "74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724", true}, {"uuid", "74c8ba1e-5cd4-1ad1-bbfd-d888e2f6c724", false},
		{"uri", "https://example.org/ns", true}, {"uri", "#abc", false}, {"uri-reference", "#abc", true}, {"uri-reference", "", false},
		{"date-time-with-timezone", "2026-03-01T10:00:00Z", true}, {"date-time-with-timezone", "2026-03-01T10:00:00.5+05:30", true},
		{"date-time-with-timezone", "2026-03-01T10:00:00", false}, {"date-time-with-timezone", "2026-02-30T10:00:00Z", false},
		{"decimal", num("0.5"), true}, {"decimal", num("1e-07"), false}, {"decimal", "0.5", false},
		{"markup-line", "A *title*", true}, {"markup-line", "A\ntitle", false}, {"markup-multiline", "A\n\ntext", true},
		{"integer", num("-3"), true}, {"positive-integer", num("0"), false}, {"non-negative-integer", num("0"), true}, {"boolean", true, true},
	} {
		if got := datatypes[c.typ](c.v) == ""; got != c.good {
			t.Errorf("%s %q: valid %v, want %v", c.typ, c.v, got, c.good)
		}
	}
	// ValidToken is the metaschema's token.
	for _, v := range []string{"a", "_", "a.5.1", "5.1", "a b", "é2", "x²", "Ⅻ", "a:b", ""} {
		if ValidToken(v) != tokenPattern.MatchString(v) {
			t.Errorf("ValidToken(%q) = %v, the metaschema's pattern says %v", v, ValidToken(v), !ValidToken(v))
		}
	}
}

// TestOSCALCatalogRoundTripOfWhatItsDatatypesCannotHold: a framework
// without a version exports a derived one, marked, and reads back without;
// a description of several lines goes in the metadata's remarks and reads
// back whole; a description in a prop (earlier exports) is still read.
func TestOSCALCatalogRoundTripOfWhatItsDatatypesCannotHold(t *testing.T) {
	ff, _ := edgeSample()
	var buf bytes.Buffer
	if err := WriteFramework(&buf, OSCALCatalog, ff); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Catalog struct {
			Metadata oscalMetadata `json:"metadata"`
		} `json:"catalog"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	md := doc.Catalog.Metadata
	if v, _ := prop(md.Props, Namespace, "version-derived"); md.Version != "revision 12" || v != "true" {
		t.Errorf("metadata version %q, version-derived %q", md.Version, v)
	}
	if md.Remarks != ff.Framework.Description || md.Title != "ACME security" {
		t.Errorf("remarks %q, title %q", md.Remarks, md.Title)
	}
	if _, found := prop(md.Props, Namespace, "description"); found {
		t.Error("the description is in a prop as well")
	}
	d, err := Read(&buf, OSCALCatalog, DefaultLimits)
	if err != nil || len(d.Problems) > 0 {
		t.Fatalf("%v %s", err, problems(d))
	}
	if f := d.Frameworks[0]; f.Version != "" || d.Version != "" || f.Description != ff.Framework.Description || f.Publisher != "ACME" {
		t.Errorf("read back: version %q (document %q), description %q, publisher %q", f.Version, d.Version, f.Description, f.Publisher)
	}
	// The same framework with a version keeps it, with no marker.
	ff.Framework.Version = "3"
	buf.Reset()
	if err := WriteFramework(&buf, OSCALCatalog, ff); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "version-derived") {
		t.Error("a framework with a version is marked as derived")
	}
	if d, err := Read(&buf, OSCALCatalog, DefaultLimits); err != nil || d.Frameworks[0].Version != "3" {
		t.Errorf("version read back: %v", err)
	}
	earlier := `{"catalog": {"uuid": "74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724", "metadata": {"title": "T", "version": "1", "props": [{"name": "description",
		"ns": "https://github.com/controlmap/controlmap/ns/oscal", "value": "Said in a prop."}]}, "controls": [{"id": "a", "title": "A"}]}}`
	if d, err := Read(strings.NewReader(earlier), OSCALCatalog, DefaultLimits); err != nil || d.Frameworks[0].Description != "Said in a prop." {
		t.Errorf("a description in a prop: %v %+v", err, d)
	}
}

// The provenance's confidence holds for the maps that give none of their
// own; a map's own confidence decides for it.
func TestProvenanceConfidenceFillsTheMaps(t *testing.T) {
	doc := readFile(t, "mapping-pitfalls.json", OSCALMapping)
	own, filled := 0, 0
	for _, cw := range doc.Crosswalks {
		for _, m := range cw.Maps {
			if m.Extras == nil {
				t.Fatalf("%s: nothing of the provenance's confidence", m.Loc)
			}
			switch m.Extras.ConfidenceCategory {
			case "medium":
				own++
			case "high":
				filled++
			default:
				t.Errorf("%s: confidence %q", m.Loc, m.Extras.ConfidenceCategory)
			}
		}
	}
	if own != 1 || filled == 0 {
		t.Fatalf("%d maps with their own confidence, %d with the provenance's", own, filled)
	}
}
