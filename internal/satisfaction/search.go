package satisfaction

import (
	"slices"
	"sync"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// Hop limits: inferred paths are bounded (default 3, at most 5).
const (
	DefaultMaxHops = 3
	MaxHops        = 5
)

// Options bound a search.
type Options struct {
	// MaxHops is the longest path, in mappings (1..MaxHops).
	MaxHops int
	// IncludeInferred allows paths of more than one mapping.
	IncludeInferred bool
	// MinStrength drops paths whose weakest mapping is weaker.
	MinStrength int32
	// IncludeDraft counts DRAFT mappings besides APPROVED ones (see
	// catalog.Counts).
	IncludeDraft bool
	// Visible, when set, says by framework index which frameworks the
	// caller may see (catalog.View.Visible): paths never pass through the
	// others, so no tenant's controls or mappings reach another's answers.
	Visible []bool
}

// sees reports whether a path may step onto control c.
func (o *Options) sees(g *catalog.Graph, c catalog.ControlID) bool {
	return o.Visible == nil || o.Visible[g.Control(c).Framework]
}

func (o Options) hops() int {
	if !o.IncludeInferred {
		return 1
	}
	return min(max(o.MaxHops, 1), MaxHops)
}

// node is one step of a path found by a search: the arena of a search is
// append-only, so a path read back through parents is always the path that
// was scored, even after a better label replaced it in the state table.
type node struct {
	control  catalog.ControlID
	rel      cmv1.Relationship
	strength int32
	hops     int32
	parent   int32 // node index, -1 at the subject
	mapping  int32 // mapping index of the last step
}

// searcher is the scratch space of one search, reused through a pool. A
// state is a (control, composed relationship) pair; stamps tell which
// entries belong to the current search, so nothing is cleared between
// searches.
type searcher struct {
	epoch    uint32
	stamp    []uint32 // per state
	best     []int32  // per state: node index
	direct   []uint32 // per control: stamped when a mapping joins it to the subject
	arena    []node
	touched  []int32 // states reached, in order
	frontier []int32
	next     []int32
	queued   []uint32 // per state: stamped when in next
	picked   []uint32 // per control: stamped when pick holds its answer
	pick     []int32  // per control: node index of the chosen path
	answered []uint32 // per control: stamped when results or groupResults emitted it
	controls []catalog.ControlID
}

var searchers = sync.Pool{New: func() any { return new(searcher) }}

func getSearcher(g *catalog.Graph) *searcher {
	s := searchers.Get().(*searcher)
	s.reset(g)
	return s
}

// reset prepares the scratch space for a new search over g.
func (s *searcher) reset(g *catalog.Graph) {
	if n := g.ControlCount(); len(s.direct) < n {
		s.stamp = make([]uint32, 4*n)
		s.best = make([]int32, 4*n)
		s.queued = make([]uint32, 4*n)
		s.direct = make([]uint32, n)
		s.picked = make([]uint32, n)
		s.pick = make([]int32, n)
		s.answered = make([]uint32, n)
		s.epoch = 0
	}
	s.epoch++
	if s.epoch == 0 { // wrapped: old stamps could match again
		clear(s.stamp)
		clear(s.queued)
		clear(s.direct)
		clear(s.picked)
		clear(s.answered)
		s.epoch = 1
	}
	s.arena = s.arena[:0]
	s.touched = s.touched[:0]
}

func putSearcher(s *searcher) { searchers.Put(s) }

// relIndex maps the four composable relationships to 0..3.
func relIndex(r cmv1.Relationship) int32 { return int32(r) - 1 }

func state(c catalog.ControlID, r cmv1.Relationship) int32 { return int32(c)*4 + relIndex(r) }

// onPath reports whether control c is on the path ending at node n.
func (s *searcher) onPath(n int32, c catalog.ControlID) bool {
	for ; n >= 0; n = s.arena[n].parent {
		if s.arena[n].control == c {
			return true
		}
	}
	return false
}

// run explores every sound path from subject, keeping for each (control,
// composed relationship) the strongest path, then the shortest. Direct
// neighbours are stamped in direct whatever their relationship.
func (s *searcher) run(g *catalog.Graph, subject catalog.ControlID, o Options) {
	s.arena = append(s.arena, node{control: subject, rel: cmv1.Relationship_RELATIONSHIP_EQUAL, strength: 10, parent: -1, mapping: -1})
	for _, e := range g.Edges(subject) {
		if !e.Derived && o.sees(g, e.To) && catalog.Counts(e.Status, o.IncludeDraft) {
			s.direct[e.To] = s.epoch
		}
	}
	s.frontier = append(s.frontier[:0], 0)
	maxHops := o.hops()
	for hop := int32(1); hop <= int32(maxHops) && len(s.frontier) > 0; hop++ {
		s.next = s.next[:0]
		for _, ni := range s.frontier {
			from := s.arena[ni]
			if b := s.best[state(from.control, from.rel)]; ni != 0 && b != ni && s.arena[b].hops == from.hops {
				continue // a stronger path of the same length replaced it
			}
			for _, e := range g.Edges(from.control) {
				if e.Relationship == cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP || !o.sees(g, e.To) || !catalog.Counts(e.Status, o.IncludeDraft) {
					continue
				}
				rel, ok := catalog.Compose(from.rel, e.Relationship)
				if !ok {
					continue
				}
				strength := min(from.strength, e.Strength)
				if strength < o.MinStrength || s.onPath(ni, e.To) {
					continue
				}
				st := state(e.To, rel)
				if s.stamp[st] == s.epoch {
					cur := &s.arena[s.best[st]]
					if cur.strength > strength || (cur.strength == strength && cur.hops <= hop) {
						continue
					}
				} else {
					s.stamp[st] = s.epoch
					s.touched = append(s.touched, st)
				}
				s.best[st] = int32(len(s.arena))
				s.arena = append(s.arena, node{control: e.To, rel: rel, strength: strength, hops: hop, parent: ni, mapping: e.Mapping})
				if s.queued[st] != s.epoch {
					s.queued[st] = s.epoch
					s.next = append(s.next, s.best[st])
				}
			}
		}
		// Nodes queued for this state earlier in the layer were replaced by
		// best[st]; expand the best one only.
		for i, ni := range s.next {
			n := s.arena[ni]
			s.next[i] = s.best[state(n.control, n.rel)]
			s.queued[state(n.control, n.rel)] = 0
		}
		s.frontier, s.next = s.next, s.frontier
	}
}

// path returns the mapping indexes of the path ending at node n, from the
// subject.
func (s *searcher) path(n int32) []int32 {
	out := make([]int32, s.arena[n].hops)
	for i := len(out) - 1; n > 0; n = s.arena[n].parent {
		out[i] = s.arena[n].mapping
		i--
	}
	return out
}

// Found is one control a search reached, with the path it keeps.
type Found struct {
	Control      catalog.ControlID
	Relationship cmv1.Relationship
	Satisfaction cmv1.Satisfaction
	Strength     int32
	Inferred     bool
	// Path holds mapping indexes of the Graph, from the subject.
	Path []int32
	// Group says the answer comes from a group mapping (Path's one
	// mapping) the subject is a member of: the group together contains the
	// control, so a member gives PARTIAL at most, and never more than that
	// one step.
	Group bool
}

// groupResults emits, for controls results did not answer and no direct
// mapping decides, what the group mappings subject is a member of say: a
// member of a group whose union contains a control (SUPERSET_OF or EQUAL
// read from the group) gives it PARTIAL. A member alone of a group that is
// contained in or intersects something says nothing of it; what holds
// pairwise is an edge already. It follows results for subject.
func (s *searcher) groupResults(g *catalog.Graph, subject catalog.ControlID, o Options, keep func(catalog.ControlID) bool, emit func(Found)) {
	if o.MinStrength > 1 {
		return // a member's share of the whole is not known: strength 1
	}
	for _, slot := range g.Groups(subject) {
		m := g.MappingAt(slot)
		if !catalog.Counts(m.Provenance.Status, o.IncludeDraft) {
			continue
		}
		own, other, rel := m.SrcSide, m.DstSide, m.Relationship
		if !slices.Contains(own, subject) {
			own, other, rel = m.DstSide, m.SrcSide, catalog.Inverse(rel)
		}
		if len(own) < 2 || (rel != cmv1.Relationship_RELATIONSHIP_SUPERSET_OF && rel != cmv1.Relationship_RELATIONSHIP_EQUAL) {
			continue
		}
		for _, c := range other {
			if o.sees(g, c) && keep(c) && s.answered[c] != s.epoch && s.direct[c] != s.epoch {
				s.answered[c] = s.epoch
				emit(Found{Control: c, Relationship: rel, Satisfaction: cmv1.Satisfaction_SATISFACTION_PARTIAL, Strength: 1, Path: []int32{slot}, Group: true})
			}
		}
	}
}

// results picks one answer per reached control for which keep is true. A
// mapping that counts (catalog.Counts) and joins the control to the subject
// directly decides, whatever inference says: an authored statement beats a
// derived one, and a direct NO_RELATIONSHIP excludes the control. Otherwise the best path
// wins (a statement a group mapping implies is a path of one step): FULL
// before PARTIAL, then strength, then fewer hops.
func (s *searcher) results(g *catalog.Graph, subject catalog.ControlID, o Options, keep func(catalog.ControlID) bool, emit func(Found)) {
	for _, e := range g.Edges(subject) {
		if e.Derived || e.Relationship == cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP || e.Strength < o.MinStrength || !o.sees(g, e.To) ||
			!catalog.Counts(e.Status, o.IncludeDraft) || !keep(e.To) {
			continue
		}
		s.answered[e.To] = s.epoch
		emit(Found{
			Control:      e.To,
			Relationship: e.Relationship,
			Satisfaction: catalog.SatisfactionOf(e.Relationship),
			Strength:     e.Strength,
			Path:         []int32{e.Mapping},
		})
	}
	s.controls = s.controls[:0]
	for _, st := range s.touched {
		ni := s.best[st]
		n := &s.arena[ni]
		c := n.control
		if c == subject || s.direct[c] == s.epoch || !keep(c) {
			continue
		}
		if s.picked[c] != s.epoch {
			s.picked[c] = s.epoch
			s.pick[c] = ni
			s.controls = append(s.controls, c)
		} else if better(n, &s.arena[s.pick[c]]) {
			s.pick[c] = ni
		}
	}
	for _, c := range s.controls {
		ni := s.pick[c]
		n := &s.arena[ni]
		s.answered[c] = s.epoch
		emit(Found{
			Control:      c,
			Relationship: n.rel,
			Satisfaction: catalog.SatisfactionOf(n.rel),
			Strength:     n.strength,
			Inferred:     n.hops > 1,
			Path:         s.path(ni),
		})
	}
}

func better(a, b *node) bool {
	sa, sb := catalog.SatisfactionOf(a.rel), catalog.SatisfactionOf(b.rel)
	switch {
	case sa != sb:
		return sa < sb // FULL (1) before PARTIAL (2)
	case a.strength != b.strength:
		return a.strength > b.strength
	case a.hops != b.hops:
		return a.hops < b.hops
	}
	return a.rel < b.rel
}
