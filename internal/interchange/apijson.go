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

// apiCrosswalk is the json format: a crosswalk as the API shows mappings.
type apiCrosswalk struct {
	Source   string            `json:"source"`
	Target   string            `json:"target"`
	Mappings []json.RawMessage `json:"mappings"`
}

func (rd *reader) json(r io.Reader) error {
	var doc apiCrosswalk
	if err := decodeJSON(r, &doc); err != nil {
		return err
	}
	if doc.Source == "" || doc.Target == "" {
		return syntaxError("", "a crosswalk in the API's JSON needs \"source\" and \"target\" frameworks")
	}
	cw := Crosswalk{Source: Resource{Key: doc.Source}, Target: Resource{Key: doc.Target}}
	for i, raw := range doc.Mappings {
		if err := rd.row(); err != nil {
			return err
		}
		at := pointer("", "mappings", i)
		var m cmv1.Mapping
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &m); err != nil {
			rd.skip(at, "not a mapping: %v", err)
			continue
		}
		if !catalog.ValidRelationship(m.GetRelationship()) {
			rd.skip(at, "relationship must be one of EQUAL, SUBSET_OF, SUPERSET_OF, INTERSECTS_WITH, NO_RELATIONSHIP")
			continue
		}
		if s, r := m.GetStrength(), m.GetReverseStrength(); s < 0 || s > 10 || r < 0 || r > 10 {
			rd.skip(at, "strength and reverse_strength must be from 0 to 10")
			continue
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
					rd.skip(at, "%q is not a control of %s or %s", name, doc.Source, doc.Target)
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
			continue
		}
		// A mapping shown from the target's side reads the other way.
		if fw, _, _ := catalog.ParseControlName(m.GetSource()); catalog.FrameworkName(fw) == normaliseFramework(cw.Target.Key) {
			row.Sources, row.Targets = row.Targets, row.Sources
			row.Relationship = catalog.Inverse(row.Relationship)
			row.Strength, row.ReverseStrength = row.ReverseStrength, row.Strength
		}
		cw.Maps = append(cw.Maps, row)
	}
	rd.doc.Crosswalks = append(rd.doc.Crosswalks, cw)
	return nil
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
		Coverage: x.Coverage, CoverageMethod: x.GetCoverageMethod()}
	for _, q := range x.GetQualifiers() {
		out.Qualifiers = append(out.Qualifiers, catalog.Qualifier{Subject: q.GetSubject(), Predicate: q.GetPredicate(), Category: q.GetCategory(), Description: q.GetDescription()})
	}
	return out
}
