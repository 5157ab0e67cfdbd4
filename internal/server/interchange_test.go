package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/interchange"
	"github.com/controlmap/controlmap/internal/server"
)

// grpcImport sends a document to Import in chunks of the given size.
func grpcImport(ctx context.Context, s *stack, opts *cmv1.ImportOptions, doc []byte, chunk int) (*cmv1.ImportResponse, error) {
	stream, err := cmv1.NewInterchangeServiceClient(s.conn).Import(ctx)
	if err != nil {
		return nil, err
	}
	for i := 0; i == 0 || i < len(doc); i += chunk {
		msg := &cmv1.ImportRequest{Chunk: doc[i:min(i+chunk, len(doc))]}
		if i == 0 {
			msg.Options = opts
		}
		if err := stream.Send(msg); err != nil {
			break
		}
	}
	return stream.CloseAndRecv()
}

// grpcExport reads a whole export.
func grpcExport(ctx context.Context, s *stack, source, target, format string) ([]byte, error) {
	c := cmv1.NewInterchangeServiceClient(s.conn)
	var recv func() ([]byte, error)
	if target == "" {
		stream, err := c.ExportFramework(ctx, &cmv1.ExportFrameworkRequest{Name: "frameworks/" + source, Format: format})
		if err != nil {
			return nil, err
		}
		recv = func() ([]byte, error) { m, err := stream.Recv(); return m.GetData(), err }
	} else {
		stream, err := c.ExportCrosswalk(ctx, &cmv1.ExportCrosswalkRequest{Source: source, Target: target, Format: format})
		if err != nil {
			return nil, err
		}
		recv = func() ([]byte, error) { m, err := stream.Recv(); return m.GetData(), err }
	}
	var out []byte
	for {
		data, err := recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, data...)
	}
}

// report decodes a REST import's answer.
func report(t *testing.T, r restResponse) *cmv1.ImportResponse {
	t.Helper()
	var rep cmv1.ImportResponse
	if err := protojson.Unmarshal(r.raw, &rep); err != nil {
		t.Fatalf("import answer %d %s: %v", r.status, r.raw, err)
	}
	return &rep
}

func counts(r *cmv1.ImportResponse) string {
	var parts []string
	for _, c := range r.GetCounts() {
		parts = append(parts, fmt.Sprintf("%s %d/%d/%d/%d", c.GetKind(), c.GetCreated(), c.GetUpdated(), c.GetUnchanged(), c.GetSkipped()))
	}
	return strings.Join(parts, ", ")
}

const acmeCatalog = `{"catalog": {"uuid": "0f4b3c1e-7a0d-4c55-9a53-5f2d8e1c7b01",
  "metadata": {"title": "ACME AI controls", "last-modified": "2026-11-01T00:00:00Z", "version": "2", "oscal-version": "1.2.2"},
  "groups": [{"id": "gov", "title": "Governance", "props": [{"name": "label", "value": "GOV"}],
    "controls": [
      {"id": "gov-1", "title": "AI policy", "props": [{"name": "label", "value": "GOV-1"},
        {"name": "implementation-status", "ns": "https://github.com/controlmap/controlmap/ns/oscal", "value": "implemented"}],
       "parts": [{"id": "gov-1_smt", "name": "statement", "prose": "An approved policy covers every AI product."}]},
      {"id": "gov-2", "title": "AI roles", "props": [{"name": "label", "value": "GOV-2"},
        {"name": "implementation-status", "ns": "https://github.com/controlmap/controlmap/ns/oscal", "value": "partial"}]}]}]}}`

// acmeOLIR maps ACME's controls to the AI RMF, focal -> reference.
const acmeOLIR = "Focal Document Element,Rationale,Relationship,Reference Document Element,Comments,Strength of Relationship\n" +
	"GOV-1,Semantic,superset of,GV-1.2,The AI policy covers what GOVERN 1.2 asks.,10\n" +
	"GOV-2,Functional,intersects with,GOVERN-2.1,Both assign AI roles.,6\n"

func TestImportAndExportThroughRESTAndGRPC(t *testing.T) {
	s := startDefault(t)
	_, acme := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE")
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+acme)

	// A tenant's catalog over gRPC, in small chunks: an internal framework.
	dry, err := grpcImport(ctx, s, &cmv1.ImportOptions{Format: "oscal-catalog", ValidateOnly: true}, []byte(acmeCatalog), 100)
	if err != nil || dry.GetRevision() != 0 || counts(dry) != "framework 1/0/0/0, control 3/0/0/0, mapping 0/0/0/0" {
		t.Fatalf("dry run: %v %v", err, dry)
	}
	if r := s.rest(t, "GET", "/v1/frameworks/acme-ai-controls-2", nil, key(acme)...); r.status != 404 {
		t.Fatalf("a dry run wrote: %d", r.status)
	}
	done, err := grpcImport(ctx, s, &cmv1.ImportOptions{Format: "oscal-catalog"}, []byte(acmeCatalog), 100)
	if err != nil || done.GetRevision() == 0 || counts(done) != counts(dry) || done.GetBindings()["framework"] != "frameworks/acme-ai-controls-2" {
		t.Fatalf("import: %v %v", err, done)
	}
	fw := s.rest(t, "GET", "/v1/frameworks/acme-ai-controls-2", nil, key(acme)...)
	if fw.status != 200 || fw.str("framework", "kind") != "FRAMEWORK_KIND_INTERNAL" || fw.str("framework", "owner") != "tenants/acme" {
		t.Fatalf("imported framework: %d %s", fw.status, fw.raw)
	}
	ctl := s.rest(t, "GET", "/v1/frameworks/acme-ai-controls-2/controls/gov-1", nil, key(acme)...)
	if ctl.str("control", "name") != "frameworks/acme-ai-controls-2/controls/GOV-1" || ctl.str("control", "summary") != "An approved policy covers every AI product." {
		t.Fatalf("imported control, found by its OSCAL id: %s", ctl.raw)
	}

	// Its crosswalk over REST, the sides bound in the query.
	path := "/v1/imports?format=olir-csv&bindings%5Bsource%5D=acme-ai-controls-2&bindings%5Btarget%5D=frameworks/nist-ai-rmf-1.0"
	r := s.rest(t, "POST", path, acmeOLIR, key(acme)...)
	if r.status != 200 || r.body["revision"] == "0" {
		t.Fatalf("REST import: %d %s", r.status, r.raw)
	}
	var rep cmv1.ImportResponse
	if err := protojson.Unmarshal(r.raw, &rep); err != nil || counts(&rep) != "framework 0/0/0/0, control 0/0/0/0, mapping 2/0/0/0" {
		t.Fatalf("report: %v %s", err, r.raw)
	}
	// Imported rows say where they come from; with no status, DRAFT.
	sat, err := cmv1.NewSatisfactionServiceClient(s.conn).Satisfies(ctx, &cmv1.SatisfiesRequest{Control: "frameworks/acme-ai-controls-2/controls/GOV-1", IncludeDraft: true})
	i := slices.IndexFunc(sat.GetFrameworks(), func(f *cmv1.FrameworkSatisfaction) bool { return f.GetFramework() == "frameworks/nist-ai-rmf-1.0" })
	if err != nil || i < 0 || sat.GetFrameworks()[i].GetControls()[0].GetControl() != "frameworks/nist-ai-rmf-1.0/controls/GOVERN-1.2" ||
		sat.GetFrameworks()[i].GetControls()[0].GetSatisfaction() != cmv1.Satisfaction_SATISFACTION_FULL {
		t.Fatalf("satisfies through the imported mapping of an implemented control: %v %v", err, sat)
	}

	// The same document again changes nothing and commits no revision.
	again := s.rest(t, "POST", path, acmeOLIR, key(acme)...)
	if again.status != 200 || again.body["revision"] != "0" || counts(report(t, again)) != "framework 0/0/0/0, control 0/0/0/0, mapping 0/0/2/0" {
		t.Fatalf("re-import: %d %s", again.status, again.raw)
	}
	// A newer edition updates in place and says what changed.
	newer := strings.Replace(acmeOLIR, "intersects with,GOVERN-2.1,Both assign AI roles.,6", "intersects with,GOVERN-2.1,Both assign AI roles.,7", 1)
	upd := s.rest(t, "POST", path, newer, key(acme)...)
	if rep := report(t, upd); upd.status != 200 || counts(rep) != "framework 0/0/0/0, control 0/0/0/0, mapping 0/1/1/0" || rep.GetChanges()[0].GetAction() != "updated" {
		t.Fatalf("newer edition: %d %s", upd.status, upd.raw)
	}

	// One audit event per import, with a summary rather than the document.
	events, err := cmv1.NewTenantServiceClient(s.conn).ListAuditEvents(admin(ctxT(t)), &cmv1.ListAuditEventsRequest{Parent: "tenants/acme"})
	if err != nil {
		t.Fatal(err)
	}
	imports := 0
	for _, e := range events.GetAuditEvents() {
		if strings.Contains(e.GetAfter(), `"import"`) {
			imports++
			if strings.Contains(e.GetAfter(), "Both assign AI roles") {
				t.Errorf("the audit event holds the document: %s", e.GetAfter())
			}
		}
	}
	if imports != 3 {
		t.Errorf("%d import events, want 3 (catalog, crosswalk, newer edition)", imports)
	}

	// Exports: the file itself over REST, with its type and name.
	req, _ := http.NewRequest("GET", s.base+"/v1/crosswalks/acme-ai-controls-2/nist-ai-rmf-1.0:export?format=strm-csv", nil)
	req.Header.Set("Authorization", "Bearer "+acme)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename=acme-ai-controls-2_nist-ai-rmf-1.0.strm.csv` || resp.Header.Get("X-Request-Id") == "" ||
		!strings.HasPrefix(string(body), "FDE #,FDE Name") || strings.Count(string(body), "\n") != 3 {
		t.Fatalf("export: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	viaGRPC, err := grpcExport(ctx, s, "acme-ai-controls-2", "nist-ai-rmf-1.0", "strm-csv")
	if err != nil || string(viaGRPC) != string(body) {
		t.Fatalf("gRPC export differs from REST: %v\n%s", err, viaGRPC)
	}
	// Another tenant sees neither the framework nor its crosswalk.
	_, globex := newTenantWithKey(t, s, "globex", "SCOPE_READ")
	if r := s.rest(t, "GET", "/v1/crosswalks/acme-ai-controls-2/nist-ai-rmf-1.0:export?format=json", nil, key(globex)...); r.status != 404 {
		t.Errorf("another tenant's export: %d %s", r.status, r.raw)
	}
	for _, tc := range []struct {
		path   string
		status int
		field  string
	}{
		{"/v1/frameworks/iso-27001-2022:export?format=olir-csv", 400, "format"},
		{"/v1/frameworks/iso-27001-2022:export?format=oscal-catalog&page=2", 400, "page"},
		{"/v1/frameworks/nope:export?format=oscal-catalog", 404, ""},
		{"/v1/crosswalks/iso-27001-2022/iso-27001-2022:export?format=json", 400, "target"},
	} {
		r := s.rest(t, "GET", tc.path, nil)
		if r.status != tc.status || (tc.field != "" && !slices.Contains(r.fieldViolations(), tc.field)) {
			t.Errorf("GET %s: %d %v %s", tc.path, r.status, r.fieldViolations(), r.raw)
		}
	}
}

func TestImportRefusesBadInputAndWritesNothing(t *testing.T) {
	s := start(t, server.Config{AdminToken: adminToken, Import: interchange.Limits{MaxBytes: 4096, MaxRows: 50}})
	ctx := admin(ctxT(t))
	before := s.rest(t, "GET", "/v1/frameworks", nil)
	bind := "&bindings%5Bsource%5D=iso-27001-2022&bindings%5Btarget%5D=nist-ai-rmf-1.0"
	good := "Focal Document Element,Relationship,Reference Document Element,Strength of Relationship,Comments\n" +
		"A.5.1,intersects with,GOVERN-1.2,4,Policies on both sides.\n"
	cases := []struct {
		name, query, body string
		status            int
		field, message    string
	}{
		{"unknown format", "format=xlsx", good, 400, "options.format", "must be one of oscal-catalog, oscal-mapping, olir-csv, strm-csv, ciso-yaml, json, got"},
		{"no format", "", good, 400, "options.format", ""},
		{"unknown query parameter", "format=olir-csv&colour=red" + bind, good, 400, "colour", ""},
		{"unbound sheet", "format=olir-csv", good, 400, "options.bindings", `no framework is known for resource`},
		{"bound to no framework", "format=olir-csv&bindings%5Bsource%5D=nope&bindings%5Btarget%5D=nist-ai-rmf-1.0", good, 400, "options.bindings[source]", "no framework frameworks/nope is known"},
		{"malformed CSV", "format=olir-csv" + bind, "Focal Document Element,Relationship,Reference Document Element\n\"A.5.1,equal\n", 400, "document", "line"},
		{"malformed JSON", "format=oscal-mapping", `{"mapping-collection": {`, 400, "document", "cut short"},
		{"too large", "format=olir-csv" + bind, good + "A.5.2,equal,GOVERN-2.1,10," + strings.Repeat("x", 5000) + "\n", 400, "document", "more than 4096 bytes"},
		{"too many rows", "format=olir-csv" + bind, good + strings.Repeat("A.5.1,equal,GOVERN-1.2,10,x\n", 60), 400, "document", "rows"},
		// Strict: the first bad row fails the import; the good row before it is not written.
		{"unknown control", "format=olir-csv" + bind, good + "A.5.99,equal,GOVERN-1.1,10,x\n", 400, "document (line 3)", `unknown control`},
		{"duplicate pair", "format=olir-csv" + bind, good + "A5.1,equal,GV-1.2,10,x\n", 400, "document (line 3)", "mapped already at line 2"},
		{"bad strength", "format=olir-csv" + bind, good + "A.5.2,equal,GOVERN-2.1,7,x\n", 400, "document (line 3)", "strength"},
		{"kind of a tenant", "format=oscal-catalog&framework_kind=internal", acmeCatalog, 403, "", "TENANT_REQUIRED"},
		{"item without an id-ref", "format=oscal-mapping&bindings%5Bs%5D=iso-27001-2022&bindings%5Bt%5D=nist-ai-rmf-1.0",
			`{"mapping-collection": {"uuid": "u", "metadata": {"title": "t"}, "provenance": {"method": "human", "matching-rationale": "semantic", "status": "draft", "mapping-description": "d"},
			  "mappings": [{"uuid": "v", "source-resource": {"type": "catalog", "href": "s"}, "target-resource": {"type": "catalog", "href": "t"},
			    "maps": [{"uuid": "w", "relationship": "equal-to", "sources": [{}], "targets": [{"type": "control", "id-ref": "GOVERN-1.1"}]}]}]}}`,
			400, "document/mapping-collection/mappings/0/maps/0/sources/0", "id-ref"},
		{"built-in framework", "format=oscal-catalog&framework_id=iso-27001-2022", acmeCatalog, 403, "", "NOT_OWNER"},
	}
	for _, tc := range cases {
		r := s.rest(t, "POST", "/v1/imports?"+tc.query, tc.body, "Authorization", bearer)
		if r.status != tc.status || (tc.field != "" && !slices.Contains(r.fieldViolations(), tc.field)) || !strings.Contains(string(r.raw), tc.message) {
			t.Errorf("%s: %d %v %.400s", tc.name, r.status, r.fieldViolations(), r.raw)
		}
	}
	if after := s.rest(t, "GET", "/v1/frameworks", nil); after.body["revision"] != before.body["revision"] {
		t.Fatalf("a refused import wrote: revision %v -> %v", before.body["revision"], after.body["revision"])
	}
	// A dry run reads the whole file, strict or not: every bad row listed,
	// and, strict, that the import would be refused; nothing written.
	for _, mode := range []string{"", "&mode=lenient"} {
		r := s.rest(t, "POST", "/v1/imports?format=olir-csv&validate_only=true"+mode+bind, good+"A.5.99,equal,GOVERN-1.1,10,x\nA.5.2,bogus,GOVERN-2.1,,\n", "Authorization", bearer)
		rep := report(t, r)
		if r.status != 200 || rep.GetRefused() != (mode == "") || counts(rep) != "framework 0/0/0/0, control 0/0/0/0, mapping 0/1/0/2" ||
			rep.GetProblems()[0].GetLocation() != "line 3" || rep.GetProblems()[1].GetLocation() != "line 4" || rep.GetRevision() != 0 {
			t.Errorf("dry run%s: %d %s", mode, r.status, r.raw)
		}
	}
	if after := s.rest(t, "GET", "/v1/frameworks", nil); after.body["revision"] != before.body["revision"] {
		t.Fatalf("a dry run wrote: revision %v -> %v", before.body["revision"], after.body["revision"])
	}
	// Lenient: bad rows are skipped and listed, the rest applied.
	r := s.rest(t, "POST", "/v1/imports?format=olir-csv&mode=lenient"+bind, good+"A.5.99,equal,GOVERN-1.1,10,x\nA.5.2,bogus,GOVERN-2.1,,\n", "Authorization", bearer)
	if rep := report(t, r); r.status != 200 || counts(rep) != "framework 0/0/0/0, control 0/0/0/0, mapping 0/1/0/2" ||
		rep.GetProblems()[0].GetLocation() != "line 3" || rep.GetProblems()[1].GetLocation() != "line 4" {
		t.Fatalf("lenient: %d %s", r.status, r.raw)
	}
	// gRPC: no options, or options later than the first message.
	if _, err := grpcImport(ctx, s, nil, []byte(good), 10); status.Code(err) != codes.InvalidArgument {
		t.Errorf("no options: %v", err)
	}
	// A tenant cannot import public mappings.
	_, acme := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE")
	if r := s.rest(t, "POST", "/v1/imports?format=olir-csv"+bind, good, key(acme)...); r.status != 403 || !strings.Contains(string(r.raw), "NOT_OWNER") {
		t.Errorf("tenant importing public mappings: %d %s", r.status, r.raw)
	}
	// A read key cannot import at all.
	_, reader := newTenantWithKey(t, s, "acme", "SCOPE_READ")
	if r := s.rest(t, "POST", "/v1/imports?format=olir-csv"+bind, good, key(reader)...); r.status != 403 {
		t.Errorf("read key importing: %d %s", r.status, r.raw)
	}
}

func TestOperatorManagesReferenceFrameworks(t *testing.T) {
	s := startDefault(t)
	ctx := admin(ctxT(t))
	rep, err := grpcImport(ctx, s, &cmv1.ImportOptions{Format: "oscal-catalog", FrameworkId: "ref-acme", FrameworkKind: cmv1.FrameworkKind_FRAMEWORK_KIND_REGULATION}, []byte(acmeCatalog), 1<<20)
	if err != nil || rep.GetRevision() == 0 {
		t.Fatalf("import: %v %v", err, rep)
	}
	fw := s.rest(t, "GET", "/v1/frameworks/ref-acme", nil)
	if fw.status != 200 || fw.str("framework", "kind") != "FRAMEWORK_KIND_REGULATION" || fw.str("framework", "owner") != "" {
		t.Fatalf("a reference framework everyone reads: %d %s", fw.status, fw.raw)
	}
	m := newMapping()
	m["source"], m["target"] = "frameworks/ref-acme/controls/GOV-1", "frameworks/iso-27001-2022/controls/A.5.1"
	if r := s.rest(t, "POST", "/v1/mappings", m, "Authorization", bearer); r.status != 200 {
		t.Fatalf("a mapping of the imported framework: %d %s", r.status, r.raw)
	}
	// A tenant maps its own control to it.
	_, acme := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE", "SCOPE_ADMIN")
	if r := s.rest(t, "POST", "/v1/frameworks?framework_id=acme-isms", map[string]any{"displayName": "Acme ISMS"}, key(acme)...); r.status != 200 {
		t.Fatal(r.status, string(r.raw))
	}
	if r := s.rest(t, "POST", "/v1/frameworks/acme-isms/controls?control_id=POL-1", map[string]any{"title": "Policy"}, key(acme)...); r.status != 200 {
		t.Fatal(r.status, string(r.raw))
	}
	mine := newMapping()
	mine["source"], mine["target"] = "frameworks/acme-isms/controls/POL-1", "frameworks/ref-acme/controls/GOV-1"
	tenants := s.rest(t, "POST", "/v1/mappings", mine, key(acme)...)
	if tenants.status != 200 {
		t.Fatalf("the tenant's mapping: %d %s", tenants.status, tenants.raw)
	}
	// A tenant may not change it; the operator deletes it with its mappings.
	if r := s.rest(t, "DELETE", "/v1/frameworks/ref-acme", nil, key(acme)...); r.status != 403 {
		t.Fatalf("tenant deleting a reference framework: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "DELETE", "/v1/frameworks/iso-27001-2022", nil, "Authorization", bearer); r.status != 403 || !strings.Contains(string(r.raw), "content release") {
		t.Fatalf("operator deleting a built-in framework: %d %s", r.status, r.raw)
	}
	del := s.rest(t, "DELETE", "/v1/frameworks/ref-acme", nil, "Authorization", bearer)
	if del.status != 200 {
		t.Fatalf("delete: %d %s", del.status, del.raw)
	}
	if r := s.rest(t, "GET", "/v1/crosswalks/ref-acme/iso-27001-2022", nil); r.status != 404 {
		t.Errorf("crosswalk after delete: %d", r.status)
	}
	events, err := cmv1.NewTenantServiceClient(s.conn).ListAuditEvents(ctx, &cmv1.ListAuditEventsRequest{Parent: "tenants/-"})
	if err != nil || events.GetAuditEvents()[0].GetResource() != "frameworks/ref-acme" || !strings.Contains(events.GetAuditEvents()[0].GetBefore(), `"mappingCount":2`) ||
		events.GetAuditEvents()[1].GetRevision() == events.GetAuditEvents()[0].GetRevision() {
		t.Fatalf("the delete's audit event: %v %v", err, events.GetAuditEvents()[:2])
	}
	// The tenant whose mapping went with it finds the delete in its trail,
	// with its own mapping only.
	trail := s.rest(t, "GET", "/v1/tenants/acme/auditEvents", nil, key(acme)...)
	var got cmv1.ListAuditEventsResponse
	if err := protojson.Unmarshal(trail.raw, &got); err != nil || len(got.GetAuditEvents()) == 0 {
		t.Fatalf("the tenant's trail: %v %s", err, trail.raw)
	}
	ev := got.GetAuditEvents()[0]
	if ev.GetResource() != "frameworks/ref-acme" || ev.GetRevision() != events.GetAuditEvents()[0].GetRevision() || ev.GetActor() != "admin" ||
		!strings.Contains(ev.GetBefore(), `"mappingCount":1`) || !strings.Contains(ev.GetBefore(), tenants.str("mapping", "name")) || ev.GetAfter() != "" {
		t.Fatalf("the delete in the tenant's trail: %v", ev)
	}
	// CreateFramework makes reference frameworks for the operator too.
	created := s.rest(t, "POST", "/v1/frameworks?framework_id=eu-ai-act", map[string]any{"displayName": "EU AI Act", "version": "2024/1689", "kind": "FRAMEWORK_KIND_REGULATION", "publisher": "EU"}, "Authorization", bearer)
	if created.status != 200 || created.str("framework", "publisher") != "EU" || created.str("framework", "kind") != "FRAMEWORK_KIND_REGULATION" {
		t.Fatalf("create a reference framework: %d %s", created.status, created.raw)
	}
	// A reference framework is an edition: it has a version, kept.
	if r := s.rest(t, "POST", "/v1/frameworks?framework_id=nist-csf-2.0", map[string]any{"displayName": "NIST CSF"}, "Authorization", bearer); r.status != 400 ||
		!slices.Contains(r.fieldViolations(), "framework.version") {
		t.Errorf("a reference framework without a version: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "PATCH", "/v1/frameworks/eu-ai-act?update_mask=version", map[string]any{"version": ""}, "Authorization", bearer); r.status != 400 ||
		!slices.Contains(r.fieldViolations(), "framework.version") {
		t.Errorf("clearing a reference framework's version: %d %s", r.status, r.raw)
	}
	// Ids that start with a tenant's id and a dash are the tenant's.
	newTenantWithKey(t, s, "acme", "SCOPE_READ")
	if r := s.rest(t, "POST", "/v1/frameworks?framework_id=acme-evil", map[string]any{"displayName": "Not Acme's", "version": "1"}, "Authorization", bearer); r.status != 400 ||
		!slices.Contains(r.fieldViolations(), "framework_id") {
		t.Errorf("a public framework in a tenant's ids: %d %s", r.status, r.raw)
	}
}

// satisfiesDirect is a control's direct satisfaction towards one framework,
// without what varies between servers (names of mappings, revisions).
func satisfiesDirect(t *testing.T, ctx context.Context, s *stack, control, target string) string {
	t.Helper()
	resp, err := cmv1.NewSatisfactionServiceClient(s.conn).Satisfies(ctx, &cmv1.SatisfiesRequest{Control: control, TargetFrameworks: []string{target},
		IncludeInferred: proto.Bool(false), IncludeDraft: true})
	if err != nil {
		t.Fatalf("satisfies %s: %v", control, err)
	}
	var b strings.Builder
	for _, f := range resp.GetFrameworks() {
		for _, c := range f.GetControls() {
			fmt.Fprintf(&b, "%s %s %s %d\n", c.GetControl(), c.GetSatisfaction(), c.GetRelationship(), c.GetStrength())
		}
	}
	return b.String()
}

func coverageOf(t *testing.T, ctx context.Context, s *stack, source, target string) string {
	t.Helper()
	resp, err := cmv1.NewSatisfactionServiceClient(s.conn).ComputeCoverage(ctx, &cmv1.ComputeCoverageRequest{
		Source: &cmv1.CoverageSource{Framework: "frameworks/" + source}, Target: "frameworks/" + target, IncludeInferred: proto.Bool(false), IncludeDraft: true})
	if err != nil {
		t.Fatalf("coverage: %v", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v\n", resp.GetTotals())
	for _, c := range resp.GetControls() {
		fmt.Fprintf(&b, "%s %s %s\n", c.GetControl(), c.GetStatus(), c.GetGap())
	}
	return b.String()
}

// TestRoundTripEveryFormat exports crosswalks with built-in, operator-made,
// imported and tenant-made rows in every format, imports them into a server
// started without the built-in content, and compares the answers.
func TestRoundTripEveryFormat(t *testing.T) {
	a := startDefault(t)
	_, acme := newTenantWithKey(t, a, "acme", "SCOPE_READ", "SCOPE_WRITE")
	acmeCtx := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+acme)
	if _, err := grpcImport(acmeCtx, a, &cmv1.ImportOptions{Format: "oscal-catalog", FrameworkId: "acme-ai"}, []byte(acmeCatalog), 1<<20); err != nil {
		t.Fatal(err)
	}
	// Imported public rows, an operator-made one, and tenant-made ones.
	imported := "Focal Document Element,Relationship,Reference Document Element,Strength of Relationship,Comments,Mapping Status\n" +
		"A.5.9,subset of,MAP-4.1,3,Inventory is part of mapping third-party risk.,APPROVED\n" +
		"A.8.16,intersects with,MEASURE-2.4,5,Monitoring on both sides.,DRAFT\n"
	if r := a.rest(t, "POST", "/v1/imports?format=olir-csv&bindings%5Bsource%5D=iso-27001-2022&bindings%5Btarget%5D=nist-ai-rmf-1.0", imported, "Authorization", bearer); r.status != 200 {
		t.Fatalf("public import: %d %s", r.status, r.raw)
	}
	made := newMapping()
	made["source"], made["target"] = "frameworks/iso-27001-2022/controls/A.5.10", "frameworks/nist-ai-rmf-1.0/controls/MAP-4.2"
	if r := a.rest(t, "POST", "/v1/mappings", made, "Authorization", bearer); r.status != 200 {
		t.Fatalf("operator mapping: %d %s", r.status, r.raw)
	}
	if r := a.rest(t, "POST", "/v1/imports?format=olir-csv&bindings%5Bsource%5D=acme-ai&bindings%5Btarget%5D=nist-ai-rmf-1.0", acmeOLIR, key(acme)...); r.status != 200 {
		t.Fatalf("tenant import: %d %s", r.status, r.raw)
	}
	own := newMapping()
	own["source"], own["target"], own["relationship"], own["strength"], own["reverseStrength"] = "frameworks/acme-ai/controls/GOV-2", "frameworks/iso-27001-2022/controls/A.5.2", "RELATIONSHIP_SUBSET_OF", 6, 10
	if r := a.rest(t, "POST", "/v1/mappings", own, key(acme)...); r.status != 200 {
		t.Fatalf("tenant mapping: %d %s", r.status, r.raw)
	}

	public := [][2]string{{"iso-27001-2022", "nist-ai-rmf-1.0"}}
	tenant := [][2]string{{"acme-ai", "nist-ai-rmf-1.0"}, {"acme-ai", "iso-27001-2022"}}
	for _, format := range interchange.CrosswalkFormats {
		t.Run(string(format), func(t *testing.T) {
			ctx, acmeCtx := admin(ctxT(t)), metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+acme)
			b := start(t, server.Config{AdminToken: adminToken, NoContent: true})
			if r := b.rest(t, "GET", "/v1/frameworks", nil); r.status != 200 || strings.Contains(string(r.raw), "frameworks/") {
				t.Fatalf("a server without content lists frameworks: %s", r.raw)
			}
			_, acmeB := newTenantWithKey(t, b, "acme", "SCOPE_READ", "SCOPE_WRITE")
			acmeBCtx := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+acmeB)
			// The frameworks first, as OSCAL catalogs (public) and CISO Assistant YAML (the tenant's).
			for _, fw := range []string{"iso-27001-2022", "nist-ai-rmf-1.0"} {
				doc, err := grpcExport(ctx, a, fw, "", "oscal-catalog")
				if err != nil {
					t.Fatal(err)
				}
				if rep, err := grpcImport(ctx, b, &cmv1.ImportOptions{Format: "oscal-catalog"}, doc, 64<<10); err != nil || len(rep.GetProblems()) > 0 {
					t.Fatalf("import %s: %v %v", fw, err, rep.GetProblems())
				}
			}
			doc, err := grpcExport(acmeCtx, a, "acme-ai", "", "ciso-yaml")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := grpcImport(acmeBCtx, b, &cmv1.ImportOptions{Format: "ciso-yaml"}, doc, 64<<10); err != nil {
				t.Fatalf("tenant framework: %v", err)
			}
			for _, set := range []struct {
				pairs    [][2]string
				from, to context.Context
			}{{public, ctx, ctx}, {tenant, acmeCtx, acmeBCtx}} {
				for _, p := range set.pairs {
					doc, err := grpcExport(set.from, a, p[0], p[1], string(format))
					if err != nil {
						t.Fatal(err)
					}
					opts := &cmv1.ImportOptions{Format: string(format)}
					if format == interchange.OLIRCSV || format == interchange.STRMCSV { // the sheets name neither side
						opts.Bindings = map[string]string{"source": p[0], "target": p[1]}
					}
					rep, err := grpcImport(set.to, b, opts, doc, 64<<10)
					if err != nil {
						t.Fatalf("import %s -> %s: %v", p[0], p[1], err)
					}
					if rep.GetCounts()[2].GetCreated() == 0 || len(rep.GetProblems()) > 0 {
						t.Fatalf("import %s -> %s: %s %v", p[0], p[1], counts(rep), rep.GetProblems())
					}
					for _, c := range []string{"A.5.9", "A.8.16", "A.5.10", "A.5.1", "A.5.2", "GOV-1", "GOV-2"} {
						for _, side := range []string{p[0], p[1]} {
							name := "frameworks/" + side + "/controls/" + c
							if _, err := cmv1.NewCatalogServiceClient(a.conn).GetControl(set.from, &cmv1.GetControlRequest{Name: name}); err != nil {
								continue
							}
							other := p[1]
							if side == p[1] {
								other = p[0]
							}
							if want, got := satisfiesDirect(t, set.from, a, name, "frameworks/"+other), satisfiesDirect(t, set.to, b, name, "frameworks/"+other); want != got {
								t.Errorf("%s satisfies in %s:\nbefore export\n%s\nafter import\n%s", name, other, want, got)
							}
						}
					}
					if want, got := coverageOf(t, set.from, a, p[0], p[1]), coverageOf(t, set.to, b, p[0], p[1]); want != got {
						t.Errorf("coverage %s -> %s differs:\nbefore export\n%s\nafter import\n%s", p[0], p[1], want, got)
					}
				}
			}
		})
	}
}

// TestGroupMappings creates a mapping between a group of a tenant's
// controls and an ISO/IEC 42001 control over REST, and checks what each
// question answers of it: a member alone PARTIAL naming the group, the
// whole group implemented FULL, the group shown whole by Explain and kept
// whole by the OSCAL and JSON exports, and deleted with a member.
func TestGroupMappings(t *testing.T) {
	s := startDefault(t)
	_, acme := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE")
	if r := s.rest(t, "POST", "/v1/frameworks?framework_id=acme-isms", map[string]any{"displayName": "ISMS"}, key(acme)...); r.status != 200 {
		t.Fatalf("framework: %d %s", r.status, r.raw)
	}
	for _, id := range []string{"POL-1", "POL-2"} {
		if r := s.rest(t, "POST", "/v1/frameworks/acme-isms/controls?control_id="+id, map[string]any{"title": "Policy " + id, "implementationStatus": "IMPLEMENTATION_STATUS_IMPLEMENTED"}, key(acme)...); r.status != 200 {
			t.Fatalf("control: %d %s", r.status, r.raw)
		}
	}
	group := map[string]any{
		"sources":      []string{"frameworks/acme-isms/controls/POL-2", "frameworks/acme-isms/controls/pol-1"},
		"target":       "frameworks/iso-42001-2023/controls/A.2.2",
		"relationship": "RELATIONSHIP_SUPERSET_OF", "reverseStrength": 7, "rationale": "RATIONALE_SEMANTIC",
		"justification": "The two policies together cover the AI policy; neither does alone.",
		"provenance":    map[string]any{"status": "MAPPING_STATUS_APPROVED"},
	}
	r := s.rest(t, "POST", "/v1/mappings", group, key(acme)...)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	var created cmv1.Mapping
	if err := protojson.Unmarshal(mustField(t, r, "mapping"), &created); err != nil {
		t.Fatal(err)
	}
	if created.GetSource() != "frameworks/acme-isms/controls/POL-1" || !slices.Equal(created.GetSources(), []string{"frameworks/acme-isms/controls/POL-1", "frameworks/acme-isms/controls/POL-2"}) {
		t.Fatalf("the group as stored: %v", &created)
	}
	// The same sides again, the other way round: a conflict.
	reverse := map[string]any{"source": "frameworks/iso-42001-2023/controls/A.2.2", "targets": []string{"frameworks/acme-isms/controls/POL-1", "frameworks/acme-isms/controls/POL-2"},
		"relationship": "RELATIONSHIP_SUBSET_OF", "strength": 7, "rationale": "RATIONALE_SEMANTIC", "justification": "x"}
	if r := s.rest(t, "POST", "/v1/mappings", reverse, key(acme)...); r.status != 409 || !strings.Contains(string(r.raw), "ALREADY_MAPPED") {
		t.Fatalf("the same groups reversed: %d %s", r.status, r.raw)
	}
	bad := map[string]any{"sources": []string{"frameworks/acme-isms/controls/POL-1", "frameworks/iso-27001-2022/controls/A.5.1"}, "target": "frameworks/iso-42001-2023/controls/A.2.3",
		"relationship": "RELATIONSHIP_INTERSECTS_WITH", "strength": 3, "reverseStrength": 3, "rationale": "RATIONALE_SEMANTIC", "justification": "x"}
	// The member at fault is named as the request gives it.
	if r := s.rest(t, "POST", "/v1/mappings", bad, key(acme)...); r.status != 400 || !slices.Contains(r.fieldViolations(), "mapping.sources[1]") ||
		!strings.Contains(string(r.raw), "of one framework (acme-isms), got frameworks/iso-27001-2022/controls/A.5.1") {
		t.Fatalf("a group across frameworks: %d %v %s", r.status, r.fieldViolations(), r.raw)
	}

	// A member alone: PARTIAL, naming the group.
	sat := s.rest(t, "GET", "/v1/frameworks/acme-isms/controls/POL-1:satisfies?target_frameworks=iso-42001-2023&include_inferred=false", nil, key(acme)...)
	var sr cmv1.SatisfiesResponse
	if err := protojson.Unmarshal(sat.raw, &sr); err != nil || len(sr.GetFrameworks()) != 1 {
		t.Fatalf("satisfies: %v %s", err, sat.raw)
	}
	got := sr.GetFrameworks()[0].GetControls()[0]
	if got.GetControl() != "frameworks/iso-42001-2023/controls/A.2.2" || got.GetSatisfaction() != cmv1.Satisfaction_SATISFACTION_PARTIAL || got.GetGroup() != created.GetName() {
		t.Fatalf("a member alone: %v", got)
	}
	// The whole group implemented: FULL; one member not: PARTIAL.
	cov := func() (*cmv1.ControlCoverage, string) {
		r := s.rest(t, "POST", "/v1/coverage:compute", map[string]any{"source": map[string]any{"framework": "frameworks/acme-isms"}, "target": "frameworks/iso-42001-2023"}, key(acme)...)
		var resp cmv1.ComputeCoverageResponse
		if err := protojson.Unmarshal(r.raw, &resp); err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.GetControls() {
			if c.GetControl() == "frameworks/iso-42001-2023/controls/A.2.2" {
				return c, string(r.raw)
			}
		}
		return nil, string(r.raw)
	}
	if c, raw := cov(); c == nil || c.GetStatus() != cmv1.Satisfaction_SATISFACTION_FULL || len(c.GetSources()) != 2 || c.GetSources()[0].GetGroup() != created.GetName() {
		t.Fatalf("coverage with the whole group implemented: %v\n%.500s", c, raw)
	}
	if r := s.rest(t, "PATCH", "/v1/frameworks/acme-isms/controls/POL-2", map[string]any{"implementationStatus": "IMPLEMENTATION_STATUS_PLANNED"}, key(acme)...); r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	if c, _ := cov(); c.GetStatus() != cmv1.Satisfaction_SATISFACTION_PARTIAL {
		t.Fatalf("coverage with one member implemented: %v", c)
	}
	// Explain shows it whole.
	ex := s.rest(t, "GET", "/v1/frameworks/acme-isms/controls/POL-2:explain?target=frameworks/iso-42001-2023/controls/A.2.2", nil, key(acme)...)
	var er cmv1.ExplainResponse
	if err := protojson.Unmarshal(ex.raw, &er); err != nil || len(er.GetGroups()) != 1 || len(er.GetGroups()[0].GetSources()) != 2 ||
		!strings.HasPrefix(er.GetSummary(), "No sound path of at most 3 mappings joins the two controls; a group mapping relates them.") {
		t.Fatalf("explain: %v %s", err, ex.raw)
	}
	// OSCAL keeps it whole; OLIR has a row only for what holds pairwise.
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+acme)
	doc, err := grpcExport(ctx, s, "acme-isms", "iso-42001-2023", "oscal-mapping")
	if err != nil || !strings.Contains(string(doc), `"sources":[{"type":"control","id-ref":"pol-1"},{"type":"control","id-ref":"pol-2"}]`) {
		t.Fatalf("OSCAL export: %v\n%s", err, doc)
	}
	// Read the other way, the group is the target side.
	reversed, err := grpcExport(ctx, s, "iso-42001-2023", "acme-isms", "oscal-mapping")
	if err != nil || !strings.Contains(string(reversed), `"relationship":"subset-of","sources":[{"type":"control","id-ref":"a.2.2"}],"targets":[{"type":"control","id-ref":"pol-1"},{"type":"control","id-ref":"pol-2"}]`) {
		t.Fatalf("OSCAL export from the other side: %v\n%s", err, reversed)
	}
	if rep, err := grpcImport(ctx, s, &cmv1.ImportOptions{Format: "oscal-mapping"}, reversed, 1<<20); err != nil || rep.GetRevision() != 0 {
		t.Fatalf("re-import of the reversed export: %v %v", err, rep)
	}
	sheet, err := grpcExport(ctx, s, "acme-isms", "iso-42001-2023", "olir-csv")
	if err != nil || strings.Count(string(sheet), "\n") != 1 {
		t.Fatalf("a group of two sources that contain a control says nothing pairwise: %v\n%s", err, sheet)
	}
	// Re-importing the OSCAL export changes nothing.
	rep, err := grpcImport(ctx, s, &cmv1.ImportOptions{Format: "oscal-mapping"}, doc, 1<<20)
	if err != nil || rep.GetRevision() != 0 || counts(rep) != "framework 0/0/0/0, control 0/0/0/0, mapping 0/0/1/0" {
		t.Fatalf("re-import of the group: %v %v", err, rep)
	}
	// Deleting a member deletes the group mapping.
	if r := s.rest(t, "DELETE", "/v1/frameworks/acme-isms/controls/POL-2", nil, key(acme)...); r.status != 200 {
		t.Fatalf("delete member: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "GET", "/v1/"+created.GetName(), nil, key(acme)...); r.status != 404 {
		t.Fatalf("the group mapping after its member: %d %s", r.status, r.raw)
	}
}

// mustField returns the raw JSON of a top-level field of a REST answer.
func mustField(t *testing.T, r restResponse, field string) []byte {
	t.Helper()
	v, ok := r.body[field]
	if !ok {
		t.Fatalf("no %s in %s", field, r.raw)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Over REST, on either store: a newer edition of an OSCAL collection whose
// map keeps its uuid and names fewer targets replaces the group mapping
// the first edition made, and Satisfies follows.
func TestNewerOSCALEditionReplacesItsMap(t *testing.T) {
	s := start(t, server.Config{AdminToken: adminToken})
	edition := func(version string, targets ...string) string {
		var items []string
		for _, t := range targets {
			items = append(items, `{"type": "control", "id-ref": "`+t+`"}`)
		}
		return `{"mapping-collection": {"uuid": "6a1e0c3b-2d4f-4e5a-8b7c-9d0e1f2a3b4` + version + `", "metadata": {"title": "Acme", "version": "` + version + `"},
		  "provenance": {"method": "human", "matching-rationale": "semantic", "status": "complete", "mapping-description": "d"},
		  "mappings": [{"uuid": "0c1d2e3f-4a5b-4c6d-8e7f-8a9b0c1d2e3f", "source-resource": {"type": "catalog", "href": "#iso"}, "target-resource": {"type": "catalog", "href": "#rmf"},
		    "maps": [{"uuid": "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a", "relationship": "superset-of", "sources": [{"type": "control", "id-ref": "A.8.20"}],
		      "targets": [` + strings.Join(items, ", ") + `], "props": [{"name": "reverse-strength", "ns": "https://github.com/controlmap/controlmap/ns/oscal", "value": "3"}],
		      "remarks": "Network security asks for all of them."}]}]}}`
	}
	q := "/v1/imports?format=oscal-mapping&bindings%5B%23iso%5D=iso-27001-2022&bindings%5B%23rmf%5D=nist-ai-rmf-1.0"
	if r := s.rest(t, "POST", q, edition("1", "GOVERN-1.5", "GOVERN-1.6", "GOVERN-1.7"), "Authorization", bearer); r.status != 200 {
		t.Fatalf("first edition: %d %s", r.status, r.raw)
	}
	r := s.rest(t, "POST", q, edition("2", "GOVERN-1.5", "GOVERN-1.6"), "Authorization", bearer)
	if rep := report(t, r); r.status != 200 || len(rep.GetChanges()) != 2 || rep.GetChanges()[0].GetAction() != "deleted" || rep.GetChanges()[1].GetAction() != "replaced" {
		t.Fatalf("second edition: %d %s", r.status, r.raw)
	}
	sat := s.rest(t, "GET", "/v1/frameworks/iso-27001-2022/controls/A.8.20:satisfies?target_frameworks=nist-ai-rmf-1.0&include_inferred=false&include_draft=true", nil)
	if !strings.Contains(string(sat.raw), "GOVERN-1.6") || strings.Contains(string(sat.raw), "GOVERN-1.7") {
		t.Fatalf("satisfies after the second edition: %s", sat.raw)
	}
}
