package content_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/content"
)

const alphaFramework = `id: alpha
display_name: Alpha
version: "1"
publisher: Test
kind: STANDARD
description: A framework for tests.
tags:
  - id: t1
    title: Tag one
expect:
  controls: 3
  assessable: 2
controls:
  - id: "A.1"
    title: Group
    kind: ANNEX_GROUP
    summary: The group.
  - id: "A.1.1"
    parent: "A.1"
    title: First
    kind: ANNEX_CONTROL
    assessable: true
    summary: The first control.
    tags: [t1]
  - id: "A.1.2"
    parent: "A.1"
    title: Second
    kind: ANNEX_CONTROL
    assessable: true
    summary: The second control.
`

const betaFramework = `id: beta
display_name: Beta
version: "1"
publisher: Test
kind: FRAMEWORK
description: Another framework for tests.
expect:
  controls: 2
  assessable: 1
controls:
  - id: GOVERN
    title: Govern
    kind: FUNCTION
    summary: The function.
  - id: GOVERN-1
    parent: GOVERN
    title: One
    kind: CATEGORY
    assessable: true
    summary: The category.
`

const alphaBeta = `source: alpha
target: beta
provenance:
  document: Test crosswalk
  method: HUMAN
  status: APPROVED
  author: tests
mappings:
  - source: "A.1.1"
    target: GOVERN-1
    relationship: SUBSET_OF
    strength: 6
    rationale: SEMANTIC
    justification: The first control covers part of the category.
  - source: "A.1.2"
    target: GOVERN-1
    relationship: NO_RELATIONSHIP
    strength: 0
    rationale: SEMANTIC
    justification: Reviewed; unrelated.
`

func testFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

func validFiles() map[string]string {
	return map[string]string{
		"frameworks/alpha.yaml":      alphaFramework,
		"frameworks/beta.yaml":       betaFramework,
		"crosswalks/alpha_beta.yaml": alphaBeta,
		"content.yaml":               "release: 3\n",
	}
}

func TestLoadValid(t *testing.T) {
	c, err := content.LoadFS(testFS(validFiles()))
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Graph(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Frameworks()) != 2 || g.MappingCount() != 2 || c.Release != 3 || content.ReleaseOf(c.Version) != 3 {
		t.Fatalf("loaded %d frameworks, %d mappings", len(g.Frameworks()), g.MappingCount())
	}
}

// Every rule of the loader, each broken by one bad data file, must be
// reported with the file and line at fault.
func TestLoaderRejectsBadData(t *testing.T) {
	for _, tc := range []struct {
		name  string
		file  string
		old   string // replaced in the valid file...
		new   string // ...by this
		extra map[string]string
		want  string // expected "file:line: ..." fragment
	}{
		{name: "unknown control", file: "crosswalks/alpha_beta.yaml",
			old: `source: "A.1.1"`, new: `source: "A.9.9"`, want: `crosswalks/alpha_beta.yaml:9: unknown control "A.9.9" in alpha`},
		{name: "alias instead of canonical id", file: "crosswalks/alpha_beta.yaml",
			old: `source: "A.1.1"`, new: `source: "1.1"`, want: `crosswalks/alpha_beta.yaml:9: unknown control "1.1" in alpha (write the canonical id "A.1.1")`},
		{name: "mapping within one framework", extra: map[string]string{"crosswalks/alpha_alpha.yaml": strings.NewReplacer("target: beta", "target: alpha", "target: GOVERN-1", `target: "A.1.2"`).Replace(alphaBeta)},
			want: `crosswalks/alpha_alpha.yaml:9: A.1.1 -> A.1.2: target must be a control of another framework`},
		{name: "same pair twice", file: "crosswalks/alpha_beta.yaml",
			old: `source: "A.1.2"`, new: `source: "A.1.1"`, want: `crosswalks/alpha_beta.yaml:15: A.1.1 -> GOVERN-1: the pair is already mapped at crosswalks/alpha_beta.yaml:9`},
		{name: "same pair in the other direction", extra: map[string]string{"crosswalks/beta_alpha.yaml": strings.NewReplacer(
			"source: alpha", "source: beta", "target: beta", "target: alpha", `source: "A.1.1"`, "source: GOVERN-1", "target: GOVERN-1\n    relationship: SUBSET", "target: \"A.1.1\"\n    relationship: SUPERSET", "strength: 6", "strength: 10\n    reverse_strength: 6",
			`source: "A.1.2"`, "source: GOVERN", "target: GOVERN-1\n    relationship: NO", "target: \"A.1.2\"\n    relationship: NO").Replace(alphaBeta)},
			want: `crosswalks/beta_alpha.yaml:9: GOVERN-1 -> A.1.1: the pair is already mapped at crosswalks/alpha_beta.yaml:9`},
		{name: "strength out of range", file: "crosswalks/alpha_beta.yaml",
			old: "strength: 6", new: "strength: 11", want: `crosswalks/alpha_beta.yaml:9: A.1.1 -> GOVERN-1: strength must be between 1 and 9 for RELATIONSHIP_SUBSET_OF, got 11`},
		{name: "strength inconsistent with EQUAL", file: "crosswalks/alpha_beta.yaml",
			old: "relationship: SUBSET_OF", new: "relationship: EQUAL", want: `crosswalks/alpha_beta.yaml:9: A.1.1 -> GOVERN-1: strength must be 10 for RELATIONSHIP_EQUAL, got 6`},
		{name: "strength inconsistent with NO_RELATIONSHIP", file: "crosswalks/alpha_beta.yaml",
			old: "strength: 0", new: "strength: 2", want: `crosswalks/alpha_beta.yaml:15: A.1.2 -> GOVERN-1: strength must be 0 for RELATIONSHIP_NO_RELATIONSHIP, got 2`},
		{name: "missing strength", file: "crosswalks/alpha_beta.yaml",
			old: "    strength: 6\n", new: "", want: `crosswalks/alpha_beta.yaml:9: strength is required`},
		{name: "reverse strength missing where it needs judgement", file: "crosswalks/alpha_beta.yaml",
			old: "relationship: SUBSET_OF", new: "relationship: INTERSECTS_WITH", want: `crosswalks/alpha_beta.yaml:9: A.1.1 -> GOVERN-1: reverse_strength is required for INTERSECTS_WITH`},
		{name: "reverse strength against the rule", file: "crosswalks/alpha_beta.yaml",
			old: "strength: 6", new: "strength: 6\n    reverse_strength: 4", want: `crosswalks/alpha_beta.yaml:9: A.1.1 -> GOVERN-1: reverse_strength must be 10 for RELATIONSHIP_SUBSET_OF, got 4`},
		{name: "unknown relationship", file: "crosswalks/alpha_beta.yaml",
			old: "relationship: SUBSET_OF", new: "relationship: SIMILAR", want: `crosswalks/alpha_beta.yaml:9: A.1.1 -> GOVERN-1: relationship must be one of`},
		{name: "missing justification", file: "crosswalks/alpha_beta.yaml",
			old: "    justification: Reviewed; unrelated.\n", new: "", want: `crosswalks/alpha_beta.yaml:15: A.1.2 -> GOVERN-1: justification is required`},
		{name: "missing provenance", file: "crosswalks/alpha_beta.yaml",
			old: "  author: tests\n", new: "", want: `crosswalks/alpha_beta.yaml:1: provenance needs document, author`},
		{name: "misspelt field", file: "crosswalks/alpha_beta.yaml",
			old: "    rationale: SEMANTIC\n    justification: The first", new: "    rationale: SEMANTIC\n    justificaton: The first", want: `crosswalks/alpha_beta.yaml:14: unknown field "justificaton"`},
		{name: "duplicate control id", file: "frameworks/alpha.yaml",
			old: `id: "A.1.2"`, new: `id: "a.1.1"`, want: `frameworks/alpha.yaml:25: id "a.1.1" is not unique`},
		{name: "unknown parent", file: "frameworks/alpha.yaml",
			old: "parent: \"A.1\"\n    title: Second", new: "parent: \"A.7\"\n    title: Second", want: `frameworks/alpha.yaml:25: control A.1.2: parent "A.7" is not listed before it`},
		{name: "expected counts", file: "frameworks/alpha.yaml",
			old: "controls: 3", new: "controls: 4", want: `frameworks/alpha.yaml:1: expected 4 controls (2 assessable), found 3 (2 assessable)`},
		{name: "unknown tag", file: "frameworks/alpha.yaml",
			old: "tags: [t1]", new: "tags: [t2]", want: `frameworks/alpha.yaml:18: control A.1.1: tag "t2" is not in the framework's vocabulary`},
		{name: "unknown control kind", file: "frameworks/alpha.yaml",
			old: "kind: ANNEX_GROUP", new: "kind: CHAPTER", want: `frameworks/alpha.yaml:14: control A.1: kind "CHAPTER" is not a control kind`},
		{name: "missing summary", file: "frameworks/beta.yaml",
			old: "    summary: The category.\n", new: "", want: `frameworks/beta.yaml:15: control GOVERN-1: summary is required`},
		{name: "id and file name differ", file: "frameworks/beta.yaml",
			old: "id: beta", new: "id: gamma", want: `frameworks/beta.yaml:1: id "gamma" must match the file name`},
		{name: "not YAML", file: "frameworks/beta.yaml",
			old: "controls:", new: "controls: [", want: `frameworks/beta.yaml: yaml:`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := validFiles()
			if tc.file != "" {
				if !strings.Contains(files[tc.file], tc.old) {
					t.Fatalf("test data: %q not in %s", tc.old, tc.file)
				}
				files[tc.file] = strings.Replace(files[tc.file], tc.old, tc.new, 1)
			}
			for k, v := range tc.extra {
				files[k] = v
			}
			_, err := content.LoadFS(testFS(files))
			if err == nil {
				t.Fatal("bad data was accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n%v\ndoes not contain\n%s", err, tc.want)
			}
		})
	}
}

// FuzzLoader holds what the loader does with any framework or crosswalk
// file: it refuses it with every problem located ("file:line: ..." or
// naming the file), or loads content whose catalog builds and whose
// mappings pass the mapping rules.
func FuzzLoader(f *testing.F) {
	f.Add(alphaFramework, alphaBeta)
	f.Add(strings.Replace(alphaFramework, "kind: ANNEX_CONTROL", "kind: FUNCTION", 1), alphaBeta)
	f.Add(alphaFramework, strings.Replace(alphaBeta, "strength: 6", "strength: 60", 1))
	f.Add("id: alpha\ncontrols: [", alphaBeta)
	f.Add(alphaFramework, "mappings:\n  - {source: A.1.1, target: GOVERN-1, relationship: EQUAL}\n")
	f.Fuzz(func(t *testing.T, framework, crosswalk string) {
		files := validFiles()
		files["frameworks/alpha.yaml"], files["crosswalks/alpha_beta.yaml"] = framework, crosswalk
		c, err := content.LoadFS(testFS(files))
		if err != nil {
			errs := []error{err}
			if joined, ok := err.(interface{ Unwrap() []error }); ok {
				errs = joined.Unwrap()
			}
			for _, e := range errs {
				if msg := e.Error(); !strings.Contains(msg, ".yaml") && !strings.HasPrefix(msg, "content:") {
					t.Fatalf("an error that names no file: %q", msg)
				}
			}
			return
		}
		g, err := c.Graph(1)
		if err != nil {
			t.Fatalf("loaded content does not build: %v", err)
		}
		for m := range g.Mappings() {
			if vs := catalog.CheckMapping(&m.Mapping); len(vs) > 0 {
				t.Fatalf("loaded mapping %s breaks a rule: %v", m.ID, vs)
			}
		}
	})
}
