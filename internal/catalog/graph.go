package catalog

import (
	"cmp"
	"slices"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// ControlID is the index of a control in a Graph. It is only meaningful for
// the Graph that issued it.
type ControlID int32

// NoControl stands for "no control", such as the parent of a top-level one.
const NoControl ControlID = -1

// FrameworkNode is a framework as indexed in a Graph.
type FrameworkNode struct {
	Framework
	// Index is the position in Graph.Frameworks.
	Index int32
	// First and End delimit the framework's controls: [First, End).
	First, End ControlID
	// AssessableCount is the number of controls that count in coverage.
	AssessableCount int32
	// Groups are the top-level controls, in document order.
	Groups []ControlID
	// ids finds a control by its canonical id (case-sensitive); small and
	// per framework, so resolving the ends of a million mappings stays fast.
	ids map[string]ControlID
}

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
}

// Graph is an immutable, indexed snapshot of the catalog at one revision.
// All methods are safe for concurrent use; nothing they return may be
// modified.
type Graph struct {
	revision       int64
	frameworks     []FrameworkNode
	frameworkIndex map[string]int32
	controls       []ControlNode
	lookup         map[controlKey]ControlID

	mappings     []MappingNode // ordered by ID
	mappingIndex map[string]int32
	edges        [][]Edge // per control: every mapping, read from it, outgoing first
	pairs        map[[2]ControlID]int32
	crosswalks   map[[2]int32][]int32 // framework pair (low, high) -> mappings
}

// Revision is the store revision the Graph reflects.
func (g *Graph) Revision() int64 { return g.revision }

// Frameworks returns every framework, ordered by id.
func (g *Graph) Frameworks() []FrameworkNode { return g.frameworks }

// Framework returns the framework with the given id.
func (g *Graph) Framework(id string) (*FrameworkNode, bool) {
	i, ok := g.frameworkIndex[id]
	if !ok {
		return nil, false
	}
	return &g.frameworks[i], true
}

// FrameworkAt returns the framework at index i.
func (g *Graph) FrameworkAt(i int32) *FrameworkNode { return &g.frameworks[i] }

// Control returns the control with the given id.
func (g *Graph) Control(id ControlID) *ControlNode { return &g.controls[id] }

// Controls returns the controls of f in document order.
func (g *Graph) Controls(f *FrameworkNode) []ControlNode { return g.controls[f.First:f.End] }

// ControlCount is the number of controls in all frameworks.
func (g *Graph) ControlCount() int { return len(g.controls) }

// Ref returns the canonical reference of a control.
func (g *Graph) Ref(id ControlID) ControlRef {
	c := &g.controls[id]
	return ControlRef{Framework: g.frameworks[c.Framework].ID, Control: c.ID}
}

// ResolveControl finds a control of a framework by its canonical id or any
// accepted spelling, ignoring case.
func (g *Graph) ResolveControl(framework, ref string) (ControlID, bool) {
	fi, ok := g.frameworkIndex[framework]
	if !ok {
		return NoControl, false
	}
	id, ok := g.lookup[lookupKey(fi, ref)]
	return id, ok && id >= 0
}

// Mappings returns every mapping, ordered by id.
func (g *Graph) Mappings() []MappingNode { return g.mappings }

// Mapping returns the mapping with the given id.
func (g *Graph) Mapping(id string) (*MappingNode, bool) {
	i, ok := g.mappingIndex[id]
	if !ok {
		return nil, false
	}
	return &g.mappings[i], true
}

// MappingAt returns the mapping at index i of Mappings.
func (g *Graph) MappingAt(i int32) *MappingNode { return &g.mappings[i] }

// Edge is a mapping seen from one of its ends: "this control Relationship
// To". For the target end of a mapping, Relationship is the inverse of the
// stored one.
type Edge struct {
	To           ControlID
	Mapping      int32
	Relationship cmv1.Relationship
	Strength     int32
}

// Edges returns every mapping of c, read from c, outgoing ones first.
func (g *Graph) Edges(c ControlID) []Edge { return g.edges[c] }

// MappingBetween returns the mapping joining a and b, in either direction.
func (g *Graph) MappingBetween(a, b ControlID) (*MappingNode, bool) {
	i, ok := g.pairs[pairKey(a, b)]
	if !ok {
		return nil, false
	}
	return &g.mappings[i], true
}

// CrosswalkMappings returns the indexes of the mappings between frameworks
// a and b in either direction, ordered by the position of their ends.
func (g *Graph) CrosswalkMappings(a, b int32) []int32 {
	return g.crosswalks[frameworkPair(a, b)]
}

// CrosswalkPairs returns every pair of framework indexes (low, high) joined
// by at least one mapping, ordered.
func (g *Graph) CrosswalkPairs() [][2]int32 {
	out := make([][2]int32, 0, len(g.crosswalks))
	for k := range g.crosswalks {
		out = append(out, k)
	}
	slices.SortFunc(out, func(x, y [2]int32) int {
		return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1]))
	})
	return out
}

func pairKey(a, b ControlID) [2]ControlID {
	if a > b {
		a, b = b, a
	}
	return [2]ControlID{a, b}
}

func frameworkPair(a, b int32) [2]int32 {
	if a > b {
		a, b = b, a
	}
	return [2]int32{a, b}
}

// WithRevision returns g as it is, labelled with another revision: for
// writes that change something else than the catalog (tenants, keys).
func (g *Graph) WithRevision(revision int64) *Graph {
	ng := *g
	ng.revision = revision
	return &ng
}

// WithMappings returns a Graph at the given revision with the same
// frameworks and controls as g and exactly the given mappings. It rejects
// mappings that name an unknown control or join a pair of controls already
// joined. Unlike Build it trusts that each mapping passed CheckMapping, as
// the stores check every write: a write then costs no re-validation of all
// the others.
func (g *Graph) WithMappings(revision int64, mappings []Mapping) (*Graph, error) {
	ng := &Graph{
		revision:       revision,
		frameworks:     g.frameworks,
		frameworkIndex: g.frameworkIndex,
		controls:       g.controls,
		lookup:         g.lookup,
	}
	if err := ng.indexMappings(mappings, false); err != nil {
		return nil, err
	}
	return ng, nil
}

func (g *Graph) indexMappings(mappings []Mapping, validate bool) error {
	// Sort positions, not the (large) mappings themselves.
	order := make([]int32, len(mappings))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(mappings[a].ID, mappings[b].ID) })
	nodes := make([]MappingNode, len(mappings))
	for i, j := range order {
		nodes[i].Mapping = mappings[j]
	}

	g.mappings = nodes
	g.mappingIndex = make(map[string]int32, len(nodes))
	g.pairs = make(map[[2]ControlID]int32, len(nodes))
	g.crosswalks = make(map[[2]int32][]int32)
	outCount := make([]int32, len(g.controls))
	inCount := make([]int32, len(g.controls))
	for i := range nodes {
		m := &nodes[i]
		if err := g.resolveMapping(m, int32(i), validate); err != nil {
			return err
		}
		outCount[m.Src]++
		inCount[m.Dst]++
		fp := frameworkPair(g.controls[m.Src].Framework, g.controls[m.Dst].Framework)
		g.crosswalks[fp] = append(g.crosswalks[fp], int32(i))
	}
	edgeCount := make([]int32, len(g.controls))
	for i := range edgeCount {
		edgeCount[i] = outCount[i] + inCount[i]
	}
	g.edges = adjacency[Edge](edgeCount)
	for pass := range 2 { // outgoing edges first, then incoming ones
		for i := range nodes {
			m := &nodes[i]
			if pass == 0 {
				g.edges[m.Src] = append(g.edges[m.Src], Edge{To: m.Dst, Mapping: int32(i), Relationship: m.Relationship, Strength: m.Strength})
			} else {
				g.edges[m.Dst] = append(g.edges[m.Dst], Edge{To: m.Src, Mapping: int32(i), Relationship: Inverse(m.Relationship), Strength: m.ReverseStrength})
			}
		}
	}
	for fp, list := range g.crosswalks {
		lowSide := fp[0]
		slices.SortFunc(list, func(a, b int32) int {
			a0, a1 := g.orientedEnds(a, lowSide)
			b0, b1 := g.orientedEnds(b, lowSide)
			return cmp.Or(cmp.Compare(a0, b0), cmp.Compare(a1, b1))
		})
	}
	return nil
}

// orientedEnds returns the ends of mapping i with the one in framework side
// first.
func (g *Graph) orientedEnds(i int32, side int32) (ControlID, ControlID) {
	m := &g.mappings[i]
	if g.controls[m.Src].Framework == side {
		return m.Src, m.Dst
	}
	return m.Dst, m.Src
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

func (g *Graph) resolveMapping(m *MappingNode, index int32, validate bool) error {
	field := func(f string) string { return "mappings[" + m.ID + "]." + f }
	if _, dup := g.mappingIndex[m.ID]; dup || m.ID == "" {
		return Invalid(field("name"), "is empty or not unique")
	}
	g.mappingIndex[m.ID] = index
	if validate {
		if vs := CheckMapping(&m.Mapping); len(vs) > 0 {
			for i := range vs {
				vs[i].Field = field(vs[i].Field)
			}
			return &InvalidError{Violations: vs}
		}
	}
	var ok bool
	if m.Src, ok = g.ExactControl(m.Source); !ok {
		return Invalid(field("source"), "unknown control "+m.Source.Name())
	}
	if m.Dst, ok = g.ExactControl(m.Target); !ok {
		return Invalid(field("target"), "unknown control "+m.Target.Name())
	}
	key := pairKey(m.Src, m.Dst)
	if other, dup := g.pairs[key]; dup {
		return Invalid(field("target"), "the pair is already mapped by "+MappingName(g.mappings[other].ID))
	}
	g.pairs[key] = index
	return nil
}

// ExactControl finds a control by its canonical reference only (no
// aliases, case-sensitive).
func (g *Graph) ExactControl(r ControlRef) (ControlID, bool) {
	fi, ok := g.frameworkIndex[r.Framework]
	if !ok {
		return NoControl, false
	}
	id, ok := g.frameworks[fi].ids[r.Control]
	return id, ok
}
