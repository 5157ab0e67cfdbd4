package interchange

import (
	"fmt"
	"io"
	"slices"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// WriteFramework writes f to w in format fm (oscal-catalog or ciso-yaml).
func WriteFramework(w io.Writer, fm Format, f *FrameworkFile) error {
	switch fm {
	case OSCALCatalog:
		return writeOSCALCatalog(w, f)
	case CISOYAML:
		return writeCISOFramework(w, f)
	}
	return fmt.Errorf("a framework is exported as %v, not %q", FrameworkFormats, fm)
}

// WriteCrosswalk writes cw to w in format fm.
func WriteCrosswalk(w io.Writer, fm Format, cw *CrosswalkFile) error {
	switch fm {
	case OSCALMapping:
		return writeOSCALMapping(w, cw)
	case OLIRCSV:
		return writeSheet(w, cw, false)
	case STRMCSV:
		return writeSheet(w, cw, true)
	case CISOYAML:
		return writeCISOMappings(w, cw)
	case JSON:
		return writeAPIJSON(w, cw)
	}
	return fmt.Errorf("a crosswalk is exported as %v, not %q", CrosswalkFormats, fm)
}

// Exports reports whether fm is a format of kind's exports.
func Exports(formats []Format, fm Format) bool { return slices.Contains(formats, fm) }

// pairwise reduces mappings to what holds between two controls, for the
// formats with one control per side (OLIR, STRM, CISO Assistant): a
// mapping between two controls as it is; of a group mapping, the
// statements its members imply by set algebra (S SUPERSET_OF or EQUAL a
// group gives S SUPERSET_OF each member; a group SUBSET_OF or EQUAL S gives
// each member SUBSET_OF S), each justified by naming the group mapping. What
// a group says of no single pair (a member of a group that contains or
// meets a control) has no row: OSCAL and JSON exports keep groups whole.
func pairwise(ms []catalog.Mapping) []catalog.Mapping {
	var out []catalog.Mapping
	for _, m := range ms {
		if !m.IsGroup() {
			out = append(out, m)
			continue
		}
		note := fmt.Sprintf("Implied by group mapping %s (%s %s %s): %s", catalog.MappingName(m.ID), groupText(m.SourceSide()),
			strings.TrimPrefix(m.Relationship.String(), "RELATIONSHIP_"), groupText(m.TargetSide()), m.Justification)
		row := func(s, t catalog.ControlRef, r cmv1.Relationship, strength, reverse int32) {
			out = append(out, catalog.Mapping{ID: m.ID, Source: s, Target: t, Relationship: r, Strength: strength, ReverseStrength: reverse,
				Rationale: m.Rationale, Justification: note, Provenance: m.Provenance})
		}
		src, tgt, r := m.SourceSide(), m.TargetSide(), m.Relationship
		if len(src) == 1 && (r == cmv1.Relationship_RELATIONSHIP_SUPERSET_OF || r == cmv1.Relationship_RELATIONSHIP_EQUAL) {
			for _, t := range tgt {
				row(src[0], t, cmv1.Relationship_RELATIONSHIP_SUPERSET_OF, 10, 1)
			}
		}
		if len(tgt) == 1 && (r == cmv1.Relationship_RELATIONSHIP_SUBSET_OF || r == cmv1.Relationship_RELATIONSHIP_EQUAL) {
			for _, s := range src {
				row(s, tgt[0], cmv1.Relationship_RELATIONSHIP_SUBSET_OF, 1, 10)
			}
		}
	}
	return out
}

// groupText is a side as "{A, B}", or "A" for one control.
func groupText(side []catalog.ControlRef) string {
	if len(side) == 1 {
		return side[0].Control
	}
	ids := make([]string, len(side))
	for i, r := range side {
		ids[i] = r.Control
	}
	return "{" + strings.Join(ids, ", ") + "}"
}
