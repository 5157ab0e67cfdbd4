package catalog

import (
	"cmp"
	"iter"
	"slices"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// ControlID is the index of a control in a Graph. It is stable across the
// Graphs that Apply derives from one another (a deleted control's id is never
// reused), and only meaningful for them.
type ControlID int32

// NoControl stands for "no control", such as the parent of a top-level one.
const NoControl ControlID = -1

// FrameworkNode is a framework as indexed in a Graph.
type FrameworkNode struct {
	Framework
	// Index is the framework's slot in the Graph: stable like a ControlID.
	Index int32
	// AssessableCount is the number of controls that count in coverage.
	AssessableCount int32
	// Groups are the top-level controls, in document order.
	Groups []ControlID
	// controls in document order; ids find one by canonical id
	// (case-sensitive), lookup by any accepted spelling (lower case).
	controls []ControlID
	ids      map[string]ControlID
	lookup   map[string]ControlID
	// partners counts the mappings between this framework and another, by
	// the other's slot.
	partners map[int32]int32
}

// ControlIDs returns the framework's controls in document order.
func (f *FrameworkNode) ControlIDs() []ControlID { return f.controls }

// ControlCount is the number of controls of the framework.
func (f *FrameworkNode) ControlCount() int { return len(f.controls) }

// ControlNode is a control as indexed in a Graph.
type ControlNode struct {
	Control
	// Index is this control's ControlID.
	Index     ControlID
	Framework int32
	// ParentID is the parent's ControlID, or NoControl.
	ParentID ControlID
	// Group is the top-level ancestor (the control itself at the top).
	Group ControlID
	// Accepted lists every spelling that resolves to this control besides
	// the canonical id: derived and declared aliases that no other control
	// claims.
	Accepted []string
}

// MappingNode is a mapping as indexed in a Graph, with its ends resolved.
type MappingNode struct {
	Mapping
	Src, Dst ControlID
	// SrcSide and DstSide are the controls of each side: the members of a
	// group, or Src and Dst alone.
	SrcSide, DstSide []ControlID
}

// Touches reports whether control c is on a side of m.
func (m *MappingNode) Touches(c ControlID) bool {
	return slices.Contains(m.SrcSide, c) || slices.Contains(m.DstSide, c)
}

// Graph is an immutable, indexed snapshot of the catalog at one revision.
// All methods are safe for concurrent use; nothing they return may be
// modified. Apply derives the next Graph from this one, sharing all that a
// change leaves alone.
type Graph struct {
	revision       int64
	frameworks     []FrameworkNode // by slot; a deleted one has an empty ID
	sorted         []*FrameworkNode
	frameworkIndex map[string]int32
	controls       pvec[ControlNode] // by ControlID; a deleted one has Framework -1
	edges          pvec[[]Edge]      // by ControlID: every mapping read from it, outgoing first
	groups         pvec[[]int32]     // by ControlID: the group mappings it is a member of, by slot
	mappings       pvec[MappingNode] // by slot; a deleted one has an empty ID
	mappingIDs     idIndex
}

// Revision is the store revision the Graph reflects.
func (g *Graph) Revision() int64 { return g.revision }

// Frameworks returns every framework, ordered by id.
func (g *Graph) Frameworks() []*FrameworkNode { return g.sorted }

// Framework returns the framework with the given id.
func (g *Graph) Framework(id string) (*FrameworkNode, bool) {
	i, ok := g.frameworkIndex[id]
	if !ok {
		return nil, false
	}
	return &g.frameworks[i], true
}

// FrameworkAt returns the framework in slot i.
func (g *Graph) FrameworkAt(i int32) *FrameworkNode { return &g.frameworks[i] }

// FrameworkSlots is the number of framework slots, deleted ones included:
// the length of a table indexed by FrameworkNode.Index.
func (g *Graph) FrameworkSlots() int { return len(g.frameworks) }

// Control returns the control with the given id.
func (g *Graph) Control(id ControlID) *ControlNode { return g.controls.At(int(id)) }

// Controls yields the controls of f in document order.
func (g *Graph) Controls(f *FrameworkNode) iter.Seq2[int, *ControlNode] {
	return func(yield func(int, *ControlNode) bool) {
		for i, id := range f.controls {
			if !yield(i, g.controls.At(int(id))) {
				return
			}
		}
	}
}

// ControlCount is the number of control ids issued, deleted ones included:
// the length of a table indexed by ControlID.
func (g *Graph) ControlCount() int { return g.controls.Len() }

// Ref returns the canonical reference of a control.
func (g *Graph) Ref(id ControlID) ControlRef {
	c := g.Control(id)
	return ControlRef{Framework: g.frameworks[c.Framework].ID, Control: c.ID}
}

// ResolveControl finds a control of a framework by its canonical id or any
// accepted spelling, ignoring case.
func (g *Graph) ResolveControl(framework, ref string) (ControlID, bool) {
	f, ok := g.Framework(framework)
	if !ok {
		return NoControl, false
	}
	id, ok := f.lookup[lookupKey(ref)]
	return id, ok && id >= 0
}

// ExactControl finds a control by its canonical reference only (no
// aliases, case-sensitive).
func (g *Graph) ExactControl(r ControlRef) (ControlID, bool) {
	f, ok := g.Framework(r.Framework)
	if !ok {
		return NoControl, false
	}
	id, ok := f.ids[r.Control]
	return id, ok
}

// Mappings yields every mapping, ordered by id.
func (g *Graph) Mappings() iter.Seq[*MappingNode] {
	return func(yield func(*MappingNode) bool) {
		for slot := range g.mappingIDs.All {
			if !yield(g.mappings.At(int(slot))) {
				return
			}
		}
	}
}

// MappingCount is the number of mappings.
func (g *Graph) MappingCount() int { return g.mappingIDs.n }

// Mapping returns the mapping with the given id.
func (g *Graph) Mapping(id string) (*MappingNode, bool) {
	i, ok := g.mappingIDs.Get(id)
	if !ok {
		return nil, false
	}
	return g.mappings.At(int(i)), true
}

// MappingAt returns the mapping in slot i (an Edge's Mapping).
func (g *Graph) MappingAt(i int32) *MappingNode { return g.mappings.At(int(i)) }

// Edge is a mapping seen from one of its ends: "this control Relationship
// To". For the target end of a mapping, Relationship is the inverse of the
// stored one and Strength the mapping's reverse strength.
type Edge struct {
	To           ControlID
	Mapping      int32
	Relationship cmv1.Relationship
	Strength     int32
	Status       cmv1.MappingStatus
	// Derived marks a statement between two controls that a group mapping
	// (Mapping) implies: "S SUPERSET_OF {X, Y}" gives S SUPERSET_OF X. It
	// holds like any edge and composes; what does not hold pairwise is no
	// edge at all.
	Derived bool
}

// Edges returns every mapping of c, read from c, outgoing ones first:
// mappings between two controls, and what group mappings imply for c and
// one other control.
func (g *Graph) Edges(c ControlID) []Edge { return *g.edges.At(int(c)) }

// Groups returns the slots of the group mappings c is a member of.
func (g *Graph) Groups(c ControlID) []int32 {
	if int(c) >= g.groups.Len() {
		return nil
	}
	return *g.groups.At(int(c))
}

// MappingBetween returns the mapping joining a and b, in either direction:
// a mapping between the two controls themselves, not one between groups
// they are members of.
func (g *Graph) MappingBetween(a, b ControlID) (*MappingNode, bool) {
	for _, e := range g.Edges(a) {
		if e.To == b && !e.Derived {
			return g.MappingAt(e.Mapping), true
		}
	}
	return nil, false
}

// GroupBetween returns the group mapping whose sides are the sets a and b,
// in either direction.
func (g *Graph) GroupBetween(a, b []ControlID) (*MappingNode, bool) {
	if len(a) == 0 {
		return nil, false
	}
	for _, slot := range g.Groups(a[0]) {
		m := g.MappingAt(slot)
		if (sameSet(m.SrcSide, a) && sameSet(m.DstSide, b)) || (sameSet(m.SrcSide, b) && sameSet(m.DstSide, a)) {
			return m, true
		}
	}
	return nil, false
}

func sameSet(x, y []ControlID) bool {
	if len(x) != len(y) {
		return false
	}
	for _, c := range x {
		if !slices.Contains(y, c) {
			return false
		}
	}
	return true
}

// placed is an edge and the control it is read from.
type placed struct {
	at  ControlID
	e   Edge
	out bool // the control is on the mapping's source side
}

// edgesOf lists the edges of mapping m in slot: for a mapping between two
// controls, one at each end; for a group mapping, those of the statements
// between two controls it implies (Mapping.Implied), marked Derived.
func edgesOf(m *MappingNode, slot int32) []placed {
	if !m.IsGroup() {
		return []placed{{m.Src, edgeOf(m, slot, m.Src), true}, {m.Dst, edgeOf(m, slot, m.Dst), false}}
	}
	ids := map[ControlRef]ControlID{}
	for i, r := range m.SourceSide() {
		ids[r] = m.SrcSide[i]
	}
	for i, r := range m.TargetSide() {
		ids[r] = m.DstSide[i]
	}
	var out []placed
	for _, p := range m.Implied() {
		a, b := ids[p.Source], ids[p.Target]
		out = append(out,
			placed{a, Edge{To: b, Mapping: slot, Relationship: p.Relationship, Strength: p.Strength, Status: p.Provenance.Status, Derived: true}, slices.Contains(m.SrcSide, a)},
			placed{b, Edge{To: a, Mapping: slot, Relationship: Inverse(p.Relationship), Strength: p.ReverseStrength, Status: p.Provenance.Status, Derived: true}, slices.Contains(m.SrcSide, b)})
	}
	return out
}

// CrosswalkPairs returns every pair of frameworks joined by at least one
// mapping, as slots with the lower framework id first, ordered by ids.
func (g *Graph) CrosswalkPairs() [][2]int32 {
	var out [][2]int32
	for _, f := range g.sorted {
		for other, n := range f.partners {
			if n > 0 && f.ID < g.frameworks[other].ID {
				out = append(out, [2]int32{f.Index, other})
			}
		}
	}
	id := func(i int32) string { return g.frameworks[i].ID }
	slices.SortFunc(out, func(x, y [2]int32) int {
		return cmp.Or(strings.Compare(id(x[0]), id(y[0])), strings.Compare(id(x[1]), id(y[1])))
	})
	return out
}

// WithRevision returns g as it is, labelled with another revision: for
// writes that change something else than the catalog (tenants, keys).
func (g *Graph) WithRevision(revision int64) *Graph {
	ng := *g
	ng.revision = revision
	return &ng
}

// edgeOf returns the edge of mapping m read from its end `from`.
func edgeOf(m *MappingNode, slot int32, from ControlID) Edge {
	if from == m.Src {
		return Edge{To: m.Dst, Mapping: slot, Relationship: m.Relationship, Strength: m.Strength, Status: m.Provenance.Status}
	}
	return Edge{To: m.Src, Mapping: slot, Relationship: Inverse(m.Relationship), Strength: m.ReverseStrength, Status: m.Provenance.Status}
}

// Counts reports whether a mapping of the given status counts in what
// implementing a control satisfies: APPROVED ones do, DRAFT ones when
// drafts are asked for, DEPRECATED and SUPERSEDED ones never.
func Counts(status cmv1.MappingStatus, includeDraft bool) bool {
	return status == cmv1.MappingStatus_MAPPING_STATUS_APPROVED || (includeDraft && status == cmv1.MappingStatus_MAPPING_STATUS_DRAFT)
}

// MappingsBetween is the number of mappings joining frameworks a and b
// (slots), in either direction.
func (g *Graph) MappingsBetween(a, b int32) int { return int(g.frameworks[a].partners[b]) }

// Partners lists the slots of the frameworks some mapping joins f to.
func (f *FrameworkNode) Partners() []int32 {
	out := make([]int32, 0, len(f.partners))
	for other, n := range f.partners {
		if n > 0 {
			out = append(out, other)
		}
	}
	slices.Sort(out)
	return out
}
