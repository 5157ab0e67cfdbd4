package satisfaction

import (
	"slices"

	"github.com/controlmap/controlmap/internal/catalog"
)

// Satisfies returns every control that implementing subject satisfies, fully
// or partly, directly or (with o.IncludeInferred) through intermediate
// controls, in frameworks (framework indexes; nil means every framework but
// the subject's own). Results are ordered by framework, then document order.
func Satisfies(g *catalog.Graph, subject catalog.ControlID, frameworks []int32, o Options) []Found {
	own := g.Control(subject).Framework
	keep := func(c catalog.ControlID) bool {
		fw := g.Control(c).Framework
		if frameworks == nil {
			return fw != own
		}
		return slices.Contains(frameworks, fw)
	}
	s := getSearcher(g)
	defer putSearcher(s)
	s.run(g, subject, o)
	var out []Found
	add := func(f Found) { out = append(out, f) }
	s.results(g, subject, o, keep, add)
	s.groupResults(g, subject, o, keep, add)
	slices.SortFunc(out, func(a, b Found) int { return int(a.Control - b.Control) })
	return out
}
