package interchange

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

type oscalResourceRef struct {
	Type string `json:"type"`
	Href string `json:"href"`
	NS   string `json:"ns,omitempty"`
}

type oscalItem struct {
	Type  string `json:"type"`
	IDRef string `json:"id-ref"`
}

type oscalMap struct {
	UUID              string           `json:"uuid"`
	MatchingRationale string           `json:"matching-rationale,omitempty"`
	Relationship      flexString       `json:"relationship"`
	Sources           []oscalItem      `json:"sources"`
	Targets           []oscalItem      `json:"targets"`
	Qualifiers        []oscalQualifier `json:"qualifiers,omitempty"`
	ConfidenceScore   json.RawMessage  `json:"confidence-score,omitempty"`
	Coverage          json.RawMessage  `json:"coverage,omitempty"`
	Props             []oscalProp      `json:"props,omitempty"`
	Remarks           string           `json:"remarks,omitempty"`
}

type oscalQualifier struct {
	Subject     string `json:"subject"`
	Predicate   string `json:"predicate,omitempty"`
	Category    string `json:"category,omitempty"`
	Description string `json:"description"`
}

// oscalConfidence is a confidence-score as OSCAL 1.2.1 writes it: one of
// the two.
type oscalConfidence struct {
	Category   string   `json:"category,omitempty"`
	Percentage *decimal `json:"percentage,omitempty"`
}

// oscalCoverage is a coverage: the share of the target covered.
type oscalCoverage struct {
	GenerationMethod string  `json:"generation-method,omitempty"`
	TargetCoverage   decimal `json:"target-coverage"`
}

type oscalMapping struct {
	UUID               string           `json:"uuid"`
	Method             string           `json:"method,omitempty"`
	MatchingRationale  string           `json:"matching-rationale,omitempty"`
	Status             string           `json:"status,omitempty"`
	SourceResource     oscalResourceRef `json:"source-resource"`
	TargetResource     oscalResourceRef `json:"target-resource"`
	Maps               []oscalMap       `json:"maps"`
	Props              []oscalProp      `json:"props,omitempty"`
	Remarks            string           `json:"remarks,omitempty"`
	MappingDescription string           `json:"mapping-description,omitempty"`
}

type oscalProvenance struct {
	Method             string `json:"method"`
	MatchingRationale  string `json:"matching-rationale"`
	Status             string `json:"status"`
	MappingDescription string `json:"mapping-description"`
}

// provenanceKeys are the keys OSCAL allows in provenance.
var provenanceKeys = []string{"method", "matching-rationale", "status", "mapping-description", "confidence-score",
	"coverage", "responsible-parties", "props", "links", "remarks"}

type oscalCollection struct {
	UUID       string           `json:"uuid"`
	Metadata   oscalMetadata    `json:"metadata"`
	Provenance json.RawMessage  `json:"provenance"`
	Mappings   *oscalMappings   `json:"mappings"`
	BackMatter *oscalBackMatter `json:"back-matter,omitempty"`
}

// oscalMappings are the mappings of a collection: an array, or (as some
// published files have it) one object, decoded in place.
type oscalMappings struct {
	list   []oscalMapping
	single bool
}

func (m *oscalMappings) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		m.single, m.list = true, make([]oscalMapping, 1)
		return json.Unmarshal(b, &m.list[0])
	}
	return json.Unmarshal(b, &m.list)
}

// decodeJSON decodes one JSON document from r into v, refusing trailing
// data.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return syntaxError("", "unexpected data after the JSON document")
	}
	return nil
}

// jsonError is a decoding error as an ErrSyntax, with its offset.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return syntaxError(fmt.Sprintf("byte %d", se.Offset), "%v", se)
	case errors.As(err, &te):
		return syntaxError("/"+strings.ReplaceAll(te.Field, ".", "/"), "expected %s, got a JSON %s", te.Type, te.Value)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return syntaxError("", "the JSON document is empty or cut short")
	}
	return err
}

func (rd *reader) oscalMapping(r io.Reader) error {
	var root struct {
		Collection *oscalCollection `json:"mapping-collection"`
	}
	if err := decodeJSON(r, &root); err != nil {
		return err
	}
	c := root.Collection
	if c == nil {
		return syntaxError("", "not an OSCAL mapping collection: no \"mapping-collection\" at the top")
	}
	base := "/mapping-collection"
	rd.doc.Title, rd.doc.Version = strings.TrimSpace(c.Metadata.Title), strings.TrimSpace(c.Metadata.Version)
	var prov oscalProvenance
	if len(c.Provenance) > 0 {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(c.Provenance, &keys); err != nil {
			return syntaxError(base+"/provenance", "expected an object")
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) { // in the same order every time
			if !slices.Contains(provenanceKeys, k) {
				rd.warn(base+"/provenance", "key %q is not part of OSCAL provenance; ignored", k)
			}
		}
		_ = json.Unmarshal(c.Provenance, &prov)
	} else {
		rd.warn(base, "no provenance; mappings default to method human, status draft")
	}
	if c.Mappings == nil {
		return syntaxError(base, "no mappings")
	}
	mappings := c.Mappings.list
	if c.Mappings.single {
		rd.warn(base+"/mappings", "mappings is one object instead of an array; read as an array of one")
	}
	resources := map[string]oscalResource{}
	if c.BackMatter != nil {
		for _, res := range c.BackMatter.Resources {
			resources["#"+res.UUID] = res
		}
	}
	provAt := base + "/provenance"
	for i, m := range mappings {
		at := pointer(base, "mappings", i)
		if c.Mappings.single { // located as the file has it: there is no /mappings/0
			at = base + "/mappings"
		}
		if _, ok := oscalMethod(m.Method); !ok {
			rd.warn(at+"/method", "method %q is not human, automation or hybrid; the provenance's is used", m.Method)
			m.Method = ""
		}
		// Each field from the mapping, else from the provenance, with the
		// pointer of the one used.
		method := firstLocated(located{m.Method, at + "/method"}, located{prov.Method, provAt + "/method"})
		status := firstLocated(located{m.Status, at + "/status"}, located{prov.Status, provAt + "/status"})
		rationale := firstLocated(located{m.MatchingRationale, at + "/matching-rationale"}, located{prov.MatchingRationale, provAt + "/matching-rationale"})
		if v, ok := prop(m.Props, Namespace, "method"); ok && v == "imported" {
			method = located{"imported", at + "/props"} // controlmap's IMPORTED, without a method of another file's
		}
		cw := Crosswalk{Source: resourceOf(m.SourceResource, resources), Target: resourceOf(m.TargetResource, resources)}
		if cw.Source.Key == "" || cw.Target.Key == "" {
			rd.skip(at, "source-resource and target-resource need an href")
			continue
		}
		for j, mp := range m.Maps {
			if err := rd.row(); err != nil {
				return err
			}
			mapAt := pointer(at, "maps", j)
			row, ok := rd.oscalMap(mapAt, mp, method, status, firstLocated(located{mp.MatchingRationale, mapAt + "/matching-rationale"}, rationale))
			if !ok {
				continue
			}
			if row.Justification == "" {
				row.Justification = firstOf(strings.TrimSpace(m.Remarks), strings.TrimSpace(m.MappingDescription), strings.TrimSpace(prov.MappingDescription))
			}
			cw.Maps = append(cw.Maps, row)
		}
		rd.addCrosswalk(cw)
	}
	return nil
}

// addCrosswalk adds cw's rows to the crosswalk between the same resources,
// or adds cw: a collection has one mapping per method and status.
func (rd *reader) addCrosswalk(cw Crosswalk) {
	for i := range rd.doc.Crosswalks {
		if c := &rd.doc.Crosswalks[i]; c.Source.Key == cw.Source.Key && c.Target.Key == cw.Target.Key {
			c.Maps = append(c.Maps, cw.Maps...)
			return
		}
	}
	rd.doc.Crosswalks = append(rd.doc.Crosswalks, cw)
}

// resourceOf describes the resource a mapping's side refers to, from the
// back-matter when the href points into it.
func resourceOf(ref oscalResourceRef, resources map[string]oscalResource) Resource {
	out := Resource{Key: strings.TrimSpace(ref.Href)}
	if res, ok := resources[out.Key]; ok {
		out.Title = strings.TrimSpace(res.Title)
		out.Version, _ = prop(res.Props, Namespace, "version")
		out.ID, _ = prop(res.Props, Namespace, "framework")
		if out.Version == "" {
			out.Version, _ = prop(res.Props, "", "version")
		}
	}
	return out
}

// located is a value of a document with the pointer it is read from.
type located struct{ v, at string }

// firstLocated is the first of vs with a value, trimmed; the zero located
// when none has.
func firstLocated(vs ...located) located {
	for _, l := range vs {
		if v := strings.TrimSpace(l.v); v != "" {
			return located{v, l.at}
		}
	}
	return located{}
}

// ofRow names the row a problem found elsewhere (in the provenance, in the
// mapping) skips; "" when the field is in the row.
func ofRow(field, row string) string {
	if field == row || strings.HasPrefix(field, row+"/") {
		return ""
	}
	return "; the map at " + row + " is skipped"
}

func firstOf(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// oscalMap reads one map; ok is false when the row was skipped.
func (rd *reader) oscalMap(at string, mp oscalMap, method, status, rationale located) (Map, bool) {
	row := Map{Loc: at, Strength: NoStrength, ReverseStrength: NoStrength, Justification: strings.TrimSpace(mp.Remarks)}
	var ok bool
	if row.Relationship, ok = rd.relationship(string(mp.Relationship)); !ok {
		rd.skip(at+"/relationship", "unknown relationship %q (equivalent-to, equal-to, subset-of, superset-of, intersects-with, no-relationship)", mp.Relationship)
		return row, false
	}
	if row.Method, ok = oscalMethod(method.v); !ok {
		rd.skip(method.at, "unknown method %q (human, automation, hybrid)%s", method.v, ofRow(method.at, at))
		return row, false
	}
	if row.Status, ok = oscalStatus(status.v); !ok {
		rd.skip(status.at, "unknown status %q (complete, not-complete, draft, deprecated, superseded)%s", status.v, ofRow(status.at, at))
		return row, false
	}
	if row.Rationale, ok = parseRationale(rationale.v); !ok {
		rd.skip(rationale.at, "unknown matching-rationale %q (syntactic, semantic, functional)%s", rationale.v, ofRow(rationale.at, at))
		return row, false
	}
	for _, side := range []struct {
		name  string
		items []oscalItem
		out   *[]string
	}{{"sources", mp.Sources, &row.Sources}, {"targets", mp.Targets, &row.Targets}} {
		if len(side.items) == 0 {
			rd.skip(at+"/"+side.name, "a map needs at least one of its %s", side.name)
			return row, false
		}
		for k, it := range side.items {
			if t := normalise(it.Type); t != "" && t != "control" {
				rd.skip(pointer(at, side.name, k), "%s items are not mapped: controlmap maps whole controls (a statement is only part of one)", it.Type)
				return row, false
			}
			if strings.TrimSpace(it.IDRef) == "" {
				rd.skip(pointer(at, side.name, k), "an item needs an id-ref")
				return row, false
			}
			rd.token("id-ref", pointer(at, side.name, k, "id-ref"), strings.TrimSpace(it.IDRef))
			*side.out = append(*side.out, strings.TrimSpace(it.IDRef))
		}
	}
	for _, p := range []struct {
		name string
		dst  *int32
	}{{"strength", &row.Strength}, {"reverse-strength", &row.ReverseStrength}} {
		if v, found := prop(mp.Props, Namespace, p.name); found {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 || n > 10 {
				rd.skip(at+"/props", "%s must be a whole number from 0 to 10, got %q", p.name, v)
				return row, false
			}
			*p.dst = int32(n)
		}
	}
	extras := &catalog.Interchange{}
	if m := normalise(method.v); m == "automation" || m == "hybrid" {
		extras.Method = m
	}
	if v, found := fraction(mp.Coverage, "target-coverage"); found {
		extras.Coverage = &v
		var cov struct {
			Method string `json:"generation-method"`
		}
		if json.Unmarshal(mp.Coverage, &cov) == nil {
			extras.CoverageMethod = strings.TrimSpace(cov.Method)
		}
		if row.Strength == NoStrength {
			row.Strength = strengthOfCoverage(row.Relationship, v)
		}
	} else if len(mp.Coverage) > 0 {
		rd.warn(at+"/coverage", "coverage is not a number from 0 to 1; ignored")
	}
	rd.confidence(at+"/confidence-score", mp.ConfidenceScore, extras)
	for _, q := range mp.Qualifiers {
		extras.Qualifiers = append(extras.Qualifiers, catalog.Qualifier{Subject: strings.TrimSpace(q.Subject), Predicate: strings.TrimSpace(q.Predicate),
			Category: strings.TrimSpace(q.Category), Description: strings.TrimSpace(q.Description)})
	}
	if extras.Method != "" || extras.ConfidenceCategory != "" || extras.ConfidencePercentage != nil || extras.Coverage != nil || len(extras.Qualifiers) > 0 {
		row.Extras = extras
	}
	if doc, found := prop(mp.Props, Namespace, "document"); found {
		row.Document = strings.TrimSpace(doc)
	}
	return row, true
}

// strengthOfCoverage is the strength a map's target-coverage suggests when
// the map gives none: the share of the target, on the 0-10 scale, where the
// relationship leaves the strength to judgement (SUBSET_OF and
// INTERSECTS_WITH, 1 to 9, the coverage rounded into that range).
// Elsewhere the relationship fixes the strength (EQUAL and SUPERSET_OF 10,
// NO_RELATIONSHIP 0) and a coverage says nothing more: NoStrength, so the
// fixed value applies. OSCAL has no coverage of the source, so the reverse
// strength is never derived.
func strengthOfCoverage(r cmv1.Relationship, coverage float64) int32 {
	lo, hi := catalog.StrengthRange(r)
	if lo == hi {
		return NoStrength
	}
	return min(max(int32(math.Round(coverage*10)), lo), hi)
}

// confidence reads a confidence-score: {"category": ...} or
// {"percentage": ...}, or (as 1.2.0 files may) a bare category or number.
func (rd *reader) confidence(at string, raw json.RawMessage, x *catalog.Interchange) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	var c oscalConfidence
	if raw[0] == '{' {
		if err := json.Unmarshal(raw, &c); err != nil {
			rd.warn(at, "not a confidence score; ignored")
			return
		}
	} else {
		var s flexString
		_ = json.Unmarshal(raw, &s)
		if v, ok := fraction(raw, ""); ok && strings.TrimSpace(string(s)) != "" && (s[0] >= '0' && s[0] <= '9') {
			c.Percentage = (*decimal)(&v)
		} else {
			c.Category = string(s)
		}
		rd.warn(at, "a confidence score written as a bare value (OSCAL 1.2.0); read as %s", map[bool]string{true: "a percentage", false: "a category"}[c.Percentage != nil])
	}
	if c.Percentage != nil && (*c.Percentage < 0 || *c.Percentage > 1) {
		rd.warn(at, "a confidence percentage must be from 0 to 1; ignored")
		c.Percentage = nil
	}
	x.ConfidenceCategory, x.ConfidencePercentage = strings.ToLower(strings.TrimSpace(c.Category)), (*float64)(c.Percentage)
}

// CrosswalkFile is what a crosswalk export writes: the mappings between two
// frameworks read from Source to Target, and the controls they name.
type CrosswalkFile struct {
	Source, Target catalog.Framework
	// Mappings are oriented: each one's Source is a control of Source.
	Mappings []catalog.Mapping
	// Titles are the titles of the controls the mappings name.
	Titles map[catalog.ControlRef]string
}

// modified is the time of the newest change of the file's mappings: the
// same content exports the same time.
func (cw *CrosswalkFile) modified() time.Time {
	var t time.Time
	for _, m := range cw.Mappings {
		if m.Provenance.UpdateTime.After(t) {
			t = m.Provenance.UpdateTime
		}
	}
	if t.IsZero() { // only built-in mappings, which carry no times
		t = time.Now()
	}
	return t.UTC().Truncate(time.Second)
}

// writeOSCALMapping writes cw as an OSCAL mapping collection: one mapping
// per method and status (OSCAL keeps those per mapping, not per map),
// strength and document in props of Namespace, control ids as tokens.
func writeOSCALMapping(w io.Writer, cw *CrosswalkFile) error {
	srcRes, tgtRes := stableUUID("resource", cw.Source.ID), stableUUID("resource", cw.Target.ID)
	type key struct {
		method string
		status cmv1.MappingStatus
		// plain: IMPORTED without a method of the file's, marked by a prop
		plain bool
	}
	groups := map[key][]catalog.Mapping{}
	var order []key
	for _, m := range cw.Mappings {
		k := key{oscalMethodToken(&m), m.Provenance.Status, m.Provenance.Method == cmv1.MappingMethod_MAPPING_METHOD_IMPORTED &&
			(m.Interchange == nil || m.Interchange.Method == "")}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], m)
	}
	first := key{"human", cmv1.MappingStatus_MAPPING_STATUS_DRAFT, false}
	if len(order) > 0 {
		first = order[0]
	}
	ew := &errWriter{w: bufio.NewWriterSize(w, 32<<10)}
	title := fmt.Sprintf("%s to %s", cw.Source.DisplayName, cw.Target.DisplayName)
	head := map[string]any{
		"uuid": stableUUID("mapping-collection", cw.Source.ID, cw.Target.ID),
		"metadata": oscalMetadata{Title: markupLine(title, "Crosswalk"), LastModified: cw.modified().Format(time.RFC3339),
			Version: sideVersion(&cw.Source) + "_" + sideVersion(&cw.Target), OSCALVersion: OSCALVersion},
		"provenance": oscalProvenance{Method: first.method, MatchingRationale: "semantic", Status: oscalStatusToken(first.status),
			MappingDescription: "Mappings from " + title + ", exported by controlmap. Strength (0-10, IR 8477) is in props named strength and reverse-strength of namespace " + Namespace + "."},
	}
	ew.json(head, func(b []byte) []byte { return b[:len(b)-1] }, `{"mapping-collection":`) // left open: mappings follow
	ew.str(`,"mappings":[`)
	for i, k := range order {
		if i > 0 {
			ew.str(",")
		}
		maps := make([]oscalMap, 0, len(groups[k]))
		for _, m := range groups[k] {
			maps = append(maps, mapOf(&m))
		}
		entry := oscalMapping{UUID: stableUUID("mapping", cw.Source.ID, cw.Target.ID, k.method, k.status.String(), fmt.Sprint(k.plain)), Method: k.method,
			Status: oscalStatusToken(k.status), SourceResource: oscalResourceRef{Type: "catalog", Href: "#" + srcRes},
			TargetResource: oscalResourceRef{Type: "catalog", Href: "#" + tgtRes}, Maps: maps}
		if k.plain {
			entry.Props = []oscalProp{{Name: "method", NS: Namespace, Value: "imported"}}
		}
		ew.json(entry, nil, "")
	}
	ew.str(`],"back-matter":`)
	ew.json(oscalBackMatter{Resources: []oscalResource{backMatterResource(srcRes, &cw.Source), backMatterResource(tgtRes, &cw.Target)}}, nil, "")
	ew.str("}}\n")
	return ew.flush()
}

// backMatterResource describes a side's framework; a framework without a
// version has no version prop.
func backMatterResource(id string, f *catalog.Framework) oscalResource {
	var ps props
	ps.add(oscalProp{Name: "version", NS: Namespace, Value: f.Version})
	ps.add(oscalProp{Name: "framework", NS: Namespace, Value: f.ID})
	return oscalResource{UUID: id, Title: markupLine(f.DisplayName, f.ID), Props: ps}
}

// sideVersion is a side's part of a collection's version: the framework's,
// or the one derivedVersion gives it.
func sideVersion(f *catalog.Framework) string {
	if v := oscalString(f.Version); v != "" {
		return v
	}
	return derivedVersion(f)
}

// oscalMethodToken is the OSCAL method of a mapping: the file's, for an
// imported one that kept it; hybrid for another IMPORTED one.
func oscalMethodToken(m *catalog.Mapping) string {
	switch {
	case m.Provenance.Method != cmv1.MappingMethod_MAPPING_METHOD_IMPORTED:
		return "human"
	case m.Interchange != nil && (m.Interchange.Method == "automation" || m.Interchange.Method == "hybrid"):
		return m.Interchange.Method
	}
	return "hybrid"
}

// mapOf is the OSCAL map of an oriented mapping.
func mapOf(m *catalog.Mapping) oscalMap {
	var ps props
	ps.add(oscalProp{Name: "strength", NS: Namespace, Value: strconv.Itoa(int(m.Strength))})
	ps.add(oscalProp{Name: "reverse-strength", NS: Namespace, Value: strconv.Itoa(int(m.ReverseStrength))})
	ps.add(oscalProp{Name: "document", NS: Namespace, Value: m.Provenance.Document})
	items := func(side []catalog.ControlRef) []oscalItem {
		out := make([]oscalItem, len(side))
		for i, r := range side {
			out[i] = oscalItem{Type: "control", IDRef: Token(r.Control)}
		}
		return out
	}
	out := oscalMap{
		UUID:              stableUUID("map", catalog.SideKey(m.SourceSide()), catalog.SideKey(m.TargetSide())),
		MatchingRationale: rationaleToken(m.Rationale),
		Relationship:      flexString(relationshipToken(OSCALMapping, m.Relationship)),
		Sources:           items(m.SourceSide()),
		Targets:           items(m.TargetSide()),
		Props:             ps,
		Remarks:           m.Justification,
	}
	if x := m.Interchange; x != nil {
		switch {
		case x.ConfidencePercentage != nil:
			out.ConfidenceScore, _ = json.Marshal(oscalConfidence{Percentage: (*decimal)(x.ConfidencePercentage)})
		case oscalString(x.ConfidenceCategory) != "":
			out.ConfidenceScore, _ = json.Marshal(oscalConfidence{Category: oscalString(x.ConfidenceCategory)})
		}
		if x.Coverage != nil {
			out.Coverage, _ = json.Marshal(oscalCoverage{GenerationMethod: oscalString(x.CoverageMethod), TargetCoverage: decimal(*x.Coverage)})
		}
		for _, q := range x.Qualifiers {
			// Subject, predicate and category are required strings: a
			// qualifier without one is not OSCAL's and is left out.
			oq := oscalQualifier{Subject: oscalString(q.Subject), Predicate: oscalString(q.Predicate), Category: oscalString(q.Category), Description: q.Description}
			if oq.Subject != "" && oq.Predicate != "" && oq.Category != "" {
				out.Qualifiers = append(out.Qualifiers, oq)
			}
		}
	}
	return out
}

// errWriter writes until the first error and keeps it.
type errWriter struct {
	w   *bufio.Writer
	err error
}

func (e *errWriter) str(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

// json writes prefix and then v as JSON, passed through trim when not nil.
func (e *errWriter) json(v any, trim func([]byte) []byte, prefix string) {
	if e.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		e.err = err
		return
	}
	if trim != nil {
		b = trim(b)
	}
	e.str(prefix)
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *errWriter) flush() error {
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}
