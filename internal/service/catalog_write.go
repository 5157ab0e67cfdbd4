package service

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/resource"
	"github.com/controlmap/controlmap/internal/writes"
)

// CreateFramework implements cmv1.CatalogServiceServer.
func (s *CatalogServer) CreateFramework(ctx context.Context, req *cmv1.CreateFrameworkRequest) (*cmv1.CreateFrameworkResponse, error) {
	in := req.GetFramework()
	stored, err := s.writes.CreateFramework(ctx, catalog.Framework{ID: req.GetFrameworkId(), DisplayName: in.GetDisplayName(),
		Version: in.GetVersion(), Description: in.GetDescription(), Kind: in.GetKind(), Publisher: in.GetPublisher()})
	if err != nil {
		return nil, err
	}
	return &cmv1.CreateFrameworkResponse{Framework: s.frameworkNow(stored), Revision: stored.Revision}, nil
}

// UpdateFramework implements cmv1.CatalogServiceServer.
func (s *CatalogServer) UpdateFramework(ctx context.Context, req *cmv1.UpdateFrameworkRequest) (*cmv1.UpdateFrameworkResponse, error) {
	in := req.GetFramework()
	id, ok := catalog.ParseFrameworkName(in.GetName(), false)
	if !ok {
		return nil, invalid("framework.name", "must be frameworks/{id}, got %q", in.GetName())
	}
	paths, err := maskPaths(req.GetUpdateMask().GetPaths(), []string{"display_name", "version", "description"}, []string{"name"})
	if err != nil {
		return nil, err
	}
	var patch writes.FrameworkPatch
	if paths["display_name"] {
		patch.DisplayName = proto.String(in.GetDisplayName())
	}
	if paths["version"] {
		patch.Version = proto.String(in.GetVersion())
	}
	if paths["description"] {
		patch.Description = proto.String(in.GetDescription())
	}
	stored, err := s.writes.UpdateFramework(ctx, id, patch)
	if err != nil {
		return nil, err
	}
	return &cmv1.UpdateFrameworkResponse{Framework: s.frameworkNow(stored), Revision: stored.Revision}, nil
}

// maskPaths validates an update mask (paths in snake_case or
// lowerCamelCase) against the fields an update may set. An empty mask
// means all of them. The resource's name, and a mapping's etag, may appear
// (REST clients send them, and grpc-gateway makes the mask of a PATCH from
// the body's fields); any other field is an error naming it, output-only
// and immutable ones included, and so is a mask that sets nothing.
func maskPaths(mask, mutable, identity []string) (map[string]bool, error) {
	paths := map[string]bool{}
	if len(mask) == 0 {
		for _, p := range mutable {
			paths[p] = true
		}
		return paths, nil
	}
	for _, p := range mask {
		snake := camelToSnake(p)
		switch {
		case slices.Contains(mutable, snake):
			paths[snake] = true
		case slices.Contains(identity, snake):
		default:
			return nil, invalid("update_mask", "%q cannot be updated (it is output only, immutable or unknown); updatable: %s", p, strings.Join(mutable, ", "))
		}
	}
	if len(paths) == 0 {
		return nil, invalid("update_mask", "names no field to update; updatable: %s", strings.Join(mutable, ", "))
	}
	return paths, nil
}

func camelToSnake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// DeleteFramework implements cmv1.CatalogServiceServer.
func (s *CatalogServer) DeleteFramework(ctx context.Context, req *cmv1.DeleteFrameworkRequest) (*cmv1.DeleteFrameworkResponse, error) {
	id, ok := catalog.ParseFrameworkName(req.GetName(), false)
	if !ok {
		return nil, invalid("name", "must be frameworks/{id}, got %q", req.GetName())
	}
	rev, err := s.writes.DeleteFramework(ctx, id)
	if err != nil {
		return nil, err
	}
	return &cmv1.DeleteFrameworkResponse{Revision: rev}, nil
}

// CreateControl implements cmv1.CatalogServiceServer.
func (s *CatalogServer) CreateControl(ctx context.Context, req *cmv1.CreateControlRequest) (*cmv1.CreateControlResponse, error) {
	fw, ok := catalog.ParseFrameworkName(req.GetParent(), false)
	if !ok {
		return nil, invalid("parent", "must be frameworks/{id}, got %q", req.GetParent())
	}
	in := req.GetControl()
	c := catalog.Control{
		ID: req.GetControlId(), Title: in.GetTitle(), Summary: in.GetSummary(), Assessable: in.Assessable == nil || in.GetAssessable(),
		Implementation: in.GetImplementationStatus(), Owner: in.GetOwner(), Evidence: in.GetEvidenceLinks(),
	}
	if p := in.GetParent(); p != "" {
		if pf, pid, ok := catalog.ParseControlName(p); ok && pf == fw {
			c.Parent = pid
		} else if writes.ControlIDPattern.MatchString(p) {
			c.Parent = p
		} else {
			return nil, invalid("control.parent", "must be a control of %s, got %q", req.GetParent(), p)
		}
	}
	stored, err := s.writes.CreateControl(ctx, fw, c)
	if err != nil {
		return nil, err
	}
	return &cmv1.CreateControlResponse{Control: s.controlNow(fw, stored), Revision: stored.Revision}, nil
}

// controlNow presents a written control as the snapshot has it, or as the
// store returned it when the snapshot has not caught up (or it changed
// again since).
func (s *CatalogServer) controlNow(fw string, stored catalog.Control) *cmv1.Control {
	g := s.store.Snapshot()
	if c, ok := g.ExactControl(catalog.ControlRef{Framework: fw, Control: stored.ID}); ok && g.Control(c).Revision == stored.Revision {
		return controlProto(g, g.Control(c))
	}
	return resource.Control(fw, &stored)
}

// frameworkNow is controlNow for frameworks.
func (s *CatalogServer) frameworkNow(stored catalog.Framework) *cmv1.Framework {
	g := s.store.Snapshot()
	if f, ok := g.Framework(stored.ID); ok && f.Revision == stored.Revision {
		return frameworkProto(g, f)
	}
	return frameworkProto(g, &catalog.FrameworkNode{Framework: stored})
}

// UpdateControl implements cmv1.CatalogServiceServer.
func (s *CatalogServer) UpdateControl(ctx context.Context, req *cmv1.UpdateControlRequest) (*cmv1.UpdateControlResponse, error) {
	in := req.GetControl()
	fw, id, ok := catalog.ParseControlName(in.GetName())
	if !ok {
		return nil, invalid("control.name", "must be frameworks/{framework}/controls/{control}, got %q", in.GetName())
	}
	paths, err := maskPaths(req.GetUpdateMask().GetPaths(),
		[]string{"title", "summary", "assessable", "implementation_status", "owner", "evidence_links"},
		[]string{"name"})
	if err != nil {
		return nil, err
	}
	var patch writes.ControlPatch
	if paths["title"] {
		patch.Title = proto.String(in.GetTitle())
	}
	if paths["summary"] {
		patch.Summary = proto.String(in.GetSummary())
	}
	if paths["assessable"] {
		patch.Assessable = proto.Bool(in.GetAssessable())
	}
	if paths["implementation_status"] {
		patch.Implementation = in.GetImplementationStatus().Enum()
	}
	if paths["owner"] {
		patch.Owner = proto.String(in.GetOwner())
	}
	if paths["evidence_links"] {
		links := in.GetEvidenceLinks()
		patch.Evidence = &links
	}
	stored, err := s.writes.UpdateControl(ctx, fw, id, patch)
	if err != nil {
		return nil, err
	}
	return &cmv1.UpdateControlResponse{Control: s.controlNow(fw, stored), Revision: stored.Revision}, nil
}

// DeleteControl implements cmv1.CatalogServiceServer.
func (s *CatalogServer) DeleteControl(ctx context.Context, req *cmv1.DeleteControlRequest) (*cmv1.DeleteControlResponse, error) {
	fw, id, ok := catalog.ParseControlName(req.GetName())
	if !ok {
		return nil, invalid("name", "must be frameworks/{framework}/controls/{control}, got %q", req.GetName())
	}
	rev, err := s.writes.DeleteControl(ctx, fw, id)
	if err != nil {
		return nil, err
	}
	return &cmv1.DeleteControlResponse{Revision: rev}, nil
}
