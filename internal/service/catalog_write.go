package service

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
)

// Limits on what an organization writes about its own controls.
const (
	maxTitle         = 300
	maxSummary       = 2000
	maxVersion       = 50
	maxOwner         = 200
	maxEvidenceLinks = 20
	maxLink          = 2000
)

var controlIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// text checks a free-text field: valid UTF-8, at most max characters, and
// present when required.
func text(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return invalid(field, "is required")
	case !utf8.ValidString(s) || strings.IndexFunc(s, unprintable) >= 0:
		return invalid(field, "must be valid UTF-8 without control or format characters")
	case utf8.RuneCountInString(s) > max:
		return invalid(field, "must be at most %d characters, got %d", max, utf8.RuneCountInString(s))
	}
	return nil
}

// unprintable reports characters that have no place in a title or a
// summary: control characters (tab and newline aside) and invisible format
// characters such as bidirectional overrides, which can disguise text.
func unprintable(r rune) bool {
	return r != '\t' && r != '\n' && (unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r))
}

// owns checks that the caller may change framework f: reference frameworks
// are read-only, and another tenant's framework does not exist for it.
func owns(ctx context.Context, f *catalog.Framework) error {
	p := auth.PrincipalFrom(ctx)
	switch {
	case f.Owner == "":
		return withDetails(codes.PermissionDenied, "reference frameworks are read-only; create an internal framework of your tenant",
			&errdetails.ErrorInfo{Reason: "NOT_OWNER", Domain: errorDomain})
	case f.Owner != p.Tenant:
		return notFound("framework", catalog.FrameworkName(f.ID))
	}
	return nil
}

// CreateFramework implements cmv1.CatalogServiceServer.
func (s *CatalogServer) CreateFramework(ctx context.Context, req *cmv1.CreateFrameworkRequest) (*cmv1.CreateFrameworkResponse, error) {
	p := auth.PrincipalFrom(ctx)
	if p.Tenant == "" {
		return nil, withDetails(codes.PermissionDenied, "internal frameworks belong to a tenant: call with an API key of the tenant",
			&errdetails.ErrorInfo{Reason: "TENANT_REQUIRED", Domain: errorDomain})
	}
	id := req.GetFrameworkId()
	if !catalog.ValidFrameworkID(id) || !strings.HasPrefix(id, p.Tenant+"-") {
		return nil, invalid("framework_id", "must match [a-z0-9][a-z0-9.-]{0,62} and start with %q, got %q", p.Tenant+"-", id)
	}
	in := req.GetFramework()
	if k := in.GetKind(); k != 0 && k != cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL {
		return nil, invalid("framework.kind", "must be FRAMEWORK_KIND_INTERNAL: reference frameworks ship with the service")
	}
	f := catalog.Framework{
		ID: id, DisplayName: strings.TrimSpace(in.GetDisplayName()), Version: strings.TrimSpace(in.GetVersion()),
		Publisher: p.Tenant, Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL, Description: strings.TrimSpace(in.GetDescription()), Owner: p.Tenant,
	}
	if err := checkFramework(&f); err != nil {
		return nil, err
	}
	stored, err := s.store.CreateFramework(ctx, f)
	if err != nil {
		return nil, err
	}
	return &cmv1.CreateFrameworkResponse{Framework: s.frameworkNow(stored), Revision: stored.Revision}, nil
}

func checkFramework(f *catalog.Framework) error {
	if err := text("framework.display_name", f.DisplayName, maxDisplayName, true); err != nil {
		return err
	}
	if err := text("framework.version", f.Version, maxVersion, false); err != nil {
		return err
	}
	return text("framework.description", f.Description, maxSummary, false)
}

// UpdateFramework implements cmv1.CatalogServiceServer.
func (s *CatalogServer) UpdateFramework(ctx context.Context, req *cmv1.UpdateFrameworkRequest) (*cmv1.UpdateFrameworkResponse, error) {
	in := req.GetFramework()
	id, ok := catalog.ParseFrameworkName(in.GetName(), false)
	if !ok {
		return nil, invalid("framework.name", "must be frameworks/{id}, got %q", in.GetName())
	}
	paths, err := maskPaths(req.GetUpdateMask().GetPaths(), []string{"display_name", "version", "description"},
		[]string{"name", "kind", "owner", "publisher", "control_count", "assessable_count", "groups", "tags", "revision"})
	if err != nil {
		return nil, err
	}
	stored, err := s.store.UpdateFramework(ctx, id, func(f *catalog.Framework) error {
		if err := owns(ctx, f); err != nil {
			return err
		}
		if paths["display_name"] {
			f.DisplayName = strings.TrimSpace(in.GetDisplayName())
		}
		if paths["version"] {
			f.Version = strings.TrimSpace(in.GetVersion())
		}
		if paths["description"] {
			f.Description = strings.TrimSpace(in.GetDescription())
		}
		return checkFramework(f)
	})
	if err != nil {
		return nil, err
	}
	return &cmv1.UpdateFrameworkResponse{Framework: s.frameworkNow(stored), Revision: stored.Revision}, nil
}

// maskPaths validates an update mask against the mutable fields (accepted in
// snake_case or lowerCamelCase); ignored fields are output-only ones a client
// may send back. An empty mask means every mutable field.
func maskPaths(mask, mutable, ignored []string) (map[string]bool, error) {
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
		case slices.Contains(ignored, snake):
		default:
			return nil, invalid("update_mask", "unknown or immutable field %q; updatable: %s", p, strings.Join(mutable, ", "))
		}
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
	rev, err := s.store.DeleteFramework(ctx, id, func(f *catalog.Framework) error { return owns(ctx, f) })
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
	if !controlIDPattern.MatchString(req.GetControlId()) {
		return nil, invalid("control_id", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}, got %q", req.GetControlId())
	}
	in := req.GetControl()
	c := catalog.Control{
		ID: req.GetControlId(), Title: strings.TrimSpace(in.GetTitle()), Summary: strings.TrimSpace(in.GetSummary()),
		Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL, Assessable: in.Assessable == nil || in.GetAssessable(),
		Implementation: in.GetImplementationStatus(), Owner: strings.TrimSpace(in.GetOwner()), Evidence: in.GetEvidenceLinks(),
	}
	if c.Implementation == 0 {
		c.Implementation = cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_NOT_IMPLEMENTED
	}
	if p := in.GetParent(); p != "" {
		if pf, pid, ok := catalog.ParseControlName(p); ok && pf == fw {
			c.Parent = pid
		} else if controlIDPattern.MatchString(p) {
			c.Parent = p
		} else {
			return nil, invalid("control.parent", "must be a control of %s, got %q", req.GetParent(), p)
		}
	}
	if err := checkControl(&c); err != nil {
		return nil, err
	}
	stored, err := s.store.CreateControl(ctx, fw, c, func(f *catalog.Framework) error { return owns(ctx, f) })
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
	out := &cmv1.Control{
		Name: catalog.ControlName(fw, stored.ID), RefId: stored.ID, Framework: catalog.FrameworkName(fw), Title: stored.Title,
		Summary: stored.Summary, Kind: stored.Kind, Assessable: &stored.Assessable, Revision: stored.Revision,
		ImplementationStatus: stored.Implementation, Owner: stored.Owner, EvidenceLinks: stored.Evidence,
	}
	if stored.Parent != "" {
		out.Parent = catalog.ControlName(fw, stored.Parent)
	}
	return out
}

// frameworkNow is controlNow for frameworks.
func (s *CatalogServer) frameworkNow(stored catalog.Framework) *cmv1.Framework {
	g := s.store.Snapshot()
	if f, ok := g.Framework(stored.ID); ok && f.Revision == stored.Revision {
		return frameworkProto(g, f)
	}
	return frameworkProto(g, &catalog.FrameworkNode{Framework: stored})
}

func checkControl(c *catalog.Control) error {
	if err := text("control.title", c.Title, maxTitle, true); err != nil {
		return err
	}
	if err := text("control.summary", c.Summary, maxSummary, false); err != nil {
		return err
	}
	if err := text("control.owner", c.Owner, maxOwner, false); err != nil {
		return err
	}
	if err := checkEnum("control.implementation_status", c.Implementation, cmv1.ImplementationStatus_name, false); err != nil {
		return err
	}
	if len(c.Evidence) > maxEvidenceLinks {
		return invalid("control.evidence_links", "at most %d links, got %d", maxEvidenceLinks, len(c.Evidence))
	}
	for i, l := range c.Evidence {
		u, err := url.Parse(l)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(l) > maxLink {
			return invalid(fmt.Sprintf("control.evidence_links[%d]", i), "must be an http or https URL of at most %d characters", maxLink)
		}
	}
	return nil
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
		[]string{"name", "ref_id", "framework", "kind", "parent", "aliases", "group", "tags", "revision"})
	if err != nil {
		return nil, err
	}
	stored, err := s.store.UpdateControl(ctx, fw, id, func(f *catalog.Framework) error { return owns(ctx, f) }, func(c *catalog.Control) error {
		if paths["title"] {
			c.Title = strings.TrimSpace(in.GetTitle())
		}
		if paths["summary"] {
			c.Summary = strings.TrimSpace(in.GetSummary())
		}
		if paths["assessable"] {
			c.Assessable = in.GetAssessable()
		}
		if paths["implementation_status"] {
			c.Implementation = in.GetImplementationStatus()
		}
		if paths["owner"] {
			c.Owner = strings.TrimSpace(in.GetOwner())
		}
		if paths["evidence_links"] {
			c.Evidence = in.GetEvidenceLinks()
		}
		return checkControl(c)
	})
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
	rev, err := s.store.DeleteControl(ctx, fw, id, func(f *catalog.Framework) error { return owns(ctx, f) })
	if err != nil {
		return nil, err
	}
	return &cmv1.DeleteControlResponse{Revision: rev}, nil
}
