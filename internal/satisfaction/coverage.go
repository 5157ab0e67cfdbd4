package satisfaction

import (
	"cmp"
	"context"
	"slices"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// Notice travels with every coverage report.
const Notice = "This report states how the controls relate according to the mappings in the catalog. " +
	"It is not a compliance verdict: an auditor judges whether each control is implemented and effective."

// SourceControl is a control of the source with its implementation status.
type SourceControl struct {
	Control        catalog.ControlID
	Implementation cmv1.ImplementationStatus
}

// Contribution is what one source control gives one target control.
type Contribution struct {
	Found
	// Source is the contributing source control (Found.Control is the
	// target).
	Source         catalog.ControlID
	Implementation cmv1.ImplementationStatus
}

// Totals counts assessable target controls by satisfaction.
type Totals struct {
	Total, Full, Partial, None int
}

func (t *Totals) add(s cmv1.Satisfaction) {
	t.Total++
	switch s {
	case cmv1.Satisfaction_SATISFACTION_FULL:
		t.Full++
	case cmv1.Satisfaction_SATISFACTION_PARTIAL:
		t.Partial++
	default:
		t.None++
	}
}

// ControlCoverage is the coverage of one assessable target control.
type ControlCoverage struct {
	Control catalog.ControlID
	Status  cmv1.Satisfaction
	Sources []Contribution
}

// GroupCoverage is the coverage of one top-level group of the target.
type GroupCoverage struct {
	Group catalog.ControlID
	Totals
}

// Report is the coverage of a target framework by a set of source controls.
type Report struct {
	Target   *catalog.FrameworkNode
	Totals   Totals
	Groups   []GroupCoverage
	Controls []ControlCoverage
	// Reuse lists the source controls that contribute anything, in
	// document order; ReuseAssessable counts the assessable ones among them
	// and SourceAssessable the assessable controls of the source.
	Reuse            []catalog.ControlID
	ReuseAssessable  int
	SourceAssessable int
}

// Coverage computes, for every assessable control of target, the best
// satisfaction the sources give and who gives it. A source control that is
// only PARTIAL gives at most PARTIAL; PLANNED, NOT_IMPLEMENTED and
// NOT_APPLICABLE give nothing. Sources must not repeat.
//
// It stops with ctx's error when ctx ends: a large coverage is the costliest
// question, and the caller's deadline holds for it too.
func Coverage(ctx context.Context, g *catalog.Graph, sources []SourceControl, target *catalog.FrameworkNode, o Options) (Report, error) {
	r := Report{Target: target}
	controls := target.ControlIDs() // ascending: ids grow in document order
	byPos := make([]ControlCoverage, len(controls))
	keep := func(c catalog.ControlID) bool {
		return g.Control(c).Framework == target.Index && g.Control(c).Assessable
	}
	contributes := map[catalog.ControlID]bool{}
	// A group whose every member is implemented counts whole; its members
	// then need no contribution of their own through it.
	whole := wholeGroups(g, sources, keep, o)
	type groupTarget struct {
		slot    int32
		control catalog.ControlID
	}
	fired := map[groupTarget]bool{}
	for _, c := range whole {
		fired[groupTarget{c.Path[0], c.Control}] = true
		pos, _ := slices.BinarySearch(controls, c.Control)
		byPos[pos].Sources = append(byPos[pos].Sources, c)
		contributes[c.Source] = true
	}

	s := getSearcher(g)
	defer putSearcher(s)
	for _, src := range sources {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		if g.Control(src.Control).Assessable {
			r.SourceAssessable++
		}
		impl := src.Implementation
		if impl != cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED && impl != cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL {
			continue
		}
		s.reset(g)
		s.run(g, src.Control, o)
		add := func(f Found) {
			if f.Group && fired[groupTarget{f.Path[0], f.Control}] {
				return
			}
			if impl == cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL {
				f.Satisfaction = cmv1.Satisfaction_SATISFACTION_PARTIAL
			}
			pos, _ := slices.BinarySearch(controls, f.Control)
			cc := &byPos[pos]
			cc.Sources = append(cc.Sources, Contribution{Found: f, Source: src.Control, Implementation: impl})
			contributes[src.Control] = true
		}
		s.results(g, src.Control, o, keep, add)
		s.groupResults(g, src.Control, o, keep, add)
	}

	groupAt := map[catalog.ControlID]int{}
	for _, gid := range target.Groups {
		groupAt[gid] = len(r.Groups)
		r.Groups = append(r.Groups, GroupCoverage{Group: gid})
	}
	for i, c := range g.Controls(target) {
		if !c.Assessable {
			continue
		}
		cc := byPos[i]
		cc.Control = c.Index
		cc.Status = cmv1.Satisfaction_SATISFACTION_NONE
		for _, k := range cc.Sources {
			cc.Status = min(cc.Status, k.Satisfaction) // FULL < PARTIAL < NONE
		}
		slices.SortFunc(cc.Sources, func(a, b Contribution) int {
			return cmp.Or(cmp.Compare(a.Satisfaction, b.Satisfaction), cmp.Compare(b.Strength, a.Strength),
				cmp.Compare(len(a.Path), len(b.Path)), cmp.Compare(a.Source, b.Source))
		})
		r.Totals.add(cc.Status)
		r.Groups[groupAt[c.Group]].add(cc.Status)
		r.Controls = append(r.Controls, cc)
	}
	for _, src := range sources {
		if contributes[src.Control] {
			r.Reuse = append(r.Reuse, src.Control)
			if g.Control(src.Control).Assessable {
				r.ReuseAssessable++
			}
		}
	}
	slices.Sort(r.Reuse)
	return r, nil
}

// wholeGroups returns what the group mappings say whose covering side is
// wholly among the implemented sources: the relationship between the
// unions then holds for what the members implement together (FULL where
// the group contains a control, PARTIAL where it is contained in or meets
// it; PARTIAL at most when a member is only partly implemented), one
// contribution per member.
func wholeGroups(g *catalog.Graph, sources []SourceControl, keep func(catalog.ControlID) bool, o Options) []Contribution {
	impl := map[catalog.ControlID]cmv1.ImplementationStatus{}
	for _, s := range sources {
		if s.Implementation == cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED || s.Implementation == cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL {
			impl[s.Control] = s.Implementation
		}
	}
	seen := map[int32]bool{}
	var out []Contribution
	for _, s := range sources {
		for _, slot := range g.Groups(s.Control) {
			m := g.MappingAt(slot)
			if seen[slot] || !catalog.Counts(m.Provenance.Status, o.IncludeDraft) {
				continue
			}
			seen[slot] = true
			for _, dir := range []bool{false, true} { // read from the source side, then from the target side
				own, other, rel, strength := m.SrcSide, m.DstSide, m.Relationship, m.Strength
				if dir {
					own, other, rel, strength = m.DstSide, m.SrcSide, catalog.Inverse(m.Relationship), m.ReverseStrength
				}
				if len(own) < 2 || strength < o.MinStrength {
					continue // one control: its edges say it all
				}
				sat, status := groupSatisfaction(rel, len(other)), cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED
				for _, c := range own {
					st, ok := impl[c]
					if !ok {
						sat = cmv1.Satisfaction_SATISFACTION_NONE
						break
					}
					if st == cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL {
						status = st
					}
				}
				if sat == cmv1.Satisfaction_SATISFACTION_NONE {
					continue
				}
				if status == cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL {
					sat = cmv1.Satisfaction_SATISFACTION_PARTIAL
				}
				for _, t := range other {
					if !o.sees(g, t) || !keep(t) {
						continue
					}
					for _, c := range own {
						out = append(out, Contribution{Found: Found{Control: t, Relationship: rel, Satisfaction: sat, Strength: strength, Path: []int32{slot}, Group: true},
							Source: c, Implementation: impl[c]})
					}
				}
			}
		}
	}
	return out
}

// groupSatisfaction is what a whole group gives each control of the other
// side (of others controls) by relationship rel: the relationship's
// satisfaction towards a single control; towards each member of a group,
// FULL when the group's union is contained, nothing otherwise.
func groupSatisfaction(rel cmv1.Relationship, others int) cmv1.Satisfaction {
	if others == 1 {
		return catalog.SatisfactionOf(rel)
	}
	if rel == cmv1.Relationship_RELATIONSHIP_SUPERSET_OF || rel == cmv1.Relationship_RELATIONSHIP_EQUAL {
		return cmv1.Satisfaction_SATISFACTION_FULL
	}
	return cmv1.Satisfaction_SATISFACTION_NONE
}

// GapClass is what a target control's status means for a program being
// extended.
func GapClass(s cmv1.Satisfaction) cmv1.GapClass {
	switch s {
	case cmv1.Satisfaction_SATISFACTION_FULL:
		return cmv1.GapClass_GAP_CLASS_REUSE
	case cmv1.Satisfaction_SATISFACTION_PARTIAL:
		return cmv1.GapClass_GAP_CLASS_EXTEND
	}
	return cmv1.GapClass_GAP_CLASS_NEW
}
