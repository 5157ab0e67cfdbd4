package interchange

import (
	"fmt"
	"io"
	"slices"
	"strings"

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
// statements its members imply (catalog.Mapping.Implied), each justified
// by naming the group mapping. What a group says of no single pair (a
// member of a group that contains or meets a control) has no row: OSCAL
// and JSON exports keep groups whole.
func pairwise(ms []catalog.Mapping) []catalog.Mapping {
	var out []catalog.Mapping
	for _, m := range ms {
		if !m.IsGroup() {
			out = append(out, m)
			continue
		}
		note := fmt.Sprintf("Implied by group mapping %s (%s %s %s): %s", catalog.MappingName(m.ID), groupText(m.SourceSide()),
			strings.TrimPrefix(m.Relationship.String(), "RELATIONSHIP_"), groupText(m.TargetSide()), m.Justification)
		for _, p := range m.Implied() {
			p.Justification = note
			out = append(out, p)
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
