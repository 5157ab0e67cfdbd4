package satisfaction_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/satisfaction"
)

// syntheticInput makes the catalog of DESIGN.md §8's budget: fws
// frameworks of perFW controls and about mappings mappings between random
// controls of different frameworks.
func syntheticInput(fws, perFW, mappings int) (*catalog.Builder, []catalog.Mapping) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b catalog.Builder
	for f := range fws {
		controls := make([]catalog.Control, perFW)
		for c := range controls {
			controls[c] = catalog.Control{ID: fmt.Sprintf("C%d", c), Title: "control", Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL, Assessable: true}
		}
		b.AddFramework(catalog.Framework{ID: fmt.Sprintf("fw%03d", f), DisplayName: "f", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}, controls)
	}
	seen := make(map[[2]int64]bool, mappings)
	ms := make([]catalog.Mapping, 0, mappings)
	for len(ms) < mappings {
		fa, fb := rng.IntN(fws), rng.IntN(fws)
		ca, cb := rng.IntN(perFW), rng.IntN(perFW)
		ka, kb := int64(fa*perFW+ca), int64(fb*perFW+cb)
		if fa == fb || seen[[2]int64{min(ka, kb), max(ka, kb)}] {
			continue
		}
		seen[[2]int64{min(ka, kb), max(ka, kb)}] = true
		rel := catalog.Relationships[rng.IntN(4)] // composable ones
		lo, hi := catalog.StrengthRange(rel)
		ms = append(ms, catalog.Mapping{
			ID:           fmt.Sprintf("m%07d", len(ms)),
			Source:       catalog.ControlRef{Framework: fmt.Sprintf("fw%03d", fa), Control: fmt.Sprintf("C%d", ca)},
			Target:       catalog.ControlRef{Framework: fmt.Sprintf("fw%03d", fb), Control: fmt.Sprintf("C%d", cb)},
			Relationship: rel, Strength: lo + rng.Int32N(hi-lo+1), Rationale: cmv1.Rationale_RATIONALE_SEMANTIC,
			Justification: "synthetic",
			Provenance:    catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_IMPORTED, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED},
		})
	}
	return &b, ms
}

// TestScaleBudget checks DESIGN.md §8 on a synthetic catalog of 200
// frameworks, 200,000 controls and 1,000,000 mappings: snapshot built in
// under 5 s, under 1 GiB, one satisfaction lookup under 1 ms at p99. It takes
// a minute and much memory, so it runs only with CONTROLMAP_SCALE_TEST=1:
//
//	CONTROLMAP_SCALE_TEST=1 go test -run TestScaleBudget -v ./internal/satisfaction/
func TestScaleBudget(t *testing.T) {
	if os.Getenv("CONTROLMAP_SCALE_TEST") != "1" {
		t.Skip("set CONTROLMAP_SCALE_TEST=1 to run the scale budget check")
	}
	b, ms := syntheticInput(200, 1000, 1_000_000)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	g, err := b.Build(1, ms)
	if err != nil {
		t.Fatal(err)
	}
	build := time.Since(start)
	ms = nil
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)

	rng := rand.New(rand.NewPCG(3, 4))
	o := satisfaction.Options{MaxHops: satisfaction.DefaultMaxHops, IncludeInferred: true}
	lat := make([]time.Duration, 2000)
	results := 0
	for i := range lat {
		subject := catalog.ControlID(rng.IntN(g.ControlCount()))
		t0 := time.Now()
		results += len(satisfaction.Satisfies(g, subject, nil, o))
		lat[i] = time.Since(t0)
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("build %v, graph heap %d MiB, satisfies p50 %v p99 %v (%.0f results per lookup)",
		build, heap>>20, p50, p99, float64(results)/float64(len(lat)))
	if build > 5*time.Second || heap > 1<<30 || p99 > time.Millisecond {
		t.Fatalf("over budget: build %v (5s), heap %d MiB (1024), p99 %v (1ms)", build, heap>>20, p99)
	}
}
