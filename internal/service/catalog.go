package service

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/writes"
)

// CatalogServer implements cmv1.CatalogServiceServer over a store's
// snapshot.
type CatalogServer struct {
	cmv1.UnimplementedCatalogServiceServer
	store  store.Store
	writes *writes.Writer
}

// NewCatalogServer returns the catalog service over s, writing through w.
func NewCatalogServer(s store.Store, w *writes.Writer) *CatalogServer {
	return &CatalogServer{store: s, writes: w}
}

// ListFrameworks implements cmv1.CatalogServiceServer.
func (s *CatalogServer) ListFrameworks(ctx context.Context, req *cmv1.ListFrameworksRequest) (*cmv1.ListFrameworksResponse, error) {
	g := viewOf(ctx, s.store)
	if err := checkEnum("kind", req.GetKind(), cmv1.FrameworkKind_name, true); err != nil {
		return nil, err
	}
	var matched []*catalog.FrameworkNode
	for _, f := range g.Frameworks() {
		if g.SeesFramework(f.Index) && (req.GetKind() == 0 || f.Kind == req.GetKind()) {
			matched = append(matched, f)
		}
	}
	p, err := readPage(req.GetPageSize(), req.GetPageToken(), defaultPageSize,
		queryDigest("frameworks", req.GetKind().String()),
		func(key string) (int, bool) {
			return slices.BinarySearchFunc(matched, key, func(f *catalog.FrameworkNode, k string) int { return strings.Compare(f.ID, k) })
		})
	if err != nil {
		return nil, err
	}
	lo, hi, next := p.window(len(matched), func(i int) string { return matched[i].ID })
	resp := &cmv1.ListFrameworksResponse{NextPageToken: next, Revision: g.Revision()}
	for _, f := range matched[lo:hi] {
		resp.Frameworks = append(resp.Frameworks, frameworkProto(g.Graph, f))
	}
	return resp, nil
}

// GetFramework implements cmv1.CatalogServiceServer.
func (s *CatalogServer) GetFramework(ctx context.Context, req *cmv1.GetFrameworkRequest) (*cmv1.GetFrameworkResponse, error) {
	g := viewOf(ctx, s.store)
	f, err := resolveFramework(g, "name", req.GetName(), false)
	if err != nil {
		return nil, err
	}
	return &cmv1.GetFrameworkResponse{Framework: frameworkProto(g.Graph, f), Revision: g.Revision()}, nil
}

// ListControls implements cmv1.CatalogServiceServer.
func (s *CatalogServer) ListControls(ctx context.Context, req *cmv1.ListControlsRequest) (*cmv1.ListControlsResponse, error) {
	g := viewOf(ctx, s.store)
	f, err := resolveFramework(g, "parent", req.GetParent(), false)
	if err != nil {
		return nil, err
	}
	match, err := controlFilter(g, f, req)
	if err != nil {
		return nil, err
	}
	var matched []*catalog.ControlNode
	for _, c := range g.Controls(f) {
		if match(c) {
			matched = append(matched, c)
		}
	}
	assessable := ""
	if req.Assessable != nil {
		assessable = strconv.FormatBool(req.GetAssessable())
	}
	query := queryDigest("controls", f.ID, req.GetKind().String(), assessable, req.GetParentControl(), req.GetGroup(), req.GetTag(), req.GetQuery())
	p, err := readPage(req.GetPageSize(), req.GetPageToken(), defaultPageSize, query, func(key string) (int, bool) {
		id, ok := g.ResolveControl(f.ID, key)
		if !ok {
			return 0, false
		}
		return slices.BinarySearchFunc(matched, id, func(c *catalog.ControlNode, id catalog.ControlID) int { return int(c.Index - id) })
	})
	if err != nil {
		return nil, err
	}
	lo, hi, next := p.window(len(matched), func(i int) string { return matched[i].ID })
	resp := &cmv1.ListControlsResponse{NextPageToken: next, TotalSize: int32(len(matched)), Revision: g.Revision()}
	for _, c := range matched[lo:hi] {
		resp.Controls = append(resp.Controls, controlProto(g.Graph, c))
	}
	return resp, nil
}

// controlFilter validates the filters of a ListControls request and returns
// the predicate they make.
func controlFilter(g catalog.View, f *catalog.FrameworkNode, req *cmv1.ListControlsRequest) (func(*catalog.ControlNode) bool, error) {
	if err := checkEnum("kind", req.GetKind(), cmv1.ControlKind_name, true); err != nil {
		return nil, err
	}
	parent, group := catalog.NoControl, catalog.NoControl
	var err error
	if req.GetParentControl() != "" {
		if parent, err = resolveChildControl(g, f, "parent_control", req.GetParentControl()); err != nil {
			return nil, err
		}
	}
	if req.GetGroup() != "" {
		if group, err = resolveChildControl(g, f, "group", req.GetGroup()); err != nil {
			return nil, err
		}
	}
	if len(req.GetQuery()) > 200 || !utf8.ValidString(req.GetQuery()) {
		return nil, invalid("query", "must be valid UTF-8 of at most 200 bytes")
	}
	if len(req.GetTag()) > 200 || !utf8.ValidString(req.GetTag()) {
		return nil, invalid("tag", "must be valid UTF-8 of at most 200 bytes")
	}
	query := strings.ToLower(strings.TrimSpace(req.GetQuery()))
	return func(c *catalog.ControlNode) bool {
		switch {
		case req.GetKind() != 0 && c.Kind != req.GetKind(),
			req.Assessable != nil && c.Assessable != req.GetAssessable(),
			parent != catalog.NoControl && c.ParentID != parent,
			group != catalog.NoControl && c.Group != group,
			req.GetTag() != "" && !slices.Contains(c.Tags, req.GetTag()):
			return false
		}
		return query == "" || controlMentions(c, query)
	}, nil
}

func controlMentions(c *catalog.ControlNode, query string) bool {
	if strings.Contains(strings.ToLower(c.ID), query) ||
		strings.Contains(strings.ToLower(c.Title), query) ||
		strings.Contains(strings.ToLower(c.Summary), query) {
		return true
	}
	for _, a := range c.Accepted {
		if strings.EqualFold(a, query) {
			return true
		}
	}
	return false
}

// GetControl implements cmv1.CatalogServiceServer.
func (s *CatalogServer) GetControl(ctx context.Context, req *cmv1.GetControlRequest) (*cmv1.GetControlResponse, error) {
	g := viewOf(ctx, s.store)
	id, err := resolveControl(g, "name", req.GetName())
	if err != nil {
		return nil, err
	}
	return &cmv1.GetControlResponse{Control: controlProto(g.Graph, g.Control(id)), Revision: g.Revision()}, nil
}

// checkEnum rejects values a client may send that the enum does not define,
// and the zero value unless it means "any" for this field.
func checkEnum[E ~int32](field string, v E, names map[int32]string, zeroMeansAny bool) error {
	if v == 0 && zeroMeansAny {
		return nil
	}
	if _, ok := names[int32(v)]; !ok || v == 0 {
		return invalid(field, "unknown value %d", int32(v))
	}
	return nil
}
