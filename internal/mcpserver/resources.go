package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

const (
	frameworkURIPrefix = "controlmap://frameworks/"
	crosswalkURIPrefix = "controlmap://crosswalks/"
)

func (a *api) addResources(s *mcp.Server) {
	s.AddResourceTemplate(&mcp.ResourceTemplate{Name: "framework", Title: "A framework with all its controls",
		URITemplate: frameworkURIPrefix + "{framework}", MIMEType: "application/json",
		Description: "Every control of a framework in document order (list_frameworks gives the ids), as JSON."}, a.readFramework)
	s.AddResourceTemplate(&mcp.ResourceTemplate{Name: "crosswalk", Title: "Every mapping from one framework to another",
		URITemplate: crosswalkURIPrefix + "{source}/{target}", MIMEType: "application/json",
		Description: "The whole crosswalk read from source to target, with its totals, as JSON."}, a.readCrosswalk)
}

// FrameworkResource is the content of a framework resource.
type FrameworkResource struct {
	Framework Framework `json:"framework"`
	Controls  []Control `json:"controls"`
	Revision  int64     `json:"revision"`
}

func (a *api) readFramework(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	id, ok := strings.CutPrefix(uri, frameworkURIPrefix)
	if !ok || id == "" || strings.Contains(id, "/") {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	f, err := a.catalog.GetFramework(a.call(ctx), &cmv1.GetFrameworkRequest{Name: "frameworks/" + id})
	if err != nil {
		return nil, resourceError(uri, err)
	}
	fw := f.GetFramework()
	out := FrameworkResource{Framework: Framework{Name: fw.GetName(), Title: fw.GetDisplayName(), Version: fw.GetVersion(),
		Kind: enumName(fw.GetKind(), "FRAMEWORK_KIND_"), Controls: fw.GetControlCount(), Assessable: fw.GetAssessableCount(), Owner: fw.GetOwner()},
		Controls: []Control{}}
	token := ""
	for {
		resp, err := a.catalog.ListControls(a.call(ctx), &cmv1.ListControlsRequest{Parent: fw.GetName(), PageSize: 1000, PageToken: token, MinRevision: f.GetRevision()})
		if err != nil {
			return nil, resourceError(uri, err)
		}
		for _, c := range resp.GetControls() {
			out.Controls = append(out.Controls, Control{Name: c.GetName(), ID: c.GetRefId(), Framework: c.GetFramework(), Title: c.GetTitle(),
				Summary: c.GetSummary(), Kind: enumName(c.GetKind(), "CONTROL_KIND_"), Parent: c.GetParent(), Group: c.GetGroup(),
				Assessable: c.GetAssessable(), Aliases: c.GetAliases(), Revision: c.GetRevision()})
		}
		out.Revision = resp.GetRevision()
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	return jsonContents(uri, out)
}

// CrosswalkResource is the content of a crosswalk resource.
type CrosswalkResource struct {
	Source        string         `json:"source"`
	Target        string         `json:"target"`
	MappingCount  int32          `json:"mapping_count"`
	Relationships map[string]int `json:"relationships"`
	Mappings      []Mapping      `json:"mappings"`
	Revision      int64          `json:"revision"`
}

func (a *api) readCrosswalk(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	rest, _ := strings.CutPrefix(uri, crosswalkURIPrefix)
	source, target, ok := strings.Cut(rest, "/")
	if !ok || source == "" || target == "" || strings.Contains(target, "/") {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	out := CrosswalkResource{Relationships: map[string]int{}, Mappings: []Mapping{}}
	token := ""
	for {
		resp, err := a.crosswalk.ListCrosswalkMappings(a.call(ctx), &cmv1.ListCrosswalkMappingsRequest{Source: source, Target: target,
			PageSize: 1000, PageToken: token, MinRevision: out.Revision})
		if err != nil {
			return nil, resourceError(uri, err)
		}
		cw := resp.GetCrosswalk()
		out.Source, out.Target, out.MappingCount, out.Revision = cw.GetSource(), cw.GetTarget(), cw.GetMappingCount(), resp.GetRevision()
		for _, r := range cw.GetRelationships() {
			out.Relationships[enumName(r.GetRelationship(), "RELATIONSHIP_")] = int(r.GetCount())
		}
		for _, m := range resp.GetMappings() {
			out.Mappings = append(out.Mappings, mappingOf(m))
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	return jsonContents(uri, out)
}

// resourceError reports a framework or crosswalk the caller cannot see as
// not found, anything else as the service said it.
func resourceError(uri string, err error) error {
	if status.Code(err) == codes.NotFound {
		return mcp.ResourceNotFoundError(uri)
	}
	return toolError(err, nil)
}

func jsonContents(uri string, v any) (*mcp.ReadResourceResult, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(raw)}}}, nil
}

// addPrompts adds the gap-analysis prompt.
func addPrompts(s *mcp.Server) {
	s.AddPrompt(&mcp.Prompt{Name: "gap_analysis", Title: "Gap analysis from framework A to B",
		Description: "Walks an assistant through what a program built on one framework already gives towards another, what to extend and what is new.",
		Arguments: []*mcp.PromptArgument{
			{Name: "source", Description: "the framework the program implements (an id such as iso-27001-2022, or an internal framework)", Required: true},
			{Name: "target", Description: "the framework to reach (such as iso-42001-2023 or nist-ai-rmf-1.0)", Required: true},
		}},
		func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			src, tgt := req.Params.Arguments["source"], req.Params.Arguments["target"]
			if src == "" || tgt == "" {
				return nil, fmt.Errorf("gap_analysis needs both arguments, source and target")
			}
			msg := fmt.Sprintf(`Prepare a gap analysis from %[1]s to %[2]s using controlmap's tools only.
1. Call coverage with source_framework %[1]q and target %[2]q. Report the totals and the shares per group as they are.
2. REUSE: list the target controls already satisfied fully, each with the source controls behind it (satisfies or explain give the proof).
3. EXTEND: for each partly satisfied target control, call explain for its strongest source and say what the mapping's justification leaves out.
4. NEW: list the target controls nothing reaches; these need new work.
State that this is a mapping-based estimate, not a certification or audit opinion, and do not add mappings the tools did not return.`, src, tgt)
			return &mcp.GetPromptResult{Description: "Gap analysis from " + src + " to " + tgt,
				Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: msg}}}}, nil
		})
}
