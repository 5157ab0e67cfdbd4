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
// formats with one control per side (OLIR, STRM, CISO Assistant), with one
// row per pair of controls, as their import requires:
//
//   - A mapping between two controls is written as it is.
//   - Of a group mapping, the statements its members imply
//     (catalog.Mapping.Implied: S SUPERSET_OF or EQUAL a group contains each
//     member; a group SUBSET_OF or EQUAL S has each member inside S), and,
//     for a group NO_RELATIONSHIP, NO_RELATIONSHIP between every source
//     member and every target member (disjoint unions have disjoint
//     members; Implied gives nothing for it, as NO_RELATIONSHIP never
//     composes). Each row's justification names the group mapping.
//   - A pair is written once, in either direction: a mapping between the
//     two controls decides it, and what groups imply for that pair is
//     dropped; of the rows several groups imply for one pair, the one of
//     the group mapping with the lowest id is kept, at the place of the
//     first, and its justification names every group mapping that implies
//     something of the pair (saying so where one implies another
//     relationship).
//
// What a group says of no single pair (a member of a group that contains
// or meets a control) has no row: OSCAL and JSON exports keep groups whole.
func pairwise(ms []catalog.Mapping) []catalog.Mapping {
	type pairKey [2]catalog.ControlRef
	keyOf := func(m *catalog.Mapping) pairKey {
		a, b := m.Source, m.Target
		if b.Framework < a.Framework || b.Framework == a.Framework && b.Control < a.Control {
			a, b = b, a
		}
		return pairKey{a, b}
	}
	direct := map[pairKey]bool{}
	for i := range ms {
		if !ms[i].IsGroup() {
			direct[keyOf(&ms[i])] = true
		}
	}
	// implied is a pair's row and every group row for it, in input order.
	type implied struct {
		out  int
		rows []catalog.Mapping
		from []*catalog.Mapping
	}
	var out []catalog.Mapping
	var pending []*implied
	byPair := map[pairKey]*implied{}
	for i := range ms {
		m := &ms[i]
		if !m.IsGroup() {
			out = append(out, *m)
			continue
		}
		rows := m.Implied()
		if m.Relationship == cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP {
			for _, s := range m.SourceSide() {
				for _, t := range m.TargetSide() {
					rows = append(rows, catalog.Mapping{ID: m.ID, Source: s, Target: t, Relationship: m.Relationship, Rationale: m.Rationale,
						Justification: m.Justification, Provenance: m.Provenance})
				}
			}
		}
		for _, p := range rows {
			k := keyOf(&p)
			if direct[k] {
				continue
			}
			if im := byPair[k]; im != nil {
				im.rows, im.from = append(im.rows, p), append(im.from, m)
				continue
			}
			im := &implied{out: len(out), rows: []catalog.Mapping{p}, from: []*catalog.Mapping{m}}
			byPair[k] = im
			pending = append(pending, im)
			out = append(out, catalog.Mapping{}) // filled below
		}
	}
	for _, im := range pending {
		keep := 0
		for j := range im.rows {
			if im.rows[j].ID < im.rows[keep].ID {
				keep = j
			}
		}
		row := im.rows[keep]
		head, why := groupNote(im.from[keep])
		parts := []string{"Implied by group mapping " + head + why}
		for j, g := range im.from {
			head, why := groupNote(g)
			switch {
			case j == keep:
			case im.rows[j].Relationship == row.Relationship:
				parts = append(parts, "Also implied by group mapping "+head+why)
			default:
				parts = append(parts, fmt.Sprintf("Group mapping %s implies %s of this pair instead%s", head,
					strings.TrimPrefix(im.rows[j].Relationship.String(), "RELATIONSHIP_"), why))
			}
		}
		for j := range parts[:len(parts)-1] {
			if !strings.HasSuffix(parts[j], ".") {
				parts[j] += "."
			}
		}
		row.Justification = strings.Join(parts, " ")
		out[im.out] = row
	}
	return out
}

// groupNote names a group mapping by its statement, "mappings/x (5.1
// SUPERSET_OF {A, B})", and gives its justification as ": why" ("" for
// none).
func groupNote(m *catalog.Mapping) (head, why string) {
	head = fmt.Sprintf("%s (%s %s %s)", catalog.MappingName(m.ID), groupText(m.SourceSide()),
		strings.TrimPrefix(m.Relationship.String(), "RELATIONSHIP_"), groupText(m.TargetSide()))
	if j := strings.TrimSpace(m.Justification); j != "" {
		why = ": " + j
	}
	return head, why
}

// groupNames maps the id of each group mapping of ms to its name: a row
// of pairwise carrying one of those ids is one the group implies, and the
// pairwise formats say which (so that importing the file where the group
// is adds nothing of its own).
func groupNames(ms []catalog.Mapping) map[string]string {
	out := map[string]string{}
	for i := range ms {
		if ms[i].IsGroup() {
			out[ms[i].ID] = catalog.MappingName(ms[i].ID)
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
