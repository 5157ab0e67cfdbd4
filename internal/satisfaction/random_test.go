package satisfaction_test

import (
	"fmt"
	"math/rand/v2"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// randomGraph builds a catalog of fws frameworks with perFW controls each
// (every fourth a non-assessable group) and about edges random mappings
// between controls of different frameworks, with every relationship.
func randomGraph(rng *rand.Rand, fws, perFW, edges int) *catalog.Graph {
	var b catalog.Builder
	for f := range fws {
		var controls []catalog.Control
		for c := range perFW {
			ctl := catalog.Control{ID: fmt.Sprintf("C%d", c), Title: "t", Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL, Assessable: c%4 != 0}
			if c%4 != 0 {
				ctl.Parent = fmt.Sprintf("C%d", c-c%4)
			}
			controls = append(controls, ctl)
		}
		b.AddFramework(catalog.Framework{ID: fmt.Sprintf("fw%d", f), DisplayName: "f", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}, controls)
	}
	edges = min(edges, perFW*perFW*fws*(fws-1)/4) // leave room: pairs are unique
	seen := map[[2]string]bool{}
	var ms []catalog.Mapping
	for len(ms) < edges {
		fa, fb := rng.IntN(fws), rng.IntN(fws)
		if fa == fb {
			continue
		}
		a := catalog.ControlRef{Framework: fmt.Sprintf("fw%d", fa), Control: fmt.Sprintf("C%d", rng.IntN(perFW))}
		z := catalog.ControlRef{Framework: fmt.Sprintf("fw%d", fb), Control: fmt.Sprintf("C%d", rng.IntN(perFW))}
		k1, k2 := [2]string{a.Name(), z.Name()}, [2]string{z.Name(), a.Name()}
		if seen[k1] || seen[k2] {
			continue
		}
		seen[k1] = true
		rel := catalog.Relationships[rng.IntN(len(catalog.Relationships))]
		lo, hi := catalog.StrengthRange(rel)
		rlo, rhi := catalog.ReverseStrengthRange(rel)
		ms = append(ms, catalog.Mapping{
			ID: fmt.Sprintf("m%d", len(ms)), Source: a, Target: z, Relationship: rel,
			Strength: lo + rng.Int32N(hi-lo+1), ReverseStrength: rlo + rng.Int32N(rhi-rlo+1), Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "random",
			Provenance: catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED},
		})
	}
	g, err := b.Build(1, ms)
	if err != nil {
		panic(err)
	}
	return g
}

// walk checks a path of mapping indexes from subject hop by hop: each
// mapping touches the current control, every step changes framework, no
// control repeats, NO_RELATIONSHIP never appears, and every composition is
// in the composition table. It returns where the path ends, what it composes to
// and its strength.
func walk(g *catalog.Graph, subject catalog.ControlID, path []int32) (end catalog.ControlID, rel cmv1.Relationship, strength int32, err error) {
	at, rel, strength := subject, cmv1.Relationship_RELATIONSHIP_EQUAL, int32(10)
	visited := map[catalog.ControlID]bool{subject: true}
	for i, mi := range path {
		m := g.MappingAt(mi)
		var next catalog.ControlID
		var r cmv1.Relationship
		var hop int32
		switch at {
		case m.Src:
			next, r, hop = m.Dst, m.Relationship, m.Strength
		case m.Dst:
			next, r, hop = m.Src, catalog.Inverse(m.Relationship), m.ReverseStrength
		default:
			return 0, 0, 0, fmt.Errorf("hop %d: mapping %s does not touch %s", i, m.ID, g.Ref(at).Name())
		}
		if r == cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP {
			return 0, 0, 0, fmt.Errorf("hop %d: NO_RELATIONSHIP used", i)
		}
		if g.Control(next).Framework == g.Control(at).Framework {
			return 0, 0, 0, fmt.Errorf("hop %d: stays inside one framework", i)
		}
		if visited[next] {
			return 0, 0, 0, fmt.Errorf("hop %d: revisits %s", i, g.Ref(next).Name())
		}
		visited[next] = true
		composed, ok := catalog.Compose(rel, r)
		if !ok {
			return 0, 0, 0, fmt.Errorf("hop %d: %v then %v composes to nothing", i, rel, r)
		}
		rel, strength, at = composed, min(strength, hop), next
	}
	return at, rel, strength, nil
}
