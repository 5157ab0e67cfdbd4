package catalog

import (
	"cmp"
	"slices"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// Oriented is a mapping read from a chosen side: From R To, where R is the
// stored relationship or, when Inverse, its inverse.
type Oriented struct {
	Mapping      *MappingNode
	From, To     ControlID
	Relationship cmv1.Relationship
	Inverse      bool
}

// Crosswalk returns the mappings between frameworks from and to, each read
// from `from`, ordered by the position of From then of To (control ids grow
// in document order within a framework). A group mapping is listed once,
// From and To being the first controls of its sides.
func (g *Graph) Crosswalk(from, to int32) []Oriented {
	var out []Oriented
	if g.frameworks[from].partners[to] == 0 {
		return nil
	}
	for _, c := range g.frameworks[from].controls {
		start := len(out)
		for _, e := range g.Edges(c) {
			if e.Derived || g.Control(e.To).Framework != to {
				continue
			}
			m := g.MappingAt(e.Mapping)
			out = append(out, Oriented{Mapping: m, From: c, To: e.To, Relationship: e.Relationship, Inverse: m.Src != c})
		}
		for _, slot := range g.Groups(c) {
			m := g.MappingAt(slot)
			switch {
			case m.Src == c && g.Control(m.Dst).Framework == to:
				out = append(out, Oriented{Mapping: m, From: c, To: m.Dst, Relationship: m.Relationship})
			case m.Dst == c && g.Control(m.Src).Framework == to:
				out = append(out, Oriented{Mapping: m, From: c, To: m.Src, Relationship: Inverse(m.Relationship), Inverse: true})
			}
		}
		slices.SortFunc(out[start:], func(a, b Oriented) int { return cmp.Compare(a.To, b.To) })
	}
	return out
}

// CrosswalkStats summarizes a crosswalk read from one framework to another.
type CrosswalkStats struct {
	From, To int32
	Mappings int
	// ByRelationship counts mappings per relationship as read From -> To,
	// indexed by the enum value.
	ByRelationship [6]int
	// FromTouched and ToTouched count the assessable controls on each side
	// that appear in at least one mapping other than NO_RELATIONSHIP.
	FromTouched, ToTouched int
	// StoredForward counts mappings stored in the From -> To direction.
	StoredForward int
}

// Stats computes the statistics of the crosswalk from -> to.
func (g *Graph) Stats(from, to int32) CrosswalkStats {
	s := CrosswalkStats{From: from, To: to}
	touched := map[ControlID]bool{}
	for _, o := range g.Crosswalk(from, to) {
		s.Mappings++
		s.ByRelationship[o.Relationship]++
		if !o.Inverse {
			s.StoredForward++
		}
		if o.Relationship == cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP {
			continue
		}
		for _, c := range slices.Concat(o.Mapping.SrcSide, o.Mapping.DstSide) {
			if g.Control(c).Assessable && !touched[c] {
				touched[c] = true
				if g.Control(c).Framework == from {
					s.FromTouched++
				} else {
					s.ToTouched++
				}
			}
		}
	}
	return s
}
