package catalog_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/content"
)

var (
	builtIn     *catalog.Graph
	builtInOnce sync.Once
)

func graph(t testing.TB) *catalog.Graph {
	builtInOnce.Do(func() {
		_, g, err := content.LoadGraph()
		if err != nil {
			t.Fatal(err)
		}
		builtIn = g
	})
	return builtIn
}

// FuzzControlNames holds what a client's control name does: it parses
// only to a valid framework id and reference, the name built back parses
// to the same, and resolving the reference either fails or finds a
// control of that framework whose canonical id resolves to itself.
func FuzzControlNames(f *testing.F) {
	for _, s := range []string{"frameworks/iso-27001-2022/controls/A.5.15", "frameworks/iso-27001-2022/controls/a5.15",
		"frameworks/nist-ai-rmf-1.0/controls/GV 1.1", "frameworks/nist-ai-rmf-1.0/controls/govern-1.1", "frameworks/iso-42001-2023/controls/6.1.3",
		"frameworks//controls/x", "frameworks/x/controls/", "frameworks/a/controls/b/c", "frameworks/iso-27001-2022/controls/A.5.15\x00",
		"frameworks/iso-27001-2022/controls/" + strings.Repeat("9", 70), "mappings/m0123456789abcdef"} {
		f.Add(s)
	}
	g := graph(f)
	f.Fuzz(func(t *testing.T, name string) {
		fw, ref, ok := catalog.ParseControlName(name)
		if !ok {
			return
		}
		if !catalog.ValidFrameworkID(fw) || !catalog.ValidControlRef(ref) {
			t.Fatalf("%q parsed to %q, %q", name, fw, ref)
		}
		if fw2, ref2, ok := catalog.ParseControlName(catalog.ControlName(fw, ref)); !ok || fw2 != fw || ref2 != ref {
			t.Fatalf("%q does not round-trip: %q %q %v", name, fw2, ref2, ok)
		}
		id, ok := g.ResolveControl(fw, ref)
		if !ok {
			return
		}
		c := g.Control(id)
		if g.FrameworkAt(c.Framework).ID != fw {
			t.Fatalf("%q resolved to a control of %s", name, g.FrameworkAt(c.Framework).ID)
		}
		if again, ok := g.ResolveControl(fw, c.ID); !ok || again != id {
			t.Fatalf("the canonical id %s of %q does not resolve to itself", c.ID, name)
		}
	})
}
