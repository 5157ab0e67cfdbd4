package satisfaction_test

import (
	"context"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/satisfaction"
)

func builtInGraph(b *testing.B) *catalog.Graph {
	_, g, err := content.LoadGraph()
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// Coverage of ISO 42001 by the whole of ISO 27001 (budget: under 1 ms).
func BenchmarkCoverageISO27001ToISO42001(b *testing.B) {
	g := builtInGraph(b)
	src, _ := g.Framework("iso-27001-2022")
	dst, _ := g.Framework("iso-42001-2023")
	var sources []satisfaction.SourceControl
	for _, c := range g.Controls(src) {
		sources = append(sources, satisfaction.SourceControl{Control: c.Index, Implementation: cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED})
	}
	o := satisfaction.Options{MaxHops: satisfaction.DefaultMaxHops, IncludeInferred: true}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = satisfaction.Coverage(context.Background(), g, sources, dst, o)
	}
}

func BenchmarkSatisfies(b *testing.B) {
	g := builtInGraph(b)
	for _, ref := range []catalog.ControlRef{
		{Framework: "iso-27001-2022", Control: "A.5.15"},
		{Framework: "iso-27001-2022", Control: "A.5.24"},
		{Framework: "nist-ai-rmf-1.0", Control: "GOVERN-1.1"},
	} {
		id, _ := g.ResolveControl(ref.Framework, ref.Control)
		o := satisfaction.Options{MaxHops: satisfaction.DefaultMaxHops, IncludeInferred: true}
		b.Run(ref.Control, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				satisfaction.Satisfies(g, id, nil, o)
			}
		})
	}
}
