package catalog

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// Limits on the text of a mapping.
const (
	MaxJustificationLength = 2000
	MaxDocumentLength      = 500
	MaxAuthorLength        = 200
)

// CheckMapping returns every rule of a single mapping that m breaks on its own,
// without looking at any catalog: relationship, strength for that
// relationship, rationale, justification, provenance. Field paths are relative
// to the mapping.
func CheckMapping(m *Mapping) []Violation {
	var vs []Violation
	add := func(field, format string, args ...any) {
		vs = append(vs, Violation{Field: field, Description: fmt.Sprintf(format, args...)})
	}
	if !ValidRelationship(m.Relationship) {
		add("relationship", "must be one of EQUAL, SUBSET_OF, SUPERSET_OF, INTERSECTS_WITH, NO_RELATIONSHIP")
	} else {
		checkStrength(add, "strength", m.Relationship, m.Strength, StrengthRange)
		checkStrength(add, "reverse_strength", m.Relationship, m.ReverseStrength, ReverseStrengthRange)
	}
	if m.Rationale < cmv1.Rationale_RATIONALE_SYNTACTIC || m.Rationale > cmv1.Rationale_RATIONALE_FUNCTIONAL {
		add("rationale", "must be one of SYNTACTIC, SEMANTIC, FUNCTIONAL")
	}
	checkText(add, "justification", m.Justification, MaxJustificationLength, true)
	checkText(add, "provenance.document", m.Provenance.Document, MaxDocumentLength, false)
	checkText(add, "provenance.author", m.Provenance.Author, MaxAuthorLength, false)
	if m.Provenance.Method < cmv1.MappingMethod_MAPPING_METHOD_HUMAN || m.Provenance.Method > cmv1.MappingMethod_MAPPING_METHOD_IMPORTED {
		add("provenance.method", "must be HUMAN or IMPORTED")
	}
	if m.Provenance.Status < cmv1.MappingStatus_MAPPING_STATUS_DRAFT || m.Provenance.Status > cmv1.MappingStatus_MAPPING_STATUS_SUPERSEDED {
		add("provenance.status", "must be DRAFT, APPROVED, DEPRECATED or SUPERSEDED")
	}
	if m.Source.Framework != "" && m.Source.Framework == m.Target.Framework {
		add("target", "must be a control of another framework than the source (%s)", m.Source.Framework)
	}
	checkSide(add, "sources", m.Source, m.Sources)
	checkSide(add, "targets", m.Target, m.Targets)
	return vs
}

// MaxGroupMembers bounds the controls of one side of a group mapping.
const MaxGroupMembers = 50

// checkSide checks the members of a group side: at least two, at most
// MaxGroupMembers, distinct, of one framework, the first being the side's
// control (first).
func checkSide(add func(string, string, ...any), field string, first ControlRef, members []ControlRef) {
	switch {
	case len(members) == 0:
		return
	case len(members) == 1:
		add(field, "a group has at least two controls; give one control as source or target")
		return
	case len(members) > MaxGroupMembers:
		add(field, "at most %d controls, got %d", MaxGroupMembers, len(members))
		return
	case members[0] != first:
		add(field, "must start with the side's control %s", first.Name())
		return
	}
	seen := make(map[string]bool, len(members))
	for i, r := range members {
		switch {
		case r.Framework != first.Framework:
			add(fmt.Sprintf("%s[%d]", field, i), "a group's controls are of one framework (%s), got %s", first.Framework, r.Name())
		case seen[r.Control]:
			add(fmt.Sprintf("%s[%d]", field, i), "%s is in the group twice", r.Name())
		}
		seen[r.Control] = true
	}
}

func checkStrength(add func(string, string, ...any), field string, r cmv1.Relationship, v int32, limits func(cmv1.Relationship) (int32, int32)) {
	lo, hi := limits(r)
	switch {
	case v >= lo && v <= hi:
	case lo == hi:
		add(field, "must be %d for %s, got %d", lo, r, v)
	default:
		add(field, "must be between %d and %d for %s, got %d", lo, hi, r, v)
	}
}

func checkText(add func(string, string, ...any), field, s string, max int, required bool) {
	switch {
	case required && s == "":
		add(field, "is required")
	case !utf8.ValidString(s) || strings.IndexFunc(s, unprintable) >= 0:
		add(field, "must be valid UTF-8 without control or format characters")
	case utf8.RuneCountInString(s) > max:
		add(field, "must be at most %d characters, got %d", max, utf8.RuneCountInString(s))
	}
}

// unprintable reports characters that have no place in free text: control
// characters (tab and newline aside) and invisible format characters such
// as bidirectional overrides.
func unprintable(r rune) bool {
	if r >= 0x20 && r < 0x7f { // the common case, without table look-ups
		return false
	}
	return r != '\t' && r != '\n' && (unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r))
}
