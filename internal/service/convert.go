package service

import (
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/tenancy"
)

func frameworkProto(g *catalog.Graph, f *catalog.FrameworkNode) *cmv1.Framework {
	out := &cmv1.Framework{
		Name:            catalog.FrameworkName(f.ID),
		DisplayName:     f.DisplayName,
		Version:         f.Version,
		Publisher:       f.Publisher,
		Kind:            f.Kind,
		Description:     f.Description,
		ControlCount:    int32(f.ControlCount()),
		AssessableCount: f.AssessableCount,
		Revision:        f.Revision,
		Groups:          make([]string, len(f.Groups)),
	}
	if f.Owner != "" {
		out.Owner = tenancy.TenantName(f.Owner)
	}
	for i, id := range f.Groups {
		out.Groups[i] = g.Ref(id).Name()
	}
	for _, t := range f.Tags {
		out.Tags = append(out.Tags, &cmv1.Tag{Id: t.ID, Title: t.Title})
	}
	return out
}

func controlProto(g *catalog.Graph, c *catalog.ControlNode) *cmv1.Control {
	fw := g.FrameworkAt(c.Framework).ID
	out := &cmv1.Control{
		Name:       catalog.ControlName(fw, c.ID),
		RefId:      c.ID,
		Framework:  catalog.FrameworkName(fw),
		Title:      c.Title,
		Summary:    c.Summary,
		Kind:       c.Kind,
		Assessable: proto.Bool(c.Assessable),
		Aliases:    c.Accepted,
		Group:      catalog.ControlName(fw, g.Control(c.Group).ID),
		Tags:       c.Tags,
		Revision:   c.Revision,

		ImplementationStatus: c.Implementation,
		Owner:                c.Owner,
		EvidenceLinks:        c.Evidence,
	}
	if c.ParentID != catalog.NoControl {
		out.Parent = catalog.ControlName(fw, g.Control(c.ParentID).ID)
	}
	return out
}

// mappingProto presents m in its stored direction, or from its target's side
// when inverse is true.
func mappingProto(m *catalog.Mapping, inverse bool) *cmv1.Mapping {
	out := &cmv1.Mapping{
		Name:            catalog.MappingName(m.ID),
		Source:          m.Source.Name(),
		Target:          m.Target.Name(),
		Relationship:    m.Relationship,
		Strength:        m.Strength,
		ReverseStrength: m.ReverseStrength,
		Rationale:       m.Rationale,
		Justification:   m.Justification,
		Provenance: &cmv1.Provenance{
			Document:   m.Provenance.Document,
			Method:     m.Provenance.Method,
			Status:     m.Provenance.Status,
			Author:     m.Provenance.Author,
			CreateTime: timestamp(m.Provenance.CreateTime),
			UpdateTime: timestamp(m.Provenance.UpdateTime),
		},
		Etag:     m.Etag(),
		Revision: m.Revision,
	}
	if inverse {
		out.Source, out.Target = out.Target, out.Source
		out.Relationship = catalog.Inverse(out.Relationship)
		out.Strength, out.ReverseStrength = out.ReverseStrength, out.Strength
		out.Inverse = true
	}
	return out
}

// timestamp leaves unknown times unset rather than claiming 1970.
func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
