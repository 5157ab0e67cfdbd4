package interchange

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/controlmap/controlmap/internal/catalog"
)

// FuzzRead holds what reading any file does: it fails with ErrSyntax or a
// LimitError, or returns a document whose rows are usable (named ends, a
// known relationship, strengths on the scale, located problems), the same
// document every time.
func FuzzRead(f *testing.F) {
	seeds := map[string]Format{"mapping-pitfalls.json": OSCALMapping, "nist-example-basic-catalog.json": OSCALCatalog,
		"olir.csv": OLIRCSV, "strm.csv": STRMCSV, "ciso.yaml": CISOYAML}
	for name, format := range seeds {
		raw, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(indexOf(format)), raw)
	}
	f.Add(uint8(indexOf(JSON)), []byte(`{"source":"a","target":"b","mappings":[{"source":"frameworks/a/controls/x","target":"frameworks/b/controls/y","relationship":"RELATIONSHIP_EQUAL"}]}`))
	lim := Limits{MaxBytes: 1 << 20, MaxRows: 500}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		format := Formats[int(which)%len(Formats)]
		doc, err := Read(bytes.NewReader(data), format, lim)
		var le *LimitError
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.As(err, &le) {
				t.Fatalf("%s: an error that is neither a syntax nor a limit error: %v", format, err)
			}
			return
		}
		if doc.Rows() > lim.MaxRows {
			t.Fatalf("%d rows read past the limit of %d", doc.Rows(), lim.MaxRows)
		}
		for _, cw := range doc.Crosswalks {
			for _, m := range cw.Maps {
				if len(m.Sources) == 0 || len(m.Targets) == 0 || !catalog.ValidRelationship(m.Relationship) ||
					m.Strength < NoStrength || m.Strength > 10 || m.ReverseStrength < NoStrength || m.ReverseStrength > 10 {
					t.Fatalf("%s: an unusable row was read: %+v", format, m)
				}
			}
		}
		for _, p := range doc.Problems {
			if p.Message == "" {
				t.Fatalf("%s: a problem without a message: %+v", format, p)
			}
		}
		again, err := Read(bytes.NewReader(data), format, lim)
		if err != nil || !reflect.DeepEqual(doc, again) {
			t.Fatalf("%s: reading the same file twice differs: %v", format, err)
		}
	})
}

func indexOf(f Format) int {
	for i, g := range Formats {
		if g == f {
			return i
		}
	}
	return 0
}
