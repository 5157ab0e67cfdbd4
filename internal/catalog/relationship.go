package catalog

import cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"

// Inverse returns the relationship read the other way round: "A R B" holds
// exactly when "B Inverse(R) A" does.
func Inverse(r cmv1.Relationship) cmv1.Relationship {
	switch r {
	case cmv1.Relationship_RELATIONSHIP_SUBSET_OF:
		return cmv1.Relationship_RELATIONSHIP_SUPERSET_OF
	case cmv1.Relationship_RELATIONSHIP_SUPERSET_OF:
		return cmv1.Relationship_RELATIONSHIP_SUBSET_OF
	default:
		return r
	}
}

// ValidRelationship reports whether r is one of the five relationships.
func ValidRelationship(r cmv1.Relationship) bool {
	return r >= cmv1.Relationship_RELATIONSHIP_EQUAL && r <= cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP
}

// Relationships lists the five relationships in enum order.
var Relationships = []cmv1.Relationship{
	cmv1.Relationship_RELATIONSHIP_EQUAL,
	cmv1.Relationship_RELATIONSHIP_SUBSET_OF,
	cmv1.Relationship_RELATIONSHIP_SUPERSET_OF,
	cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH,
	cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP,
}

// StrengthRange is the strength a relationship allows in its own direction:
// how much of the target's requirements implementing the source
// accomplishes (NIST IR 8278A scale). EQUAL and SUPERSET_OF accomplish all
// of the target (10), NO_RELATIONSHIP nothing (0), SUBSET_OF and
// INTERSECTS_WITH a share (1 to 9). The reverse direction of "A R B" is
// "B Inverse(R) A" and takes the range of the inverse.
func StrengthRange(r cmv1.Relationship) (lo, hi int32) {
	switch r {
	case cmv1.Relationship_RELATIONSHIP_EQUAL, cmv1.Relationship_RELATIONSHIP_SUPERSET_OF:
		return 10, 10
	case cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP:
		return 0, 0
	default:
		return 1, 9
	}
}

// ReverseStrengthRange is the range of ReverseStrength for a mapping with
// relationship r: the range of the inverse relationship.
func ReverseStrengthRange(r cmv1.Relationship) (lo, hi int32) { return StrengthRange(Inverse(r)) }

// FillStrengths sets the strengths that r fixes by rule (10 for containment
// read from the containing side, 0 for NO_RELATIONSHIP) where they are
// unset, so a writer only gives the shares that need judgement.
func FillStrengths(m *Mapping) {
	if lo, hi := StrengthRange(m.Relationship); lo == hi && m.Strength == 0 {
		m.Strength = lo
	}
	if lo, hi := ReverseStrengthRange(m.Relationship); lo == hi && m.ReverseStrength == 0 {
		m.ReverseStrength = lo
	}
}

// Compose returns the relationship that "S r1 M" and "M r2 T" prove for S
// and T, and false when they prove nothing (the table in the README's Semantics section). It is the only
// source of inferred results. NO_RELATIONSHIP never composes.
//
//	r1 \ r2      EQUAL        SUPERSET_OF  SUBSET_OF    INTERSECTS_WITH
//	EQUAL        EQUAL        SUPERSET_OF  SUBSET_OF    INTERSECTS_WITH
//	SUPERSET_OF  SUPERSET_OF  SUPERSET_OF  INTERSECTS   INTERSECTS
//	SUBSET_OF    SUBSET_OF    -            SUBSET_OF    -
//	INTERSECTS   INTERSECTS   -            INTERSECTS   -
func Compose(r1, r2 cmv1.Relationship) (cmv1.Relationship, bool) {
	const (
		eq  = cmv1.Relationship_RELATIONSHIP_EQUAL
		sub = cmv1.Relationship_RELATIONSHIP_SUBSET_OF
		sup = cmv1.Relationship_RELATIONSHIP_SUPERSET_OF
		in  = cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH
	)
	switch {
	case r1 == eq && (r2 == eq || r2 == sub || r2 == sup || r2 == in):
		return r2, true
	case r2 == eq && (r1 == sub || r1 == sup || r1 == in):
		return r1, true
	case r1 == sup && r2 == sup:
		return sup, true
	case r1 == sup && (r2 == sub || r2 == in):
		return in, true
	case r1 == sub && r2 == sub:
		return sub, true
	case r1 == in && r2 == sub:
		return in, true
	}
	return cmv1.Relationship_RELATIONSHIP_UNSPECIFIED, false
}

// SatisfactionOf says what implementing S does for T when "S r T": FULL for
// EQUAL and SUPERSET_OF, PARTIAL for SUBSET_OF and INTERSECTS_WITH, NONE
// otherwise.
func SatisfactionOf(r cmv1.Relationship) cmv1.Satisfaction {
	switch r {
	case cmv1.Relationship_RELATIONSHIP_EQUAL, cmv1.Relationship_RELATIONSHIP_SUPERSET_OF:
		return cmv1.Satisfaction_SATISFACTION_FULL
	case cmv1.Relationship_RELATIONSHIP_SUBSET_OF, cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH:
		return cmv1.Satisfaction_SATISFACTION_PARTIAL
	}
	return cmv1.Satisfaction_SATISFACTION_NONE
}
