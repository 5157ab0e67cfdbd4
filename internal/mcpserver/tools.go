package mcpserver

import (
	"context"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// Framework is a framework as list_frameworks shows it.
type Framework struct {
	Name       string `json:"name" jsonschema:"resource name, frameworks/{id}; pass it (or the id) to other tools"`
	Title      string `json:"title"`
	Version    string `json:"version,omitempty"`
	Kind       string `json:"kind" jsonschema:"STANDARD, REGULATION, FRAMEWORK or INTERNAL (an organization's own controls)"`
	Controls   int32  `json:"controls" jsonschema:"number of controls, headings included"`
	Assessable int32  `json:"assessable" jsonschema:"controls that carry requirements: what coverage counts"`
	Owner      string `json:"owner,omitempty" jsonschema:"tenant that owns an internal framework"`
}

// ListFrameworksInput takes no arguments.
type ListFrameworksInput struct{}

// ListFrameworksOutput lists every framework the caller may see.
type ListFrameworksOutput struct {
	Frameworks []Framework `json:"frameworks"`
	Revision   int64       `json:"revision" jsonschema:"store revision of the answer"`
}

// FindControlsInput searches one framework.
type FindControlsInput struct {
	Framework string `json:"framework" jsonschema:"framework id or name, e.g. iso-27001-2022"`
	Query     string `json:"query,omitempty" jsonschema:"words in titles and summaries, or a control id in any spelling (A.5.1, 5.1, a-5-1, GV-1.1); empty lists the framework in document order"`
	PageSize  int32  `json:"page_size,omitempty" jsonschema:"controls per page, default 50, at most 1000"`
	PageToken string `json:"page_token,omitempty" jsonschema:"next_page_token of the previous page"`
}

// ControlSummary is a control in a list.
type ControlSummary struct {
	Name       string `json:"name" jsonschema:"resource name, frameworks/{framework}/controls/{id}"`
	ID         string `json:"id" jsonschema:"the id as the framework prints it"`
	Title      string `json:"title"`
	Kind       string `json:"kind"`
	Assessable bool   `json:"assessable"`
}

// FindControlsOutput is a page of controls.
type FindControlsOutput struct {
	Controls      []ControlSummary `json:"controls"`
	NextPageToken string           `json:"next_page_token,omitempty" jsonschema:"set when more controls match: ask again with it"`
	Revision      int64            `json:"revision"`
}

// GetControlInput names a control.
type GetControlInput struct {
	Control string `json:"control" jsonschema:"frameworks/{framework}/controls/{id}; the id may be any accepted spelling"`
}

// Control is one control in full.
type Control struct {
	Name                 string   `json:"name"`
	ID                   string   `json:"id"`
	Framework            string   `json:"framework"`
	Title                string   `json:"title"`
	Summary              string   `json:"summary,omitempty"`
	Kind                 string   `json:"kind"`
	Parent               string   `json:"parent,omitempty"`
	Group                string   `json:"group,omitempty"`
	Assessable           bool     `json:"assessable"`
	Aliases              []string `json:"aliases,omitempty"`
	ImplementationStatus string   `json:"implementation_status,omitempty" jsonschema:"for an organization's own controls: whether it is in place"`
	Revision             int64    `json:"revision"`
}

// SatisfiesInput asks what a control satisfies.
type SatisfiesInput struct {
	Control          string   `json:"control" jsonschema:"the implemented control, frameworks/{framework}/controls/{id}"`
	TargetFrameworks []string `json:"target_frameworks,omitempty" jsonschema:"only these frameworks (ids or names); all others when empty"`
	MaxHops          int32    `json:"max_hops,omitempty" jsonschema:"longest proof path in mappings, default 3, at most 5"`
	MinStrength      int32    `json:"min_strength,omitempty" jsonschema:"only results whose weakest mapping is at least this strong, 0-10"`
	IncludeInferred  *bool    `json:"include_inferred,omitempty" jsonschema:"include results through intermediate controls (default true)"`
	IncludeDraft     bool     `json:"include_draft,omitempty" jsonschema:"count DRAFT mappings too (by default only APPROVED ones)"`
}

// Satisfied is one control the subject satisfies.
type Satisfied struct {
	Control      string   `json:"control"`
	Satisfaction string   `json:"satisfaction" jsonschema:"FULL or PARTIAL"`
	Relationship string   `json:"relationship" jsonschema:"composed relationship, read: subject RELATIONSHIP control"`
	Strength     int32    `json:"strength" jsonschema:"strength of the weakest mapping of the path, 0-10"`
	Inferred     bool     `json:"inferred" jsonschema:"true when the result goes through intermediate controls"`
	Path         []string `json:"path" jsonschema:"the mappings of the proof, in order; explain shows their justifications"`
	Group        string   `json:"group,omitempty" jsonschema:"set when the control is a member of a group mapping whose group contains this one: the group together covers it, the control alone at most partly"`
}

// FrameworkResults groups results by framework.
type FrameworkResults struct {
	Framework string      `json:"framework"`
	Controls  []Satisfied `json:"controls"`
}

// SatisfiesOutput lists what the control satisfies.
type SatisfiesOutput struct {
	Control    string             `json:"control"`
	Frameworks []FrameworkResults `json:"frameworks"`
	Revision   int64              `json:"revision"`
}

// SourceControl is a control of the program with its implementation.
type SourceControl struct {
	Control        string `json:"control"`
	Implementation string `json:"implementation,omitempty" jsonschema:"IMPLEMENTED (default), PARTIAL, PLANNED or NOT_IMPLEMENTED"`
}

// CoverageInput asks how much of a target framework a program covers.
type CoverageInput struct {
	SourceFramework string          `json:"source_framework,omitempty" jsonschema:"a whole framework as the program (every control implemented, or as an internal framework records it); or give source_controls"`
	SourceControls  []SourceControl `json:"source_controls,omitempty" jsonschema:"the program as a list of controls with their implementation"`
	Target          string          `json:"target" jsonschema:"the framework to cover, e.g. iso-42001-2023 or nist-ai-rmf-1.0"`
	MaxHops         int32           `json:"max_hops,omitempty" jsonschema:"longest proof path, default 3, at most 5"`
	MinStrength     int32           `json:"min_strength,omitempty"`
	IncludeInferred *bool           `json:"include_inferred,omitempty" jsonschema:"default true"`
	IncludeDraft    bool            `json:"include_draft,omitempty"`
}

// Totals count target controls by satisfaction.
type Totals struct {
	Total        int32   `json:"total"`
	Full         int32   `json:"full"`
	Partial      int32   `json:"partial"`
	None         int32   `json:"none"`
	FullShare    float64 `json:"full_share"`
	PartialShare float64 `json:"partial_share"`
	NoneShare    float64 `json:"none_share"`
}

// GroupTotals are the totals of one group of the target.
type GroupTotals struct {
	Group  string `json:"group"`
	Title  string `json:"title"`
	Totals Totals `json:"totals"`
}

// CoverageOutput is a coverage report.
type CoverageOutput struct {
	Target string        `json:"target"`
	Totals Totals        `json:"totals"`
	Groups []GroupTotals `json:"groups" jsonschema:"per clause, annex theme or AI RMF function, in document order"`
	Reuse  []string      `json:"reuse" jsonschema:"target controls the program already satisfies fully"`
	Extend []string      `json:"extend" jsonschema:"target controls it satisfies in part: extend what exists"`
	New    []string      `json:"new" jsonschema:"target controls nothing in the program reaches: build new"`
	// Contributing lists the program's controls that give anything.
	Contributing []string `json:"contributing"`
	Notice       string   `json:"notice"`
	Revision     int64    `json:"revision"`
}

// ExplainInput names the two ends.
type ExplainInput struct {
	Source       string `json:"source" jsonschema:"frameworks/{framework}/controls/{id}"`
	Target       string `json:"target" jsonschema:"the other control"`
	MaxHops      int32  `json:"max_hops,omitempty"`
	IncludeDraft bool   `json:"include_draft,omitempty"`
}

// Step is one mapping of a path, with what makes it trustworthy.
type Step struct {
	Mapping       string `json:"mapping"`
	From          string `json:"from"`
	To            string `json:"to"`
	Relationship  string `json:"relationship"`
	Strength      int32  `json:"strength"`
	Status        string `json:"status" jsonschema:"APPROVED, DRAFT, DEPRECATED or SUPERSEDED"`
	Justification string `json:"justification"`
	Method        string `json:"method" jsonschema:"how the mapping was made: HUMAN, IMPORTED..."`
	Document      string `json:"document,omitempty" jsonschema:"the crosswalk document it comes from"`
	Author        string `json:"author,omitempty"`
}

// Path is one sound path between the ends.
type Path struct {
	Relationship string `json:"relationship"`
	Satisfaction string `json:"satisfaction"`
	Strength     int32  `json:"strength"`
	Inferred     bool   `json:"inferred"`
	Steps        []Step `json:"steps"`
	LeftOut      string `json:"left_out,omitempty" jsonschema:"why this path does not count (a draft, say); empty when it does"`
}

// ExplainOutput shows why one control satisfies another, or does not.
type ExplainOutput struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	Summary  string `json:"summary"`
	Paths    []Path `json:"paths"`
	Revision int64  `json:"revision"`
}

// CrosswalkInput names the two frameworks.
type CrosswalkInput struct {
	Source       string `json:"source" jsonschema:"source framework id or name"`
	Target       string `json:"target" jsonschema:"target framework id or name"`
	Relationship string `json:"relationship,omitempty" jsonschema:"only this relationship: EQUAL, SUBSET_OF, SUPERSET_OF, INTERSECTS_WITH"`
	PageSize     int32  `json:"page_size,omitempty" jsonschema:"mappings per page, default 100, at most 1000"`
	PageToken    string `json:"page_token,omitempty"`
}

// Mapping is one mapping of a crosswalk, read from source to target.
type Mapping struct {
	Name            string `json:"name"`
	Source          string `json:"source"`
	Target          string `json:"target"`
	Relationship    string `json:"relationship"`
	Strength        int32  `json:"strength"`
	ReverseStrength int32  `json:"reverse_strength"`
	Status          string `json:"status"`
	Justification   string `json:"justification"`
}

// CrosswalkOutput is a page of a crosswalk.
type CrosswalkOutput struct {
	Source        string         `json:"source"`
	Target        string         `json:"target"`
	MappingCount  int32          `json:"mapping_count" jsonschema:"mappings in the whole crosswalk"`
	Relationships map[string]int `json:"relationships" jsonschema:"mappings of the whole crosswalk by relationship"`
	Mappings      []Mapping      `json:"mappings"`
	NextPageToken string         `json:"next_page_token,omitempty" jsonschema:"set when more mappings follow: ask again with it"`
	Revision      int64          `json:"revision"`
}

func readOnly() *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true}
}

func (a *api) addTools(s *mcp.Server) {
	mcp.AddTool(s, &mcp.Tool{Name: "list_frameworks", Annotations: readOnly(),
		Description: "Lists the frameworks controlmap knows that the caller may see: the reference standards and the caller's own internal frameworks, with control counts."},
		a.listFrameworks)
	mcp.AddTool(s, &mcp.Tool{Name: "find_controls", Annotations: readOnly(),
		Description: "Finds controls of one framework by id (any spelling: A.5.1, 5.1, GV-1.1) or by words in titles and summaries. Paged: when next_page_token is set, more match."},
		a.findControls)
	mcp.AddTool(s, &mcp.Tool{Name: "get_control", Annotations: readOnly(),
		Description: "Returns one control: title, summary, place in the framework, aliases and, for internal controls, implementation status."},
		a.getControl)
	mcp.AddTool(s, &mcp.Tool{Name: "satisfies", Annotations: readOnly(),
		Description: "What implementing a control satisfies in other frameworks, by framework. FULL: fully satisfied; PARTIAL: it contributes, more is needed. " +
			"Direct results rest on one mapping; inferred ones go through intermediate controls and list the proof path (mapping names, see explain). " +
			"An internal control that is not implemented satisfies nothing. This states what the mappings support, not a compliance verdict."},
		a.satisfies)
	mcp.AddTool(s, &mcp.Tool{Name: "coverage", Annotations: readOnly(),
		Description: "How much of a target framework a program covers: totals and per-group shares of FULL / PARTIAL / NONE, and the target controls to REUSE (already satisfied), " +
			"EXTEND (partly satisfied) or build NEW. The program is a whole framework or a list of controls with implementation status. " +
			"The report is a statement about mappings, not a certification or audit opinion."},
		a.coverage)
	mcp.AddTool(s, &mcp.Tool{Name: "explain", Annotations: readOnly(),
		Description: "Why one control satisfies another, or does not: every sound path of mappings between them, shortest first, each mapping with its relationship, strength, status, justification and provenance."},
		a.explain)
	mcp.AddTool(s, &mcp.Tool{Name: "get_crosswalk", Annotations: readOnly(),
		Description: "The mappings from one framework to another, read from source to target (EQUAL, SUBSET_OF, SUPERSET_OF, INTERSECTS_WITH with strengths 0-10), with the crosswalk's totals. Paged."},
		a.getCrosswalk)
}

func (a *api) listFrameworks(ctx context.Context, _ *mcp.CallToolRequest, _ ListFrameworksInput) (*mcp.CallToolResult, ListFrameworksOutput, error) {
	var out ListFrameworksOutput
	token := ""
	for {
		resp, err := a.catalog.ListFrameworks(a.call(ctx), &cmv1.ListFrameworksRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, out, toolError(err, nil)
		}
		for _, f := range resp.GetFrameworks() {
			out.Frameworks = append(out.Frameworks, Framework{Name: f.GetName(), Title: f.GetDisplayName(), Version: f.GetVersion(),
				Kind: enumName(f.GetKind(), "FRAMEWORK_KIND_"), Controls: f.GetControlCount(), Assessable: f.GetAssessableCount(), Owner: f.GetOwner()})
		}
		out.Revision = resp.GetRevision()
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d frameworks:", len(out.Frameworks))
	for _, f := range out.Frameworks {
		fmt.Fprintf(&b, "\n- %s (%s): %s, %d controls", f.Name, f.Kind, f.Title, f.Controls)
	}
	return text(b.String()), out, nil
}

func (a *api) findControls(ctx context.Context, _ *mcp.CallToolRequest, in FindControlsInput) (*mcp.CallToolResult, FindControlsOutput, error) {
	var out FindControlsOutput
	size := in.PageSize
	if size == 0 {
		size = 50
	}
	resp, err := a.catalog.ListControls(a.call(ctx), &cmv1.ListControlsRequest{Parent: frameworkName(in.Framework), Query: in.Query, PageSize: size, PageToken: in.PageToken})
	if err != nil {
		return nil, out, toolError(err, map[string]string{"parent": "framework"})
	}
	for _, c := range resp.GetControls() {
		out.Controls = append(out.Controls, ControlSummary{Name: c.GetName(), ID: c.GetRefId(), Title: c.GetTitle(),
			Kind: enumName(c.GetKind(), "CONTROL_KIND_"), Assessable: c.GetAssessable()})
	}
	out.NextPageToken, out.Revision = resp.GetNextPageToken(), resp.GetRevision()
	var b strings.Builder
	fmt.Fprintf(&b, "%d controls", len(out.Controls))
	if out.NextPageToken != "" {
		b.WriteString(" on this page; more match (next_page_token)")
	}
	for _, c := range out.Controls {
		fmt.Fprintf(&b, "\n- %s %s", c.ID, c.Title)
	}
	return text(b.String()), out, nil
}

func (a *api) getControl(ctx context.Context, _ *mcp.CallToolRequest, in GetControlInput) (*mcp.CallToolResult, Control, error) {
	resp, err := a.catalog.GetControl(a.call(ctx), &cmv1.GetControlRequest{Name: in.Control})
	if err != nil {
		return nil, Control{}, toolError(err, map[string]string{"name": "control"})
	}
	c := resp.GetControl()
	out := Control{Name: c.GetName(), ID: c.GetRefId(), Framework: c.GetFramework(), Title: c.GetTitle(), Summary: c.GetSummary(),
		Kind: enumName(c.GetKind(), "CONTROL_KIND_"), Parent: c.GetParent(), Group: c.GetGroup(), Assessable: c.GetAssessable(),
		Aliases: c.GetAliases(), Revision: resp.GetRevision()}
	if c.GetImplementationStatus() != cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_UNSPECIFIED {
		out.ImplementationStatus = enumName(c.GetImplementationStatus(), "IMPLEMENTATION_STATUS_")
	}
	return text(fmt.Sprintf("%s %s (%s)\n%s", out.ID, out.Title, out.Framework, out.Summary)), out, nil
}

func (a *api) satisfies(ctx context.Context, _ *mcp.CallToolRequest, in SatisfiesInput) (*mcp.CallToolResult, SatisfiesOutput, error) {
	resp, err := a.satisfaction.Satisfies(a.call(ctx), &cmv1.SatisfiesRequest{Control: in.Control, TargetFrameworks: in.TargetFrameworks,
		MaxHops: in.MaxHops, MinStrength: in.MinStrength, IncludeInferred: in.IncludeInferred, IncludeDraft: in.IncludeDraft})
	if err != nil {
		return nil, SatisfiesOutput{}, toolError(err, nil)
	}
	out := SatisfiesOutput{Control: resp.GetControl(), Frameworks: []FrameworkResults{}, Revision: resp.GetRevision()}
	var b strings.Builder
	fmt.Fprintf(&b, "%s satisfies:", out.Control)
	for _, f := range resp.GetFrameworks() {
		r := FrameworkResults{Framework: f.GetFramework()}
		full := 0
		for _, c := range f.GetControls() {
			s := Satisfied{Control: c.GetControl(), Satisfaction: enumName(c.GetSatisfaction(), "SATISFACTION_"),
				Relationship: enumName(c.GetRelationship(), "RELATIONSHIP_"), Strength: c.GetStrength(), Inferred: c.GetInferred(), Path: c.GetPath(), Group: c.GetGroup()}
			if s.Satisfaction == "FULL" {
				full++
			}
			r.Controls = append(r.Controls, s)
		}
		out.Frameworks = append(out.Frameworks, r)
		fmt.Fprintf(&b, "\n- %s: %d controls (%d FULL, %d PARTIAL)", r.Framework, len(r.Controls), full, len(r.Controls)-full)
	}
	if len(out.Frameworks) == 0 {
		b.WriteString(" nothing (no mapping that counts reaches another framework, or the control is not implemented)")
	}
	return text(b.String()), out, nil
}

func (a *api) coverage(ctx context.Context, _ *mcp.CallToolRequest, in CoverageInput) (*mcp.CallToolResult, CoverageOutput, error) {
	src := &cmv1.CoverageSource{Framework: in.SourceFramework}
	for i, c := range in.SourceControls {
		impl := cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED
		if c.Implementation != "" {
			v, ok := cmv1.ImplementationStatus_value["IMPLEMENTATION_STATUS_"+strings.ToUpper(c.Implementation)]
			if !ok {
				return nil, CoverageOutput{}, fmt.Errorf("source_controls[%d].implementation: %q is not one of IMPLEMENTED, PARTIAL, PLANNED, NOT_IMPLEMENTED", i, c.Implementation)
			}
			impl = cmv1.ImplementationStatus(v)
		}
		src.Controls = append(src.Controls, &cmv1.SourceControl{Control: c.Control, Implementation: impl})
	}
	resp, err := a.satisfaction.ComputeCoverage(a.call(ctx), &cmv1.ComputeCoverageRequest{Source: src, Target: in.Target,
		MaxHops: in.MaxHops, MinStrength: in.MinStrength, IncludeInferred: in.IncludeInferred, IncludeDraft: in.IncludeDraft})
	if err != nil {
		return nil, CoverageOutput{}, toolError(err, map[string]string{"source": "source_framework or source_controls",
			"source.framework": "source_framework", "source.controls": "source_controls"})
	}
	out := CoverageOutput{Target: resp.GetTarget(), Totals: totals(resp.GetTotals()), Groups: []GroupTotals{}, Reuse: []string{}, Extend: []string{}, New: []string{},
		Contributing: resp.GetReuse().GetControls(), Notice: resp.GetNotice(), Revision: resp.GetRevision()}
	for _, g := range resp.GetGroups() {
		out.Groups = append(out.Groups, GroupTotals{Group: g.GetGroup(), Title: g.GetTitle(), Totals: totals(g.GetTotals())})
	}
	for _, c := range resp.GetControls() {
		switch c.GetGap() {
		case cmv1.GapClass_GAP_CLASS_REUSE:
			out.Reuse = append(out.Reuse, c.GetControl())
		case cmv1.GapClass_GAP_CLASS_EXTEND:
			out.Extend = append(out.Extend, c.GetControl())
		default:
			out.New = append(out.New, c.GetControl())
		}
	}
	t := out.Totals
	var b strings.Builder
	fmt.Fprintf(&b, "Coverage of %s: %d assessable controls, %d FULL (%.0f%%), %d PARTIAL (%.0f%%), %d NONE (%.0f%%). Reuse %d, extend %d, new %d.",
		out.Target, t.Total, t.Full, 100*t.FullShare, t.Partial, 100*t.PartialShare, t.None, 100*t.NoneShare, len(out.Reuse), len(out.Extend), len(out.New))
	for _, g := range out.Groups {
		fmt.Fprintf(&b, "\n- %s: %d/%d FULL, %d PARTIAL", g.Title, g.Totals.Full, g.Totals.Total, g.Totals.Partial)
	}
	fmt.Fprintf(&b, "\n%s", out.Notice)
	return text(b.String()), out, nil
}

func totals(t *cmv1.CoverageTotals) Totals {
	return Totals{Total: t.GetTotal(), Full: t.GetFull(), Partial: t.GetPartial(), None: t.GetNone(),
		FullShare: t.GetFullShare(), PartialShare: t.GetPartialShare(), NoneShare: t.GetNoneShare()}
}

func (a *api) explain(ctx context.Context, _ *mcp.CallToolRequest, in ExplainInput) (*mcp.CallToolResult, ExplainOutput, error) {
	resp, err := a.satisfaction.Explain(a.call(ctx), &cmv1.ExplainRequest{Source: in.Source, Target: in.Target, MaxHops: in.MaxHops, IncludeDraft: in.IncludeDraft})
	if err != nil {
		return nil, ExplainOutput{}, toolError(err, nil)
	}
	out := ExplainOutput{Source: resp.GetSource(), Target: resp.GetTarget(), Summary: resp.GetSummary(), Paths: []Path{}, Revision: resp.GetRevision()}
	mappings := map[string]*cmv1.Mapping{}
	for _, p := range resp.GetPaths() {
		path := Path{Relationship: enumName(p.GetRelationship(), "RELATIONSHIP_"), Satisfaction: enumName(p.GetSatisfaction(), "SATISFACTION_"),
			Strength: p.GetStrength(), Inferred: p.GetInferred(), LeftOut: p.GetLeftOut()}
		for _, st := range p.GetSteps() {
			m, ok := mappings[st.GetMapping()]
			if !ok {
				// The justification and provenance, read at the revision
				// the paths were found at.
				r, err := a.crosswalk.GetMapping(a.call(ctx), &cmv1.GetMappingRequest{Name: st.GetMapping(), MinRevision: resp.GetRevision()})
				if err != nil {
					return nil, ExplainOutput{}, toolError(err, nil)
				}
				m = r.GetMapping()
				mappings[st.GetMapping()] = m
			}
			path.Steps = append(path.Steps, Step{Mapping: st.GetMapping(), From: st.GetFrom(), To: st.GetTo(),
				Relationship: enumName(st.GetRelationship(), "RELATIONSHIP_"), Strength: st.GetStrength(), Status: enumName(st.GetStatus(), "MAPPING_STATUS_"),
				Justification: m.GetJustification(), Method: enumName(m.GetProvenance().GetMethod(), "MAPPING_METHOD_"),
				Document: m.GetProvenance().GetDocument(), Author: m.GetProvenance().GetAuthor()})
		}
		out.Paths = append(out.Paths, path)
	}
	var b strings.Builder
	b.WriteString(out.Summary)
	for i, p := range out.Paths {
		fmt.Fprintf(&b, "\nPath %d: %s, %s, strength %d", i+1, p.Relationship, p.Satisfaction, p.Strength)
		if p.LeftOut != "" {
			fmt.Fprintf(&b, " (left out: %s)", p.LeftOut)
		}
		for _, s := range p.Steps {
			fmt.Fprintf(&b, "\n  %s %s %s [%s, %d]: %s", s.From, s.Relationship, s.To, s.Status, s.Strength, s.Justification)
		}
	}
	return text(b.String()), out, nil
}

func (a *api) getCrosswalk(ctx context.Context, _ *mcp.CallToolRequest, in CrosswalkInput) (*mcp.CallToolResult, CrosswalkOutput, error) {
	var rel cmv1.Relationship
	if in.Relationship != "" {
		v, ok := cmv1.Relationship_value["RELATIONSHIP_"+strings.ToUpper(in.Relationship)]
		if !ok {
			return nil, CrosswalkOutput{}, fmt.Errorf("relationship: %q is not one of EQUAL, SUBSET_OF, SUPERSET_OF, INTERSECTS_WITH, NO_RELATIONSHIP", in.Relationship)
		}
		rel = cmv1.Relationship(v)
	}
	resp, err := a.crosswalk.ListCrosswalkMappings(a.call(ctx), &cmv1.ListCrosswalkMappingsRequest{Source: in.Source, Target: in.Target,
		Relationship: rel, PageSize: in.PageSize, PageToken: in.PageToken})
	if err != nil {
		return nil, CrosswalkOutput{}, toolError(err, nil)
	}
	cw := resp.GetCrosswalk()
	out := CrosswalkOutput{Source: cw.GetSource(), Target: cw.GetTarget(), MappingCount: cw.GetMappingCount(), Relationships: map[string]int{},
		Mappings: []Mapping{}, NextPageToken: resp.GetNextPageToken(), Revision: resp.GetRevision()}
	for _, r := range cw.GetRelationships() {
		out.Relationships[enumName(r.GetRelationship(), "RELATIONSHIP_")] = int(r.GetCount())
	}
	for _, m := range resp.GetMappings() {
		out.Mappings = append(out.Mappings, mappingOf(m))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s -> %s: %d mappings in all %v; %d on this page", out.Source, out.Target, out.MappingCount, out.Relationships, len(out.Mappings))
	if out.NextPageToken != "" {
		b.WriteString("; more follow (next_page_token)")
	}
	for _, m := range out.Mappings {
		fmt.Fprintf(&b, "\n- %s %s %s (strength %d, %s)", m.Source, m.Relationship, m.Target, m.Strength, m.Status)
	}
	return text(b.String()), out, nil
}

func mappingOf(m *cmv1.Mapping) Mapping {
	return Mapping{Name: m.GetName(), Source: m.GetSource(), Target: m.GetTarget(), Relationship: enumName(m.GetRelationship(), "RELATIONSHIP_"),
		Strength: m.GetStrength(), ReverseStrength: m.GetReverseStrength(), Status: enumName(m.GetProvenance().GetStatus(), "MAPPING_STATUS_"),
		Justification: m.GetJustification()}
}

// frameworkName accepts an id or a name.
func frameworkName(s string) string {
	if strings.HasPrefix(s, "frameworks/") {
		return s
	}
	return "frameworks/" + s
}

// text is a result with a short human-readable summary; the structured
// content is added from the tool's output.
func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}
