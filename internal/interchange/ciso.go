package interchange

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/controlmap/controlmap/internal/catalog"
)

type cisoLibrary struct {
	URN         string      `yaml:"urn"`
	Locale      string      `yaml:"locale"`
	RefID       string      `yaml:"ref_id"`
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Copyright   string      `yaml:"copyright,omitempty"`
	Version     yaml.Node   `yaml:"version"`
	Provider    string      `yaml:"provider"`
	Packager    string      `yaml:"packager"`
	Objects     cisoObjects `yaml:"objects"`
}

// cisoObjects are a library's objects. What a library does not carry is
// left out of an export, not written as null or []: CISO Assistant's
// loader tells a framework library from a mapping library by the keys
// present.
type cisoObjects struct {
	Framework   *cisoFramework `yaml:"framework,omitempty"`
	MappingSets []yaml.Node    `yaml:"requirement_mapping_sets,omitempty"`
	// Some libraries carry a single set under the singular key.
	MappingSet *yaml.Node `yaml:"requirement_mapping_set,omitempty"`
}

type cisoFramework struct {
	URN              string      `yaml:"urn"`
	RefID            string      `yaml:"ref_id"`
	Name             string      `yaml:"name"`
	Description      string      `yaml:"description"`
	RequirementNodes []yaml.Node `yaml:"requirement_nodes"`
}

type cisoNode struct {
	URN         string `yaml:"urn"`
	Assessable  bool   `yaml:"assessable"`
	Depth       int    `yaml:"depth"`
	ParentURN   string `yaml:"parent_urn,omitempty"`
	RefID       string `yaml:"ref_id,omitempty"`
	Name        string `yaml:"name,omitempty"`
	Description string `yaml:"description,omitempty"`
	// Implementation is ours: an internal control's implementation status.
	Implementation string `yaml:"controlmap_implementation,omitempty"`
}

type cisoMappingSet struct {
	URN                 string      `yaml:"urn"`
	RefID               string      `yaml:"ref_id"`
	Name                string      `yaml:"name"`
	SourceFrameworkURN  string      `yaml:"source_framework_urn"`
	TargetFrameworkURN  string      `yaml:"target_framework_urn"`
	RequirementMappings []yaml.Node `yaml:"requirement_mappings"`
}

// cisoMapping is one requirement mapping. The controlmap_ keys are ours:
// what CISO Assistant's format has no field for, so that an export reads
// back exactly.
type cisoMapping struct {
	SourceRequirementURN string `yaml:"source_requirement_urn"`
	TargetRequirementURN string `yaml:"target_requirement_urn"`
	Relationship         string `yaml:"relationship"`
	Rationale            string `yaml:"rationale,omitempty"`
	Strength             *int32 `yaml:"strength_of_relationship"`
	Annotation           string `yaml:"annotation,omitempty"`
	ReverseStrength      *int32 `yaml:"controlmap_reverse_strength,omitempty"`
	Status               string `yaml:"controlmap_status,omitempty"`
	Method               string `yaml:"controlmap_method,omitempty"`
	Document             string `yaml:"controlmap_document,omitempty"`
	ImpliedBy            string `yaml:"controlmap_implied_by,omitempty"`
}

func yamlLine(n *yaml.Node) string { return fmt.Sprintf("line %d", n.Line) }

func (rd *reader) ciso(r io.Reader) error {
	var root yaml.Node
	if err := yaml.NewDecoder(bufio.NewReaderSize(r, 64<<10)).Decode(&root); err != nil {
		if err == io.EOF {
			return syntaxError("", "the YAML document is empty")
		}
		return syntaxError("", "%v", err)
	}
	var lib cisoLibrary
	if err := root.Decode(&lib); err != nil {
		return syntaxError("", "not a CISO Assistant library: %v", err)
	}
	rd.doc.Title, rd.doc.Version = firstOf(lib.Name, lib.RefID), lib.Version.Value
	sets := lib.Objects.MappingSets
	if lib.Objects.MappingSet != nil {
		sets = append(sets, *lib.Objects.MappingSet)
	}
	if lib.Objects.Framework == nil && len(sets) == 0 {
		return syntaxError("", "not a CISO Assistant library: objects has no framework and no requirement_mapping_sets")
	}
	// urn -> the id the node is imported under, for the mappings of the same
	// library.
	ids := map[string]string{}
	if f := lib.Objects.Framework; f != nil {
		id, _ := strings.CutPrefix(strings.TrimSpace(f.URN), "urn:controlmap:framework:")
		fw := Framework{Key: strings.TrimSpace(f.URN), ID: id, Title: firstOf(f.Name, f.RefID, lib.Name), Version: lib.Version.Value,
			Publisher: lib.Provider, Description: firstOf(f.Description, lib.Description)}
		seen := map[string]string{}
		for i := range f.RequirementNodes {
			n := &f.RequirementNodes[i]
			var node cisoNode
			if err := n.Decode(&node); err != nil {
				rd.skip(yamlLine(n), "%v", err)
				continue
			}
			id := nodeID(&node)
			c := Control{ID: id, Title: firstOf(node.Name, node.RefID, id), Text: strings.TrimSpace(node.Description),
				Parent: ids[node.ParentURN], Assessable: node.Assessable, Implementation: implementationOf(node.Implementation), Loc: yamlLine(n)}
			if node.ParentURN != "" && c.Parent == "" {
				rd.skip(c.Loc, "parent_urn %q is not a requirement node above this one", node.ParentURN)
				continue
			}
			if node.RefID != "" && node.RefID != id {
				c.Aliases = []string{node.RefID}
			}
			if err := rd.add(&fw, seen, c); err != nil {
				return err
			}
			ids[node.URN] = id
		}
		rd.doc.Frameworks = append(rd.doc.Frameworks, fw)
	}
	for i := range sets {
		var set cisoMappingSet
		if err := sets[i].Decode(&set); err != nil {
			rd.skip(yamlLine(&sets[i]), "%v", err)
			continue
		}
		cw := Crosswalk{Source: Resource{Key: strings.TrimSpace(set.SourceFrameworkURN)}, Target: Resource{Key: strings.TrimSpace(set.TargetFrameworkURN)}}
		for j := range set.RequirementMappings {
			if err := rd.row(); err != nil {
				return err
			}
			if row, ok := rd.cisoRow(&set.RequirementMappings[j], ids); ok {
				cw.Maps = append(cw.Maps, row)
			}
		}
		rd.doc.Crosswalks = append(rd.doc.Crosswalks, cw)
	}
	return nil
}

// nodeID is the control id of a requirement node: its ref_id when that is
// a well-formed id, else the last part of its URN.
func nodeID(n *cisoNode) string {
	if ref := strings.TrimSpace(n.RefID); catalog.ControlIDPattern.MatchString(ref) {
		return ref
	}
	return urnTail(n.URN)
}

// urnTail is what follows the last ':' of a URN.
func urnTail(urn string) string {
	urn = strings.TrimSpace(urn)
	return urn[strings.LastIndexByte(urn, ':')+1:]
}

func (rd *reader) cisoRow(n *yaml.Node, ids map[string]string) (Map, bool) {
	at := yamlLine(n)
	var m cisoMapping
	if err := n.Decode(&m); err != nil {
		rd.skip(at, "%v", err)
		return Map{}, false
	}
	row := Map{Loc: at, Strength: NoStrength, ReverseStrength: NoStrength, Justification: strings.TrimSpace(m.Annotation), Document: m.Document,
		ImpliedBy: strings.TrimSpace(m.ImpliedBy)}
	for _, end := range []struct {
		urn string
		out *[]string
	}{{m.SourceRequirementURN, &row.Sources}, {m.TargetRequirementURN, &row.Targets}} {
		if strings.TrimSpace(end.urn) == "" {
			rd.skip(at, "source_requirement_urn and target_requirement_urn are required")
			return row, false
		}
		id, ok := ids[strings.TrimSpace(end.urn)]
		if !ok {
			id = urnTail(end.urn)
		}
		*end.out = []string{id}
	}
	var ok bool
	if row.Relationship, ok = rd.relationship(m.Relationship); !ok {
		rd.skip(at, "unknown relationship %q (subset, intersect, equal, superset, not_related)", m.Relationship)
		return row, false
	}
	if row.Rationale, ok = parseRationale(m.Rationale); !ok {
		rd.skip(at, "unknown rationale %q (syntactic, semantic, functional)", m.Rationale)
		return row, false
	}
	for _, s := range []struct {
		v   *int32
		dst *int32
	}{{m.Strength, &row.Strength}, {m.ReverseStrength, &row.ReverseStrength}} {
		if s.v != nil {
			if *s.v < 0 || *s.v > 10 {
				rd.skip(at, "strength_of_relationship must be from 0 to 10, got %d", *s.v)
				return row, false
			}
			*s.dst = *s.v
		}
	}
	if row.Status, ok = statusOf(m.Status); !ok {
		rd.skip(at, "unknown controlmap_status %q", m.Status)
		return row, false
	}
	if row.Method, ok = methodOf(m.Method); !ok {
		rd.skip(at, "unknown controlmap_method %q", m.Method)
		return row, false
	}
	return row, true
}

// URNs of our exports.
func frameworkURN(id string) string { return "urn:controlmap:framework:" + id }
func nodeURN(fw, control string) string {
	return "urn:controlmap:req_node:" + fw + ":" + strings.ToLower(control)
}

// cisoHeader is the library envelope of an export.
func cisoHeader(urn, refID, name, description, version, provider string) cisoLibrary {
	lib := cisoLibrary{URN: urn, Locale: "en", RefID: refID, Name: name, Description: firstOf(description, name),
		Provider: firstOf(provider, "controlmap"), Packager: "controlmap"}
	lib.Version = yaml.Node{Kind: yaml.ScalarNode, Value: "1"}
	if version != "" {
		lib.Version.Value, lib.Version.Style = version, yaml.DoubleQuotedStyle
	}
	return lib
}

func encodeYAML(w io.Writer, v any) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := yaml.NewEncoder(bw)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeCISOFramework writes f as a CISO Assistant framework library.
func writeCISOFramework(w io.Writer, f *FrameworkFile) error {
	fw := &f.Framework
	lib := cisoHeader("urn:controlmap:library:"+fw.ID, fw.ID, fw.DisplayName, fw.Description, fw.Version, fw.Publisher)
	depth := map[string]int{}
	nodes := make([]yaml.Node, 0, len(f.Controls))
	for _, c := range f.Controls {
		depth[c.ID] = depth[c.Parent] + 1
		n := cisoNode{URN: nodeURN(fw.ID, c.ID), Assessable: c.Assessable, Depth: depth[c.ID], RefID: c.ID, Name: c.Title, Description: c.Summary,
			Implementation: implementationToken(c.Implementation)}
		if c.Parent != "" {
			n.ParentURN = nodeURN(fw.ID, c.Parent)
		}
		var node yaml.Node
		if err := node.Encode(n); err != nil {
			return err
		}
		nodes = append(nodes, node)
	}
	lib.Objects.Framework = &cisoFramework{URN: frameworkURN(fw.ID), RefID: fw.ID, Name: fw.DisplayName, Description: fw.Description, RequirementNodes: nodes}
	return encodeYAML(w, &lib)
}

// writeCISOMappings writes cw as a library with one requirement mapping
// set, source to target.
func writeCISOMappings(w io.Writer, cw *CrosswalkFile) error {
	name := cw.Source.DisplayName + " to " + cw.Target.DisplayName
	lib := cisoHeader("urn:controlmap:library:mapping-"+cw.Source.ID+"-to-"+cw.Target.ID, "mapping-"+cw.Source.ID+"-to-"+cw.Target.ID, name,
		"Mappings from "+name+", exported by controlmap.", "", "")
	rows := make([]yaml.Node, 0, len(cw.Mappings))
	groups := groupNames(cw.Mappings)
	for _, m := range pairwise(cw.Mappings) {
		strength, reverse := m.Strength, m.ReverseStrength
		row := cisoMapping{SourceRequirementURN: nodeURN(m.Source.Framework, m.Source.Control), TargetRequirementURN: nodeURN(m.Target.Framework, m.Target.Control),
			Relationship: relationshipToken(CISOYAML, m.Relationship), Rationale: rationaleToken(m.Rationale), Strength: &strength, Annotation: m.Justification,
			ReverseStrength: &reverse, Status: enumName(m.Provenance.Status.String(), "MAPPING_STATUS_"),
			Method: enumName(m.Provenance.Method.String(), "MAPPING_METHOD_"), Document: m.Provenance.Document, ImpliedBy: groups[m.ID]}
		var node yaml.Node
		if err := node.Encode(row); err != nil {
			return err
		}
		rows = append(rows, node)
	}
	set := cisoMappingSet{URN: "urn:controlmap:req_mapping_set:" + cw.Source.ID + "-to-" + cw.Target.ID, RefID: cw.Source.ID + "-to-" + cw.Target.ID,
		Name: name, SourceFrameworkURN: frameworkURN(cw.Source.ID), TargetFrameworkURN: frameworkURN(cw.Target.ID), RequirementMappings: rows}
	var node yaml.Node
	if err := node.Encode(set); err != nil {
		return err
	}
	lib.Objects.MappingSets = []yaml.Node{node}
	return encodeYAML(w, &lib)
}
