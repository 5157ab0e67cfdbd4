package server_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// acmeProgram sets up tenant acme with its own framework of three controls
// in different states, mapped to ISO 27001 and ISO 42001, and returns
// acme's key, globex's key and the names of acme's mappings.
func acmeProgram(t *testing.T, s *stack) (acme, globex string, mappings []string) {
	t.Helper()
	_, acme = newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE", "SCOPE_ADMIN")
	_, globex = newTenantWithKey(t, s, "globex", "SCOPE_READ", "SCOPE_WRITE", "SCOPE_ADMIN")
	must := func(r restResponse) restResponse {
		t.Helper()
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		return r
	}
	must(s.rest(t, "POST", "/v1/frameworks?framework_id=acme-program", map[string]any{"displayName": "Acme security program"}, key(acme)...))
	for _, c := range []struct{ id, impl string }{
		{"LOG-1", "IMPLEMENTATION_STATUS_IMPLEMENTED"}, {"GOV-1", "IMPLEMENTATION_STATUS_PARTIAL"}, {"DATA-1", "IMPLEMENTATION_STATUS_PLANNED"},
	} {
		must(s.rest(t, "POST", "/v1/frameworks/acme-program/controls?control_id="+c.id, map[string]any{
			"title": "Control " + c.id, "implementationStatus": c.impl, "owner": "CISO", "evidenceLinks": []string{"https://wiki.acme.example/" + c.id},
		}, key(acme)...))
	}
	for _, m := range []struct{ src, dst, rel string }{
		{"LOG-1", "frameworks/iso-27001-2022/controls/A.8.15", "RELATIONSHIP_EQUAL"},
		{"GOV-1", "frameworks/iso-27001-2022/controls/A.5.1", "RELATIONSHIP_EQUAL"},
		{"DATA-1", "frameworks/iso-42001-2023/controls/A.7.5", "RELATIONSHIP_SUPERSET_OF"},
	} {
		r := must(s.rest(t, "POST", "/v1/mappings", map[string]any{
			"source": "frameworks/acme-program/controls/" + m.src, "target": m.dst, "relationship": m.rel, "reverse_strength": map[string]int{"RELATIONSHIP_SUPERSET_OF": 6}[m.rel],
			"rationale": "RATIONALE_FUNCTIONAL", "justification": "Our control does what the target asks.",
			"provenance": map[string]any{"status": "MAPPING_STATUS_APPROVED"}, // approved: it counts
		}, key(acme)...))
		mappings = append(mappings, r.str("mapping", "name"))
	}
	return acme, globex, mappings
}

func TestInternalFrameworkCoverage(t *testing.T) {
	s := startDefault(t)
	acme, _, _ := acmeProgram(t, s)

	r := s.rest(t, "GET", "/v1/frameworks/acme-program", nil, key(acme)...)
	if r.status != 200 || r.str("framework", "owner") != "tenants/acme" || r.str("framework", "kind") != "FRAMEWORK_KIND_INTERNAL" {
		t.Fatalf("own framework: %d %s", r.status, r.raw)
	}
	// Implemented: satisfies ISO 27001 A.8.15 fully. Partly: at most PARTIAL.
	// Planned: nothing.
	sat := func(control string) []map[string]any {
		r := s.rest(t, "GET", "/v1/frameworks/acme-program/controls/"+control+":satisfies?target_frameworks=iso-27001-2022&include_inferred=false", nil, key(acme)...)
		if r.status != 200 {
			t.Fatalf("satisfies %s: %d %s", control, r.status, r.raw)
		}
		var out []map[string]any
		for _, f := range toMaps(r.body["frameworks"]) {
			out = append(out, toMaps(f["controls"])...)
		}
		return out
	}
	if got := sat("LOG-1"); len(got) != 1 || got[0]["satisfaction"] != "SATISFACTION_FULL" {
		t.Errorf("LOG-1: %v", got)
	}
	if got := sat("GOV-1"); len(got) != 1 || got[0]["satisfaction"] != "SATISFACTION_PARTIAL" {
		t.Errorf("GOV-1 (partly implemented): %v", got)
	}
	if got := sat("DATA-1"); len(got) != 0 {
		t.Errorf("DATA-1 (planned): %v", got)
	}

	// Coverage of both standards by one program, side by side.
	status := func(target string) map[string]string {
		r := s.rest(t, "POST", "/v1/coverage:compute", map[string]any{"source": map[string]any{"framework": "acme-program"}, "target": target}, key(acme)...)
		if r.status != 200 {
			t.Fatalf("coverage of %s: %d %s", target, r.status, r.raw)
		}
		out := map[string]string{}
		for _, c := range toMaps(r.body["controls"]) {
			out[c["control"].(string)] = c["gap"].(string)
		}
		return out
	}
	iso27001, iso42001 := status("iso-27001-2022"), status("iso-42001-2023")
	if iso27001["frameworks/iso-27001-2022/controls/A.8.15"] != "GAP_CLASS_REUSE" || iso27001["frameworks/iso-27001-2022/controls/A.5.1"] != "GAP_CLASS_EXTEND" {
		t.Errorf("ISO 27001 by acme: A.8.15 %s, A.5.1 %s", iso27001["frameworks/iso-27001-2022/controls/A.8.15"], iso27001["frameworks/iso-27001-2022/controls/A.5.1"])
	}
	if iso42001["frameworks/iso-42001-2023/controls/A.7.5"] != "GAP_CLASS_NEW" {
		t.Errorf("ISO 42001 A.7.5 by a planned control: %s", iso42001["frameworks/iso-42001-2023/controls/A.7.5"])
	}

	// Implementing DATA-1 changes the answer.
	r = s.rest(t, "PATCH", "/v1/frameworks/acme-program/controls/DATA-1", map[string]any{"implementationStatus": "IMPLEMENTATION_STATUS_IMPLEMENTED"}, key(acme)...)
	if r.status != 200 || r.str("control", "implementationStatus") != "IMPLEMENTATION_STATUS_IMPLEMENTED" || r.str("control", "title") != "Control DATA-1" {
		t.Fatalf("update control: %d %s", r.status, r.raw)
	}
	if got := status("iso-42001-2023")["frameworks/iso-42001-2023/controls/A.7.5"]; got != "GAP_CLASS_REUSE" {
		t.Errorf("A.7.5 after DATA-1 is implemented: %s", got)
	}

	// Bad input names the field; nothing is written.
	before := s.rest(t, "GET", "/v1/frameworks", nil).str("revision")
	for _, tc := range []struct {
		method, path string
		body         any
		field        string
	}{
		{"POST", "/v1/frameworks?framework_id=program", map[string]any{"displayName": "x"}, "framework_id"},
		{"POST", "/v1/frameworks?framework_id=acme-x", map[string]any{}, "framework.display_name"},
		{"POST", "/v1/frameworks?framework_id=acme-x", map[string]any{"displayName": "x", "kind": "FRAMEWORK_KIND_STANDARD"}, "framework.kind"},
		{"POST", "/v1/frameworks/acme-program/controls?control_id=-bad", map[string]any{"title": "x"}, "control_id"},
		{"POST", "/v1/frameworks/acme-program/controls?control_id=X-1", map[string]any{"title": strings.Repeat("t", 301)}, "control.title"},
		{"POST", "/v1/frameworks/acme-program/controls?control_id=X-1", map[string]any{"title": "x", "evidenceLinks": []string{"javascript:alert(1)"}}, "control.evidence_links[0]"},
		{"POST", "/v1/frameworks/acme-program/controls?control_id=X-1", map[string]any{"title": "x", "parent": "NOPE"}, "control.parent"},
		{"PATCH", "/v1/frameworks/acme-program/controls/LOG-1?update_mask=colour", map[string]any{"title": "x"}, "update_mask"},
	} {
		r := s.rest(t, tc.method, tc.path, tc.body, key(acme)...)
		if r.status != 400 || !slices.Contains(r.fieldViolations(), tc.field) {
			t.Errorf("%s %s: %d %s; want 400 naming %s", tc.method, tc.path, r.status, r.raw, tc.field)
		}
	}
	if after := s.rest(t, "GET", "/v1/frameworks", nil).str("revision"); after != before {
		t.Fatalf("bad input moved the revision from %s to %s", before, after)
	}

	// Reference frameworks stay read-only; a read key cannot write.
	if r := s.rest(t, "POST", "/v1/frameworks/iso-27001-2022/controls?control_id=X", map[string]any{"title": "x"}, key(acme)...); r.status != 403 {
		t.Errorf("control added to ISO 27001: %d %s", r.status, r.raw)
	}
	_, reader := newTenantWithKey(t, s, "acme", "SCOPE_READ")
	if r := s.rest(t, "POST", "/v1/frameworks?framework_id=acme-y", map[string]any{"displayName": "y"}, key(reader)...); r.status != 403 {
		t.Errorf("framework created with a read key: %d", r.status)
	}

	// Every mutation left one audit event.
	r = s.rest(t, "GET", "/v1/tenants/acme/auditEvents?page_size=100", nil, key(acme)...)
	counts := map[string]int{}
	for _, e := range toMaps(r.body["auditEvents"]) {
		m := e["method"].(string)
		counts[m[strings.LastIndex(m, "/")+1:]]++
	}
	want := map[string]int{"CreateTenant": 1, "CreateApiKey": 2, "CreateFramework": 1, "CreateControl": 3, "CreateMapping": 3, "UpdateControl": 1}
	for m, n := range want {
		if counts[m] != n {
			t.Errorf("%d %s events, want %d (all: %v)", counts[m], m, n, counts)
		}
	}
}

// Another tenant's data does not exist for a caller, in every RPC, over
// REST and gRPC: NOT_FOUND, never in lists, answers or counts.
func TestTenantIsolation(t *testing.T) {
	s := startDefault(t)
	acme, globex, mappings := acmeProgram(t, s)
	m0 := mappings[0]
	ctl := "frameworks/acme-program/controls/LOG-1"
	for _, caller := range []struct {
		name   string
		header []string
	}{{"globex", key(globex)}, {"anonymous", nil}} {
		for _, tc := range []struct{ method, path string }{
			{"GET", "/v1/frameworks/acme-program"},
			{"GET", "/v1/frameworks/acme-program/controls"},
			{"GET", "/v1/" + ctl},
			{"GET", "/v1/" + m0},
			{"GET", "/v1/mappings?framework=acme-program"},
			{"GET", "/v1/mappings?control=" + url.QueryEscape(ctl)},
			{"GET", "/v1/crosswalks/acme-program/iso-27001-2022"},
			{"GET", "/v1/crosswalks?framework=acme-program"},
			{"GET", "/v1/" + ctl + ":satisfies"},
			{"GET", "/v1/frameworks/iso-27001-2022/controls/A.8.15:explain?target=" + url.QueryEscape(ctl)},
			{"GET", "/v1/frameworks/iso-27001-2022/controls/A.8.15:satisfies?target_frameworks=acme-program"},
			{"POST", "/v1/coverage:compute"},
			{"PATCH", "/v1/frameworks/acme-program"},
			{"DELETE", "/v1/frameworks/acme-program"},
			{"POST", "/v1/frameworks/acme-program/controls?control_id=X"},
			{"PATCH", "/v1/" + ctl},
			{"DELETE", "/v1/" + ctl},
			{"PATCH", "/v1/" + m0},
			{"DELETE", "/v1/" + m0},
			{"POST", "/v1/mappings"},
			{"GET", "/v1/tenants/acme"},
			{"GET", "/v1/tenants/acme/apiKeys"},
			{"GET", "/v1/tenants/acme/auditEvents"},
		} {
			var body any
			switch {
			case tc.path == "/v1/coverage:compute":
				body = map[string]any{"source": map[string]any{"framework": "acme-program"}, "target": "iso-27001-2022"}
			case tc.path == "/v1/mappings" && tc.method == "POST":
				body = map[string]any{"source": ctl, "target": "frameworks/iso-27001-2022/controls/A.8.16", "relationship": "RELATIONSHIP_INTERSECTS_WITH",
					"strength": 3, "reverseStrength": 2, "rationale": "RATIONALE_SEMANTIC", "justification": "x y z"}
			case strings.HasPrefix(tc.path, "/v1/mappings/"):
				body = map[string]any{"strength": 3}
			case tc.path == "/v1/frameworks/acme-program":
				body = map[string]any{"displayName": "x"}
			case tc.method == "POST" || tc.method == "PATCH":
				body = map[string]any{"title": "x"}
			}
			r := s.rest(t, tc.method, tc.path, body, caller.header...)
			// Anonymous callers may be refused before anything is looked
			// up (401), which reveals nothing either.
			ok := r.status == 404 || (caller.name == "anonymous" && r.status == 401)
			if !ok {
				t.Errorf("%s %s %s: %d %s", caller.name, tc.method, tc.path, r.status, r.raw)
			}
		}
		// Never in lists, answers or counts.
		for _, path := range []string{"/v1/frameworks", "/v1/mappings?page_size=1000", "/v1/crosswalks",
			"/v1/frameworks/iso-27001-2022/controls/A.8.15:satisfies", "/v1/crosswalks/iso-27001-2022/iso-42001-2023?page_size=1000"} {
			r := s.rest(t, "GET", path, nil, caller.header...)
			if r.status != 200 || strings.Contains(string(r.raw), "acme") {
				t.Errorf("%s %s leaks acme: %d %.300s", caller.name, path, r.status, r.raw)
			}
		}
	}
	// Another tenant's resource and one that does not exist get the very
	// same answer, body and all.
	for _, tc := range []struct{ method, theirs, none string }{
		{"PATCH", "/v1/frameworks/acme-program", "/v1/frameworks/acme-nothing"},
		{"DELETE", "/v1/frameworks/acme-program", "/v1/frameworks/acme-nothing"},
		{"PATCH", "/v1/frameworks/acme-program/controls/LOG-1", "/v1/frameworks/acme-program/controls/NOTHING"},
		{"DELETE", "/v1/frameworks/acme-program/controls/LOG-1", "/v1/frameworks/acme-program/controls/NOTHING"},
		{"POST", "/v1/frameworks/acme-program/controls?control_id=LOG-1", "/v1/frameworks/acme-program/controls?control_id=NEW-1"},
		{"DELETE", "/v1/" + m0 + "?etag=1", "/v1/mappings/m0000000000000000?etag=1"},
		{"GET", "/v1/" + m0, "/v1/mappings/m0000000000000000"},
	} {
		body := map[string]any{"title": "x"}
		if strings.HasPrefix(tc.theirs, "/v1/frameworks/acme-program") && !strings.Contains(tc.theirs, "controls") {
			body = map[string]any{"displayName": "x"}
		}
		if tc.method == "GET" || tc.method == "DELETE" {
			body = nil
		}
		a := s.rest(t, tc.method, tc.theirs, body, key(globex)...)
		b := s.rest(t, tc.method, tc.none, body, key(globex)...)
		norm := func(r restResponse) string {
			return strings.NewReplacer("acme-nothing", "X", "acme-program", "X", "LOG-1", "Y", "NOTHING", "Y",
				strings.TrimPrefix(m0, "mappings/"), "Z", "m0000000000000000", "Z").Replace(string(r.raw))
		}
		if a.status != 404 || norm(a) != norm(b) {
			t.Errorf("%s %s and %s differ:\n%s\n%s", tc.method, tc.theirs, tc.none, a.raw, b.raw)
		}
	}

	// acme itself sees its data in the same lists.
	if r := s.rest(t, "GET", "/v1/frameworks/iso-27001-2022/controls/A.8.15:satisfies", nil, key(acme)...); !strings.Contains(string(r.raw), "acme-program") {
		t.Errorf("acme does not see its own mapping: %s", r.raw)
	}

	// Over gRPC too.
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+globex)
	sat := cmv1.NewSatisfactionServiceClient(s.conn)
	tenants := cmv1.NewTenantServiceClient(s.conn)
	for name, call := range map[string]func() error{
		"GetFramework": func() error {
			_, err := s.catalog.GetFramework(ctx, &cmv1.GetFrameworkRequest{Name: "frameworks/acme-program"})
			return err
		},
		"ListControls": func() error {
			_, err := s.catalog.ListControls(ctx, &cmv1.ListControlsRequest{Parent: "frameworks/acme-program"})
			return err
		},
		"GetControl": func() error {
			_, err := s.catalog.GetControl(ctx, &cmv1.GetControlRequest{Name: ctl})
			return err
		},
		"UpdateControl": func() error {
			_, err := s.catalog.UpdateControl(ctx, &cmv1.UpdateControlRequest{Control: &cmv1.Control{Name: ctl, Title: "x"}})
			return err
		},
		"DeleteFramework": func() error {
			_, err := s.catalog.DeleteFramework(ctx, &cmv1.DeleteFrameworkRequest{Name: "frameworks/acme-program"})
			return err
		},
		"GetMapping": func() error {
			_, err := s.crosswalk.GetMapping(ctx, &cmv1.GetMappingRequest{Name: m0})
			return err
		},
		"DeleteMapping": func() error {
			_, err := s.crosswalk.DeleteMapping(ctx, &cmv1.DeleteMappingRequest{Name: m0})
			return err
		},
		"ListCrosswalkMappings": func() error {
			_, err := s.crosswalk.ListCrosswalkMappings(ctx, &cmv1.ListCrosswalkMappingsRequest{Source: "acme-program", Target: "iso-27001-2022"})
			return err
		},
		"Satisfies": func() error {
			_, err := sat.Satisfies(ctx, &cmv1.SatisfiesRequest{Control: ctl})
			return err
		},
		"Explain": func() error {
			_, err := sat.Explain(ctx, &cmv1.ExplainRequest{Source: ctl, Target: "frameworks/iso-27001-2022/controls/A.8.15"})
			return err
		},
		"ComputeCoverage": func() error {
			_, err := sat.ComputeCoverage(ctx, &cmv1.ComputeCoverageRequest{Source: &cmv1.CoverageSource{Framework: "acme-program"}, Target: "iso-27001-2022"})
			return err
		},
		"GetTenant": func() error {
			_, err := tenants.GetTenant(ctx, &cmv1.GetTenantRequest{Name: "tenants/acme"})
			return err
		},
		"ListAuditEvents": func() error {
			_, err := tenants.ListAuditEvents(ctx, &cmv1.ListAuditEventsRequest{Parent: "tenants/acme"})
			return err
		},
	} {
		if err := call(); status.Code(err) != codes.NotFound {
			t.Errorf("gRPC %s by globex: %v", name, err)
		}
	}
	// acme's data survived every attempt.
	if r := s.rest(t, "GET", "/v1/frameworks/acme-program/controls", nil, key(acme)...); r.status != 200 || len(toMaps(r.body["controls"])) != 3 {
		t.Fatalf("acme's controls after the attempts: %d %s", r.status, r.raw)
	}
}
