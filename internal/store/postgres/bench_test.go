package postgres_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store/postgres"
	"github.com/controlmap/controlmap/internal/store/postgres/pgtest"
	"github.com/controlmap/controlmap/internal/writes"
)

// writers is the concurrency of the throughput benchmark.
const writers = 16

// unmappedPairs lists pairs of controls of different built-in frameworks
// that no mapping joins, in a fixed order.
func unmappedPairs(g *catalog.Graph) [][2]catalog.ControlRef {
	var out [][2]catalog.ControlRef
	fws := g.Frameworks()
	for i, a := range fws {
		for _, b := range fws[i+1:] {
			for _, x := range g.Controls(a) {
				for _, y := range g.Controls(b) {
					if _, mapped := g.MappingBetween(x.Index, y.Index); !mapped {
						out = append(out, [2]catalog.ControlRef{g.Ref(x.Index), g.Ref(y.Index)})
					}
				}
			}
		}
	}
	return out
}

func benchMapping(p [2]catalog.ControlRef) catalog.Mapping {
	return catalog.Mapping{Source: p[0], Target: p[1], Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH,
		Strength: 3, ReverseStrength: 3, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "benchmark",
		Provenance: catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_DRAFT}}
}

func parallel(b *testing.B, op func(i int64) error) {
	b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(next.Add(1) - 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkWriteThroughput runs 16 concurrent writers against one database:
// first bare transactions of one INSERT and one NOTIFY (the floor any
// write path with a change notification pays), then CreateMapping through
// the write path (rules, locking reads, revision, change log, audit,
// notification, the writer's catch-up). Compare writes/s within one run:
//
//	go test -run '^$' -bench WriteThroughput -benchtime 3000x ./internal/store/postgres/
func BenchmarkWriteThroughput(b *testing.B) {
	url := pgtest.DatabaseURL(b)
	pooled := url + "&pool_max_conns=" + fmt.Sprint(writers)
	if !containsQuery(url) {
		pooled = url + "?pool_max_conns=" + fmt.Sprint(writers)
	}
	s := openMigrated(b, pooled, postgres.Config{})
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Name: "admin", Operator: true}, "/bench")

	b.Run("baseline-insert-notify", func(b *testing.B) {
		pool, err := pgxpool.New(ctx, pooled)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		if _, err := pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS bench_rows (id bigint PRIMARY KEY, body text NOT NULL)"); err != nil {
			b.Fatal(err)
		}
		base := time.Now().UnixNano()
		parallel(b, func(i int64) error {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, "INSERT INTO bench_rows (id, body) VALUES ($1, 'benchmark')", base+i); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "SELECT pg_notify('bench', $1)", fmt.Sprint(i)); err != nil {
				return err
			}
			return tx.Commit(ctx)
		})
	})

	pairs := unmappedPairs(s.Snapshot())
	w := writes.New(s)
	var used atomic.Int64
	b.Run("create-mapping", func(b *testing.B) {
		if int64(b.N) > int64(len(pairs))-used.Load() {
			b.Skipf("%d writes asked, %d unmapped pairs left", b.N, int64(len(pairs))-used.Load())
		}
		start := used.Load()
		parallel(b, func(i int64) error {
			_, err := w.CreateMapping(ctx, benchMapping(pairs[start+i]))
			return err
		})
		used.Add(int64(b.N))
	})
}

func containsQuery(url string) bool {
	for _, c := range url {
		if c == '?' {
			return true
		}
	}
	return false
}

// BenchmarkReplicaLag writes through one store and times until a second
// store on the same database serves the write: from before the write
// starts (an upper bound on the time from its commit) to the follower
// reaching its revision. It reports the 50th and 99th percentiles.
//
//	go test -run '^$' -bench ReplicaLag -benchtime 500x ./internal/store/postgres/
func BenchmarkReplicaLag(b *testing.B) {
	url := pgtest.DatabaseURL(b)
	a := openMigrated(b, url, postgres.Config{})
	follower := openMigrated(b, url, postgres.Config{})
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Name: "admin", Operator: true}, "/bench")
	pairs := unmappedPairs(a.Snapshot())
	if b.N > len(pairs) {
		b.Skipf("%d writes asked, %d unmapped pairs", b.N, len(pairs))
	}
	w := writes.New(a)
	lags := make([]time.Duration, 0, b.N)
	var mu sync.Mutex
	b.ResetTimer()
	for i := range b.N {
		begin := time.Now()
		m, err := w.CreateMapping(ctx, benchMapping(pairs[i]))
		if err != nil {
			b.Fatal(err)
		}
		wait, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = follower.WaitForRevision(wait, m.Revision)
		cancel()
		if err != nil {
			b.Fatalf("the follower never reached revision %d: %v", m.Revision, err)
		}
		mu.Lock()
		lags = append(lags, time.Since(begin))
		mu.Unlock()
	}
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-ms")
}
