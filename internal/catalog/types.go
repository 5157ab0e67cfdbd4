package catalog

import (
	"slices"
	"strconv"
	"strings"
	"time"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// Framework is a versioned document of controls.
type Framework struct {
	ID          string
	DisplayName string
	Version     string
	Publisher   string
	Kind        cmv1.FrameworkKind
	Description string
	// Tags is the vocabulary that this framework's controls may carry.
	Tags []Tag
	// Owner is the tenant that owns an internal framework; empty for the
	// public reference frameworks everyone may read.
	Owner string
	// Revision is the store revision of the last change.
	Revision int64
	// BuiltIn marks the frameworks of the built-in content: they change
	// with a content release only, never through the API.
	BuiltIn bool `json:",omitempty"`
}

// Tag is a term of a framework's tag vocabulary.
type Tag struct {
	ID    string
	Title string
}

// Control is an addressable element of a framework.
type Control struct {
	// ID is the canonical id within the framework ("A.5.15", "GOVERN-1.1").
	ID      string
	Title   string
	Summary string
	Kind    cmv1.ControlKind
	// Parent is the canonical id of the parent control; empty at the top.
	Parent     string
	Assessable bool
	// Aliases are extra accepted spellings beyond the ones derived from Kind.
	Aliases []string
	Tags    []string
	// Revision is the store revision of the last change.
	Revision int64
	// Implementation, Owner and Evidence describe an organization's own
	// control (INTERNAL frameworks); the zero values elsewhere.
	Implementation cmv1.ImplementationStatus
	Owner          string
	Evidence       []string
}

// ControlRef identifies a control by canonical ids.
type ControlRef struct {
	Framework string
	Control   string
}

// Name is the resource name of the control.
func (r ControlRef) Name() string { return ControlName(r.Framework, r.Control) }

// Mapping is one directed statement "Source Relationship Target" between
// controls of two different frameworks, or between groups of them.
type Mapping struct {
	ID     string
	Source ControlRef
	Target ControlRef
	// Sources and Targets list the members of a side that is a group of
	// controls (of one framework), Source and Target being their first: the
	// relationship holds between the unions of the sides, not between every
	// pair of members. Nil for a side of one control.
	Sources      []ControlRef `json:",omitempty"`
	Targets      []ControlRef `json:",omitempty"`
	Relationship cmv1.Relationship
	// Strength is how much of the target's requirements implementing the
	// source accomplishes (0-10); ReverseStrength is the same read the other
	// way: how much of the source implementing the target accomplishes.
	// Each direction is served with its own (see StrengthRange).
	Strength        int32
	ReverseStrength int32
	Rationale       cmv1.Rationale
	Justification   string
	Provenance      Provenance
	// Revision is the store revision of the last change.
	Revision int64
	// BuiltIn marks mappings that ship with the built-in content.
	BuiltIn bool
	// Interchange keeps what the file a mapping was imported from said
	// beyond the catalog's own fields; nil for the others.
	Interchange *Interchange `json:",omitempty"`
}

// Interchange is what an OSCAL map says that a mapping's own fields do not
// hold, kept so that an export says it again.
type Interchange struct {
	// Method is the file's method when it was not human (automation,
	// hybrid): the mapping's is IMPORTED.
	Method string `json:",omitempty"`
	// ConfidenceCategory (high, medium, low, unspecified) or
	// ConfidencePercentage (0-1), as the file scores its confidence.
	ConfidenceCategory   string   `json:",omitempty"`
	ConfidencePercentage *float64 `json:",omitempty"`
	// Coverage is the share of the target the source covers (0-1) and
	// CoverageMethod how it was found.
	Coverage       *float64 `json:",omitempty"`
	CoverageMethod string   `json:",omitempty"`
	// ReverseCoverage is the share of the source the target covers, as a
	// file said of the mapping read the other way round, and
	// ReverseCoverageMethod how it was found.
	ReverseCoverage       *float64 `json:",omitempty"`
	ReverseCoverageMethod string   `json:",omitempty"`
	// MapUUID is the uuid of the OSCAL map an import created the mapping
	// from: a newer edition's map of that uuid is the same map.
	MapUUID string `json:",omitempty"`
	// Qualifiers are the conditions the file attaches to the mapping.
	Qualifiers []Qualifier `json:",omitempty"`
}

// Qualifier is an OSCAL qualifier: a condition on one side of a mapping.
type Qualifier struct {
	Subject     string // source, target or both
	Predicate   string // has-requirement or has-incompatibility
	Category    string // restricted, addressable or blocked
	Description string
}

// SourceSide lists the controls of the source side: its members, or Source.
func (m *Mapping) SourceSide() []ControlRef {
	if len(m.Sources) > 0 {
		return m.Sources
	}
	return []ControlRef{m.Source}
}

// TargetSide lists the controls of the target side: its members, or Target.
func (m *Mapping) TargetSide() []ControlRef {
	if len(m.Targets) > 0 {
		return m.Targets
	}
	return []ControlRef{m.Target}
}

// NormalizeSides puts the members of m's groups in id order, the first
// becoming Source or Target, and turns a group of one into that control:
// the same groups are then written alike, whatever order they came in.
func (m *Mapping) NormalizeSides() {
	for _, side := range []struct {
		first   *ControlRef
		members *[]ControlRef
	}{{&m.Source, &m.Sources}, {&m.Target, &m.Targets}} {
		switch len(*side.members) {
		case 0:
		case 1:
			*side.first, *side.members = (*side.members)[0], nil
		default:
			// A side across frameworks stays in the caller's order, so that the
			// check that refuses it names the member as the caller gave it.
			if !slices.ContainsFunc(*side.members, func(r ControlRef) bool { return r.Framework != (*side.members)[0].Framework }) {
				slices.SortFunc(*side.members, func(a, b ControlRef) int { return strings.Compare(a.Control, b.Control) })
			}
			*side.first = (*side.members)[0]
		}
	}
}

// Reversed is m read from its target side: the sides swapped, the
// relationship inverted, the strengths swapped. What an import kept of its
// file follows: a qualifier's subject is swapped, and so are the coverage
// and the reverse coverage.
func (m Mapping) Reversed() Mapping {
	m.Source, m.Target, m.Sources, m.Targets = m.Target, m.Source, m.Targets, m.Sources
	m.Relationship = Inverse(m.Relationship)
	m.Strength, m.ReverseStrength = m.ReverseStrength, m.Strength
	if x := m.Interchange; x != nil {
		r := *x
		r.Coverage, r.CoverageMethod, r.ReverseCoverage, r.ReverseCoverageMethod = x.ReverseCoverage, x.ReverseCoverageMethod, x.Coverage, x.CoverageMethod
		r.Qualifiers = slices.Clone(x.Qualifiers)
		for i := range r.Qualifiers {
			switch r.Qualifiers[i].Subject {
			case "source":
				r.Qualifiers[i].Subject = "target"
			case "target":
				r.Qualifiers[i].Subject = "source"
			}
		}
		m.Interchange = &r
	}
	return m
}

// Implied lists the statements between two controls that a group mapping
// implies, by set algebra (G = X+Y+Z): S SUPERSET_OF or EQUAL G gives S
// SUPERSET_OF each member (strength 10; read back from the member, 1: its
// share of S is not known); G SUBSET_OF or EQUAL S gives each member
// SUBSET_OF S (strength 1, reverse 10). Nothing else holds pairwise; a
// mapping between two controls implies nothing more than itself.
func (m *Mapping) Implied() []Mapping {
	if !m.IsGroup() {
		return nil
	}
	var out []Mapping
	pair := func(s, t ControlRef, r cmv1.Relationship, strength, reverse int32) {
		out = append(out, Mapping{ID: m.ID, Source: s, Target: t, Relationship: r, Strength: strength, ReverseStrength: reverse,
			Rationale: m.Rationale, Justification: m.Justification, Provenance: m.Provenance})
	}
	src, tgt, r := m.SourceSide(), m.TargetSide(), m.Relationship
	if len(src) == 1 && (r == cmv1.Relationship_RELATIONSHIP_SUPERSET_OF || r == cmv1.Relationship_RELATIONSHIP_EQUAL) {
		for _, t := range tgt {
			pair(src[0], t, cmv1.Relationship_RELATIONSHIP_SUPERSET_OF, 10, 1)
		}
	}
	if len(tgt) == 1 && (r == cmv1.Relationship_RELATIONSHIP_SUBSET_OF || r == cmv1.Relationship_RELATIONSHIP_EQUAL) {
		for _, s := range src {
			pair(s, tgt[0], cmv1.Relationship_RELATIONSHIP_SUBSET_OF, 1, 10)
		}
	}
	return out
}

// IsGroup reports whether a side of m is a group of several controls.
func (m *Mapping) IsGroup() bool { return len(m.Sources) > 1 || len(m.Targets) > 1 }

// SideKey identifies a side by its controls, whatever their order:
// "framework/a b c" with the ids sorted.
func SideKey(side []ControlRef) string {
	if len(side) == 0 {
		return ""
	}
	ids := make([]string, len(side))
	for i, r := range side {
		ids[i] = r.Control
	}
	slices.Sort(ids)
	return side[0].Framework + "/" + strings.Join(ids, " ")
}

// PairKey identifies what m maps, in either direction: two mappings with
// the same key map the same controls (or groups) to each other.
func (m *Mapping) PairKey() string {
	a, b := SideKey(m.SourceSide()), SideKey(m.TargetSide())
	if b < a {
		a, b = b, a
	}
	return a + " | " + b
}

// Etag changes whenever the mapping changes: it is derived from the
// revision of its last change, which no two changes share.
func (m *Mapping) Etag() string { return strconv.FormatInt(m.Revision, 10) }

// Provenance records where a mapping comes from.
type Provenance struct {
	Document   string
	Method     cmv1.MappingMethod
	Status     cmv1.MappingStatus
	Author     string
	CreateTime time.Time
	UpdateTime time.Time
}
