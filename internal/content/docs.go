package content

import (
	"bytes"
	"fmt"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// DocsDir is where the generated crosswalk documents live, relative to this
// package.
const DocsDir = "docs"

// CrosswalkDocs renders every built-in crosswalk, in the direction its data
// file is written, as a Markdown document keyed by file name. The documents
// are generated (go generate ./internal/content/...), never edited by hand.
func CrosswalkDocs(c *Content, g *catalog.Graph) (map[string][]byte, error) {
	out := map[string][]byte{}
	seen := map[[2]string]bool{}
	for _, m := range c.Mappings {
		pair := [2]string{m.Source.Framework, m.Target.Framework}
		if seen[pair] {
			continue
		}
		seen[pair] = true
		from, _ := g.Framework(pair[0])
		to, _ := g.Framework(pair[1])
		out[pair[0]+"_"+pair[1]+".md"] = renderCrosswalk(g, from, to)
	}
	return out, nil
}

var relationshipWords = map[cmv1.Relationship]string{
	cmv1.Relationship_RELATIONSHIP_EQUAL:           "equal",
	cmv1.Relationship_RELATIONSHIP_SUBSET_OF:       "subset of",
	cmv1.Relationship_RELATIONSHIP_SUPERSET_OF:     "superset of",
	cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH: "intersects with",
	cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP: "no relationship",
}

func renderCrosswalk(g *catalog.Graph, from, to *catalog.FrameworkNode) []byte {
	var b bytes.Buffer
	st := g.Stats(from.Index, to.Index)
	fmt.Fprintf(&b, "# Crosswalk: %s to %s\n\n", from.DisplayName, to.DisplayName)
	fmt.Fprintf(&b, "Generated from the built-in content (`internal/content/data`) by `go generate ./internal/content/...`; do not edit.\n")
	fmt.Fprintf(&b, "Read each row as \"source RELATIONSHIP target\" (NIST IR 8477). The service serves the same data at\n")
	fmt.Fprintf(&b, "`GET /v1/crosswalks/%s/%s` and the reverse view at `GET /v1/crosswalks/%s/%s`.\n", from.ID, to.ID, to.ID, from.ID)
	fmt.Fprintf(&b, "Strength (0-10) is how much of one side's requirements implementing the other accomplishes: \"strength\"\n")
	fmt.Fprintf(&b, "reads left to right, \"reverse\" right to left.\n")
	fmt.Fprintf(&b, "A mapping states how two controls relate; it is not a compliance verdict.\n\n")

	fmt.Fprintf(&b, "## Summary\n\n| | count |\n|---|---|\n| mappings | %d |\n", st.Mappings)
	for _, r := range catalog.Relationships {
		fmt.Fprintf(&b, "| %s | %d |\n", relationshipWords[r], st.ByRelationship[r])
	}
	fmt.Fprintf(&b, "| assessable %s controls related to anything | %d of %d (%.0f%%) |\n", from.DisplayName, st.FromTouched, from.AssessableCount, percent(st.FromTouched, from.AssessableCount))
	fmt.Fprintf(&b, "| assessable %s controls related to anything | %d of %d (%.0f%%) |\n\n", to.DisplayName, st.ToTouched, to.AssessableCount, percent(st.ToTouched, to.AssessableCount))

	fmt.Fprintf(&b, "## Mappings\n\n| %s | relationship | %s | strength | reverse | rationale | justification |\n|---|---|---|---|---|---|---|\n", from.DisplayName, to.DisplayName)
	for _, o := range g.Crosswalk(from.Index, to.Index) {
		m := o.Mapping
		forward, reverse := m.Strength, m.ReverseStrength
		if o.Inverse {
			forward, reverse = reverse, forward
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %s | %s |\n",
			cell(g.Control(o.From)), relationshipWords[o.Relationship], cell(g.Control(o.To)),
			forward, reverse, strings.ToLower(strings.TrimPrefix(m.Rationale.String(), "RATIONALE_")), escape(m.Justification))
	}

	fmt.Fprintf(&b, "\n## Assessable %s controls this crosswalk relates to nothing\n\n", to.DisplayName)
	related := map[catalog.ControlID]bool{}
	for _, o := range g.Crosswalk(from.Index, to.Index) {
		if o.Relationship != cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP {
			related[o.To] = true
		}
	}
	none := 0
	for _, c := range g.Controls(to) {
		if c.Assessable && !related[c.Index] {
			fmt.Fprintf(&b, "- %s\n", cell(c))
			none++
		}
	}
	if none == 0 {
		fmt.Fprintf(&b, "None.\n")
	}
	return b.Bytes()
}

func cell(c *catalog.ControlNode) string { return c.ID + " " + escape(c.Title) }

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func percent(n int, total int32) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(n) / float64(total)
}
