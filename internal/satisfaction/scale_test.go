package satisfaction_test

import (
	"fmt"
	"math/rand/v2"
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
		rlo, rhi := catalog.ReverseStrengthRange(rel)
		ms = append(ms, catalog.Mapping{
			ID:           fmt.Sprintf("m%07d", len(ms)),
			Source:       catalog.ControlRef{Framework: fmt.Sprintf("fw%03d", fa), Control: fmt.Sprintf("C%d", ca)},
			Target:       catalog.ControlRef{Framework: fmt.Sprintf("fw%03d", fb), Control: fmt.Sprintf("C%d", cb)},
			Relationship: rel, Strength: lo + rng.Int32N(hi-lo+1), ReverseStrength: rlo + rng.Int32N(rhi-rlo+1), Rationale: cmv1.Rationale_RATIONALE_SEMANTIC,
			Justification: "synthetic",
			Provenance:    catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_IMPORTED, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED},
		})
	}
	return &b, ms
}

// BenchmarkSyntheticCatalog measures DESIGN.md §8's scale budget on a
// synthetic catalog of 200 frameworks, 200,000 controls and 1,000,000
// mappings: snapshot build time (budget 5 s), heap of the snapshot (1 GiB),
// and Satisfies latency at p50 and p99 (1 ms). It needs about a minute and
// 1 GiB:
//
//	go test -run '^$' -bench SyntheticCatalog -benchtime 1x ./internal/satisfaction/
func BenchmarkSyntheticCatalog(b *testing.B) {
	for b.Loop() {
		builder, ms := syntheticInput(200, 1000, 1_000_000)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		g, err := builder.Build(1, ms)
		if err != nil {
			b.Fatal(err)
		}
		build := time.Since(start)
		ms = nil
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)

		rng := rand.New(rand.NewPCG(3, 4))
		o := satisfaction.Options{MaxHops: satisfaction.DefaultMaxHops, IncludeInferred: true}
		lat := make([]time.Duration, 2000)
		for i := range lat {
			subject := catalog.ControlID(rng.IntN(g.ControlCount()))
			t0 := time.Now()
			satisfaction.Satisfies(g, subject, nil, o)
			lat[i] = time.Since(t0)
		}
		slices.Sort(lat)
		b.ReportMetric(build.Seconds(), "build-s")
		b.ReportMetric(float64((int64(after.HeapAlloc)-int64(before.HeapAlloc))>>20), "heap-MiB")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		runtime.KeepAlive(g)
	}
}
