package service

import (
	"context"
	"fmt"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/satisfaction"
	"github.com/controlmap/controlmap/internal/store"
)

// Bounds on the lists a request may carry.
const (
	maxSourceControls   = 5000
	maxTargetFrameworks = 100
)

// SatisfactionServer implements cmv1.SatisfactionServiceServer.
type SatisfactionServer struct {
	cmv1.UnimplementedSatisfactionServiceServer
	store store.Store
}

// NewSatisfactionServer returns the satisfaction service over s.
func NewSatisfactionServer(s store.Store) *SatisfactionServer { return &SatisfactionServer{store: s} }

// searchOptions validates the options every query shares.
func searchOptions(includeInferred *bool, maxHops, minStrength int32) (satisfaction.Options, error) {
	o := satisfaction.Options{MaxHops: satisfaction.DefaultMaxHops, IncludeInferred: true, MinStrength: minStrength}
	if includeInferred != nil {
		o.IncludeInferred = *includeInferred
	}
	switch {
	case maxHops < 0 || maxHops > satisfaction.MaxHops:
		return o, invalid("max_hops", "must be between 1 and %d (0 means %d), got %d", satisfaction.MaxHops, satisfaction.DefaultMaxHops, maxHops)
	case maxHops > 0:
		o.MaxHops = int(maxHops)
	}
	if minStrength < 0 || minStrength > 10 {
		return o, invalid("min_strength", "must be between 0 and 10, got %d", minStrength)
	}
	return o, nil
}

// Satisfies implements cmv1.SatisfactionServiceServer.
func (s *SatisfactionServer) Satisfies(ctx context.Context, req *cmv1.SatisfiesRequest) (*cmv1.SatisfiesResponse, error) {
	g := viewOf(ctx, s.store)
	subject, err := resolveControl(g, "control", req.GetControl())
	if err != nil {
		return nil, err
	}
	o, err := searchOptions(req.IncludeInferred, req.GetMaxHops(), req.GetMinStrength())
	o.IncludeDraft = req.GetIncludeDraft()
	if err != nil {
		return nil, err
	}
	o.Visible = g.Visible()
	if n := len(req.GetTargetFrameworks()); n > maxTargetFrameworks {
		return nil, invalid("target_frameworks", "at most %d frameworks, got %d", maxTargetFrameworks, n)
	}
	var frameworks []int32
	for i, name := range req.GetTargetFrameworks() {
		f, err := resolveFramework(g, fmt.Sprintf("target_frameworks[%d]", i), name, true)
		if err != nil {
			return nil, err
		}
		frameworks = append(frameworks, f.Index)
	}
	resp := &cmv1.SatisfiesResponse{Control: g.Ref(subject).Name(), Revision: g.Revision()}
	impl := implementationOf(g, subject, 0)
	if impl != cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED && impl != cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL {
		return resp, nil // a control not in place satisfies nothing
	}
	var cur *cmv1.FrameworkSatisfaction
	for _, f := range satisfaction.Satisfies(g.Graph, subject, frameworks, o) {
		if impl == cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL {
			f.Satisfaction = cmv1.Satisfaction_SATISFACTION_PARTIAL
		}
		fw := catalog.FrameworkName(g.FrameworkAt(g.Control(f.Control).Framework).ID)
		if cur == nil || cur.Framework != fw {
			cur = &cmv1.FrameworkSatisfaction{Framework: fw}
			resp.Frameworks = append(resp.Frameworks, cur)
		}
		cur.Controls = append(cur.Controls, &cmv1.SatisfiedControl{
			Control:      g.Ref(f.Control).Name(),
			Satisfaction: f.Satisfaction,
			Relationship: f.Relationship,
			Strength:     f.Strength,
			Inferred:     f.Inferred,
			Path:         mappingNames(g.Graph, f.Path),
			Group:        groupName(g.Graph, f),
		})
	}
	return resp, nil
}

func mappingNames(g *catalog.Graph, path []int32) []string {
	out := make([]string, len(path))
	for i, m := range path {
		out[i] = catalog.MappingName(g.MappingAt(m).ID)
	}
	return out
}

// ComputeCoverage implements cmv1.SatisfactionServiceServer.
func (s *SatisfactionServer) ComputeCoverage(ctx context.Context, req *cmv1.ComputeCoverageRequest) (*cmv1.ComputeCoverageResponse, error) {
	g := viewOf(ctx, s.store)
	target, err := resolveFramework(g, "target", req.GetTarget(), true)
	if err != nil {
		return nil, err
	}
	o, err := searchOptions(req.IncludeInferred, req.GetMaxHops(), req.GetMinStrength())
	o.IncludeDraft = req.GetIncludeDraft()
	if err != nil {
		return nil, err
	}
	o.Visible = g.Visible()
	sources, err := coverageSources(g, req.GetSource(), target)
	if err != nil {
		return nil, err
	}
	r, err := satisfaction.Coverage(ctx, g.Graph, sources, target, o)
	if err != nil {
		return nil, err
	}
	resp := &cmv1.ComputeCoverageResponse{
		Target:   catalog.FrameworkName(target.ID),
		Revision: g.Revision(),
		Totals:   totalsProto(r.Totals),
		Notice:   satisfaction.Notice,
		Reuse: &cmv1.Reuse{
			Count: int32(r.ReuseAssessable),
			Total: int32(r.SourceAssessable),
			Share: share(r.ReuseAssessable, r.SourceAssessable),
		},
	}
	for _, c := range r.Reuse {
		resp.Reuse.Controls = append(resp.Reuse.Controls, g.Ref(c).Name())
	}
	for _, gr := range r.Groups {
		resp.Groups = append(resp.Groups, &cmv1.GroupCoverage{
			Group:  g.Ref(gr.Group).Name(),
			Title:  g.Control(gr.Group).Title,
			Totals: totalsProto(gr.Totals),
		})
	}
	for _, cc := range r.Controls {
		out := &cmv1.ControlCoverage{
			Control: g.Ref(cc.Control).Name(),
			Status:  cc.Status,
			Gap:     satisfaction.GapClass(cc.Status),
		}
		for _, k := range cc.Sources {
			out.Sources = append(out.Sources, &cmv1.CoverageContribution{
				Control:        g.Ref(k.Source).Name(),
				Satisfaction:   k.Satisfaction,
				Relationship:   k.Relationship,
				Strength:       k.Strength,
				Inferred:       k.Inferred,
				Path:           mappingNames(g.Graph, k.Path),
				Implementation: k.Implementation,
				Group:          groupName(g.Graph, k.Found),
			})
		}
		resp.Controls = append(resp.Controls, out)
	}
	return resp, nil
}

// coverageSources validates the source of a coverage request: exactly one
// of a framework or a list of controls, none of them in the target.
func coverageSources(g catalog.View, src *cmv1.CoverageSource, target *catalog.FrameworkNode) ([]satisfaction.SourceControl, error) {
	switch {
	case src.GetFramework() != "" && len(src.GetControls()) > 0:
		return nil, invalid("source", "set either framework or controls, not both")
	case src.GetFramework() != "":
		f, err := resolveFramework(g, "source.framework", src.GetFramework(), true)
		if err != nil {
			return nil, err
		}
		if f.Index == target.Index {
			return nil, invalid("source.framework", "must differ from the target")
		}
		var out []satisfaction.SourceControl
		for _, c := range g.Controls(f) {
			out = append(out, satisfaction.SourceControl{Control: c.Index, Implementation: implementationOf(g, c.Index, 0)})
		}
		return out, nil
	case len(src.GetControls()) == 0:
		return nil, invalid("source", "is required: a framework, or controls with their implementation status")
	case len(src.GetControls()) > maxSourceControls:
		return nil, invalid("source.controls", "at most %d controls per request, got %d", maxSourceControls, len(src.GetControls()))
	}
	seen := map[catalog.ControlID]int{}
	out := make([]satisfaction.SourceControl, 0, len(src.GetControls()))
	for i, sc := range src.GetControls() {
		field := fmt.Sprintf("source.controls[%d]", i)
		id, err := resolveControl(g, field+".control", sc.GetControl())
		if err != nil {
			return nil, err
		}
		if g.Control(id).Framework == target.Index {
			return nil, invalid(field+".control", "is a control of the target framework; sources must come from other frameworks")
		}
		if first, dup := seen[id]; dup {
			return nil, invalid(field+".control", "lists %s again (first at source.controls[%d])", g.Ref(id).Name(), first)
		}
		seen[id] = i
		impl := implementationOf(g, id, sc.GetImplementation())
		if err := checkEnum(field+".implementation", impl, cmv1.ImplementationStatus_name, false); err != nil {
			return nil, err
		}
		out = append(out, satisfaction.SourceControl{Control: id, Implementation: impl})
	}
	return out, nil
}

// implementationOf is how far a control counts as implemented: what the
// request says, else what an organization recorded on its own (INTERNAL)
// control, else IMPLEMENTED (a reference control named as a source).
func implementationOf(g catalog.View, c catalog.ControlID, requested cmv1.ImplementationStatus) cmv1.ImplementationStatus {
	switch {
	case requested != cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_UNSPECIFIED:
		return requested
	case g.FrameworkAt(g.Control(c).Framework).Kind == cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL:
		return g.Control(c).Implementation
	}
	return cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED
}

func totalsProto(t satisfaction.Totals) *cmv1.CoverageTotals {
	return &cmv1.CoverageTotals{
		Total: int32(t.Total), Full: int32(t.Full), Partial: int32(t.Partial), None: int32(t.None),
		FullShare: share(t.Full, t.Total), PartialShare: share(t.Partial, t.Total), NoneShare: share(t.None, t.Total),
	}
}

func share(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// Explain implements cmv1.SatisfactionServiceServer.
func (s *SatisfactionServer) Explain(ctx context.Context, req *cmv1.ExplainRequest) (*cmv1.ExplainResponse, error) {
	g := viewOf(ctx, s.store)
	a, err := resolveControl(g, "source", req.GetSource())
	if err != nil {
		return nil, err
	}
	if req.GetTarget() == "" {
		return nil, invalid("target", "is required: the control to explain the relation to")
	}
	b, err := resolveControl(g, "target", req.GetTarget())
	if err != nil {
		return nil, err
	}
	if a == b {
		return nil, invalid("target", "must differ from source")
	}
	o, err := searchOptions(nil, req.GetMaxHops(), 0)
	if err != nil {
		return nil, err
	}
	ex := satisfaction.Explain(g.Graph, a, b, o.MaxHops, g.Visible(), req.GetIncludeDraft())
	resp := &cmv1.ExplainResponse{Source: g.Ref(a).Name(), Target: g.Ref(b).Name(), Revision: g.Revision()}
	for _, p := range ex.Paths {
		ep := &cmv1.ExplainedPath{
			Relationship: p.Relationship,
			Satisfaction: catalog.SatisfactionOf(p.Relationship),
			Strength:     p.Strength,
			Inferred:     len(p.Steps) > 1,
		}
		for _, st := range p.Steps {
			ep.Steps = append(ep.Steps, &cmv1.PathStep{
				Mapping:      catalog.MappingName(g.MappingAt(st.Mapping).ID),
				From:         g.Ref(st.From).Name(),
				To:           g.Ref(st.To).Name(),
				Relationship: st.Relationship,
				Strength:     st.Strength,
				Status:       st.Status,
			})
		}
		if !p.Counts() {
			st := p.Steps[p.LeftOut]
			ep.LeftOut = fmt.Sprintf("%s is %s", catalog.MappingName(g.MappingAt(st.Mapping).ID),
				strings.TrimPrefix(st.Status.String(), "MAPPING_STATUS_"))
			if st.Status == cmv1.MappingStatus_MAPPING_STATUS_DRAFT {
				ep.LeftOut += " (include_draft counts it)"
			}
		}
		resp.Paths = append(resp.Paths, ep)
	}
	for _, m := range ex.Groups {
		resp.Groups = append(resp.Groups, mappingProto(&m.Mapping, false))
	}
	resp.Summary = explainSummary(ex, o.MaxHops)
	return resp, nil
}

// groupName is the name of the group mapping an answer comes from; empty
// for the others.
func groupName(g *catalog.Graph, f satisfaction.Found) string {
	if !f.Group {
		return ""
	}
	return catalog.MappingName(g.MappingAt(f.Path[0]).ID)
}

func explainSummary(ex satisfaction.Explanation, maxHops int) string {
	var s string
	left := 0
	for i := range ex.Paths {
		if !ex.Paths[i].Counts() {
			left++
		}
	}
	switch {
	case len(ex.Paths) == 0 && ex.Direct != nil:
		s = fmt.Sprintf("The two controls were reviewed and found unrelated (%s); no sound path of at most %d mappings joins them.",
			catalog.MappingName(ex.Direct.ID), maxHops)
	case len(ex.Paths) == 0 && len(ex.Groups) > 0:
		s = fmt.Sprintf("No sound path of at most %d mappings joins the two controls; a group mapping relates them.", maxHops)
	case len(ex.Paths) == 0:
		s = fmt.Sprintf("No sound path of at most %d mappings joins the two controls: either no mappings connect them, or every connection composes to nothing (for example SUBSET_OF followed by SUPERSET_OF says nothing).", maxHops)
	case ex.Direct != nil:
		s = fmt.Sprintf("%d sound path(s); the controls are mapped directly (%s), which decides what one satisfies of the other.", len(ex.Paths), catalog.MappingName(ex.Direct.ID))
	default:
		s = fmt.Sprintf("%d sound path(s), all inferred: no mapping joins the two controls directly.", len(ex.Paths))
	}
	if left > 0 {
		s += fmt.Sprintf(" %d of them go through a mapping that is not approved and do not count (see left_out).", left)
	}
	if ex.Truncated {
		s += fmt.Sprintf(" More paths exist than were listed (at most %d are).", satisfaction.MaxExplainedPaths)
	}
	if len(ex.Groups) > 0 {
		s += fmt.Sprintf(" %d group mapping(s) have one control on each side (see groups): a group holds between the unions of its sides, and what it gives a single member follows its rules.", len(ex.Groups))
	}
	return s
}
