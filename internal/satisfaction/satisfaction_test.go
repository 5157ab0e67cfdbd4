package satisfaction_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/satisfaction"
)

func TestComposeTable(t *testing.T) {
	const (
		eq  = cmv1.Relationship_RELATIONSHIP_EQUAL
		sub = cmv1.Relationship_RELATIONSHIP_SUBSET_OF
		sup = cmv1.Relationship_RELATIONSHIP_SUPERSET_OF
		in  = cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH
		no  = cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP
		x   = cmv1.Relationship_RELATIONSHIP_UNSPECIFIED // no result
	)
	// The composition table, rows r1, columns r2: EQUAL, SUPERSET_OF, SUBSET_OF, INTERSECTS_WITH.
	cols := []cmv1.Relationship{eq, sup, sub, in}
	table := map[cmv1.Relationship][]cmv1.Relationship{
		eq:  {eq, sup, sub, in},
		sup: {sup, sup, in, in},
		sub: {sub, x, sub, x},
		in:  {in, x, in, x},
	}
	for r1, row := range table {
		for i, want := range row {
			got, ok := catalog.Compose(r1, cols[i])
			if ok != (want != x) || got != want {
				t.Errorf("%v then %v = %v, %v; want %v", r1, cols[i], got, ok, want)
			}
			// Reading the path backwards composes to the inverse.
			back, okBack := catalog.Compose(catalog.Inverse(cols[i]), catalog.Inverse(r1))
			if okBack != ok || (ok && back != catalog.Inverse(got)) {
				t.Errorf("reverse of %v then %v = %v, want %v", r1, cols[i], back, catalog.Inverse(got))
			}
		}
	}
	for _, r := range catalog.Relationships {
		if _, ok := catalog.Compose(no, r); ok {
			t.Errorf("NO_RELATIONSHIP then %v composed", r)
		}
		if _, ok := catalog.Compose(r, no); ok {
			t.Errorf("%v then NO_RELATIONSHIP composed", r)
		}
	}
}

// Soundness over generated catalogs: every result's path composes, hop by
// hop, to the reported relationship; FULL comes only from EQUAL or
// SUPERSET_OF; the other end sees the inverse.
func TestSatisfiesIsSound(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 7))
		g := randomGraph(rng, 2+rng.IntN(4), 8+rng.IntN(20), 20+rng.IntN(150))
		for range 20 {
			subject := catalog.ControlID(rng.IntN(g.ControlCount()))
			o := satisfaction.Options{MaxHops: 1 + rng.IntN(5), IncludeInferred: rng.IntN(5) > 0, MinStrength: int32(rng.IntN(4))}
			for _, f := range satisfaction.Satisfies(g, subject, nil, o) {
				end, rel, strength, err := walk(g, subject, f.Path)
				switch {
				case err != nil:
					t.Fatalf("seed %d: path to %s: %v", seed, g.Ref(f.Control).Name(), err)
				case end != f.Control || rel != f.Relationship || strength != f.Strength:
					t.Fatalf("seed %d: path composes to %v/%d at %s, result says %v/%d at %s",
						seed, rel, strength, g.Ref(end).Name(), f.Relationship, f.Strength, g.Ref(f.Control).Name())
				case f.Satisfaction != catalog.SatisfactionOf(rel) || f.Satisfaction == cmv1.Satisfaction_SATISFACTION_NONE:
					t.Fatalf("seed %d: satisfaction %v for %v", seed, f.Satisfaction, rel)
				case f.Inferred != (len(f.Path) > 1) || len(f.Path) > o.MaxHops || (!o.IncludeInferred && f.Inferred):
					t.Fatalf("seed %d: path of %d hops, inferred=%v, options %+v", seed, len(f.Path), f.Inferred, o)
				case strength < o.MinStrength:
					t.Fatalf("seed %d: strength %d below %d", seed, strength, o.MinStrength)
				case g.Control(f.Control).Framework == g.Control(subject).Framework:
					t.Fatalf("seed %d: result in the subject's own framework", seed)
				}
				// From the other end, the reversed path composes to the inverse.
				ex := satisfaction.Explain(g, f.Control, subject, len(f.Path), nil, false)
				reversed := slices.Clone(f.Path)
				slices.Reverse(reversed)
				found := false
				for _, p := range ex.Paths {
					var ids []int32
					for _, s := range p.Steps {
						ids = append(ids, s.Mapping)
					}
					if slices.Equal(ids, reversed) {
						found = p.Relationship == catalog.Inverse(f.Relationship)
					}
				}
				if !found && !ex.Truncated {
					t.Fatalf("seed %d: reverse of %v from %s is not explained as %v", seed, f.Path, g.Ref(f.Control).Name(), catalog.Inverse(f.Relationship))
				}
			}
		}
	}
}

// allSoundPaths enumerates every sound simple path from a, by brute force.
func allSoundPaths(g *catalog.Graph, a catalog.ControlID, maxHops int, visit func(end catalog.ControlID, rel cmv1.Relationship, path []int32)) {
	on := map[catalog.ControlID]bool{a: true}
	var path []int32
	var rec func(at catalog.ControlID, rel cmv1.Relationship)
	rec = func(at catalog.ControlID, rel cmv1.Relationship) {
		for _, e := range g.Edges(at) {
			if on[e.To] || e.Relationship == cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP {
				continue
			}
			next, ok := catalog.Compose(rel, e.Relationship)
			if !ok {
				continue
			}
			path = append(path, e.Mapping)
			visit(e.To, next, path)
			if len(path) < maxHops {
				on[e.To] = true
				rec(e.To, next)
				delete(on, e.To)
			}
			path = path[:len(path)-1]
		}
	}
	rec(a, cmv1.Relationship_RELATIONSHIP_EQUAL)
}

// Against brute force: a direct mapping decides; otherwise every control
// some sound path reaches is reported, FULL whenever a FULL path exists.
func TestSatisfiesMatchesBruteForce(t *testing.T) {
	missed, checked := 0, 0
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 11))
		g := randomGraph(rng, 3+rng.IntN(3), 6+rng.IntN(10), 20+rng.IntN(60))
		for c := range g.ControlCount() {
			subject := catalog.ControlID(c)
			o := satisfaction.Options{MaxHops: 1 + (c+int(seed))%5, IncludeInferred: true}
			got := map[catalog.ControlID]satisfaction.Found{}
			for _, f := range satisfaction.Satisfies(g, subject, nil, o) {
				got[f.Control] = f
			}
			best := map[catalog.ControlID]cmv1.Satisfaction{}
			own := g.Control(subject).Framework
			allSoundPaths(g, subject, o.MaxHops, func(end catalog.ControlID, rel cmv1.Relationship, _ []int32) {
				if g.Control(end).Framework == own {
					return
				}
				if s, ok := best[end]; !ok || catalog.SatisfactionOf(rel) < s {
					best[end] = catalog.SatisfactionOf(rel)
				}
			})
			for end, want := range best {
				if m, direct := g.MappingBetween(subject, end); direct {
					r := m.Relationship
					if m.Dst == subject {
						r = catalog.Inverse(r)
					}
					if f, ok := got[end]; (r == cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP) == ok || (ok && f.Relationship != r) {
						t.Fatalf("seed %d: direct %v to %s not decisive: %+v", seed, r, g.Ref(end).Name(), f)
					}
					continue
				}
				checked++
				if f, ok := got[end]; !ok || f.Satisfaction != want {
					missed++
					t.Logf("seed %d %s -> %s (%d hops): got %v, want %v", seed, g.Ref(subject).Name(), g.Ref(end).Name(), o.MaxHops, f.Satisfaction, want)
				}
			}
			if len(got) > len(best) {
				t.Fatalf("seed %d: %d results, brute force reaches %d", seed, len(got), len(best))
			}
		}
	}
	if missed > 0 || checked < 1000 {
		t.Fatalf("%d of %d inferred results differ from brute force", missed, checked)
	}
}
