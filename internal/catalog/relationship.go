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

// StrengthRange is the strength a relationship allows (NIST IR 8278A): EQUAL
// is always 10, NO_RELATIONSHIP always 0, the others 1 to 9.
func StrengthRange(r cmv1.Relationship) (lo, hi int32) {
	switch r {
	case cmv1.Relationship_RELATIONSHIP_EQUAL:
		return 10, 10
	case cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP:
		return 0, 0
	default:
		return 1, 9
	}
}
