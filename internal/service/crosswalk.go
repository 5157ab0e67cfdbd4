package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"google.golang.org/protobuf/proto"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/writes"
)

// CrosswalkServer implements cmv1.CrosswalkServiceServer.
type CrosswalkServer struct {
	cmv1.UnimplementedCrosswalkServiceServer
	store  store.Store
	writes *writes.Writer
}

// NewCrosswalkServer returns the crosswalk service over s, writing through w.
func NewCrosswalkServer(s store.Store, w *writes.Writer) *CrosswalkServer {
	return &CrosswalkServer{store: s, writes: w}
}

// ListMappings implements cmv1.CrosswalkServiceServer.
func (s *CrosswalkServer) ListMappings(ctx context.Context, req *cmv1.ListMappingsRequest) (*cmv1.ListMappingsResponse, error) {
	g := viewOf(ctx, s.store)
	if err := checkEnum("relationship", req.GetRelationship(), cmv1.Relationship_name, true); err != nil {
		return nil, err
	}
	if err := checkEnum("status", req.GetStatus(), cmv1.MappingStatus_name, true); err != nil {
		return nil, err
	}
	fw, control := int32(-1), catalog.NoControl
	if req.GetFramework() != "" {
		f, err := resolveFramework(g, "framework", req.GetFramework(), true)
		if err != nil {
			return nil, err
		}
		fw = f.Index
	}
	if req.GetControl() != "" {
		id, err := resolveControl(g, "control", req.GetControl())
		if err != nil {
			return nil, err
		}
		control = id
	}
	var matched []*catalog.MappingNode
	for m := range g.Mappings() {
		switch {
		case req.GetRelationship() != 0 && m.Relationship != req.GetRelationship(),
			req.GetStatus() != 0 && m.Provenance.Status != req.GetStatus(),
			fw >= 0 && g.Control(m.Src).Framework != fw && g.Control(m.Dst).Framework != fw,
			control != catalog.NoControl && !m.Touches(control),
			!g.SeesMapping(m):
			continue
		}
		matched = append(matched, m)
	}
	query := queryDigest("mappings", req.GetFramework(), req.GetControl(), req.GetRelationship().String(), req.GetStatus().String())
	p, err := readPage(req.GetPageSize(), req.GetPageToken(), defaultPageSize, query, func(key string) (int, bool) {
		return slices.BinarySearchFunc(matched, key, func(m *catalog.MappingNode, k string) int { return strings.Compare(m.ID, k) })
	})
	if err != nil {
		return nil, err
	}
	lo, hi, next := p.window(len(matched), func(i int) string { return matched[i].ID })
	resp := &cmv1.ListMappingsResponse{NextPageToken: next, TotalSize: int32(len(matched)), Revision: g.Revision()}
	for _, m := range matched[lo:hi] {
		resp.Mappings = append(resp.Mappings, mappingProto(&m.Mapping, false))
	}
	return resp, nil
}

// GetMapping implements cmv1.CrosswalkServiceServer.
func (s *CrosswalkServer) GetMapping(ctx context.Context, req *cmv1.GetMappingRequest) (*cmv1.GetMappingResponse, error) {
	g := viewOf(ctx, s.store)
	m, err := lookupMapping(g, "name", req.GetName())
	if err != nil {
		return nil, err
	}
	return &cmv1.GetMappingResponse{Mapping: mappingProto(&m.Mapping, false), Revision: g.Revision()}, nil
}

func parseMappingName(field, name string) (string, error) {
	if name == "" {
		return "", invalid(field, "is required")
	}
	id, ok := catalog.ParseMappingName(name)
	if !ok {
		return "", invalid(field, "must be mappings/{id}, got %q", name)
	}
	return id, nil
}

func lookupMapping(g catalog.View, field, name string) (*catalog.MappingNode, error) {
	id, err := parseMappingName(field, name)
	if err != nil {
		return nil, err
	}
	m, ok := g.Mapping(id)
	if !ok || !g.SeesMapping(m) {
		return nil, notFound("mapping", name)
	}
	return m, nil
}

// CreateMapping implements cmv1.CrosswalkServiceServer.
func (s *CrosswalkServer) CreateMapping(ctx context.Context, req *cmv1.CreateMappingRequest) (*cmv1.CreateMappingResponse, error) {
	in := req.GetMapping()
	if in == nil {
		return nil, invalid("mapping", "is required")
	}
	g := viewOf(ctx, s.store)
	source, sources, err := resolveSide(g, "mapping.source", in.GetSource(), "mapping.sources", in.GetSources())
	if err != nil {
		return nil, err
	}
	target, targets, err := resolveSide(g, "mapping.target", in.GetTarget(), "mapping.targets", in.GetTargets())
	if err != nil {
		return nil, err
	}
	m := catalog.Mapping{
		Source:          source,
		Target:          target,
		Sources:         sources,
		Targets:         targets,
		Relationship:    in.GetRelationship(),
		Strength:        in.GetStrength(),
		ReverseStrength: in.GetReverseStrength(),
		Rationale:       in.GetRationale(),
		Justification:   in.GetJustification(),
	}
	applyProvenance(&m.Provenance, in.GetProvenance())
	stored, err := s.writes.CreateMapping(ctx, m)
	if err != nil {
		return nil, err
	}
	return &cmv1.CreateMappingResponse{Mapping: mappingProto(&stored, false), Revision: stored.Revision}, nil
}

// resolveSide resolves a side of a mapping to create: one control (name),
// or the members of a group (names); name may then be left empty or must
// name a member. A group of one is a single control.
func resolveSide(g catalog.View, field, name, membersField string, names []string) (catalog.ControlRef, []catalog.ControlRef, error) {
	if len(names) == 0 {
		c, err := resolveControl(g, field, name)
		if err != nil {
			return catalog.ControlRef{}, nil, err
		}
		return g.Ref(c), nil, nil
	}
	if len(names) > catalog.MaxGroupMembers {
		return catalog.ControlRef{}, nil, invalid(membersField, "at most %d controls, got %d", catalog.MaxGroupMembers, len(names))
	}
	members := make([]catalog.ControlRef, len(names))
	for i, n := range names {
		c, err := resolveControl(g, fmt.Sprintf("%s[%d]", membersField, i), n)
		if err != nil {
			return catalog.ControlRef{}, nil, err
		}
		members[i] = g.Ref(c)
	}
	if name != "" {
		c, err := resolveControl(g, field, name)
		if err != nil {
			return catalog.ControlRef{}, nil, err
		}
		if !slices.Contains(members, g.Ref(c)) {
			return catalog.ControlRef{}, nil, invalid(field, "must be one of %s or empty, got %q", membersField, name)
		}
	}
	if len(members) == 1 {
		return members[0], nil, nil
	}
	return members[0], members, nil
}

// applyProvenance copies the writable provenance fields of in onto p.
func applyProvenance(p *catalog.Provenance, in *cmv1.Provenance) {
	p.Document, p.Method, p.Status, p.Author = in.GetDocument(), in.GetMethod(), in.GetStatus(), in.GetAuthor()
}

// mutablePaths are the update_mask paths UpdateMapping accepts.
var mutablePaths = []string{
	"relationship", "strength", "reverse_strength", "rationale", "justification", "provenance",
	"provenance.document", "provenance.method", "provenance.status",
}

// UpdateMapping implements cmv1.CrosswalkServiceServer. The change is made
// by the store to the latest stored mapping, never to this replica's copy,
// which may be behind; existence and the etag are the store's to judge.
func (s *CrosswalkServer) UpdateMapping(ctx context.Context, req *cmv1.UpdateMappingRequest) (*cmv1.UpdateMappingResponse, error) {
	in := req.GetMapping()
	if in == nil {
		return nil, invalid("mapping", "is required")
	}
	id, err := parseMappingName("mapping.name", in.GetName())
	if err != nil {
		return nil, err
	}
	patch, err := updatePatch(in, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	stored, err := s.writes.UpdateMapping(ctx, id, in.GetEtag(), patch)
	if err != nil {
		return nil, err
	}
	return &cmv1.UpdateMappingResponse{Mapping: mappingProto(&stored, false), Revision: stored.Revision}, nil
}

// updatePatch reads an update mask into the patch it asks for (see
// maskPaths); a mapping's ends and author never change.
func updatePatch(in *cmv1.Mapping, mask []string) (writes.MappingPatch, error) {
	var patch writes.MappingPatch
	paths, err := maskPaths(mask, mutablePaths, []string{"name", "etag"})
	if err != nil {
		return patch, err
	}
	all := paths["provenance"]
	if paths["relationship"] {
		patch.Relationship = in.GetRelationship().Enum()
	}
	if paths["strength"] {
		patch.Strength = proto.Int32(in.GetStrength())
	}
	if paths["reverse_strength"] {
		patch.ReverseStrength = proto.Int32(in.GetReverseStrength())
	}
	if paths["rationale"] {
		patch.Rationale = in.GetRationale().Enum()
	}
	if paths["justification"] {
		patch.Justification = proto.String(in.GetJustification())
	}
	pv := in.GetProvenance()
	if all || paths["provenance.document"] {
		patch.Document = proto.String(pv.GetDocument())
	}
	if all || paths["provenance.method"] {
		patch.Method = pv.GetMethod().Enum()
	}
	if all || paths["provenance.status"] {
		patch.Status = pv.GetStatus().Enum()
	}
	return patch, nil
}

// DeleteMapping implements cmv1.CrosswalkServiceServer.
func (s *CrosswalkServer) DeleteMapping(ctx context.Context, req *cmv1.DeleteMappingRequest) (*cmv1.DeleteMappingResponse, error) {
	id, err := parseMappingName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	rev, err := s.writes.DeleteMapping(ctx, id, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &cmv1.DeleteMappingResponse{Revision: rev}, nil
}

// ListCrosswalks implements cmv1.CrosswalkServiceServer.
func (s *CrosswalkServer) ListCrosswalks(ctx context.Context, req *cmv1.ListCrosswalksRequest) (*cmv1.ListCrosswalksResponse, error) {
	g := viewOf(ctx, s.store)
	only := int32(-1)
	if req.GetFramework() != "" {
		f, err := resolveFramework(g, "framework", req.GetFramework(), true)
		if err != nil {
			return nil, err
		}
		only = f.Index
	}
	resp := &cmv1.ListCrosswalksResponse{Revision: g.Revision()}
	for _, pair := range g.CrosswalkPairs() {
		from, to := pair[0], pair[1]
		switch {
		case !g.SeesFramework(from) || !g.SeesFramework(to),
			only >= 0 && only != from && only != to:
			continue
		case only == to:
			from, to = to, from
		}
		st := g.Stats(from, to)
		if only < 0 && 2*st.StoredForward < st.Mappings {
			st = g.Stats(to, from)
		}
		resp.Crosswalks = append(resp.Crosswalks, crosswalkProto(g.Graph, st))
	}
	return resp, nil
}

// ListCrosswalkMappings implements cmv1.CrosswalkServiceServer.
func (s *CrosswalkServer) ListCrosswalkMappings(ctx context.Context, req *cmv1.ListCrosswalkMappingsRequest) (*cmv1.ListCrosswalkMappingsResponse, error) {
	g := viewOf(ctx, s.store)
	from, err := resolveFramework(g, "source", req.GetSource(), true)
	if err != nil {
		return nil, err
	}
	to, err := resolveFramework(g, "target", req.GetTarget(), true)
	if err != nil {
		return nil, err
	}
	if from.Index == to.Index {
		return nil, invalid("target", "must differ from source: a crosswalk joins two frameworks")
	}
	if err := checkEnum("relationship", req.GetRelationship(), cmv1.Relationship_name, true); err != nil {
		return nil, err
	}
	var matched []catalog.Oriented
	for _, o := range g.Crosswalk(from.Index, to.Index) {
		if req.GetRelationship() == 0 || o.Relationship == req.GetRelationship() {
			matched = append(matched, o)
		}
	}
	query := queryDigest("crosswalk", from.ID, to.ID, req.GetRelationship().String())
	p, err := readPage(req.GetPageSize(), req.GetPageToken(), defaultPageSize, query, func(key string) (int, bool) {
		i := slices.IndexFunc(matched, func(o catalog.Oriented) bool { return o.Mapping.ID == key })
		return i, i >= 0
	})
	if err != nil {
		return nil, err
	}
	lo, hi, next := p.window(len(matched), func(i int) string { return matched[i].Mapping.ID })
	resp := &cmv1.ListCrosswalkMappingsResponse{
		Crosswalk:     crosswalkProto(g.Graph, g.Stats(from.Index, to.Index)),
		NextPageToken: next,
		Revision:      g.Revision(),
	}
	for _, o := range matched[lo:hi] {
		resp.Mappings = append(resp.Mappings, mappingProto(&o.Mapping.Mapping, o.Inverse))
	}
	return resp, nil
}

func crosswalkProto(g *catalog.Graph, st catalog.CrosswalkStats) *cmv1.Crosswalk {
	from, to := g.FrameworkAt(st.From), g.FrameworkAt(st.To)
	out := &cmv1.Crosswalk{
		Source:        catalog.FrameworkName(from.ID),
		Target:        catalog.FrameworkName(to.ID),
		MappingCount:  int32(st.Mappings),
		SourceTouched: touched(st.FromTouched, from.AssessableCount),
		TargetTouched: touched(st.ToTouched, to.AssessableCount),
	}
	for _, r := range catalog.Relationships {
		out.Relationships = append(out.Relationships, &cmv1.RelationshipCount{Relationship: r, Count: int32(st.ByRelationship[r])})
	}
	return out
}

func touched(count int, total int32) *cmv1.Touched {
	t := &cmv1.Touched{Count: int32(count), Total: total}
	if total > 0 {
		t.Share = float64(count) / float64(total)
	}
	return t
}
