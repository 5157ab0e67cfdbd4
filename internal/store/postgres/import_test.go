package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/interchange"
	"github.com/controlmap/controlmap/internal/store/postgres"
	"github.com/controlmap/controlmap/internal/store/postgres/pgtest"
	"github.com/controlmap/controlmap/internal/writes"
)

// bulkFiles are an OSCAL catalog of controls controls (in groups of 50)
// and an OSCAL mapping collection of 10 maps per control to ISO/IEC 27001.
func bulkFiles(tb testing.TB, g *catalog.Graph, controls int) (cat, maps []byte) {
	tb.Helper()
	fw := catalog.Framework{ID: "bulk-catalog", DisplayName: "Bulk catalog", Version: "1", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}
	ff := &interchange.FrameworkFile{Framework: fw}
	for i := range controls {
		c := catalog.Control{ID: fmt.Sprintf("BC-%d", i), Title: fmt.Sprintf("Bulk control %d", i), Summary: "A requirement of the bulk catalog.",
			Assessable: true, Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL}
		if i%50 == 0 {
			c.Assessable, c.Kind = false, cmv1.ControlKind_CONTROL_KIND_CATEGORY
		} else {
			c.Parent = fmt.Sprintf("BC-%d", i-i%50)
		}
		ff.Controls = append(ff.Controls, c)
	}
	iso, _ := g.Framework("iso-27001-2022")
	var targets []string
	for _, c := range g.Controls(iso) {
		targets = append(targets, c.ID)
	}
	cw := &interchange.CrosswalkFile{Source: fw, Target: iso.Framework}
	for i := range controls {
		for k := range 10 {
			cw.Mappings = append(cw.Mappings, catalog.Mapping{
				Source:       catalog.ControlRef{Framework: fw.ID, Control: fmt.Sprintf("BC-%d", i)},
				Target:       catalog.ControlRef{Framework: "iso-27001-2022", Control: targets[(i+k*13)%len(targets)]},
				Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, Strength: 4, ReverseStrength: 3, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC,
				Justification: "Both sides ask for the same kind of safeguard.",
				Provenance:    catalog.Provenance{Document: "Bulk crosswalk", Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED},
			})
		}
	}
	var cb, mb bytes.Buffer
	if err := interchange.WriteFramework(&cb, interchange.OSCALCatalog, ff); err != nil {
		tb.Fatal(err)
	}
	if err := interchange.WriteCrosswalk(&mb, interchange.OSCALMapping, cw); err != nil {
		tb.Fatal(err)
	}
	return cb.Bytes(), mb.Bytes()
}

// groupFile is an OSCAL mapping collection of one group map per control of
// the bulk catalog: the control SUBSET_OF two ISO/IEC 27001 controls
// together.
func groupFile(tb testing.TB, g *catalog.Graph, controls int) []byte {
	tb.Helper()
	iso, _ := g.Framework("iso-27001-2022")
	var targets []catalog.ControlRef
	for _, c := range g.Controls(iso) {
		targets = append(targets, catalog.ControlRef{Framework: iso.ID, Control: c.ID})
	}
	fw := catalog.Framework{ID: "bulk-catalog", DisplayName: "Bulk catalog", Version: "1", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}
	cw := &interchange.CrosswalkFile{Source: fw, Target: iso.Framework}
	for i := range controls {
		a, b := targets[(i*7)%len(targets)], targets[(i*7+1)%len(targets)]
		cw.Mappings = append(cw.Mappings, catalog.Mapping{
			Source: catalog.ControlRef{Framework: fw.ID, Control: fmt.Sprintf("BC-%d", i)}, Target: a, Targets: []catalog.ControlRef{a, b},
			Relationship: cmv1.Relationship_RELATIONSHIP_SUBSET_OF, Strength: 6, ReverseStrength: 10, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC,
			Justification: "The two controls together ask for all of it.",
			Provenance:    catalog.Provenance{Document: "Bulk groups", Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED},
		})
	}
	var buf bytes.Buffer
	if err := interchange.WriteCrosswalk(&buf, interchange.OSCALMapping, cw); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// importFile reads and applies a document as the operator.
func importFile(ctx context.Context, w *writes.Writer, data []byte, f interchange.Format) (*writes.ImportReport, error) {
	doc, err := interchange.Read(bytes.NewReader(data), f, interchange.DefaultLimits)
	if err != nil {
		return nil, err
	}
	return w.Import(ctx, doc, writes.ImportOptions{})
}

// statements counts the statements sent on behalf of the span parent
// (the replica's own reads aside): one per query, the size of each batch.
func statements(rec *tracetest.SpanRecorder, parent trace.SpanID) int {
	n := 0
	for _, s := range rec.Ended() {
		if s.Parent().SpanID() != parent {
			continue
		}
		switch s.Name() {
		case "postgres query":
			n++
		case "postgres batch":
			for _, a := range s.Attributes() {
				if a.Key == attribute.Key("db.operation.batch.size") {
					n += int(a.Value.AsInt64())
				}
			}
		}
	}
	return n
}

// TestBulkImportStatements checks that an import costs statements by the
// thousand rows, not one round trip or statement per row.
func TestBulkImportStatements(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s := openMigrated(t, pgtest.DatabaseURL(t), postgres.Config{TracerProvider: tp})
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Name: "admin", Operator: true}, "/test")
	cat, maps := bulkFiles(t, s.Snapshot(), 1000)
	groups := groupFile(t, s.Snapshot(), 1000)
	w := writes.New(s)
	for _, step := range []struct {
		name   string
		data   []byte
		format interchange.Format
		rows   int
	}{{"catalog", cat, interchange.OSCALCatalog, 1001}, {"mappings", maps, interchange.OSCALMapping, 10_000},
		{"group mappings", groups, interchange.OSCALMapping, 1000}} {
		sctx, span := tp.Tracer("test").Start(ctx, step.name)
		rep, err := importFile(sctx, w, step.data, step.format)
		span.End()
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		sent := statements(rec, span.SpanContext().SpanID())
		// The reads of the write (a handful) and its fixed cost (begin,
		// savepoint, log, audit, commit), plus one statement per 1,000 rows.
		if limit := 15 + step.rows/1000; sent > limit {
			t.Errorf("%s: %d rows took %d statements, more than %d", step.name, step.rows, sent, limit)
		}
		t.Logf("%s: %d rows written in %d statements at revision %d", step.name, step.rows, sent, rep.Revision)

	}
	ctx2, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitForRevision(ctx2, 4); err != nil {
		t.Fatal(err)
	}
	g := s.Snapshot()
	f, ok := g.Framework("bulk-catalog")
	if !ok || f.ControlCount() != 1000 || g.MappingsBetween(f.Index, mustFramework(t, g, "iso-27001-2022").Index) != 11_000 {
		t.Fatalf("the replica's catalog after the imports: %v", ok)
	}
	// Importing the same documents again writes nothing.
	for _, data := range [][]byte{cat, maps, groups} {
		format := interchange.OSCALCatalog
		if bytes.Contains(data[:40], []byte("mapping-collection")) {
			format = interchange.OSCALMapping
		}
		if rep, err := importFile(ctx, w, data, format); err != nil || rep.Revision != 0 {
			t.Fatalf("re-import: %v %+v", err, rep)
		}
	}
}

func mustFramework(t testing.TB, g *catalog.Graph, id string) *catalog.FrameworkNode {
	f, ok := g.Framework(id)
	if !ok {
		t.Fatalf("no framework %s", id)
	}
	return f
}

// BenchmarkImport imports a 1,000-control catalog and a 10,000-map
// collection into a fresh framework, next to the baseline of the same
// 11,000 rows inserted into a bare table in one statement each.
func BenchmarkImport(b *testing.B) {
	url := pgtest.DatabaseURL(b)
	s := openMigrated(b, url, postgres.Config{})
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Name: "admin", Operator: true}, "/bench")
	cat, maps := bulkFiles(b, s.Snapshot(), 1000)
	w := writes.New(s)
	b.Run("baseline-bare-insert", func(b *testing.B) {
		if _, err := s.Pool().Exec(ctx, "CREATE TABLE IF NOT EXISTS bench_import (k text PRIMARY KEY, body text NOT NULL)"); err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			if _, err := s.Pool().Exec(ctx, "TRUNCATE bench_import"); err != nil {
				b.Fatal(err)
			}
			tx, err := s.Pool().Begin(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range []int{1001, 10_000} {
				if _, err := tx.Exec(ctx, "INSERT INTO bench_import SELECT g::text || $2, repeat('x', 200) FROM generate_series(1, $1) g", n, fmt.Sprint(n)); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("import-catalog-and-mappings", func(b *testing.B) {
		for b.Loop() {
			if _, err := importFile(ctx, w, cat, interchange.OSCALCatalog); err != nil {
				b.Fatal(err)
			}
			if _, err := importFile(ctx, w, maps, interchange.OSCALMapping); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if _, err := w.DeleteFramework(ctx, "bulk-catalog"); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}
