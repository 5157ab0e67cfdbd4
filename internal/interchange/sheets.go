package interchange

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// sheet describes the columns of a CSV crosswalk format, by normalised
// header name. Source and Target are required; the others are read when
// present.
type sheet struct {
	name                     string
	source, target           []string
	relationship, rationale  []string
	strength, comment        []string
	sourceTitle, targetTitle []string
	reverseStrength, status  []string
	method, document         []string
	impliedBy                []string
	continues                bool // a row with a blank source continues the one above (STRM)
	relationshipHint         string
}

// Columns both sheets add to their templates, so that an export reads back
// exactly; other tools ignore them.
var (
	colReverseStrength = "Reverse Strength of Relationship"
	colStatus          = "Mapping Status"
	colMethod          = "Mapping Method"
	colDocument        = "Provenance Document"
	colImpliedBy       = "Implied By Group Mapping"
)

var olirSheet = sheet{
	name:   "OLIR",
	source: []string{"focal document element"}, target: []string{"reference document element"},
	sourceTitle: []string{"focal document element description"}, targetTitle: []string{"reference document element description"},
	relationship: []string{"relationship"}, rationale: []string{"rationale"},
	strength: []string{"strength of relationship"}, comment: []string{"comments", "comment"},
	reverseStrength: []string{normalise(colReverseStrength)}, status: []string{normalise(colStatus)},
	method: []string{normalise(colMethod)}, document: []string{normalise(colDocument)}, impliedBy: []string{normalise(colImpliedBy)},
	relationshipHint: "subset of, intersects with, equal, superset of, not related to",
}

var strmSheet = sheet{
	name:   "STRM",
	source: []string{"fde #", "fde#"}, target: []string{"scf #", "scf#"},
	sourceTitle: []string{"fde name"}, targetTitle: []string{"scf control"},
	relationship: []string{"strm relationship"}, rationale: []string{"strm rationale"},
	strength: []string{"strength of relationship"}, comment: []string{"notes"},
	reverseStrength: []string{normalise(colReverseStrength)}, status: []string{normalise(colStatus)},
	method: []string{normalise(colMethod)}, document: []string{normalise(colDocument)}, impliedBy: []string{normalise(colImpliedBy)},
	continues:        true,
	relationshipHint: "Equal, Subset Of, Superset Of, Intersects With, No Relationship",
}

// header normalises a column header: case, line breaks, runs of spaces,
// "(optional)" and a required-field asterisk do not matter.
func header(s string) string {
	s = strings.ReplaceAll(strings.ToLower(s), "(optional)", "")
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "*"))
	return normalise(s)
}

// newCSVReader reads CSV with a UTF-8 byte order mark (as spreadsheet
// programs write) skipped and rows of any length.
func newCSVReader(r io.Reader) *csv.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

func (rd *reader) olir(r io.Reader) error { return rd.sheet(r, &olirSheet) }
func (rd *reader) strm(r io.Reader) error { return rd.sheet(r, &strmSheet) }

// sheet reads a CSV crosswalk: rows before the header (metadata) are
// passed over; each row after it is one mapping from the source column's
// control to the target column's.
func (rd *reader) sheet(r io.Reader, s *sheet) error {
	cr := newCSVReader(r)
	cols := map[string]int{}
	find := func(names []string) int {
		for _, n := range names {
			if i, ok := cols[n]; ok {
				return i
			}
		}
		return -1
	}
	cw := Crosswalk{Source: Resource{Key: "source"}, Target: Resource{Key: "target"}}
	var src, tgt, rel, rat, str, com, rstr, sta, met, doc, imp int
	var prevSource string
	headerFound, unrelated := false, 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return syntaxError(fmt.Sprintf("line %d", pe.Line), "%v", pe.Err)
			}
			return err
		}
		line, _ := cr.FieldPos(0)
		at := fmt.Sprintf("line %d", line)
		if !headerFound {
			clear(cols)
			for i, h := range rec {
				cols[header(h)] = i
			}
			if src, tgt = find(s.source), find(s.target); src >= 0 && tgt >= 0 {
				headerFound = true
				rel, rat, str, com = find(s.relationship), find(s.rationale), find(s.strength), find(s.comment)
				rstr, sta, met, doc, imp = find(s.reverseStrength), find(s.status), find(s.method), find(s.document), find(s.impliedBy)
			}
			continue
		}
		cell := func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		if strings.Join(rec, "") == "" {
			continue
		}
		if err := rd.row(); err != nil {
			return err
		}
		source, target := cell(src), cell(tgt)
		if source == "" && s.continues {
			source = prevSource
		}
		prevSource = source
		if source == "" {
			rd.skip(at, "no %s", s.source[0])
			continue
		}
		if target == "" && cell(rel) == "" {
			unrelated++ // a focal element nobody mapped: nothing to import
			continue
		}
		if target == "" {
			rd.skip(at, "no %s", s.target[0])
			continue
		}
		row := Map{Loc: at, Sources: []string{source}, Targets: []string{target}, Strength: NoStrength, ReverseStrength: NoStrength,
			Justification: cell(com), Document: cell(doc), ImpliedBy: cell(imp)}
		var ok bool
		if row.Relationship, ok = rd.relationship(cell(rel)); !ok {
			rd.skip(at, "unknown relationship %q (%s)", cell(rel), s.relationshipHint)
			continue
		}
		if row.Rationale, ok = parseRationale(cell(rat)); !ok {
			rd.skip(at, "unknown rationale %q (Syntactic, Semantic, Functional)", cell(rat))
			continue
		}
		if row.Strength, ok = strength(cell(str)); !ok {
			rd.skip(at, "strength must be a whole number from 0 to 10, got %q", cell(str))
			continue
		}
		if row.ReverseStrength, ok = strength(cell(rstr)); !ok {
			rd.skip(at, "reverse strength must be a whole number from 0 to 10, got %q", cell(rstr))
			continue
		}
		if row.Status, ok = statusOf(cell(sta)); !ok {
			rd.skip(at, "unknown status %q (DRAFT, APPROVED, DEPRECATED, SUPERSEDED)", cell(sta))
			continue
		}
		if row.Method, ok = methodOf(cell(met)); !ok {
			rd.skip(at, "unknown method %q (HUMAN, IMPORTED)", cell(met))
			continue
		}
		cw.Maps = append(cw.Maps, row)
	}
	if !headerFound {
		return syntaxError("", "no header row with the %s columns %q and %q", s.name, s.source[0], s.target[0])
	}
	if unrelated > 0 {
		rd.warn("", "%d rows name a focal element without a relationship; there is nothing to import from them", unrelated)
	}
	rd.doc.Crosswalks = append(rd.doc.Crosswalks, cw)
	return nil
}

// strength reads 0-10, NoStrength for an empty cell.
func strength(s string) (int32, bool) {
	if s == "" {
		return NoStrength, true
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 || n > 10 || n != float64(int32(n)) {
		return 0, false
	}
	return int32(n), true
}

// statusOf reads a status by its name, with or without the enum prefix.
func statusOf(s string) (cmv1.MappingStatus, bool) {
	if s == "" {
		return 0, true
	}
	v, ok := cmv1.MappingStatus_value["MAPPING_STATUS_"+strings.ToUpper(strings.TrimPrefix(strings.ToUpper(s), "MAPPING_STATUS_"))]
	return cmv1.MappingStatus(v), ok && v != 0
}

// methodOf reads a method by its name, with or without the enum prefix.
func methodOf(s string) (cmv1.MappingMethod, bool) {
	if s == "" {
		return 0, true
	}
	v, ok := cmv1.MappingMethod_value["MAPPING_METHOD_"+strings.TrimPrefix(strings.ToUpper(s), "MAPPING_METHOD_")]
	return cmv1.MappingMethod(v), ok && v != 0
}

// titleCase is "Semantic" for SEMANTIC.
func titleCase(token string) string {
	if token == "" {
		return ""
	}
	return strings.ToUpper(token[:1]) + token[1:]
}

// writeSheet writes cw in the columns of OLIR (strm false) or STRM, one row
// per mapping, source first, and the columns that make it read back
// exactly.
func writeSheet(w io.Writer, cw *CrosswalkFile, strm bool) error {
	cwr := csv.NewWriter(w)
	head := []string{"Focal Document Element", "Focal Document Element Description", "Rationale", "Relationship",
		"Reference Document Element", "Reference Document Element Description", "Comments", "Strength of Relationship"}
	if strm {
		head = []string{"FDE #", "FDE Name", "Focal Document Element (FDE) Description", "STRM Rationale", "STRM Relationship",
			"SCF Control", "SCF #", "Strength of Relationship", "Notes"}
	}
	head = append(head, colReverseStrength, colStatus, colMethod, colDocument, colImpliedBy)
	if err := cwr.Write(head); err != nil {
		return err
	}
	groups := groupNames(cw.Mappings)
	for _, m := range pairwise(cw.Mappings) {
		src, tgt := cw.Titles[m.Source], cw.Titles[m.Target]
		rationale, strength := titleCase(rationaleToken(m.Rationale)), strconv.Itoa(int(m.Strength))
		row := []string{m.Source.Control, src, rationale, relationshipToken(OLIRCSV, m.Relationship), m.Target.Control, tgt, m.Justification, strength}
		if strm {
			row = []string{m.Source.Control, src, "", rationale, relationshipToken(STRMCSV, m.Relationship), tgt, m.Target.Control, strength, m.Justification}
		}
		row = append(row, strconv.Itoa(int(m.ReverseStrength)), enumName(m.Provenance.Status.String(), "MAPPING_STATUS_"),
			enumName(m.Provenance.Method.String(), "MAPPING_METHOD_"), m.Provenance.Document, groups[m.ID])
		if err := cwr.Write(row); err != nil {
			return err
		}
	}
	cwr.Flush()
	return cwr.Error()
}

func enumName(s, prefix string) string { return strings.TrimPrefix(s, prefix) }
