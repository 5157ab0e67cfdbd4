package satisfaction_test

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/catalog/catalogtest"
	"github.com/controlmap/controlmap/internal/satisfaction"
)

// BenchmarkSyntheticCatalog measures the scale budget on a
// synthetic catalog of 200 frameworks, 200,000 controls and 1,000,000
// mappings: snapshot build time (budget 5 s), heap of the snapshot (1 GiB),
// and Satisfies latency at p50 and p99 (1 ms). It needs about a minute and
// 1 GiB:
//
//	go test -run '^$' -bench SyntheticCatalog -benchtime 1x ./internal/satisfaction/
func BenchmarkSyntheticCatalog(b *testing.B) {
	for b.Loop() {
		builder, ms := catalogtest.Synthetic(200, 1000, 1_000_000)
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
