package writes_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/interchange"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/store/memory"
	"github.com/controlmap/controlmap/internal/writes"
)

// FuzzImport holds what importing any readable file does, strict or
// lenient: a refusal the API can name (an invalid field, a denied or
// not-found write), never an internal error or a panic; a refused import
// changes nothing; an accepted one commits one revision at most.
func FuzzImport(f *testing.F) {
	for name, format := range map[string]interchange.Format{"mapping-pitfalls.json": interchange.OSCALMapping,
		"nist-example-basic-catalog.json": interchange.OSCALCatalog, "olir.csv": interchange.OLIRCSV, "strm.csv": interchange.STRMCSV, "ciso.yaml": interchange.CISOYAML} {
		raw, err := os.ReadFile("../interchange/testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		for i, fm := range interchange.Formats {
			if fm == format {
				f.Add(uint8(i), false, raw)
				f.Add(uint8(i), true, raw)
			}
		}
	}
	_, g, err := content.LoadGraph()
	if err != nil {
		f.Fatal(err)
	}
	st := memory.New(g)
	w := writes.New(st)
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Name: "admin", Operator: true}, "/fuzz")
	f.Fuzz(func(t *testing.T, which uint8, lenient bool, data []byte) {
		format := interchange.Formats[int(which)%len(interchange.Formats)]
		doc, err := interchange.Read(bytes.NewReader(data), format, interchange.Limits{MaxBytes: 1 << 20, MaxRows: 2000})
		if err != nil {
			return
		}
		before := st.Snapshot().Revision()
		opt := writes.ImportOptions{Lenient: lenient, Bindings: map[string]string{"source": "iso-27001-2022", "target": "nist-ai-rmf-1.0"}}
		rep, err := w.Import(ctx, doc, opt)
		after := st.Snapshot().Revision()
		var inv *catalog.InvalidError
		var denied *writes.DeniedError
		switch {
		case err != nil && !errors.As(err, &inv) && !errors.As(err, &denied) && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrAlreadyExists):
			t.Fatalf("%s: an error the API cannot name: %v", format, err)
		case err != nil && after != before:
			t.Fatalf("%s: a refused import moved the revision from %d to %d", format, before, after)
		case err == nil && after-before > 1:
			t.Fatalf("%s: one import committed %d revisions", format, after-before)
		case err == nil && (rep.Revision == 0) != (after == before):
			t.Fatalf("%s: report revision %d, store %d -> %d", format, rep.Revision, before, after)
		}
	})
}
