package interchange

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// largeCrosswalk is a crosswalk of n mappings, each with a justification
// of some length, as large published collections have.
func largeCrosswalk(n int) *CrosswalkFile {
	cw := &CrosswalkFile{Source: catalog.Framework{ID: "big-a", DisplayName: "Big A", Version: "1"},
		Target: catalog.Framework{ID: "big-b", DisplayName: "Big B", Version: "2"}, Titles: map[catalog.ControlRef]string{}}
	why := strings.Repeat("Both require the organization to document and review the control. ", 3)
	for i := range n {
		cw.Mappings = append(cw.Mappings, catalog.Mapping{ID: fmt.Sprintf("m%d", i),
			Source: catalog.ControlRef{Framework: "big-a", Control: fmt.Sprintf("A-%d", i)}, Target: catalog.ControlRef{Framework: "big-b", Control: fmt.Sprintf("B-%d", i)},
			Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, Strength: 5, ReverseStrength: 5, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC,
			Justification: why + fmt.Sprint(i), Provenance: catalog.Provenance{Document: "Big", Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN,
				Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED, UpdateTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}})
	}
	return cw
}

// largeFramework is a framework of n controls under 20 groups, each with a
// statement.
func largeFramework(n int) *FrameworkFile {
	ff := &FrameworkFile{Framework: catalog.Framework{ID: "big", DisplayName: "Big", Version: "1"}}
	text := strings.Repeat("The organization develops, documents and disseminates a policy that addresses purpose and scope. ", 4)
	for g := range 20 {
		ff.Controls = append(ff.Controls, catalog.Control{ID: fmt.Sprintf("G%d", g), Title: "Group"})
	}
	for i := range n {
		ff.Controls = append(ff.Controls, catalog.Control{ID: fmt.Sprintf("C-%d", i), Title: fmt.Sprintf("Control %d", i), Parent: fmt.Sprintf("G%d", i%20),
			Assessable: true, Summary: text})
	}
	return ff
}

// peakHeap runs f and returns the most heap its objects took above what
// they took before (sampled every 100 µs), and what f allocated in all.
func peakHeap(f func()) (peak, total uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocated := ms.TotalAlloc
	var top atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			if v := read(); v > top.Load() {
				top.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	f()
	if v := read(); v > top.Load() {
		top.Store(v)
	}
	close(done)
	<-stopped
	runtime.ReadMemStats(&ms)
	if top.Load() < base {
		return 0, ms.TotalAlloc - allocated
	}
	return top.Load() - base, ms.TotalAlloc - allocated
}

// BenchmarkReadPeakMemory reports the peak heap of reading large JSON
// documents (go test -run '^$' -bench ReadPeakMemory -benchtime 3x): the
// document itself is held by the benchmark, so what is reported is the
// reader's own.
func BenchmarkReadPeakMemory(b *testing.B) {
	var mapping, api, cat bytes.Buffer
	if err := WriteCrosswalk(&mapping, OSCALMapping, largeCrosswalk(50_000)); err != nil {
		b.Fatal(err)
	}
	if err := WriteCrosswalk(&api, JSON, largeCrosswalk(50_000)); err != nil {
		b.Fatal(err)
	}
	if err := WriteFramework(&cat, OSCALCatalog, largeFramework(20_000)); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    Format
		doc  []byte
	}{{"oscal-mapping", OSCALMapping, mapping.Bytes()}, {"json", JSON, api.Bytes()}, {"oscal-catalog", OSCALCatalog, cat.Bytes()}} {
		b.Run(c.name, func(b *testing.B) {
			var peak, total uint64
			for b.Loop() {
				var doc *Document
				p, t := peakHeap(func() {
					var err error
					if doc, err = Read(bytes.NewReader(c.doc), c.f, DefaultLimits); err != nil {
						b.Fatal(err)
					}
				})
				if doc.Rows() == 0 {
					b.Fatal("nothing read")
				}
				peak, total = max(peak, p), t
				runtime.KeepAlive(doc)
			}
			b.ReportMetric(float64(len(c.doc))/(1<<20), "doc-MiB")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			b.ReportMetric(float64(total)/(1<<20), "alloc-MiB")
		})
	}
}
