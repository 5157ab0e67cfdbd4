package content_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// The AI RMF to ISO/IEC 42001 crosswalk written by Microsoft and listed on
// the NIST AI Resource Center. Its pairs (ids only) are kept in testdata;
// rows of the built-in crosswalk that come from it cite referenceDocument,
// the file-level provenance of the crosswalk file.
const (
	referencePairsFile = "testdata/ai-rmf-to-42001-reference-pairs.tsv"
	referenceDocument  = "NIST AI RMF to ISO/IEC 42001 Crosswalk by Microsoft, listed on the NIST AI Resource Center; keyed to ISO/IEC 42001:2023"
	rmfFramework       = "nist-ai-rmf-1.0"
	iso42001Framework  = "iso-42001-2023"
	// minRelatedShare is the share of reference pairs that must be related
	// (any relationship but NO_RELATIONSHIP); the rest must be decided as
	// NO_RELATIONSHIP with a justification.
	minRelatedShare = 0.80
)

type referencePair struct {
	line            int
	subcategory, id string
	note            string
}

// readReferencePairs reads the tab-separated pairs, skipping comments and
// the header.
func readReferencePairs(t *testing.T) []referencePair {
	t.Helper()
	f, err := os.Open(referencePairsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []referencePair
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "subcategory\t") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 2 || len(cols) > 3 || cols[0] == "" || cols[1] == "" {
			t.Fatalf("%s:%d: want subcategory, iso42001 and an optional note, got %q", referencePairsFile, n, line)
		}
		p := referencePair{line: n, subcategory: cols[0], id: cols[1]}
		if len(cols) == 3 {
			p.note = cols[2]
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReferenceCrosswalkDecided checks the built-in AI RMF <-> ISO 42001
// crosswalk against the reference crosswalk: every reference pair has a
// mapping (related or NO_RELATIONSHIP), enough of them are related, and
// provenance tells reference rows from our own review.
func TestReferenceCrosswalkDecided(t *testing.T) {
	g := builtIn(t)
	pairs := readReferencePairs(t)
	if len(pairs) < 250 {
		t.Fatalf("%s: %d pairs, the reference crosswalk has about 280", referencePairsFile, len(pairs))
	}

	inReference := map[[2]catalog.ControlID]referencePair{}
	var undecided []string
	related, unrelated := 0, 0
	for _, p := range pairs {
		a, aOK := g.ExactControl(catalog.ControlRef{Framework: rmfFramework, Control: p.subcategory})
		b, bOK := g.ExactControl(catalog.ControlRef{Framework: iso42001Framework, Control: p.id})
		if !aOK || !bOK {
			t.Errorf("%s:%d: %s -> %s names a control the catalog does not have; leave it out with a comment",
				referencePairsFile, p.line, p.subcategory, p.id)
			continue
		}
		key := [2]catalog.ControlID{min(a, b), max(a, b)}
		if first, dup := inReference[key]; dup {
			t.Errorf("%s:%d: %s -> %s is already listed at line %d", referencePairsFile, p.line, p.subcategory, p.id, first.line)
			continue
		}
		inReference[key] = p
		m, ok := g.MappingBetween(a, b)
		switch {
		case !ok:
			undecided = append(undecided, p.subcategory+" -> "+p.id)
		case m.Relationship == cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP:
			unrelated++
		default:
			related++
		}
	}
	if len(undecided) > 0 {
		t.Errorf("%d reference pairs have no mapping in either direction (add a row, or NO_RELATIONSHIP saying why): %s",
			len(undecided), strings.Join(undecided, ", "))
	}
	total := len(inReference)
	share := float64(related) / float64(total)
	t.Logf("reference pairs: %d; related %d (%.1f%%), NO_RELATIONSHIP %d (%.1f%%), undecided %d",
		total, related, 100*share, unrelated, 100*float64(unrelated)/float64(total), len(undecided))
	if share < minRelatedShare {
		t.Errorf("only %.1f%% of the reference pairs are related, want at least %.0f%%", 100*share, 100*minRelatedShare)
	}

	// Provenance: a row cites the reference crosswalk exactly when its pair
	// is in it.
	fa, _ := g.Framework(rmfFramework)
	fb, _ := g.Framework(iso42001Framework)
	rows, cites := 0, 0
	for _, o := range g.Crosswalk(fa.Index, fb.Index) {
		m := o.Mapping
		rows++
		key := [2]catalog.ControlID{min(m.Src, m.Dst), max(m.Src, m.Dst)}
		_, fromReference := inReference[key]
		doc := m.Provenance.Document
		switch {
		case fromReference && doc != referenceDocument:
			t.Errorf("%s -> %s is in the reference crosswalk but cites %q", m.Source.Control, m.Target.Control, doc)
		case !fromReference && (doc == referenceDocument || strings.Contains(doc, "Microsoft")):
			t.Errorf("%s -> %s is not in the reference crosswalk but cites it (%q)", m.Source.Control, m.Target.Control, doc)
		case fromReference:
			cites++
		}
	}
	t.Logf("crosswalk rows: %d, of which %d cite the reference crosswalk and %d our own review", rows, cites, rows-cites)
}
