package interchange

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"runtime"
	"runtime/metrics"
	"slices"
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

// countingReader counts what a reader took from the document.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestJSONReadersStream: a reader that reaches its row limit early has
// taken little of a large document: the rows are read as they come, not
// after the whole document is decoded.
func TestJSONReadersStream(t *testing.T) {
	var mapping, api, cat bytes.Buffer
	if err := WriteCrosswalk(&mapping, OSCALMapping, largeCrosswalk(20_000)); err != nil {
		t.Fatal(err)
	}
	if err := WriteCrosswalk(&api, JSON, largeCrosswalk(20_000)); err != nil {
		t.Fatal(err)
	}
	if err := WriteFramework(&cat, OSCALCatalog, largeFramework(20_000)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f   Format
		doc []byte
	}{{OSCALMapping, mapping.Bytes()}, {JSON, api.Bytes()}, {OSCALCatalog, cat.Bytes()}} {
		in := &countingReader{r: bytes.NewReader(c.doc)}
		_, err := Read(in, c.f, Limits{MaxRows: 10})
		var le *LimitError
		if !errors.As(err, &le) || le.What != "rows" {
			t.Fatalf("%s: %v, want the row limit", c.f, err)
		}
		if in.n > 2<<20 || in.n > int64(len(c.doc))/4 {
			t.Errorf("%s: %d bytes of %d read before the 11th row", c.f, in.n, len(c.doc))
		}
	}
}

// TestJSONReadersTakeKeysInAnyOrder: what a row needs may come after it
// (the provenance after the mappings, a mapping's method and props after
// its maps, the back-matter first, our JSON's source and target after its
// mappings, as keys in name order put them): the rows read the same.
func TestJSONReadersTakeKeysInAnyOrder(t *testing.T) {
	_, cw := sample()
	cw.Mappings[0].Provenance.Method = cmv1.MappingMethod_MAPPING_METHOD_IMPORTED // marked by a prop of its mapping
	for _, c := range []struct {
		f       Format
		ordered string // a part of the document in name order
	}{{OSCALMapping, `{"mapping-collection":{"back-matter":{"resources":[{"props"`}, {OSCALMapping, `"mappings":[{"maps":[{`},
		{OSCALMapping, `],"metadata":{`}, {JSON, `{"mappings":[{`}} {
		var buf bytes.Buffer
		if err := WriteCrosswalk(&buf, c.f, cw); err != nil {
			t.Fatal(err)
		}
		want, err := Read(bytes.NewReader(buf.Bytes()), c.f, DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		for _, reverse := range []bool{false, true} {
			doc := orderKeys(v, reverse)
			if !reverse && !strings.Contains(doc, c.ordered) {
				t.Fatalf("%s: keys not in name order: %.300s", c.f, doc)
			}
			got, err := Read(strings.NewReader(doc), c.f, DefaultLimits)
			if err != nil {
				t.Fatalf("%s: %v", c.f, err)
			}
			for _, d := range []*Document{want, got} {
				for _, cw := range d.Crosswalks {
					slices.SortFunc(cw.Maps, func(a, b Map) int { return strings.Compare(a.Loc, b.Loc) })
				}
			}
			if !reflect.DeepEqual(stripLocs(got), stripLocs(want)) || len(got.Problems) != len(want.Problems) {
				t.Errorf("%s, keys in reverse %v: read\n%+v\nwant\n%+v", c.f, reverse, got, want)
			}
		}
	}
}

// orderKeys writes v as JSON with the keys of every object in the order of
// their names, or the reverse.
func orderKeys(v any, reverse bool) string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := slices.Sorted(maps.Keys(x))
			if reverse {
				slices.Reverse(keys)
			}
			b.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					b.WriteByte(',')
				}
				kb, _ := json.Marshal(k)
				b.Write(kb)
				b.WriteByte(':')
				walk(x[k])
			}
			b.WriteByte('}')
		case []any:
			b.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					b.WriteByte(',')
				}
				walk(e)
			}
			b.WriteByte(']')
		default:
			vb, _ := json.Marshal(x)
			b.Write(vb)
		}
	}
	walk(v)
	return b.String()
}

// stripLocs is d without its problems, which may come in another order.
func stripLocs(d *Document) *Document {
	c := *d
	c.Problems = nil
	return &c
}
