package memory_test

import (
	"context"
	"fmt"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/catalog/catalogtest"
	"github.com/controlmap/controlmap/internal/store/memory"
	"github.com/controlmap/controlmap/internal/writes"
)

// BenchmarkCreateMapping times the write of a new mapping (its rules and
// the store's transaction) on the same
// synthetic frameworks (200 of 1,000 controls) holding 1,000 and 1,000,000
// mappings: a write costs what it changes, so the two stay within 2x.
//
//	go test -run '^$' -bench CreateMapping -benchtime 2000x ./internal/store/memory/
func BenchmarkCreateMapping(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		builder, ms := catalogtest.Synthetic(200, 1000, n)
		g, err := builder.Build(1, ms)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("mappings=%d", n), func(b *testing.B) {
			w := writes.New(memory.New(g))
			ctx := auth.WithPrincipal(context.Background(), auth.Principal{Name: "admin", Operator: true}, "/bench")
			i := 0
			for b.Loop() {
				// Controls C0-C999 of fw000 to fresh ids of fw199 never repeat
				// a pair; most such pairs are unmapped, and a mapped one is
				// skipped before timing matters.
				for {
					i++
					m := catalog.Mapping{
						Source:       catalog.ControlRef{Framework: "fw000", Control: fmt.Sprintf("C%d", i%1000)},
						Target:       catalog.ControlRef{Framework: fmt.Sprintf("fw%03d", 1+i/1000%199), Control: fmt.Sprintf("C%d", (i*7)%1000)},
						Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, Strength: 3, ReverseStrength: 2,
						Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "benchmark",
						Provenance: catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED, Author: "bench"},
					}
					if _, err := w.CreateMapping(ctx, m); err == nil {
						break
					}
				}
			}
		})
	}
}
