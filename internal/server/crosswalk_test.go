package server_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/server"
)

const bearer = "Bearer " + adminToken

func TestReadMappingsAndCrosswalks(t *testing.T) {
	s := startDefault(t)
	ctx := ctxT(t)

	list, err := s.crosswalk.ListMappings(ctx, &cmv1.ListMappingsRequest{Control: "frameworks/iso-27001-2022/controls/5.19", PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if list.GetTotalSize() == 0 || int(list.GetTotalSize()) != len(list.GetMappings()) {
		t.Fatalf("mappings of A.5.19: total %d, got %d", list.GetTotalSize(), len(list.GetMappings()))
	}
	for _, m := range list.GetMappings() {
		if m.GetSource() != "frameworks/iso-27001-2022/controls/A.5.19" && m.GetTarget() != "frameworks/iso-27001-2022/controls/A.5.19" {
			t.Errorf("mapping %s does not involve A.5.19", m.GetName())
		}
		if m.GetJustification() == "" || m.GetProvenance().GetStatus() != cmv1.MappingStatus_MAPPING_STATUS_APPROVED {
			t.Errorf("built-in mapping %s lacks justification or is not approved", m.GetName())
		}
	}
	got, err := s.crosswalk.GetMapping(ctx, &cmv1.GetMappingRequest{Name: list.GetMappings()[0].GetName()})
	if err != nil || got.GetMapping().GetEtag() == "" {
		t.Fatalf("GetMapping: %v %v", got, err)
	}
	r := s.rest(t, "GET", "/v1/"+list.GetMappings()[0].GetName(), nil)
	if r.status != 200 || r.str("mapping", "name") != list.GetMappings()[0].GetName() {
		t.Fatalf("REST GetMapping: %d %s", r.status, r.raw)
	}

	// Filters compose; relationship filters the stored direction.
	r = s.rest(t, "GET", "/v1/mappings?framework=iso-42001-2023&relationship=RELATIONSHIP_NO_RELATIONSHIP&page_size=1000", nil)
	for _, m := range toMaps(r.body["mappings"]) {
		if m["relationship"] != "RELATIONSHIP_NO_RELATIONSHIP" || m["strength"] != float64(0) {
			t.Errorf("filtered mapping %v", m)
		}
	}

	// Every crosswalk's counts add up.
	cws, err := s.crosswalk.ListCrosswalks(ctx, &cmv1.ListCrosswalksRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cws.GetCrosswalks()) != 3 {
		t.Fatalf("%d crosswalks, want 3", len(cws.GetCrosswalks()))
	}
	for _, c := range cws.GetCrosswalks() {
		sum := int32(0)
		for _, rc := range c.GetRelationships() {
			sum += rc.GetCount()
		}
		if sum != c.GetMappingCount() || c.GetSourceTouched().GetTotal() == 0 || c.GetTargetTouched().GetCount() > c.GetTargetTouched().GetTotal() {
			t.Errorf("crosswalk %s->%s: inconsistent %v", c.GetSource(), c.GetTarget(), c)
		}
	}

	// The reverse view shows every mapping with the inverse relationship;
	// a SUBSET_OF mapping makes sure the swap with SUPERSET_OF is seen.
	sub := map[string]any{
		"source": "frameworks/iso-27001-2022/controls/A.7.1", "target": "frameworks/iso-42001-2023/controls/A.4.5",
		"relationship": "RELATIONSHIP_SUBSET_OF", "strength": 2, "rationale": "RATIONALE_FUNCTIONAL",
		"justification": "Physical perimeters are one part of the computing resources the control has documented.",
	}
	if r := s.rest(t, "POST", "/v1/mappings", sub, "Authorization", bearer); r.status != 200 {
		t.Fatalf("create SUBSET_OF mapping: %d %s", r.status, r.raw)
	}
	fwd := s.rest(t, "GET", "/v1/crosswalks/iso-27001-2022/iso-42001-2023?page_size=1000", nil)
	rev := s.rest(t, "GET", "/v1/crosswalks/iso-42001-2023/iso-27001-2022?page_size=1000", nil)
	if fwd.status != 200 || rev.status != 200 {
		t.Fatalf("crosswalk: %d %d", fwd.status, rev.status)
	}
	inverse := map[string]string{
		"RELATIONSHIP_SUBSET_OF": "RELATIONSHIP_SUPERSET_OF", "RELATIONSHIP_SUPERSET_OF": "RELATIONSHIP_SUBSET_OF",
		"RELATIONSHIP_EQUAL": "RELATIONSHIP_EQUAL", "RELATIONSHIP_INTERSECTS_WITH": "RELATIONSHIP_INTERSECTS_WITH",
		"RELATIONSHIP_NO_RELATIONSHIP": "RELATIONSHIP_NO_RELATIONSHIP",
	}
	byName := map[string]map[string]any{}
	for _, m := range toMaps(rev.body["mappings"]) {
		byName[m["name"].(string)] = m
	}
	fm := toMaps(fwd.body["mappings"])
	if len(fm) < 60 || len(fm) != len(byName) {
		t.Fatalf("forward %d mappings, reverse %d", len(fm), len(byName))
	}
	sawSubset := false
	for _, m := range fm {
		r := byName[m["name"].(string)]
		if r == nil || r["source"] != m["target"] || r["target"] != m["source"] || r["relationship"] != inverse[m["relationship"].(string)] || r["inverse"] == m["inverse"] {
			t.Fatalf("reverse of %v is %v", m, r)
		}
		sawSubset = sawSubset || m["relationship"] == "RELATIONSHIP_SUBSET_OF"
		if !strings.HasPrefix(m["source"].(string), "frameworks/iso-27001-2022/") {
			t.Fatalf("forward view not oriented from ISO 27001: %v", m)
		}
	}
	if !sawSubset {
		t.Error("expected SUBSET_OF mappings from ISO 27001 to ISO 42001")
	}

	// Paging through a crosswalk gives every mapping once.
	seen := map[string]bool{}
	token := ""
	for {
		resp, err := s.crosswalk.ListCrosswalkMappings(ctx, &cmv1.ListCrosswalkMappingsRequest{Source: "frameworks/iso-42001-2023", Target: "nist-ai-rmf-1.0", PageSize: 25, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.GetMappings() {
			if seen[m.GetName()] {
				t.Fatalf("%s served twice", m.GetName())
			}
			seen[m.GetName()] = true
		}
		if token = resp.GetNextPageToken(); token == "" {
			if len(seen) != int(resp.GetCrosswalk().GetMappingCount()) {
				t.Fatalf("paged %d of %d", len(seen), resp.GetCrosswalk().GetMappingCount())
			}
			break
		}
	}

	for _, tc := range []struct {
		path   string
		status int
		field  string
	}{
		{"/v1/crosswalks/iso-27001-2022/iso-27001-2022", 400, "target"},
		{"/v1/crosswalks/iso-27001-2022/nope", 404, ""},
		{"/v1/crosswalks/ISO/iso-42001-2023", 400, "source"},
		{"/v1/mappings/does-not-exist", 404, ""},
		{"/v1/mappings/Not%20An%20Id", 400, "name"},
		{"/v1/mappings?control=frameworks/iso-27001-2022/controls/Z.1", 404, ""},
		{"/v1/mappings?control=A.5.1", 400, "control"},
		{"/v1/mappings?status=7", 400, "status"},
		{"/v1/crosswalks?framework=nope", 404, ""},
	} {
		r := s.rest(t, "GET", tc.path, nil)
		if r.status != tc.status || (tc.field != "" && !slices.Contains(r.fieldViolations(), tc.field)) {
			t.Errorf("%s: %d %s; want %d naming %q", tc.path, r.status, r.raw, tc.status, tc.field)
		}
	}
}

func newMapping() map[string]any {
	return map[string]any{
		"source":          "frameworks/iso-27001-2022/controls/A.8.7",
		"target":          "frameworks/nist-ai-rmf-1.0/controls/MS-2.7",
		"relationship":    "RELATIONSHIP_INTERSECTS_WITH",
		"strength":        3,
		"reverseStrength": 2,
		"rationale":       "RATIONALE_FUNCTIONAL",
		"justification":   "Malware protection is one of the security measures whose evaluation the subcategory asks for.",
	}
}

func TestMappingWritesOverREST(t *testing.T) {
	s := startDefault(t)

	// Writes need the admin token.
	if r := s.rest(t, "POST", "/v1/mappings", newMapping()); r.status != 401 {
		t.Fatalf("no token: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "POST", "/v1/mappings", newMapping(), "Authorization", "Bearer wrong"); r.status != 401 {
		t.Fatalf("wrong token: %d %s", r.status, r.raw)
	}

	r := s.rest(t, "POST", "/v1/mappings", newMapping(), "Authorization", bearer)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	created := r.body["mapping"].(map[string]any)
	name := created["name"].(string)
	prov := created["provenance"].(map[string]any)
	if created["target"] != "frameworks/nist-ai-rmf-1.0/controls/MEASURE-2.7" || prov["status"] != "MAPPING_STATUS_DRAFT" ||
		prov["method"] != "MAPPING_METHOD_HUMAN" || prov["author"] != "admin" || prov["createTime"] == nil || r.str("revision") != "2" {
		t.Fatalf("created mapping: %s", r.raw)
	}

	// The same pair, either way round, is a conflict.
	if r := s.rest(t, "POST", "/v1/mappings", newMapping(), "Authorization", bearer); r.status != 409 {
		t.Fatalf("duplicate: %d %s", r.status, r.raw)
	}
	reversed := newMapping()
	reversed["source"], reversed["target"] = reversed["target"], reversed["source"]
	if r := s.rest(t, "POST", "/v1/mappings", reversed, "Authorization", bearer); r.status != 409 {
		t.Fatalf("reversed duplicate: %d %s", r.status, r.raw)
	}

	// Update with the current etag; a stale etag is refused.
	etag := created["etag"].(string)
	r = s.rest(t, "PATCH", "/v1/"+name, map[string]any{"strength": 4, "etag": etag}, "Authorization", bearer)
	if r.status != 200 || r.body["mapping"].(map[string]any)["strength"] != float64(4) || r.str("mapping", "justification") == "" {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "PATCH", "/v1/"+name, map[string]any{"strength": 5, "etag": etag}, "Authorization", bearer); r.status != 409 || !strings.Contains(string(r.raw), "ETAG_MISMATCH") {
		t.Fatalf("stale etag: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "PATCH", "/v1/"+name, map[string]any{"target": "frameworks/iso-42001-2023/controls/A.2.2"}, "Authorization", bearer); r.status != 400 {
		t.Fatalf("changing an end: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "PATCH", "/v1/"+name, map[string]any{"relationship": "RELATIONSHIP_EQUAL", "strength": 4}, "Authorization", bearer); r.status != 400 || !slices.Contains(r.fieldViolations(), "mapping.strength") {
		t.Fatalf("EQUAL with strength 4: %d %s", r.status, r.raw)
	}
	// Strength is directional: SUBSET_OF keeps the share carried of the
	// target and fixes the reverse at 10; the inverse view swaps them.
	r = s.rest(t, "PATCH", "/v1/"+name, map[string]any{"relationship": "RELATIONSHIP_SUBSET_OF"}, "Authorization", bearer)
	if r.status != 200 || r.body["mapping"].(map[string]any)["strength"] != float64(4) || r.body["mapping"].(map[string]any)["reverseStrength"] != float64(10) {
		t.Fatalf("SUBSET_OF: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "PATCH", "/v1/"+name, map[string]any{"relationship": "RELATIONSHIP_INTERSECTS_WITH"}, "Authorization", bearer); r.status != 400 || !slices.Contains(r.fieldViolations(), "mapping.reverse_strength") {
		t.Fatalf("INTERSECTS_WITH with reverse strength 10: %d %s", r.status, r.raw)
	}

	// Bad input names the field and writes nothing.
	before := s.rest(t, "GET", "/v1/mappings?page_size=1", nil).str("revision")
	for _, tc := range []struct {
		mutate func(map[string]any)
		status int
		field  string
	}{
		{func(m map[string]any) { m["strength"] = 11 }, 400, "mapping.strength"},
		{func(m map[string]any) { m["relationship"] = "RELATIONSHIP_EQUAL"; m["strength"] = 7 }, 400, "mapping.strength"},
		{func(m map[string]any) { delete(m, "relationship") }, 400, "mapping.relationship"},
		{func(m map[string]any) { delete(m, "rationale") }, 400, "mapping.rationale"},
		{func(m map[string]any) { m["justification"] = "  " }, 400, "mapping.justification"},
		{func(m map[string]any) { m["justification"] = strings.Repeat("x", 2001) }, 400, "mapping.justification"},
		{func(m map[string]any) { m["target"] = "frameworks/iso-27001-2022/controls/A.5.1" }, 400, "mapping.target"},
		{func(m map[string]any) { m["target"] = "frameworks/iso-42001-2023/controls/A.99" }, 404, ""},
		{func(m map[string]any) { m["source"] = "A.8.7" }, 400, "mapping.source"},
		{func(m map[string]any) { m["relationship"] = "RELATIONSHIP_BEST_FRIENDS" }, 400, "relationship"},
		{func(m map[string]any) { m["relationshp"] = "RELATIONSHIP_EQUAL" }, 400, "relationshp"},
	} {
		m := newMapping()
		m["target"] = "frameworks/iso-42001-2023/controls/A.6.2.6"
		tc.mutate(m)
		r := s.rest(t, "POST", "/v1/mappings", m, "Authorization", bearer)
		if r.status != tc.status || (tc.field != "" && !slices.Contains(r.fieldViolations(), tc.field)) {
			t.Errorf("%v: %d %s; want %d naming %q", m, r.status, r.raw, tc.status, tc.field)
		}
	}
	if r := s.rest(t, "POST", "/v1/mappings", `{"source": "x", "justification": "`+strings.Repeat("a", 2<<20)+`"}`, "Authorization", bearer); r.status != 413 || !slices.Contains(r.fieldViolations(), "body") {
		t.Errorf("oversized body: %d %.200s", r.status, r.raw)
	}
	if r := s.rest(t, "POST", "/v1/mappings", `{not json`, "Authorization", bearer); r.status != 400 {
		t.Errorf("malformed body: %d", r.status)
	}
	if after := s.rest(t, "GET", "/v1/mappings?page_size=1", nil).str("revision"); after != before {
		t.Fatalf("bad input changed the revision from %s to %s", before, after)
	}

	// Delete with a stale etag fails; with none it succeeds; then it is gone.
	if r := s.rest(t, "DELETE", "/v1/"+name+"?etag="+etag, nil, "Authorization", bearer); r.status != 409 {
		t.Fatalf("delete with stale etag: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "DELETE", "/v1/"+name, nil); r.status != 401 {
		t.Fatalf("delete without token: %d", r.status)
	}
	if r := s.rest(t, "DELETE", "/v1/"+name, nil, "Authorization", bearer); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "GET", "/v1/"+name, nil); r.status != 404 {
		t.Fatalf("deleted mapping still served: %d", r.status)
	}
}

func TestMappingWritesOverGRPC(t *testing.T) {
	s := startDefault(t)
	ctx := ctxT(t)
	in := &cmv1.Mapping{
		Source:          "frameworks/nist-ai-rmf-1.0/controls/GV 6.2",
		Target:          "frameworks/iso-27001-2022/controls/5.23",
		Relationship:    cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH,
		Strength:        4,
		ReverseStrength: 3,
		Rationale:       cmv1.Rationale_RATIONALE_SEMANTIC,
		Justification:   "Both ask for third-party risks in the supply chain to be handled; the AI RMF adds AI-specific risks.",
		Provenance:      &cmv1.Provenance{Document: "internal review", Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED},
	}
	if _, err := s.crosswalk.CreateMapping(ctx, &cmv1.CreateMappingRequest{Mapping: in}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("create without token: %v", err)
	}
	created, err := s.crosswalk.CreateMapping(admin(ctx), &cmv1.CreateMappingRequest{Mapping: in})
	if err != nil {
		t.Fatal(err)
	}
	m := created.GetMapping()
	if m.GetSource() != "frameworks/nist-ai-rmf-1.0/controls/GOVERN-6.2" || m.GetTarget() != "frameworks/iso-27001-2022/controls/A.5.23" {
		t.Fatalf("aliases not resolved to canonical names: %v", m)
	}
	if _, err := s.crosswalk.CreateMapping(admin(ctx), &cmv1.CreateMappingRequest{Mapping: in}); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("duplicate: %v", err)
	}

	// The new mapping appears in both views of its crosswalk.
	view, err := s.crosswalk.ListCrosswalkMappings(ctx, &cmv1.ListCrosswalkMappingsRequest{Source: "iso-27001-2022", Target: "nist-ai-rmf-1.0", PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range view.GetMappings() {
		if v.GetName() == m.GetName() {
			found = v.GetInverse() && v.GetSource() == m.GetTarget()
		}
	}
	if !found {
		t.Fatal("created mapping not shown inverted in the ISO 27001 -> AI RMF view")
	}

	up, err := s.crosswalk.UpdateMapping(admin(ctx), &cmv1.UpdateMappingRequest{
		Mapping:    &cmv1.Mapping{Name: m.GetName(), Justification: "Reworded.", Etag: m.GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"justification"}},
	})
	if err != nil || up.GetMapping().GetJustification() != "Reworded." || up.GetMapping().GetStrength() != 4 || up.GetMapping().GetEtag() == m.GetEtag() {
		t.Fatalf("update: %v %v", up, err)
	}
	if _, err := s.crosswalk.UpdateMapping(admin(ctx), &cmv1.UpdateMappingRequest{
		Mapping: &cmv1.Mapping{Name: m.GetName(), Strength: 5, Etag: m.GetEtag()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"strength"}},
	}); status.Code(err) != codes.Aborted {
		t.Fatalf("stale etag: %v", err)
	}
	if _, err := s.crosswalk.UpdateMapping(admin(ctx), &cmv1.UpdateMappingRequest{
		Mapping: &cmv1.Mapping{Name: m.GetName()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}},
	}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("unknown mask path: %v", err)
	}
	if _, err := s.crosswalk.UpdateMapping(admin(ctx), &cmv1.UpdateMappingRequest{Mapping: &cmv1.Mapping{Name: "mappings/nope"}}); status.Code(err) != codes.NotFound {
		t.Fatalf("update unknown: %v", err)
	}
	del, err := s.crosswalk.DeleteMapping(admin(ctx), &cmv1.DeleteMappingRequest{Name: m.GetName(), Etag: up.GetMapping().GetEtag()})
	if err != nil || del.GetRevision() != up.GetRevision()+1 {
		t.Fatalf("delete: %v %v", del, err)
	}
	if _, err := s.crosswalk.DeleteMapping(admin(ctx), &cmv1.DeleteMappingRequest{Name: m.GetName()}); status.Code(err) != codes.NotFound {
		t.Fatalf("delete twice: %v", err)
	}
}

// With no operator token configured nobody can write public mappings: a
// write without a token is UNAUTHENTICATED, and no token is the operator's.
func TestNoOperatorTokenConfigured(t *testing.T) {
	s := start(t, server.Config{})
	if r := s.rest(t, "POST", "/v1/mappings", newMapping()); r.status != 401 {
		t.Fatalf("REST write without a token: %d %s", r.status, r.raw)
	}
	_, err := s.crosswalk.DeleteMapping(admin(ctxT(t)), &cmv1.DeleteMappingRequest{Name: "mappings/x"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("gRPC write with a token the server does not have: %v", err)
	}
	if r := s.rest(t, "GET", "/v1/frameworks", nil); r.status != 200 {
		t.Fatalf("reads stay open: %d", r.status)
	}
}

// An update mask may name only fields an update sets (and the name and
// etag a client sends back); output-only and immutable fields are 400 and
// write nothing. The author of a mapping is whoever created it, never
// what the client says.
func TestUpdateMasksAndAuthor(t *testing.T) {
	s := startDefault(t)
	m := newMapping()
	m["provenance"] = map[string]any{"author": "ISO/IEC JTC 1/SC 42 (official)", "document": "review"}
	r := s.rest(t, "POST", "/v1/mappings", m, "Authorization", bearer)
	if r.status != 200 || r.str("mapping", "provenance", "author") != "admin" {
		t.Fatalf("create with a claimed author: %d %s", r.status, r.raw)
	}
	name, etag := r.str("mapping", "name"), r.str("mapping", "etag")
	revision := func() string { return s.rest(t, "GET", "/v1/mappings?page_size=1", nil).str("revision") }
	before := revision()
	for _, path := range []string{"revision", "provenance.create_time", "provenance.updateTime", "provenance.author", "inverse", "source", "target", "colour"} {
		r := s.rest(t, "PATCH", "/v1/"+name+"?update_mask="+path, map[string]any{"justification": "x"}, "Authorization", bearer)
		if r.status != 400 || !slices.Contains(r.fieldViolations(), "update_mask") || !strings.Contains(r.str("message"), path) {
			t.Errorf("mask %s over REST: %d %s", path, r.status, r.raw)
		}
		_, err := s.crosswalk.UpdateMapping(admin(ctxT(t)), &cmv1.UpdateMappingRequest{
			Mapping: &cmv1.Mapping{Name: name, Justification: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{path}}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("mask %s over gRPC: %v", path, err)
		}
	}
	// A mask of only the name and the etag sets nothing: refused too.
	if r := s.rest(t, "PATCH", "/v1/"+name+"?update_mask=name,etag", map[string]any{"etag": etag}, "Authorization", bearer); r.status != 400 {
		t.Errorf("a mask that sets nothing: %d %s", r.status, r.raw)
	}
	if after := revision(); after != before {
		t.Fatalf("refused updates moved the revision from %s to %s", before, after)
	}
	// The body's fields make the mask over REST; its etag is the
	// precondition, not a field to set.
	r = s.rest(t, "PATCH", "/v1/"+name, map[string]any{"justification": "Reviewed again.", "etag": etag}, "Authorization", bearer)
	if r.status != 200 || r.str("mapping", "justification") != "Reviewed again." || r.str("mapping", "provenance", "author") != "admin" {
		t.Fatalf("update with the etag in the body: %d %s", r.status, r.raw)
	}
	// Frameworks and controls alike.
	_, acme := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE")
	if r := s.rest(t, "POST", "/v1/frameworks?framework_id=acme-isms", map[string]any{"displayName": "ISMS"}, key(acme)...); r.status != 200 {
		t.Fatalf("create framework: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "POST", "/v1/frameworks/acme-isms/controls?control_id=C-1", map[string]any{"title": "One"}, key(acme)...); r.status != 200 {
		t.Fatalf("create control: %d %s", r.status, r.raw)
	}
	for path, url := range map[string]string{"owner": "/v1/frameworks/acme-isms", "revision": "/v1/frameworks/acme-isms",
		"parent": "/v1/frameworks/acme-isms/controls/C-1", "ref_id": "/v1/frameworks/acme-isms/controls/C-1"} {
		if r := s.rest(t, "PATCH", url+"?update_mask="+path, map[string]any{}, key(acme)...); r.status != 400 {
			t.Errorf("mask %s on %s: %d %s", path, url, r.status, r.raw)
		}
	}
}
