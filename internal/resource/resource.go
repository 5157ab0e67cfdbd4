package resource

import (
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// Framework is f as an API resource, without counts and groups.
func Framework(f *catalog.Framework) *cmv1.Framework {
	out := &cmv1.Framework{
		Name:        catalog.FrameworkName(f.ID),
		DisplayName: f.DisplayName,
		Version:     f.Version,
		Publisher:   f.Publisher,
		Kind:        f.Kind,
		Description: f.Description,
		Revision:    f.Revision,
	}
	if f.Owner != "" {
		out.Owner = tenancy.TenantName(f.Owner)
	}
	for _, t := range f.Tags {
		out.Tags = append(out.Tags, &cmv1.Tag{Id: t.ID, Title: t.Title})
	}
	return out
}

// Control is c, a control of the framework fw, as an API resource, without
// its group and accepted spellings.
func Control(fw string, c *catalog.Control) *cmv1.Control {
	out := &cmv1.Control{
		Name:       catalog.ControlName(fw, c.ID),
		RefId:      c.ID,
		Framework:  catalog.FrameworkName(fw),
		Title:      c.Title,
		Summary:    c.Summary,
		Kind:       c.Kind,
		Assessable: proto.Bool(c.Assessable),
		Tags:       c.Tags,
		Revision:   c.Revision,

		ImplementationStatus: c.Implementation,
		Owner:                c.Owner,
		EvidenceLinks:        c.Evidence,
	}
	if c.Parent != "" {
		out.Parent = catalog.ControlName(fw, c.Parent)
	}
	return out
}

// Mapping presents m in its stored direction, or from its target's side
// when inverse is true.
func Mapping(m *catalog.Mapping, inverse bool) *cmv1.Mapping {
	if inverse {
		r := m.Reversed()
		m = &r
	}
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
			CreateTime: Timestamp(m.Provenance.CreateTime),
			UpdateTime: Timestamp(m.Provenance.UpdateTime),
		},
		Etag:        m.Etag(),
		Revision:    m.Revision,
		Interchange: Interchange(m.Interchange),
	}
	for _, r := range m.Sources {
		out.Sources = append(out.Sources, r.Name())
	}
	for _, r := range m.Targets {
		out.Targets = append(out.Targets, r.Name())
	}
	out.Inverse = inverse
	return out
}

// Interchange is x as an API message; nil for none.
func Interchange(x *catalog.Interchange) *cmv1.MappingInterchange {
	if x == nil {
		return nil
	}
	out := &cmv1.MappingInterchange{Method: x.Method, ConfidenceCategory: x.ConfidenceCategory, ConfidencePercentage: x.ConfidencePercentage,
		Coverage: x.Coverage, CoverageMethod: x.CoverageMethod, ReverseCoverage: x.ReverseCoverage, ReverseCoverageMethod: x.ReverseCoverageMethod,
		MapUuid: x.MapUUID}
	for _, q := range x.Qualifiers {
		out.Qualifiers = append(out.Qualifiers, &cmv1.MappingQualifier{Subject: q.Subject, Predicate: q.Predicate, Category: q.Category, Description: q.Description})
	}
	return out
}

// Tenant is t as an API resource.
func Tenant(t *tenancy.Tenant) *cmv1.Tenant {
	return &cmv1.Tenant{Name: tenancy.TenantName(t.ID), DisplayName: t.DisplayName, CreateTime: Timestamp(t.CreateTime), Revision: t.Revision,
		RequireAdminApproval: t.RequireAdminApproval}
}

// APIKey is k as an API resource: never its hash.
func APIKey(k *tenancy.APIKey) *cmv1.ApiKey {
	return &cmv1.ApiKey{Name: tenancy.KeyName(k.Tenant, k.ID), Scopes: k.Scopes, CreateTime: Timestamp(k.CreateTime), RevokeTime: Timestamp(k.RevokeTime),
		ExpireTime: Timestamp(k.ExpireTime)}
}

// Timestamp leaves unknown times unset rather than claiming 1970.
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
