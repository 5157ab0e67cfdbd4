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
	Method             string          `json:"method"`
	MatchingRationale  string          `json:"matching-rationale"`
	Status             string          `json:"status"`
	MappingDescription string          `json:"mapping-description"`
	ConfidenceScore    json.RawMessage `json:"confidence-score,omitempty"`
	Coverage           json.RawMessage `json:"coverage,omitempty"`
}

// provenanceKeys are the keys OSCAL allows in provenance.
var provenanceKeys = []string{"method", "matching-rationale", "status", "mapping-description", "confidence-score",
	"coverage", "responsible-parties", "props", "links", "remarks"}

// oscalMapping reads a mapping collection as a stream: each map is decoded
// and read before the next, so the document is never held whole; the rows
// read are (they are the Document).
func (rd *reader) oscalMapping(r io.Reader) error {
	js := newJSONStream(r)
	const base = "/mapping-collection"
	mappingsSeen, provSeen := false, false
	var meta oscalMetadata
	var prov oscalProvenance
	var back oscalBackMatter
	// pending are the mappings read before the provenance, which gives
	// their method and status.
	var pending []*pendingMapping
	mapping := func(at string) error {
		p, err := rd.streamMapping(js, at)
		if err != nil {
			return err
		}
		if provSeen {
			rd.finishMapping(p, &prov)
		} else {
			pending = append(pending, p)
		}
		return nil
	}
	err := js.root("mapping-collection", "an OSCAL mapping collection", func(key string) error {
		switch key {
		case "metadata":
			return js.decode(base+"/metadata", &meta)
		case "provenance":
			var raw json.RawMessage
			if err := js.decode(base+"/provenance", &raw); err != nil {
				return err
			}
			if err := rd.provenance(base+"/provenance", raw, &prov); err != nil {
				return err
			}
			provSeen = true
			for _, p := range pending {
				rd.finishMapping(p, &prov)
			}
			pending = nil
			return nil
		case "mappings":
			t, err := js.open()
			if err != nil {
				return err
			}
			switch t {
			case json.Delim('{'):
				mappingsSeen = true
				rd.warn(base+"/mappings", "mappings is one object instead of an array; read as an array of one")
				return mapping(base + "/mappings") // located as the file has it: there is no /mappings/0
			case json.Delim('['):
				mappingsSeen = true
				return js.elements(func(i int) error {
					at := pointer(base, "mappings", i)
					if t, err := js.open(); err != nil {
						return err
					} else if t != json.Delim('{') {
						return syntaxError(at, "expected a mapping object, got %s", describe(t))
					}
					return mapping(at)
				})
			case nil:
				return nil // null: no mappings
			}
			return syntaxError(base+"/mappings", "expected an array of mappings, got %s", describe(t))
		case "back-matter":
			return js.decode(base+"/back-matter", &back)
		}
		return js.skip()
	})
	if err != nil {
		return err
	}
	rd.doc.Title, rd.doc.Version = strings.TrimSpace(meta.Title), strings.TrimSpace(meta.Version)
	if !mappingsSeen {
		return syntaxError(base, "no mappings")
	}
	if !provSeen {
		rd.warn(base, "no provenance: a new mapping gets method IMPORTED and status DRAFT, a stored one keeps its own")
		for _, p := range pending {
			rd.finishMapping(p, &prov)
		}
	}
	// The back-matter, usually last, describes the resources.
	resources := map[string]oscalResource{}
	for _, res := range back.Resources {
		resources["#"+res.UUID] = res
	}
	for i := range rd.doc.Crosswalks {
		c := &rd.doc.Crosswalks[i]
		describeResource(&c.Source, resources)
		describeResource(&c.Target, resources)
	}
	return nil
}

// provenance reads a collection's provenance, warning of the keys OSCAL
// does not define.
func (rd *reader) provenance(at string, raw json.RawMessage, prov *oscalProvenance) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return syntaxError(at, "expected an object")
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) { // in the same order every time
		if !slices.Contains(provenanceKeys, k) {
			rd.warn(at, "key %q is not part of OSCAL provenance; ignored", k)
		}
	}
	_ = json.Unmarshal(raw, prov)
	return nil
}

// pendingMapping is a mapping whose maps are read into rows that wait for
// what the mapping and the provenance say of all of them (method, status,
// rationale, a justification), which the file may give after the maps.
type pendingMapping struct {
	at   string
	head oscalMapping
	rows []Map
	// ownRationale tells the rows whose map gives its matching-rationale.
	ownRationale []bool
}

// streamMapping reads a mapping whose '{' was read, each map as it comes.
func (rd *reader) streamMapping(js *jsonStream, at string) (*pendingMapping, error) {
	p := &pendingMapping{at: at}
	head := map[string]json.RawMessage{}
	err := js.members(func(key string) error {
		if key != "maps" {
			var raw json.RawMessage
			if err := js.decode(pointer(at, key), &raw); err != nil {
				return err
			}
			head[key] = raw
			return nil
		}
		return js.array(at+"/maps", func(j int) error {
			if err := rd.row(); err != nil {
				return err
			}
			mapAt := pointer(at, "maps", j)
			var mp oscalMap
			if err := js.decode(mapAt, &mp); err != nil {
				return err
			}
			if row, ok := rd.oscalMap(mapAt, mp); ok {
				p.rows = append(p.rows, row)
				p.ownRationale = append(p.ownRationale, strings.TrimSpace(mp.MatchingRationale) != "")
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	// What the mapping says besides its maps, decoded together (it is small).
	b, _ := json.Marshal(head)
	if err := json.Unmarshal(b, &p.head); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, syntaxError(pointer(at, strings.Split(te.Field, ".")[0]), "expected %s, got a JSON %s", te.Type, te.Value)
		}
		return nil, syntaxError(at, "%v", err)
	}
	return p, nil
}

// finishMapping gives the rows of a mapping what the mapping, or else the
// provenance, says of all of them, and adds them to the crosswalk of its
// resources.
func (rd *reader) finishMapping(p *pendingMapping, prov *oscalProvenance) {
	const provAt = "/mapping-collection/provenance"
	m, at := &p.head, p.at
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
	cw := Crosswalk{Source: Resource{Key: strings.TrimSpace(m.SourceResource.Href)}, Target: Resource{Key: strings.TrimSpace(m.TargetResource.Href)}}
	if cw.Source.Key == "" || cw.Target.Key == "" {
		rd.skip(at, "source-resource and target-resource need an href")
		return
	}
	methodOf, methodOK := oscalMethod(method.v)
	statusOf, statusOK := oscalStatus(status.v)
	rationaleOf, rationaleOK := parseRationale(rationale.v)
	justification := firstOf(strings.TrimSpace(m.Remarks), strings.TrimSpace(m.MappingDescription), strings.TrimSpace(prov.MappingDescription))
	// The provenance's confidence and coverage hold for the maps that give
	// none of their own.
	var provX catalog.Interchange
	rd.confidence(provAt+"/confidence-score", prov.ConfidenceScore, &provX)
	provCoverage, hasCoverage := fraction(prov.Coverage, "target-coverage")
	if !hasCoverage && len(bytes.TrimSpace(prov.Coverage)) > 0 && string(bytes.TrimSpace(prov.Coverage)) != "null" {
		rd.warn(provAt+"/coverage", "coverage is not a number from 0 to 1; ignored")
	}
	var provCoverageMethod struct {
		Method string `json:"generation-method"`
	}
	_ = json.Unmarshal(prov.Coverage, &provCoverageMethod)
	for i, row := range p.rows {
		switch {
		case !methodOK:
			rd.skip(method.at, "unknown method %q (human, automation, hybrid)%s", method.v, ofRow(method.at, row.Loc))
			continue
		case !statusOK:
			rd.skip(status.at, "unknown status %q (complete, not-complete, draft, deprecated, superseded)%s", status.v, ofRow(status.at, row.Loc))
			continue
		case !p.ownRationale[i] && !rationaleOK:
			rd.skip(rationale.at, "unknown matching-rationale %q (syntactic, semantic, functional)%s", rationale.v, ofRow(rationale.at, row.Loc))
			continue
		}
		row.Method, row.Status = methodOf, statusOf
		if !p.ownRationale[i] {
			row.Rationale = rationaleOf
		}
		if v := normalise(method.v); v == "automation" || v == "hybrid" {
			if row.Extras == nil {
				row.Extras = &catalog.Interchange{}
			}
			row.Extras.Method = v
		}
		if row.Justification == "" {
			row.Justification = justification
		}
		if hasConfidence := row.Extras != nil && (row.Extras.ConfidenceCategory != "" || row.Extras.ConfidencePercentage != nil); !hasConfidence &&
			(provX.ConfidenceCategory != "" || provX.ConfidencePercentage != nil) {
			if row.Extras == nil {
				row.Extras = &catalog.Interchange{}
			}
			row.Extras.ConfidenceCategory, row.Extras.ConfidencePercentage = provX.ConfidenceCategory, provX.ConfidencePercentage
		}
		if hasCoverage && (row.Extras == nil || row.Extras.Coverage == nil) {
			if row.Extras == nil {
				row.Extras = &catalog.Interchange{}
			}
			share := provCoverage
			row.Extras.Coverage, row.Extras.CoverageMethod = &share, strings.TrimSpace(provCoverageMethod.Method)
			if row.Strength == NoStrength {
				row.Strength = strengthOfCoverage(catalog.StrengthRange, row.Relationship, share)
			}
		}
		cw.Maps = append(cw.Maps, row)
	}
	rd.addCrosswalk(cw)
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

// describeResource describes the resource a mapping's side refers to, from
// the back-matter when its href points into it.
func describeResource(out *Resource, resources map[string]oscalResource) {
	if res, ok := resources[out.Key]; ok {
		out.Title = strings.TrimSpace(res.Title)
		out.Version, _ = prop(res.Props, Namespace, "version")
		out.ID, _ = prop(res.Props, Namespace, "framework")
		if out.Version == "" {
			out.Version, _ = prop(res.Props, "", "version")
		}
	}
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

// oscalMap reads what one map says of itself; ok is false when the row was
// skipped. Its method and status, and its rationale when it gives none,
// are the mapping's (finishMapping).
func (rd *reader) oscalMap(at string, mp oscalMap) (Map, bool) {
	row := Map{Loc: at, Strength: NoStrength, ReverseStrength: NoStrength, Justification: strings.TrimSpace(mp.Remarks), UUID: strings.TrimSpace(mp.UUID)}
	var ok bool
	if row.Relationship, ok = rd.relationship(string(mp.Relationship)); !ok {
		rd.skip(at+"/relationship", "unknown relationship %q (equivalent-to, equal-to, subset-of, superset-of, intersects-with, no-relationship)", mp.Relationship)
		return row, false
	}
	if row.Rationale, ok = parseRationale(mp.MatchingRationale); !ok {
		rd.skip(at+"/matching-rationale", "unknown matching-rationale %q (syntactic, semantic, functional)", mp.MatchingRationale)
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
	if v, found := fraction(mp.Coverage, "target-coverage"); found {
		extras.Coverage = &v
		var cov struct {
			Method string `json:"generation-method"`
		}
		if json.Unmarshal(mp.Coverage, &cov) == nil {
			extras.CoverageMethod = strings.TrimSpace(cov.Method)
		}
		if row.Strength == NoStrength {
			row.Strength = strengthOfCoverage(catalog.StrengthRange, row.Relationship, v)
		}
	} else if len(mp.Coverage) > 0 {
		rd.warn(at+"/coverage", "coverage is not a number from 0 to 1; ignored")
	}
	// OSCAL has no coverage of the source: ours is a prop, with its method.
	if v, found := prop(mp.Props, Namespace, "reverse-coverage"); found {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
			extras.ReverseCoverage = &f
			if m, ok := prop(mp.Props, Namespace, "reverse-coverage-method"); ok {
				extras.ReverseCoverageMethod = strings.TrimSpace(m)
			}
			if row.ReverseStrength == NoStrength {
				row.ReverseStrength = strengthOfCoverage(catalog.ReverseStrengthRange, row.Relationship, f)
			}
		} else {
			rd.warn(at+"/props", "reverse-coverage must be a number from 0 to 1, got %q; ignored", v)
		}
	}
	rd.confidence(at+"/confidence-score", mp.ConfidenceScore, extras)
	for _, q := range mp.Qualifiers {
		extras.Qualifiers = append(extras.Qualifiers, catalog.Qualifier{Subject: strings.TrimSpace(q.Subject), Predicate: strings.TrimSpace(q.Predicate),
			Category: strings.TrimSpace(q.Category), Description: strings.TrimSpace(q.Description)})
	}
	if extras.ConfidenceCategory != "" || extras.ConfidencePercentage != nil || extras.Coverage != nil || extras.ReverseCoverage != nil || len(extras.Qualifiers) > 0 {
		row.Extras = extras
	}
	if doc, found := prop(mp.Props, Namespace, "document"); found {
		row.Document = strings.TrimSpace(doc)
	}
	return row, true
}

// strengthOfCoverage is the strength a coverage suggests when the map gives
// none: the share covered, on the 0-10 scale, where the relationship leaves
// the strength to judgement (rng gives 1 to 9: SUBSET_OF and
// INTERSECTS_WITH read forward, SUPERSET_OF and INTERSECTS_WITH read back),
// rounded into that range. Elsewhere the relationship fixes the strength
// (10 for what contains the other, 0 for NO_RELATIONSHIP) and a coverage
// says nothing more: NoStrength, so the fixed value applies. rng is
// catalog.StrengthRange for the target-coverage and
// catalog.ReverseStrengthRange for our reverse-coverage prop (OSCAL has no
// coverage of the source).
func strengthOfCoverage(rng func(cmv1.Relationship) (int32, int32), r cmv1.Relationship, coverage float64) int32 {
	lo, hi := rng(r)
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
		if x.ReverseCoverage != nil { // of the source: OSCAL has no field for it
			extra := props(out.Props)
			extra.add(oscalProp{Name: "reverse-coverage", NS: Namespace, Value: strconv.FormatFloat(*x.ReverseCoverage, 'f', -1, 64)})
			extra.add(oscalProp{Name: "reverse-coverage-method", NS: Namespace, Value: x.ReverseCoverageMethod})
			out.Props = extra
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
