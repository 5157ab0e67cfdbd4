package interchange

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/resource"
)

// json reads a crosswalk in the API's JSON as a stream: each mapping is
// decoded and read before the next, so the document is never held whole.
// The mappings are read against the source and target frameworks, which
// our exports write first; the mappings of a file that gives them later
// wait, as they are, until the end.
func (rd *reader) json(r io.Reader) error {
	js := newJSONStream(r)
	var source, target string
	var cw *Crosswalk
	type early struct {
		i   int
		raw json.RawMessage
	}
	var waiting []early
	err := js.document(func(key string) error {
		switch key {
		case "source", "target":
			var v string
			if err := js.decode("/"+key, &v); err != nil {
				return err
			}
			if key == "source" {
				source = v
			} else {
				target = v
			}
			return nil
		case "mappings":
			return js.array("/mappings", func(i int) error {
				if err := rd.row(); err != nil {
					return err
				}
				var raw json.RawMessage
				if err := js.decode(pointer("", "mappings", i), &raw); err != nil {
					return err
				}
				if source == "" || target == "" {
					waiting = append(waiting, early{i, raw})
					return nil
				}
				if cw == nil {
					cw = &Crosswalk{Source: Resource{Key: source}, Target: Resource{Key: target}}
				}
				rd.apiMapping(cw, i, raw)
				return nil
			})
		}
		return js.skip()
	})
	if err != nil {
		return err
	}
	if source == "" || target == "" {
		return syntaxError("", "a crosswalk in the API's JSON needs \"source\" and \"target\" frameworks")
	}
	if cw == nil {
		cw = &Crosswalk{Source: Resource{Key: source}, Target: Resource{Key: target}}
	}
	for _, w := range waiting {
		rd.apiMapping(cw, w.i, w.raw)
	}
	rd.doc.Crosswalks = append(rd.doc.Crosswalks, *cw)
	return nil
}

// apiMapping reads the mapping at /mappings/i into cw, or skips it.
func (rd *reader) apiMapping(cw *Crosswalk, i int, raw json.RawMessage) {
	at := pointer("", "mappings", i)
	var m cmv1.Mapping
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &m); err != nil {
		rd.skip(at, "not a mapping: %v", err)
		return
	}
	if !catalog.ValidRelationship(m.GetRelationship()) {
		rd.skip(at, "relationship must be one of EQUAL, SUBSET_OF, SUPERSET_OF, INTERSECTS_WITH, NO_RELATIONSHIP")
		return
	}
	if s, r := m.GetStrength(), m.GetReverseStrength(); s < 0 || s > 10 || r < 0 || r > 10 {
		rd.skip(at, "strength and reverse_strength must be from 0 to 10")
		return
	}
	row := Map{Loc: at, Relationship: m.GetRelationship(), Strength: m.GetStrength(), ReverseStrength: m.GetReverseStrength(),
		Rationale: m.GetRationale(), Justification: m.GetJustification(), Method: m.GetProvenance().GetMethod(),
		Status: m.GetProvenance().GetStatus(), Document: m.GetProvenance().GetDocument(), Extras: extrasOf(m.GetInterchange())}
	usable := true
	sideFramework := ""
	for _, end := range []struct {
		names []string
		out   *[]string
	}{{sideNames(m.GetSource(), m.GetSources()), &row.Sources}, {sideNames(m.GetTarget(), m.GetTargets()), &row.Targets}} {
		for _, name := range end.names {
			fw, ctl, ok := catalog.ParseControlName(name)
			if !ok {
				rd.skip(at, "%q is not a control name (frameworks/{framework}/controls/{control})", name)
				usable = false
				break
			}
			if key := catalog.FrameworkName(fw); key != normaliseFramework(cw.Source.Key) && key != normaliseFramework(cw.Target.Key) {
				rd.skip(at, "%q is not a control of %s or %s", name, cw.Source.Key, cw.Target.Key)
				usable = false
				break
			}
			if len(*end.out) == 0 {
				sideFramework = fw
			} else if fw != sideFramework {
				rd.skip(at, "the controls of a side are of one framework; %q is not of %s", name, sideFramework)
				usable = false
				break
			}
			*end.out = append(*end.out, ctl)
		}
		if !usable {
			break
		}
	}
	if !usable || len(row.Sources) == 0 || len(row.Targets) == 0 {
		return
	}
	// A mapping shown from the target's side reads the other way.
	if fw, _, _ := catalog.ParseControlName(m.GetSource()); catalog.FrameworkName(fw) == normaliseFramework(cw.Target.Key) {
		row.Sources, row.Targets = row.Targets, row.Sources
		row.Relationship = catalog.Inverse(row.Relationship)
		row.Strength, row.ReverseStrength = row.ReverseStrength, row.Strength
		if row.Extras != nil { // what it says of each side follows the sides
			turned := catalog.Mapping{Interchange: row.Extras}.Reversed()
			row.Extras = turned.Interchange
		}
	}
	cw.Maps = append(cw.Maps, row)
}

// sideNames is a side of a mapping message: its members, or its control.
func sideNames(name string, members []string) []string {
	if len(members) > 0 {
		return members
	}
	return []string{name}
}

// normaliseFramework is frameworks/{id} for an id or a name.
func normaliseFramework(s string) string {
	if strings.HasPrefix(s, "frameworks/") {
		return s
	}
	return catalog.FrameworkName(s)
}

// writeAPIJSON writes cw as the API shows a crosswalk, mapping by mapping.
func writeAPIJSON(w io.Writer, cw *CrosswalkFile) error {
	ew := &errWriter{w: bufio.NewWriterSize(w, 32<<10)}
	ew.json(map[string]string{"source": catalog.FrameworkName(cw.Source.ID), "target": catalog.FrameworkName(cw.Target.ID)},
		func(b []byte) []byte { return b[:len(b)-1] }, "")
	ew.str(`,"mappings":[`)
	for i := range cw.Mappings {
		if i > 0 {
			ew.str(",\n")
		}
		b, err := protojson.Marshal(resource.Mapping(&cw.Mappings[i], false))
		if err != nil {
			return err
		}
		ew.str(string(b))
	}
	ew.str("]}\n")
	return ew.flush()
}

// extrasOf is the inverse of resource.Interchange.
func extrasOf(x *cmv1.MappingInterchange) *catalog.Interchange {
	if x == nil {
		return nil
	}
	out := &catalog.Interchange{Method: x.GetMethod(), ConfidenceCategory: x.GetConfidenceCategory(), ConfidencePercentage: x.ConfidencePercentage,
		Coverage: x.Coverage, CoverageMethod: x.GetCoverageMethod(), ReverseCoverage: x.ReverseCoverage, ReverseCoverageMethod: x.GetReverseCoverageMethod(),
		MapUUID: x.GetMapUuid()}
	for _, q := range x.GetQualifiers() {
		out.Qualifiers = append(out.Qualifiers, catalog.Qualifier{Subject: q.GetSubject(), Predicate: q.GetPredicate(), Category: q.GetCategory(), Description: q.GetDescription()})
	}
	return out
}
