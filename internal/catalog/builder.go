package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// ControlError is a problem with one framework or one of its controls found
// while building a Graph. Control is the index of the control in the slice
// given to AddFramework, or -1 when the framework itself is at fault.
type ControlError struct {
	Framework string
	Control   int
	Message   string
}

func (e *ControlError) Error() string {
	if e.Control < 0 {
		return fmt.Sprintf("framework %q: %s", e.Framework, e.Message)
	}
	return fmt.Sprintf("framework %q, control #%d: %s", e.Framework, e.Control, e.Message)
}

// Builder assembles the frameworks and controls of a Graph.
type Builder struct {
	entries []builderEntry
}

type builderEntry struct {
	framework Framework
	controls  []Control
}

// AddFramework adds a framework with its controls in document order
// (parents before children).
func (b *Builder) AddFramework(f Framework, controls []Control) {
	b.entries = append(b.entries, builderEntry{framework: f, controls: controls})
}

// Build indexes everything added so far together with the mappings. It
// reports every broken rule it finds: framework ids well-formed and unique,
// control ids unique (ignoring case), parents known and listed first, tags
// from the framework's vocabulary, titles present; then every mapping rule
// (CheckMapping, known ends, each pair of controls mapped once).
// Frameworks and controls problems come as *ControlError values joined with
// errors.Join.
func (b *Builder) Build(revision int64, mappings []Mapping) (*Graph, error) {
	entries := slices.Clone(b.entries)
	slices.SortStableFunc(entries, func(x, y builderEntry) int { return strings.Compare(x.framework.ID, y.framework.ID) })

	total := 0
	for _, e := range entries {
		total += len(e.controls)
	}
	bb := &bulk{
		g:        &Graph{revision: revision, frameworkIndex: make(map[string]int32, len(entries))},
		controls: make([]ControlNode, 0, total),
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, bb.addFramework(e)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	g := bb.g
	for i := range g.frameworks {
		f := &g.frameworks[i]
		lookup, accepted := aliasIndex(f.controls, func(id ControlID) *Control { return &bb.controls[id].Control })
		f.lookup = lookup
		for id, a := range accepted {
			bb.controls[id].Accepted = a
		}
		g.sorted = append(g.sorted, f)
	}
	g.controls = pvecOf(bb.controls)
	if err := bb.indexMappings(mappings); err != nil {
		return nil, err
	}
	return g, nil
}

// bulk builds a Graph from scratch over plain slices, which become the
// leaves of its persistent vectors at the end.
type bulk struct {
	g        *Graph
	controls []ControlNode
}

func (bb *bulk) addFramework(e builderEntry) []error {
	g := bb.g
	f := e.framework
	var errs []error
	fail := func(control int, format string, args ...any) {
		errs = append(errs, &ControlError{Framework: f.ID, Control: control, Message: fmt.Sprintf(format, args...)})
	}
	errs = append(errs, checkFramework(f)...)
	if _, dup := g.frameworkIndex[f.ID]; dup {
		fail(-1, "framework id is not unique")
	}
	if len(errs) > 0 {
		return errs
	}
	tags := make(map[string]bool, len(f.Tags))
	for _, t := range f.Tags {
		tags[t.ID] = true
	}
	fi := int32(len(g.frameworks))
	node := FrameworkNode{Framework: f, Index: fi, ids: make(map[string]ControlID, len(e.controls)), partners: map[int32]int32{}}
	local := make(map[string]ControlID, len(e.controls))
	for i, c := range e.controls {
		id := ControlID(len(bb.controls))
		key := strings.ToLower(c.ID)
		if msg := checkControl(&c, tags); msg != "" {
			fail(i, "%s", msg)
			if !ValidControlID(c.ID) {
				continue
			}
		}
		if _, seen := local[key]; seen {
			fail(i, "id %q is not unique", c.ID)
			continue
		}
		cn := ControlNode{Control: c, Index: id, Framework: fi, ParentID: NoControl, Group: id}
		if c.Parent != "" {
			p, ok := local[strings.ToLower(c.Parent)]
			if !ok {
				fail(i, "control %s: parent %q is not listed before it", c.ID, c.Parent)
			} else {
				cn.ParentID = p
				cn.Group = bb.controls[p].Group
			}
		} else {
			node.Groups = append(node.Groups, id)
		}
		if c.Assessable {
			node.AssessableCount++
		}
		local[key] = id
		node.ids[c.ID] = id
		node.controls = append(node.controls, id)
		bb.controls = append(bb.controls, cn)
	}
	g.frameworkIndex[f.ID] = fi
	g.frameworks = append(g.frameworks, node)
	return errs
}

// checkFramework returns what is wrong with a framework on its own.
func checkFramework(f Framework) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, &ControlError{Framework: f.ID, Control: -1, Message: fmt.Sprintf(format, args...)})
	}
	if !ValidFrameworkID(f.ID) {
		fail("id must match %s", frameworkIDPattern)
		return errs
	}
	if f.DisplayName == "" {
		fail("display_name is required")
	}
	if f.Kind < cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD || f.Kind > cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL {
		fail("kind must be STANDARD, REGULATION, FRAMEWORK or INTERNAL")
	}
	tags := make(map[string]bool, len(f.Tags))
	for _, t := range f.Tags {
		if t.ID == "" || tags[t.ID] {
			fail("tag %q is empty or defined twice", t.ID)
		}
		tags[t.ID] = true
	}
	return errs
}

// ValidControlID reports whether id can be a control's canonical id.
func ValidControlID(id string) bool {
	return id != "" && !strings.ContainsAny(id, "/ \t\n") && len(id) <= 64
}

// checkControl returns the first thing wrong with a control on its own,
// or "".
func checkControl(c *Control, tags map[string]bool) string {
	switch {
	case !ValidControlID(c.ID):
		return fmt.Sprintf("id %q must be 1-64 characters without spaces or slashes", c.ID)
	case c.Title == "":
		return fmt.Sprintf("control %s: title is required", c.ID)
	case c.Kind < cmv1.ControlKind_CONTROL_KIND_CLAUSE || c.Kind > cmv1.ControlKind_CONTROL_KIND_CONTROL:
		return fmt.Sprintf("control %s: unknown kind", c.ID)
	}
	for _, t := range c.Tags {
		if !tags[t] {
			return fmt.Sprintf("control %s: tag %q is not in the framework's vocabulary", c.ID, t)
		}
	}
	return ""
}

// aliasIndex computes the lookup table of one framework's controls:
// canonical ids first, so an alias never hides a canonical id (ISO 27001
// "5.1" is clause 5.1, not A.5.1), then aliases; an alias that two controls
// claim resolves to neither. It also returns, for each control that has
// any, the spellings besides its id that resolve to it.
func aliasIndex(ids []ControlID, at func(ControlID) *Control) (map[string]ControlID, map[ControlID][]string) {
	const ambiguous = ControlID(-2)
	lookup := make(map[string]ControlID, len(ids)*3)
	for _, id := range ids {
		lookup[lookupKey(at(id).ID)] = id
	}
	for _, id := range ids {
		c := at(id)
		for _, a := range append(DerivedAliases(c), c.Aliases...) {
			k := lookupKey(a)
			switch prev, taken := lookup[k]; {
			case !taken:
				lookup[k] = id
			case prev >= 0 && prev != id && at(prev).ID != a && !strings.EqualFold(at(prev).ID, a):
				lookup[k] = ambiguous
			}
		}
	}
	accepted := map[ControlID][]string{}
	for _, id := range ids {
		c := at(id)
		for _, a := range append(DerivedAliases(c), c.Aliases...) {
			if lookup[lookupKey(a)] == id && !strings.EqualFold(a, c.ID) && !slices.Contains(accepted[id], a) {
				accepted[id] = append(accepted[id], a)
			}
		}
	}
	return lookup, accepted
}

// indexMappings validates and indexes the mappings of a new Graph.
func (bb *bulk) indexMappings(mappings []Mapping) error {
	g := bb.g
	// Sort positions, not the (large) mappings themselves.
	order := make([]int32, len(mappings))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(mappings[a].ID, mappings[b].ID) })
	nodes := make([]MappingNode, len(mappings))
	ids := make([]string, len(mappings))
	slots := make([]int32, len(mappings))
	pairs := make(map[[2]ControlID]int32, len(mappings))
	groupKeys := map[string]int32{}
	edgeCount := make([]int32, len(bb.controls))
	groupCount := make([]int32, len(bb.controls))
	for i, j := range order {
		m := &nodes[i]
		m.Mapping = mappings[j]
		field := func(f string) string { return "mappings[" + m.ID + "]." + f }
		if m.ID == "" || (i > 0 && ids[i-1] == m.ID) {
			return Invalid(field("name"), "is empty or not unique")
		}
		ids[i], slots[i] = m.ID, int32(i)
		if vs := CheckMapping(&m.Mapping); len(vs) > 0 {
			for k := range vs {
				vs[k].Field = field(vs[k].Field)
			}
			return &InvalidError{Violations: vs}
		}
		if err := resolveSides(g, m); err != nil {
			return Invalid(field(err.field), err.msg)
		}
		if m.IsGroup() {
			key := m.PairKey()
			if other, dup := groupKeys[key]; dup {
				return Invalid(field("targets"), "the groups are already mapped by "+MappingName(nodes[other].ID))
			}
			groupKeys[key] = int32(i)
			for _, c := range slices.Concat(m.SrcSide, m.DstSide) {
				groupCount[c]++
			}
		} else {
			key := [2]ControlID{min(m.Src, m.Dst), max(m.Src, m.Dst)}
			if other, dup := pairs[key]; dup {
				return Invalid(field("target"), "the pair is already mapped by "+MappingName(nodes[other].ID))
			}
			pairs[key] = int32(i)
		}
		for _, p := range edgesOf(m, int32(i)) {
			edgeCount[p.at]++
		}
		fa, fb := bb.controls[m.Src].Framework, bb.controls[m.Dst].Framework
		g.frameworks[fa].partners[fb]++
		g.frameworks[fb].partners[fa]++
	}
	edges := adjacency[Edge](edgeCount)
	groups := adjacency[int32](groupCount)
	for pass := range 2 { // outgoing edges first, then incoming ones
		for i := range nodes {
			for _, p := range edgesOf(&nodes[i], int32(i)) {
				if p.out == (pass == 0) {
					edges[p.at] = append(edges[p.at], p.e)
				}
			}
		}
	}
	for i := range nodes {
		if nodes[i].IsGroup() {
			for _, c := range slices.Concat(nodes[i].SrcSide, nodes[i].DstSide) {
				groups[c] = append(groups[c], int32(i))
			}
		}
	}
	g.edges = pvecOf(edges)
	g.groups = pvecOf(groups)
	g.mappings = pvecOf(nodes)
	g.mappingIDs = idIndexOf(ids, slots)
	return nil
}

// sideError names the field of a side that does not resolve.
type sideError struct{ field, msg string }

// resolveSides finds the controls of m's sides in g, and refuses sides in
// one framework.
func resolveSides(g *Graph, m *MappingNode) *sideError {
	var ok bool
	if m.Src, ok = g.ExactControl(m.Source); !ok {
		return &sideError{"source", "unknown control " + m.Source.Name()}
	}
	if m.Dst, ok = g.ExactControl(m.Target); !ok {
		return &sideError{"target", "unknown control " + m.Target.Name()}
	}
	m.SrcSide, m.DstSide = []ControlID{m.Src}, []ControlID{m.Dst}
	for _, side := range []struct {
		field   string
		members []ControlRef
		out     *[]ControlID
	}{{"sources", m.Sources, &m.SrcSide}, {"targets", m.Targets, &m.DstSide}} {
		if len(side.members) == 0 {
			continue
		}
		*side.out = make([]ControlID, len(side.members))
		for k, r := range side.members {
			id, ok := g.ExactControl(r)
			if !ok {
				return &sideError{fmt.Sprintf("%s[%d]", side.field, k), "unknown control " + r.Name()}
			}
			(*side.out)[k] = id
		}
	}
	if g.Control(m.Src).Framework == g.Control(m.Dst).Framework {
		return &sideError{"target", "the sides must be controls of two frameworks"}
	}
	return nil
}

// adjacency carves one backing array into per-control slices of the given
// capacities, so the lists of all controls sit together in memory.
func adjacency[T any](counts []int32) [][]T {
	total := 0
	for _, c := range counts {
		total += int(c)
	}
	backing := make([]T, 0, total)
	lists := make([][]T, len(counts))
	off := 0
	for i, c := range counts {
		lists[i] = backing[off : off : off+int(c)]
		off += int(c)
	}
	return lists
}

// Contents returns the frameworks of g with their controls in document
// order, as they would be given to a Builder.
func (g *Graph) Contents() []FrameworkContents {
	out := make([]FrameworkContents, 0, len(g.sorted))
	for _, f := range g.sorted {
		controls := make([]Control, 0, len(f.controls))
		for _, c := range g.Controls(f) {
			controls = append(controls, c.Control)
		}
		out = append(out, FrameworkContents{Framework: f.Framework, Controls: controls})
	}
	return out
}

// FrameworkContents is a framework with its controls in document order.
type FrameworkContents struct {
	Framework Framework
	Controls  []Control
}

// BuildContents builds a Graph of the given frameworks and mappings.
func BuildContents(revision int64, fws []FrameworkContents, mappings []Mapping) (*Graph, error) {
	var b Builder
	for _, f := range fws {
		b.AddFramework(f.Framework, f.Controls)
	}
	return b.Build(revision, mappings)
}
