package server_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// TestStrengthIsDirectional: MANAGE-1.3 SUBSET_OF 6.1.3 carries part of
// 6.1.3, while 6.1.3 accomplishes all of MANAGE-1.3; each direction is
// served with its own strength, so a minimum strength keeps the FULL answer.
func TestStrengthIsDirectional(t *testing.T) {
	s := startDefault(t)
	r := s.rest(t, "GET", "/v1/frameworks/iso-42001-2023/controls/6.1.3:satisfies?include_inferred=false&target_frameworks=nist-ai-rmf-1.0&min_strength=6", nil)
	found := false
	for _, f := range toMaps(r.body["frameworks"]) {
		for _, c := range toMaps(f["controls"]) {
			if c["control"] == "frameworks/nist-ai-rmf-1.0/controls/MANAGE-1.3" {
				found = c["satisfaction"] == "SATISFACTION_FULL" && c["strength"] == float64(10) && c["relationship"] == "RELATIONSHIP_SUPERSET_OF"
			}
		}
	}
	if r.status != 200 || !found {
		t.Fatalf("6.1.3 -> MANAGE-1.3 at min_strength 6: %d %s", r.status, r.raw)
	}
	resp, err := s.satisfaction().Satisfies(ctxT(t), &cmv1.SatisfiesRequest{Control: "frameworks/nist-ai-rmf-1.0/controls/MG-1.3",
		TargetFrameworks: []string{"iso-42001-2023"}, IncludeInferred: proto.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range resp.GetFrameworks() {
		for _, c := range f.GetControls() {
			if c.GetControl() == "frameworks/iso-42001-2023/controls/6.1.3" && (c.GetSatisfaction() != cmv1.Satisfaction_SATISFACTION_PARTIAL || c.GetStrength() >= 10) {
				t.Fatalf("MANAGE-1.3 -> 6.1.3: %v", c)
			}
		}
	}
	// The reverse view of the crosswalk swaps the strengths with the ends.
	view, err := s.crosswalk.ListCrosswalkMappings(ctxT(t), &cmv1.ListCrosswalkMappingsRequest{Source: "iso-42001-2023", Target: "nist-ai-rmf-1.0", PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range view.GetMappings() {
		if m.GetSource() == "frameworks/iso-42001-2023/controls/6.1.3" && m.GetTarget() == "frameworks/nist-ai-rmf-1.0/controls/MANAGE-1.3" &&
			(!m.GetInverse() || m.GetStrength() != 10 || m.GetReverseStrength() >= 10) {
			t.Fatalf("reverse view: %v", m)
		}
	}
}

func TestSatisfies(t *testing.T) {
	s := startDefault(t)
	ctx := ctxT(t)
	resp, err := s.satisfaction().Satisfies(ctx, &cmv1.SatisfiesRequest{Control: "frameworks/iso-27001-2022/controls/5.24"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetControl() != "frameworks/iso-27001-2022/controls/A.5.24" || resp.GetRevision() != 1 || len(resp.GetFrameworks()) == 0 {
		t.Fatalf("Satisfies: %v", resp)
	}
	direct := 0
	for _, f := range resp.GetFrameworks() {
		if f.GetFramework() == "frameworks/iso-27001-2022" {
			t.Errorf("results in the subject's own framework")
		}
		for _, c := range f.GetControls() {
			if c.GetSatisfaction() == cmv1.Satisfaction_SATISFACTION_NONE || len(c.GetPath()) == 0 ||
				c.GetRelationship() == cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP {
				t.Errorf("bad result %v", c)
			}
			if !c.GetInferred() {
				direct++
				if len(c.GetPath()) != 1 {
					t.Errorf("direct result with path %v", c.GetPath())
				}
			}
		}
	}
	if direct == 0 {
		t.Error("no direct results for A.5.24")
	}

	// REST, with options; the same answer for the alias.
	r := s.rest(t, "GET", "/v1/frameworks/nist-ai-rmf-1.0/controls/GV-6.1:satisfies?include_inferred=false&target_frameworks=iso-42001-2023&min_strength=3", nil)
	if r.status != 200 || r.str("control") != "frameworks/nist-ai-rmf-1.0/controls/GOVERN-6.1" {
		t.Fatalf("REST satisfies: %d %s", r.status, r.raw)
	}
	fws := toMaps(r.body["frameworks"])
	if len(fws) != 1 || fws[0]["framework"] != "frameworks/iso-42001-2023" {
		t.Fatalf("target_frameworks not applied: %s", r.raw)
	}
	for _, c := range toMaps(fws[0]["controls"]) {
		if c["inferred"] != false || c["strength"].(float64) < 3 {
			t.Errorf("filters not applied: %v", c)
		}
	}

	for _, tc := range []struct {
		path   string
		status int
		field  string
	}{
		{"/v1/frameworks/iso-27001-2022/controls/A.5.24:satisfies?max_hops=6", 400, "max_hops"},
		{"/v1/frameworks/iso-27001-2022/controls/A.5.24:satisfies?max_hops=-1", 400, "max_hops"},
		{"/v1/frameworks/iso-27001-2022/controls/A.5.24:satisfies?min_strength=11", 400, "min_strength"},
		{"/v1/frameworks/iso-27001-2022/controls/A.5.24:satisfies?target_frameworks=nope", 404, ""},
		{"/v1/frameworks/iso-27001-2022/controls/A.5.24:satisfies?target_frameworks=NOPE!", 400, "target_frameworks[0]"},
		{"/v1/frameworks/iso-27001-2022/controls/A.5.99:satisfies", 404, ""},
		{"/v1/frameworks/iso-27001-2022/controls/A.5.24:satisfies?include_inferred=maybe", 400, "include_inferred"},
	} {
		r := s.rest(t, "GET", tc.path, nil)
		if r.status != tc.status || (tc.field != "" && !slices.Contains(r.fieldViolations(), tc.field)) {
			t.Errorf("%s: %d %s; want %d naming %q", tc.path, r.status, r.raw, tc.status, tc.field)
		}
	}
}

func (s *stack) satisfaction() cmv1.SatisfactionServiceClient {
	return cmv1.NewSatisfactionServiceClient(s.conn)
}

func TestComputeCoverage(t *testing.T) {
	s := startDefault(t)
	r := s.rest(t, "POST", "/v1/coverage:compute", map[string]any{
		"source": map[string]any{"framework": "frameworks/iso-27001-2022"},
		"target": "iso-42001-2023",
	})
	if r.status != 200 {
		t.Fatalf("coverage: %d %s", r.status, r.raw)
	}
	totals := r.body["totals"].(map[string]any)
	if totals["total"] != float64(70) || totals["full"].(float64)+totals["partial"].(float64)+totals["none"].(float64) != 70 {
		t.Fatalf("totals %v", totals)
	}
	groupSum := 0.0
	for _, gr := range toMaps(r.body["groups"]) {
		groupSum += gr["totals"].(map[string]any)["total"].(float64)
	}
	if groupSum != 70 || len(toMaps(r.body["groups"])) != 16 {
		t.Fatalf("groups add up to %v over %d groups", groupSum, len(toMaps(r.body["groups"])))
	}
	gaps := map[string]string{}
	for _, c := range toMaps(r.body["controls"]) {
		gaps[c["control"].(string)] = c["gap"].(string)
	}
	if gaps["frameworks/iso-42001-2023/controls/6.1.4"] != "GAP_CLASS_NEW" || len(gaps) != 70 {
		t.Fatalf("AI system impact assessment should be NEW: %v", gaps["frameworks/iso-42001-2023/controls/6.1.4"])
	}
	if !strings.Contains(r.str("notice"), "not a compliance verdict") {
		t.Errorf("notice: %q", r.str("notice"))
	}
	reuse := r.body["reuse"].(map[string]any)
	if reuse["total"] != float64(123) || reuse["count"].(float64) == 0 {
		t.Errorf("reuse %v", reuse)
	}

	// A list of controls: a partly implemented source gives at most PARTIAL,
	// a planned one nothing.
	resp, err := s.satisfaction().ComputeCoverage(ctxT(t), &cmv1.ComputeCoverageRequest{
		Source: &cmv1.CoverageSource{Controls: []*cmv1.SourceControl{
			{Control: "frameworks/iso-27001-2022/controls/7.5.2"},
			{Control: "frameworks/iso-27001-2022/controls/7.5.3", Implementation: cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL},
			{Control: "frameworks/iso-27001-2022/controls/10.2", Implementation: cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PLANNED},
		}},
		Target:          "frameworks/iso-42001-2023",
		IncludeInferred: proto.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]cmv1.Satisfaction{}
	for _, c := range resp.GetControls() {
		status[c.GetControl()] = c.GetStatus()
	}
	// 7.5.2, 7.5.3 and 10.2 intersect their namesakes: one ISMS procedure
	// carries much of each, never all of the AIMS clause.
	if status["frameworks/iso-42001-2023/controls/7.5.2"] != cmv1.Satisfaction_SATISFACTION_PARTIAL ||
		status["frameworks/iso-42001-2023/controls/7.5.3"] != cmv1.Satisfaction_SATISFACTION_PARTIAL ||
		status["frameworks/iso-42001-2023/controls/10.2"] != cmv1.Satisfaction_SATISFACTION_NONE {
		t.Fatalf("implementation status not applied: 7.5.2 %v, 7.5.3 %v, 10.2 %v", status["frameworks/iso-42001-2023/controls/7.5.2"],
			status["frameworks/iso-42001-2023/controls/7.5.3"], status["frameworks/iso-42001-2023/controls/10.2"])
	}
	if resp.GetReuse().GetTotal() != 3 || resp.GetReuse().GetCount() != 2 {
		t.Fatalf("reuse %v", resp.GetReuse())
	}
	// ISO 42001 6.1.3 contains AI RMF MANAGE-1.3: implemented it gives FULL,
	// partly implemented at most PARTIAL.
	for impl, want := range map[cmv1.ImplementationStatus]cmv1.Satisfaction{
		cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED: cmv1.Satisfaction_SATISFACTION_FULL,
		cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL:     cmv1.Satisfaction_SATISFACTION_PARTIAL,
	} {
		resp, err := s.satisfaction().ComputeCoverage(ctxT(t), &cmv1.ComputeCoverageRequest{
			Source: &cmv1.CoverageSource{Controls: []*cmv1.SourceControl{{Control: "frameworks/iso-42001-2023/controls/6.1.3", Implementation: impl}}},
			Target: "nist-ai-rmf-1.0", IncludeInferred: proto.Bool(false),
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.GetControls() {
			if c.GetControl() == "frameworks/nist-ai-rmf-1.0/controls/MANAGE-1.3" && c.GetStatus() != want {
				t.Errorf("MANAGE-1.3 by 6.1.3 %v: %v, want %v", impl, c.GetStatus(), want)
			}
		}
	}

	for _, tc := range []struct {
		body   any
		status int
		field  string
	}{
		{map[string]any{"target": "iso-42001-2023"}, 400, "source"},
		{map[string]any{"source": map[string]any{"framework": "iso-27001-2022", "controls": []any{map[string]any{"control": "frameworks/iso-27001-2022/controls/7.1"}}}, "target": "iso-42001-2023"}, 400, "source"},
		{map[string]any{"source": map[string]any{"framework": "iso-42001-2023"}, "target": "iso-42001-2023"}, 400, "source.framework"},
		{map[string]any{"source": map[string]any{"framework": "iso-27001-2022"}}, 400, "target"},
		{map[string]any{"source": map[string]any{"framework": "iso-27001-2022"}, "target": "nope"}, 404, ""},
		{map[string]any{"source": map[string]any{"controls": []any{map[string]any{"control": "frameworks/iso-27001-2022/controls/7.1"}, map[string]any{"control": "frameworks/iso-27001-2022/controls/7.1"}}}, "target": "iso-42001-2023"}, 400, "source.controls[1].control"},
		{map[string]any{"source": map[string]any{"controls": []any{map[string]any{"control": "frameworks/iso-42001-2023/controls/7.1"}}}, "target": "iso-42001-2023"}, 400, "source.controls[0].control"},
		{map[string]any{"source": map[string]any{"controls": []any{map[string]any{"control": "frameworks/iso-27001-2022/controls/7.1", "implementation": 9}}}, "target": "iso-42001-2023"}, 400, "source.controls[0].implementation"},
		{map[string]any{"source": map[string]any{"framework": "iso-27001-2022"}, "target": "iso-42001-2023", "max_hops": 8}, 400, "max_hops"},
	} {
		r := s.rest(t, "POST", "/v1/coverage:compute", tc.body)
		if r.status != tc.status || (tc.field != "" && !slices.Contains(r.fieldViolations(), tc.field)) {
			t.Errorf("%v: %d %s; want %d naming %q", tc.body, r.status, r.raw, tc.status, tc.field)
		}
	}
}

func TestExplain(t *testing.T) {
	s := startDefault(t)
	r := s.rest(t, "GET", "/v1/frameworks/iso-27001-2022/controls/A.5.24:explain?target=frameworks/iso-42001-2023/controls/A.8.4", nil)
	if r.status != 200 || len(toMaps(r.body["paths"])) == 0 {
		t.Fatalf("explain: %d %s", r.status, r.raw)
	}
	first := toMaps(r.body["paths"])[0]
	if first["inferred"] != false || len(toMaps(first["steps"])) != 1 {
		t.Fatalf("shortest path first: %v", first)
	}

	// Over gRPC: an inferred-only pair, and one nothing joins.
	resp, err := s.satisfaction().Explain(ctxT(t), &cmv1.ExplainRequest{
		Source: "frameworks/iso-42001-2023/controls/6.1.4", Target: "frameworks/iso-27001-2022/controls/A.8.1", MaxHops: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetPaths()) != 0 || !strings.Contains(resp.GetSummary(), "No sound path") {
		t.Fatalf("expected no sound path: %v", resp)
	}
	for _, p := range resp.GetPaths() {
		if p.GetSatisfaction() == cmv1.Satisfaction_SATISFACTION_NONE {
			t.Errorf("unsound path listed: %v", p)
		}
	}

	for _, tc := range []struct {
		path   string
		status int
		field  string
	}{
		{"/v1/frameworks/iso-27001-2022/controls/A.5.24:explain", 400, "target"},
		{"/v1/frameworks/iso-27001-2022/controls/A.5.24:explain?target=frameworks/iso-27001-2022/controls/5.24", 400, "target"},
		{"/v1/frameworks/iso-27001-2022/controls/A.5.24:explain?target=frameworks/x/controls/1", 404, ""},
		{"/v1/frameworks/iso-27001-2022/controls/A.5.24:explain?target=frameworks/iso-42001-2023/controls/A.8.4&max_hops=9", 400, "max_hops"},
	} {
		r := s.rest(t, "GET", tc.path, nil)
		if r.status != tc.status || (tc.field != "" && !slices.Contains(r.fieldViolations(), tc.field)) {
			t.Errorf("%s: %d %s; want %d naming %q", tc.path, r.status, r.raw, tc.status, tc.field)
		}
	}
	if _, err := s.satisfaction().Explain(ctxT(t), &cmv1.ExplainRequest{Source: "nope"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("malformed source: %v", err)
	}
}

// Only APPROVED mappings count; DRAFT ones when a request asks for them;
// DEPRECATED and SUPERSEDED ones never. Explain lists every path and says
// why one is left out.
func TestMappingStatusDecidesWhatCounts(t *testing.T) {
	s := startDefault(t)
	const subject = "frameworks/iso-27001-2022/controls/A.8.7"
	const target = "frameworks/nist-ai-rmf-1.0/controls/MEASURE-2.7"
	m := newMapping() // A.8.7 to MEASURE-2.7, which the content leaves unmapped
	r := s.rest(t, "POST", "/v1/mappings", m, "Authorization", bearer)
	if r.status != 200 || r.str("mapping", "provenance", "status") != "MAPPING_STATUS_DRAFT" {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	name := r.str("mapping", "name")
	counted := func(query string) bool {
		t.Helper()
		r := s.rest(t, "GET", "/v1/"+subject+":satisfies?target_frameworks=nist-ai-rmf-1.0&include_inferred=false"+query, nil)
		if r.status != 200 {
			t.Fatalf("satisfies: %d %s", r.status, r.raw)
		}
		rest := strings.Contains(string(r.raw), target)
		resp, err := cmv1.NewSatisfactionServiceClient(s.conn).Satisfies(ctxT(t), &cmv1.SatisfiesRequest{Control: subject,
			TargetFrameworks: []string{"nist-ai-rmf-1.0"}, IncludeInferred: proto.Bool(false), IncludeDraft: strings.Contains(query, "include_draft=true")})
		if err != nil {
			t.Fatal(err)
		}
		grpc := strings.Contains(prototext.Format(resp), target)
		if rest != grpc {
			t.Fatalf("REST says %v, gRPC %v", rest, grpc)
		}
		return rest
	}
	covered := func(includeDraft bool) bool {
		r := s.rest(t, "POST", "/v1/coverage:compute", map[string]any{"source": map[string]any{"controls": []map[string]any{{"control": subject}}},
			"target": "nist-ai-rmf-1.0", "includeInferred": false, "includeDraft": includeDraft}, "Authorization", bearer)
		for _, c := range toMaps(r.body["controls"]) {
			if c["control"] == target {
				return c["status"] == "SATISFACTION_PARTIAL"
			}
		}
		t.Fatalf("coverage: %d %s", r.status, r.raw)
		return false
	}
	explain := func() map[string]any {
		r := s.rest(t, "GET", "/v1/"+subject+":explain?target="+url.QueryEscape(target)+"&max_hops=1", nil)
		paths, _ := r.body["paths"].([]any)
		if r.status != 200 || len(paths) != 1 {
			t.Fatalf("explain: %d %s", r.status, r.raw)
		}
		return paths[0].(map[string]any)
	}
	if counted("") || !counted("&include_draft=true") {
		t.Fatal("a DRAFT mapping counts by default, or not when drafts are asked for")
	}
	if covered(false) || !covered(true) {
		t.Fatal("coverage does not follow include_draft")
	}
	if p := explain(); !strings.Contains(p["leftOut"].(string), "DRAFT (include_draft counts it)") {
		t.Fatalf("explain of a draft path: %v", p)
	}
	for _, st := range []string{"MAPPING_STATUS_APPROVED", "MAPPING_STATUS_DEPRECATED", "MAPPING_STATUS_SUPERSEDED"} {
		r := s.rest(t, "PATCH", "/v1/"+name+"?update_mask=provenance.status", map[string]any{"provenance": map[string]any{"status": st}}, "Authorization", bearer)
		if r.status != 200 {
			t.Fatalf("set %s: %d %s", st, r.status, r.raw)
		}
		approved := st == "MAPPING_STATUS_APPROVED"
		if counted("") != approved || counted("&include_draft=true") != approved {
			t.Fatalf("%s: counts %v, want %v", st, !approved, approved)
		}
		if left, _ := explain()["leftOut"].(string); (left == "") != approved {
			t.Fatalf("%s: explain says %q", st, left)
		}
	}
}
