package content

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

type loader struct {
	fsys   fs.FS
	digest hash.Hash
	errs   []error
}

func (l *loader) fail(p position, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s: %s", p, fmt.Sprintf(format, args...)))
}

// document reads a data file and returns its top-level mapping node.
func (l *loader) document(name string) (*yaml.Node, bool) {
	data, err := fs.ReadFile(l.fsys, name)
	if err != nil {
		l.errs = append(l.errs, err)
		return nil, false
	}
	fmt.Fprintf(l.digest, "%s\x00%d\x00", name, len(data))
	l.digest.Write(data)
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %w", name, err))
		return nil, false
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		l.fail(position{name, 1}, "expected a mapping at the top level")
		return nil, false
	}
	return doc.Content[0], true
}

// decode fills out from a mapping node, rejecting keys out does not know
// (yaml tags are the allowed keys), so a misspelt field is an error rather
// than a silently missing value.
func (l *loader) decode(file string, n *yaml.Node, out any, allowed ...string) bool {
	if n.Kind != yaml.MappingNode {
		l.fail(position{file, n.Line}, "expected a mapping")
		return false
	}
	ok := true
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(allowed, k.Value) {
			l.fail(position{file, k.Line}, "unknown field %q (known: %s)", k.Value, strings.Join(allowed, ", "))
			ok = false
		}
	}
	if err := n.Decode(out); err != nil {
		l.fail(position{file, n.Line}, "%v", err)
		return false
	}
	return ok
}

// release reads content.yaml, the manifest with the content release.
func (l *loader) release(c *Content) error {
	root, ok := l.document("content.yaml")
	if !ok {
		return errors.Join(l.errs...)
	}
	var doc struct {
		Release int `yaml:"release"`
	}
	if !l.decode("content.yaml", root, &doc, "release") || doc.Release < 1 {
		return fmt.Errorf("content.yaml: release must be a positive number")
	}
	c.Release = doc.Release
	return nil
}

type frameworkDoc struct {
	ID          string    `yaml:"id"`
	DisplayName string    `yaml:"display_name"`
	Version     string    `yaml:"version"`
	Publisher   string    `yaml:"publisher"`
	Kind        string    `yaml:"kind"`
	Description string    `yaml:"description"`
	Tags        []tagDoc  `yaml:"tags"`
	Expect      expectDoc `yaml:"expect"`
	Controls    yaml.Node `yaml:"controls"`
}

type tagDoc struct {
	ID    string `yaml:"id"`
	Title string `yaml:"title"`
}

// expectDoc states the counts a framework file must have, so that a lost
// or duplicated block of controls cannot go unnoticed.
type expectDoc struct {
	Controls   int `yaml:"controls"`
	Assessable int `yaml:"assessable"`
}

type controlDoc struct {
	ID         string   `yaml:"id"`
	Parent     string   `yaml:"parent"`
	Title      string   `yaml:"title"`
	Kind       string   `yaml:"kind"`
	Assessable bool     `yaml:"assessable"`
	Summary    string   `yaml:"summary"`
	Tags       []string `yaml:"tags"`
	Aliases    []string `yaml:"aliases"`
}

var (
	frameworkKeys = []string{"id", "display_name", "version", "publisher", "kind", "description", "tags", "expect", "controls"}
	controlKeys   = []string{"id", "parent", "title", "kind", "assessable", "summary", "tags", "aliases"}
)

func (l *loader) framework(file string) (Framework, controlLines, bool) {
	root, ok := l.document(file)
	if !ok {
		return Framework{}, controlLines{}, false
	}
	var doc frameworkDoc
	if !l.decode(file, root, &doc, frameworkKeys...) {
		return Framework{}, controlLines{}, false
	}
	at := position{file, root.Line}
	before := len(l.errs)
	if doc.ID != baseName(file) {
		l.fail(at, "id %q must match the file name", doc.ID)
	}
	kind, ok := parseEnum[cmv1.FrameworkKind](cmv1.FrameworkKind_value, "FRAMEWORK_KIND_", doc.Kind)
	if !ok {
		l.fail(at, "kind %q must be STANDARD, REGULATION or FRAMEWORK", doc.Kind)
	}
	if doc.Description == "" || doc.Version == "" || doc.Publisher == "" {
		l.fail(at, "description, version and publisher are required")
	}
	fw := Framework{Framework: catalog.Framework{
		ID: doc.ID, DisplayName: doc.DisplayName, Version: doc.Version, Publisher: doc.Publisher,
		Kind: kind, Description: strings.TrimSpace(doc.Description), Revision: 1, BuiltIn: true,
	}}
	for _, t := range doc.Tags {
		fw.Tags = append(fw.Tags, catalog.Tag{ID: t.ID, Title: t.Title})
	}
	lines := controlLines{file: file, framework: root.Line}
	if doc.Controls.Kind != yaml.SequenceNode {
		l.fail(at, "controls must be a list")
		return fw, lines, false
	}
	assessable := 0
	for _, n := range doc.Controls.Content {
		var cd controlDoc
		if !l.decode(file, n, &cd, controlKeys...) {
			continue
		}
		ck, ok := parseEnum[cmv1.ControlKind](cmv1.ControlKind_value, "CONTROL_KIND_", cd.Kind)
		if !ok {
			l.fail(position{file, n.Line}, "control %s: kind %q is not a control kind", cd.ID, cd.Kind)
		}
		if strings.TrimSpace(cd.Summary) == "" {
			l.fail(position{file, n.Line}, "control %s: summary is required", cd.ID)
		}
		if cd.Assessable {
			assessable++
		}
		fw.Controls = append(fw.Controls, catalog.Control{
			ID: cd.ID, Parent: cd.Parent, Title: cd.Title, Kind: ck, Assessable: cd.Assessable,
			Summary: strings.TrimSpace(cd.Summary), Tags: cd.Tags, Aliases: cd.Aliases, Revision: 1,
		})
		lines.lines = append(lines.lines, n.Line)
	}
	if doc.Expect.Controls != len(fw.Controls) || doc.Expect.Assessable != assessable {
		l.fail(at, "expected %d controls (%d assessable), found %d (%d assessable)",
			doc.Expect.Controls, doc.Expect.Assessable, len(fw.Controls), assessable)
	}
	return fw, lines, len(l.errs) == before
}

type crosswalkDoc struct {
	Source     string        `yaml:"source"`
	Target     string        `yaml:"target"`
	Provenance provenanceDoc `yaml:"provenance"`
	Mappings   yaml.Node     `yaml:"mappings"`
}

type provenanceDoc struct {
	Document string `yaml:"document"`
	Method   string `yaml:"method"`
	Status   string `yaml:"status"`
	Author   string `yaml:"author"`
}

type mappingDoc struct {
	Source          string `yaml:"source"`
	Target          string `yaml:"target"`
	Relationship    string `yaml:"relationship"`
	Strength        *int32 `yaml:"strength"`
	ReverseStrength *int32 `yaml:"reverse_strength"`
	Rationale       string `yaml:"rationale"`
	Justification   string `yaml:"justification"`
	Document        string `yaml:"document"`
}

var (
	crosswalkKeys = []string{"source", "target", "provenance", "mappings"}
	mappingKeys   = []string{"source", "target", "relationship", "strength", "reverse_strength", "rationale", "justification", "document"}
)

func (l *loader) crosswalk(file string, g *catalog.Graph, seen map[[2]catalog.ControlID]position) []catalog.Mapping {
	root, ok := l.document(file)
	if !ok {
		return nil
	}
	var doc crosswalkDoc
	if !l.decode(file, root, &doc, crosswalkKeys...) {
		return nil
	}
	at := position{file, root.Line}
	if doc.Source+"_"+doc.Target != baseName(file) {
		l.fail(at, "source and target must match the file name {source}_{target}.yaml")
	}
	src, srcOK := g.Framework(doc.Source)
	dst, dstOK := g.Framework(doc.Target)
	if !srcOK || !dstOK {
		l.fail(at, "unknown framework %q or %q", doc.Source, doc.Target)
		return nil
	}
	base, ok := l.provenance(at, doc.Provenance)
	if !ok || doc.Mappings.Kind != yaml.SequenceNode {
		if ok {
			l.fail(at, "mappings must be a list")
		}
		return nil
	}
	var out []catalog.Mapping
	for _, n := range doc.Mappings.Content {
		p := position{file, n.Line}
		var md mappingDoc
		if !l.decode(file, n, &md, mappingKeys...) {
			continue
		}
		m := catalog.Mapping{
			Source:        catalog.ControlRef{Framework: src.ID, Control: md.Source},
			Target:        catalog.ControlRef{Framework: dst.ID, Control: md.Target},
			Justification: strings.TrimSpace(md.Justification),
			Provenance:    base,
			Revision:      1,
			BuiltIn:       true,
		}
		if md.Document != "" {
			m.Provenance.Document = md.Document
		}
		m.Relationship, _ = parseEnum[cmv1.Relationship](cmv1.Relationship_value, "RELATIONSHIP_", md.Relationship)
		m.Rationale, _ = parseEnum[cmv1.Rationale](cmv1.Rationale_value, "RATIONALE_", md.Rationale)
		if md.Strength == nil {
			l.fail(p, "strength is required")
			continue
		}
		m.Strength = *md.Strength
		// A reverse strength is written where the relationship leaves it to
		// judgement (SUPERSET_OF, INTERSECTS_WITH); elsewhere the rule fixes it.
		bad := false
		if lo, hi := catalog.ReverseStrengthRange(m.Relationship); md.ReverseStrength != nil {
			m.ReverseStrength = *md.ReverseStrength
		} else if lo == hi || !catalog.ValidRelationship(m.Relationship) {
			m.ReverseStrength = lo
		} else {
			l.fail(p, "%s -> %s: reverse_strength is required for %s", md.Source, md.Target, md.Relationship)
			bad = true
		}
		for _, v := range catalog.CheckMapping(&m) {
			l.fail(p, "%s -> %s: %s %s", md.Source, md.Target, v.Field, v.Description)
			bad = true
		}
		a, aOK := g.ExactControl(m.Source)
		b, bOK := g.ExactControl(m.Target)
		// Data files use canonical ids only, so they stay in one spelling.
		if !aOK {
			l.fail(p, "unknown control %q in %s%s", md.Source, src.ID, aliasHint(g, m.Source))
		}
		if !bOK {
			l.fail(p, "unknown control %q in %s%s", md.Target, dst.ID, aliasHint(g, m.Target))
		}
		if bad || !aOK || !bOK {
			continue
		}
		key := [2]catalog.ControlID{min(a, b), max(a, b)}
		if first, dup := seen[key]; dup {
			l.fail(p, "%s -> %s: the pair is already mapped at %s", md.Source, md.Target, first)
			continue
		}
		seen[key] = p
		m.ID = MappingID(m.Source, m.Target)
		out = append(out, m)
	}
	return out
}

func (l *loader) provenance(at position, d provenanceDoc) (catalog.Provenance, bool) {
	method, mOK := parseEnum[cmv1.MappingMethod](cmv1.MappingMethod_value, "MAPPING_METHOD_", d.Method)
	status, sOK := parseEnum[cmv1.MappingStatus](cmv1.MappingStatus_value, "MAPPING_STATUS_", d.Status)
	if d.Document == "" || d.Author == "" || !mOK || !sOK {
		l.fail(at, "provenance needs document, author, method (HUMAN or IMPORTED) and status (DRAFT, APPROVED or DEPRECATED)")
		return catalog.Provenance{}, false
	}
	return catalog.Provenance{Document: d.Document, Method: method, Status: status, Author: d.Author}, true
}

func aliasHint(g *catalog.Graph, r catalog.ControlRef) string {
	if id, ok := g.ResolveControl(r.Framework, r.Control); ok {
		return fmt.Sprintf(" (write the canonical id %q)", g.Control(id).ID)
	}
	return ""
}

// parseEnum reads a proto enum value written without its prefix
// ("SUBSET_OF" for RELATIONSHIP_SUBSET_OF); the zero value is refused.
func parseEnum[E ~int32](values map[string]int32, prefix, s string) (E, bool) {
	v, ok := values[prefix+s]
	if !ok || v == 0 {
		return 0, false
	}
	return E(v), true
}
