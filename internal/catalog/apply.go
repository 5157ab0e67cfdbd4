package catalog

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ChangeKind says what a Change writes.
type ChangeKind int8

// The kinds of catalog change.
const (
	FrameworkChange ChangeKind = iota + 1
	ControlChange
	MappingChange
)

// Change is one write to the catalog: a framework, control or mapping put
// (created or replaced) or deleted. For a control, Framework.ID names its
// framework. A delete needs only the identifying fields.
type Change struct {
	Kind      ChangeKind
	Delete    bool
	Framework Framework
	Control   Control
	Mapping   Mapping
}

// Name is the resource name of what the change writes.
func (c *Change) Name() string {
	switch c.Kind {
	case FrameworkChange:
		return FrameworkName(c.Framework.ID)
	case ControlChange:
		return ControlName(c.Framework.ID, c.Control.ID)
	default:
		return MappingName(c.Mapping.ID)
	}
}

// Apply returns the Graph at revision rev that results from applying the
// changes in order to g, which stays as it is. Each change costs what it
// touches: a mapping its two controls' edges and a path in each index, a
// control its framework's tables. A change that cannot apply (a delete of
// something missing, a control under an unknown parent or framework, a
// mapping whose end is missing or whose pair is mapped already, a framework
// or control deleted while it still has controls or mappings) fails the
// whole call. Apply trusts that each mapping passed CheckMapping, as writers
// check what they write.
func (g *Graph) Apply(rev int64, changes []Change) (*Graph, error) {
	a := applier{g: g.WithRevision(rev)}
	for i := range changes {
		var err error
		c := &changes[i]
		switch c.Kind {
		case FrameworkChange:
			err = a.framework(c)
		case ControlChange:
			err = a.control(c)
		case MappingChange:
			err = a.mapping(c)
		default:
			err = fmt.Errorf("unknown change kind %d", c.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("applying %s: %w", c.Name(), err)
		}
	}
	for _, fi := range a.reindex {
		a.indexFramework(fi)
	}
	return a.g, nil
}

// applier builds the next Graph, copying each shared table the first time
// it changes one.
type applier struct {
	g       *Graph
	ownsFWs bool
	reindex []int32 // frameworks whose controls changed
}

func (a *applier) frameworks() []FrameworkNode {
	if !a.ownsFWs {
		a.g.frameworks = slices.Clone(a.g.frameworks)
		a.ownsFWs = true
		a.resort()
	}
	return a.g.frameworks
}

func (a *applier) framework(c *Change) error {
	g := a.g
	fi, exists := g.frameworkIndex[c.Framework.ID]
	switch {
	case c.Delete && !exists:
		return errMissing
	case c.Delete:
		if len(g.frameworks[fi].controls) > 0 {
			return fmt.Errorf("the framework still has controls")
		}
		a.frameworks()[fi] = FrameworkNode{Index: fi}
		g.frameworkIndex = maps.Clone(g.frameworkIndex)
		delete(g.frameworkIndex, c.Framework.ID)
		a.resort()
	case exists:
		if errs := checkFramework(c.Framework); len(errs) > 0 {
			return errs[0]
		}
		a.frameworks()[fi].Framework = c.Framework
		a.resort()
	default:
		if errs := checkFramework(c.Framework); len(errs) > 0 {
			return errs[0]
		}
		fi = int32(len(g.frameworks))
		a.frameworks()
		g.frameworks = append(g.frameworks, FrameworkNode{Framework: c.Framework, Index: fi,
			ids: map[string]ControlID{}, lookup: map[string]ControlID{}, partners: map[int32]int32{}})
		g.frameworkIndex = maps.Clone(g.frameworkIndex)
		g.frameworkIndex[c.Framework.ID] = fi
		a.resort()
	}
	return nil
}

// resort rebuilds the id-ordered list of live frameworks; it points into
// the frameworks table, so it is rebuilt whenever that table is copied.
func (a *applier) resort() {
	g := a.g
	g.sorted = g.sorted[:0:0]
	for i := range g.frameworks {
		if g.frameworks[i].ID != "" {
			g.sorted = append(g.sorted, &g.frameworks[i])
		}
	}
	slices.SortFunc(g.sorted, func(x, y *FrameworkNode) int { return strings.Compare(x.ID, y.ID) })
}

var errMissing = fmt.Errorf("it does not exist")

func (a *applier) control(c *Change) error {
	g := a.g
	fi, ok := g.frameworkIndex[c.Framework.ID]
	if !ok {
		return fmt.Errorf("no framework %s", c.Framework.ID)
	}
	f := &g.frameworks[fi]
	id, exists := f.ids[c.Control.ID]
	switch {
	case c.Delete && !exists:
		return errMissing
	case c.Delete:
		if len(g.Edges(id)) > 0 || len(g.Groups(id)) > 0 {
			return fmt.Errorf("the control still has mappings")
		}
		for _, other := range f.controls {
			if g.Control(other).ParentID == id {
				return fmt.Errorf("the control still has child controls")
			}
		}
		g.controls = g.controls.Set(int(id), ControlNode{Index: id, Framework: -1, ParentID: NoControl, Group: NoControl})
		fn := &a.frameworks()[fi]
		fn.controls = slices.DeleteFunc(slices.Clone(fn.controls), func(x ControlID) bool { return x == id })
		fn.ids = maps.Clone(fn.ids)
		delete(fn.ids, c.Control.ID)
		a.touch(fi)
		return nil
	case exists:
		cur := g.Control(id)
		if cur.Parent != c.Control.Parent {
			return fmt.Errorf("the parent of a control cannot change")
		}
		next := *cur
		next.Control = c.Control
		g.controls = g.controls.Set(int(id), next)
		if cur.Kind != c.Control.Kind || cur.Assessable != c.Control.Assessable || !slices.Equal(cur.Aliases, c.Control.Aliases) {
			a.touch(fi)
		}
		return nil
	}
	if !ValidControlID(c.Control.ID) {
		return fmt.Errorf("id %q must be 1-64 characters without spaces or slashes", c.Control.ID)
	}
	if other, taken := f.lookup[lookupKey(c.Control.ID)]; taken && other >= 0 && strings.EqualFold(g.Control(other).ID, c.Control.ID) {
		return fmt.Errorf("id %q is taken (ignoring case)", c.Control.ID)
	}
	id = ControlID(g.controls.Len())
	node := ControlNode{Control: c.Control, Index: id, Framework: fi, ParentID: NoControl, Group: id}
	if c.Control.Parent != "" {
		p, ok := f.ids[c.Control.Parent]
		if !ok {
			return fmt.Errorf("parent %q is not a control of %s", c.Control.Parent, c.Framework.ID)
		}
		node.ParentID, node.Group = p, g.Control(p).Group
	}
	g.controls = g.controls.Append(node)
	g.edges = g.edges.Append(nil)
	for g.groups.Len() < g.edges.Len() {
		g.groups = g.groups.Append(nil)
	}
	fn := &a.frameworks()[fi]
	fn.controls = append(slices.Clip(fn.controls), id)
	fn.ids = maps.Clone(fn.ids)
	fn.ids[c.Control.ID] = id
	a.touch(fi)
	return nil
}

func (a *applier) touch(fi int32) {
	if !slices.Contains(a.reindex, fi) {
		a.reindex = append(a.reindex, fi)
	}
}

// indexFramework recomputes what a framework derives from its controls:
// groups, assessable count, the alias table and each control's accepted
// spellings (setting only the controls whose list changed).
func (a *applier) indexFramework(fi int32) {
	g := a.g
	fn := &a.frameworks()[fi]
	fn.Groups, fn.AssessableCount = nil, 0
	for _, id := range fn.controls {
		c := g.Control(id)
		if c.ParentID == NoControl {
			fn.Groups = append(fn.Groups, id)
		}
		if c.Assessable {
			fn.AssessableCount++
		}
	}
	lookup, accepted := aliasIndex(fn.controls, func(id ControlID) *Control { return &g.Control(id).Control })
	fn.lookup = lookup
	for _, id := range fn.controls {
		if cur := g.Control(id); !slices.Equal(cur.Accepted, accepted[id]) {
			next := *cur
			next.Accepted = accepted[id]
			g.controls = g.controls.Set(int(id), next)
		}
	}
}

func (a *applier) mapping(c *Change) error {
	g := a.g
	slot, exists := g.mappingIDs.Get(c.Mapping.ID)
	if c.Delete {
		if !exists {
			return errMissing
		}
		a.unlink(g.MappingAt(slot), slot)
		g.mappings = g.mappings.Set(int(slot), MappingNode{})
		g.mappingIDs = g.mappingIDs.Delete(c.Mapping.ID)
		return nil
	}
	node := MappingNode{Mapping: c.Mapping}
	if err := resolveSides(g, &node); err != nil {
		return fmt.Errorf("%s", err.msg)
	}
	if exists {
		cur := g.MappingAt(slot)
		if !slices.Equal(cur.SrcSide, node.SrcSide) || !slices.Equal(cur.DstSide, node.DstSide) {
			return fmt.Errorf("the ends of a mapping cannot change")
		}
		a.unlink(cur, slot)
		g.mappings = g.mappings.Set(int(slot), node)
		a.link(&node, slot)
		return nil
	}
	if node.IsGroup() {
		if other, dup := g.GroupBetween(node.SrcSide, node.DstSide); dup {
			return fmt.Errorf("the groups are already mapped by %s", MappingName(other.ID))
		}
	} else if other, dup := g.MappingBetween(node.Src, node.Dst); dup {
		return fmt.Errorf("the pair is already mapped by %s", MappingName(other.ID))
	}
	slot = int32(g.mappings.Len())
	g.mappings = g.mappings.Append(node)
	g.mappingIDs = g.mappingIDs.Insert(node.ID, slot)
	a.link(&node, slot)
	return nil
}

// link adds the edges of the mapping in slot, and its membership when it
// is a group mapping.
func (a *applier) link(m *MappingNode, slot int32) {
	g := a.g
	for _, p := range edgesOf(m, slot) {
		list := g.Edges(p.at)
		n := len(list)
		if p.out { // outgoing edges stay first
			n = 0
			for n < len(list) && g.outgoing(list[n], p.at) {
				n++
			}
		}
		g.edges = g.edges.Set(int(p.at), slices.Insert(slices.Clone(list), n, p.e))
	}
	if m.IsGroup() {
		for _, c := range slices.Concat(m.SrcSide, m.DstSide) {
			g.groups = g.groups.Set(int(c), append(slices.Clone(g.Groups(c)), slot))
		}
	}
	a.partners(m, 1)
}

// unlink removes what link added.
func (a *applier) unlink(m *MappingNode, slot int32) {
	g := a.g
	for _, c := range slices.Concat(m.SrcSide, m.DstSide) {
		if slices.ContainsFunc(g.Edges(c), func(e Edge) bool { return e.Mapping == slot }) {
			g.edges = g.edges.Set(int(c), slices.DeleteFunc(slices.Clone(g.Edges(c)), func(e Edge) bool { return e.Mapping == slot }))
		}
		if slices.Contains(g.Groups(c), slot) {
			g.groups = g.groups.Set(int(c), slices.DeleteFunc(slices.Clone(g.Groups(c)), func(s int32) bool { return s == slot }))
		}
	}
	a.partners(m, -1)
}

// outgoing reports whether e, an edge of c, reads its mapping from the
// mapping's source side.
func (g *Graph) outgoing(e Edge, c ControlID) bool {
	return slices.Contains(g.MappingAt(e.Mapping).SrcSide, c)
}

func (a *applier) partners(m *MappingNode, delta int32) {
	g := a.g
	fa, fb := g.Control(m.Src).Framework, g.Control(m.Dst).Framework
	fws := a.frameworks()
	for _, p := range [2][2]int32{{fa, fb}, {fb, fa}} {
		fn := &fws[p[0]]
		fn.partners = maps.Clone(fn.partners)
		if fn.partners[p[1]] += delta; fn.partners[p[1]] == 0 {
			delete(fn.partners, p[1])
		}
	}
}
