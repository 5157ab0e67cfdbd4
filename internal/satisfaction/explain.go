package satisfaction

import (
	"cmp"
	"slices"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// Explain limits: paths returned, paths collected to pick them from, and
// steps explored before giving up on a dense neighbourhood (the answer then
// says it is incomplete).
const (
	MaxExplainedPaths = 100
	maxCollectedPaths = 1000
	maxExplainSteps   = 200_000
)

// Step is one mapping of a path, read in the direction of travel.
type Step struct {
	Mapping      int32
	From, To     catalog.ControlID
	Relationship cmv1.Relationship
	Strength     int32
	Status       cmv1.MappingStatus
}

// Path is a sound path and what it composes to.
type Path struct {
	Steps        []Step
	Relationship cmv1.Relationship
	Strength     int32
	// LeftOut is the first step whose mapping does not count with the
	// request's drafts setting (catalog.Counts), or -1 when the path counts.
	LeftOut int
}

// Counts reports whether Satisfies and Coverage count the path.
func (p *Path) Counts() bool { return p.LeftOut < 0 }

// Explanation lists the sound paths between two controls.
type Explanation struct {
	Paths []Path
	// Direct is the mapping joining the two controls, if any, whatever its
	// relationship (a NO_RELATIONSHIP one is reported here, not as a path).
	Direct *catalog.MappingNode
	// Truncated is set when more paths exist than were returned or explored.
	Truncated bool
	// Groups are the group mappings with one control on each side: shown
	// whole, what they say of the two controls is in their rules, not in
	// paths.
	Groups []*catalog.MappingNode
}

// Explain finds every path of at most maxHops mappings from a to b that
// changes framework at each step, never revisits a control, stays in the
// frameworks visible marks (nil: all) and composes soundly, ordered
// shortest first, then strongest. Paths through mappings that do not count
// (catalog.Counts with includeDraft) are listed too, marked LeftOut.
func Explain(g *catalog.Graph, a, b catalog.ControlID, maxHops int, visible []bool, includeDraft bool) Explanation {
	maxHops = min(max(maxHops, 1), MaxHops)
	o := Options{Visible: visible}
	var out Explanation
	out.Direct, _ = g.MappingBetween(a, b)
	for _, slot := range g.Groups(a) {
		if m := g.MappingAt(slot); (slices.Contains(m.SrcSide, a) && slices.Contains(m.DstSide, b)) || (slices.Contains(m.DstSide, a) && slices.Contains(m.SrcSide, b)) {
			out.Groups = append(out.Groups, m)
		}
	}
	onPath := map[catalog.ControlID]bool{a: true}
	var steps []Step
	budget := maxExplainSteps
	var walk func(at catalog.ControlID, rel cmv1.Relationship, strength int32)
	walk = func(at catalog.ControlID, rel cmv1.Relationship, strength int32) {
		for _, e := range g.Edges(at) {
			if !o.sees(g, e.To) {
				continue // invisible edges cost nothing, so they change nothing
			}
			if budget--; budget < 0 {
				out.Truncated = true
				return
			}
			if e.Relationship == cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP || onPath[e.To] {
				continue
			}
			next, ok := catalog.Compose(rel, e.Relationship)
			if !ok {
				continue // nothing sound can follow
			}
			steps = append(steps, Step{Mapping: e.Mapping, From: at, To: e.To, Relationship: e.Relationship, Strength: e.Strength, Status: e.Status})
			s := min(strength, e.Strength)
			if e.To == b {
				if len(out.Paths) == maxCollectedPaths {
					out.Truncated = true
					budget = 0
				} else {
					p := Path{Steps: slices.Clone(steps), Relationship: next, Strength: s, LeftOut: -1}
					for i, st := range p.Steps {
						if !catalog.Counts(st.Status, includeDraft) {
							p.LeftOut = i
							break
						}
					}
					out.Paths = append(out.Paths, p)
				}
			} else if len(steps) < maxHops {
				onPath[e.To] = true
				walk(e.To, next, s)
				delete(onPath, e.To)
			}
			steps = steps[:len(steps)-1]
		}
	}
	walk(a, cmv1.Relationship_RELATIONSHIP_EQUAL, 10)
	slices.SortStableFunc(out.Paths, func(x, y Path) int {
		return cmp.Or(cmp.Compare(len(x.Steps), len(y.Steps)), cmp.Compare(y.Strength, x.Strength), cmp.Compare(x.LeftOut, y.LeftOut))
	})
	if len(out.Paths) > MaxExplainedPaths {
		out.Paths = out.Paths[:MaxExplainedPaths]
		out.Truncated = true
	}
	return out
}
