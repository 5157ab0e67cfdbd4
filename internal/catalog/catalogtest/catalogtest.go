package catalogtest

import (
	"fmt"
	"math/rand/v2"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// Synthetic makes a catalog for scale budgets: fws frameworks (fw000,
// fw001, ...) of perFW controls (C0, C1, ...) and the given number of
// mappings between random controls of different frameworks, always the same
// for the same arguments.
func Synthetic(fws, perFW, mappings int) (*catalog.Builder, []catalog.Mapping) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b catalog.Builder
	for f := range fws {
		controls := make([]catalog.Control, perFW)
		for c := range controls {
			controls[c] = catalog.Control{ID: fmt.Sprintf("C%d", c), Title: "control", Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL, Assessable: true}
		}
		b.AddFramework(catalog.Framework{ID: fmt.Sprintf("fw%03d", f), DisplayName: "f", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD}, controls)
	}
	seen := make(map[[2]int64]bool, mappings)
	ms := make([]catalog.Mapping, 0, mappings)
	for len(ms) < mappings {
		fa, fb := rng.IntN(fws), rng.IntN(fws)
		ca, cb := rng.IntN(perFW), rng.IntN(perFW)
		ka, kb := int64(fa*perFW+ca), int64(fb*perFW+cb)
		if fa == fb || seen[[2]int64{min(ka, kb), max(ka, kb)}] {
			continue
		}
		seen[[2]int64{min(ka, kb), max(ka, kb)}] = true
		rel := catalog.Relationships[rng.IntN(4)] // composable ones
		lo, hi := catalog.StrengthRange(rel)
		rlo, rhi := catalog.ReverseStrengthRange(rel)
		ms = append(ms, catalog.Mapping{
			ID:           fmt.Sprintf("m%07d", len(ms)),
			Source:       catalog.ControlRef{Framework: fmt.Sprintf("fw%03d", fa), Control: fmt.Sprintf("C%d", ca)},
			Target:       catalog.ControlRef{Framework: fmt.Sprintf("fw%03d", fb), Control: fmt.Sprintf("C%d", cb)},
			Relationship: rel, Strength: lo + rng.Int32N(hi-lo+1), ReverseStrength: rlo + rng.Int32N(rhi-rlo+1), Rationale: cmv1.Rationale_RATIONALE_SEMANTIC,
			Justification: "synthetic",
			Provenance:    catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_IMPORTED, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED},
		})
	}
	return &b, ms
}
