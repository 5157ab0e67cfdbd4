package server_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/server"
)

// syncBuffer collects logs written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestListFrameworks(t *testing.T) {
	s := startDefault(t)
	want := []string{"frameworks/iso-27001-2022", "frameworks/iso-42001-2023", "frameworks/nist-ai-rmf-1.0"}

	resp, err := s.catalog.ListFrameworks(ctxT(t), &cmv1.ListFrameworksRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range resp.GetFrameworks() {
		names = append(names, f.GetName())
	}
	if !slices.Equal(names, want) || resp.GetRevision() != 1 {
		t.Fatalf("gRPC: frameworks %v at revision %d, want %v at 1", names, resp.GetRevision(), want)
	}

	r := s.rest(t, "GET", "/v1/frameworks", nil)
	if r.status != 200 {
		t.Fatalf("REST: status %d: %s", r.status, r.raw)
	}
	fws := r.body["frameworks"].([]any)
	if len(fws) != 3 || fws[2].(map[string]any)["kind"] != "FRAMEWORK_KIND_FRAMEWORK" ||
		fws[0].(map[string]any)["assessableCount"] != float64(123) {
		t.Fatalf("REST: unexpected frameworks %s", r.raw)
	}

	// Paging one by one yields the same list.
	names = nil
	token := ""
	for {
		r := s.rest(t, "GET", "/v1/frameworks?page_size=1&page_token="+url.QueryEscape(token), nil)
		for _, f := range r.body["frameworks"].([]any) {
			names = append(names, f.(map[string]any)["name"].(string))
		}
		if token = r.str("nextPageToken"); token == "" {
			break
		}
	}
	if !slices.Equal(names, want) {
		t.Fatalf("paged frameworks %v, want %v", names, want)
	}

	r = s.rest(t, "GET", "/v1/frameworks?kind=FRAMEWORK_KIND_STANDARD", nil)
	if n := len(r.body["frameworks"].([]any)); n != 2 {
		t.Fatalf("kind filter: %d frameworks, want 2", n)
	}
}

func TestGetFramework(t *testing.T) {
	s := startDefault(t)
	f, err := s.catalog.GetFramework(ctxT(t), &cmv1.GetFrameworkRequest{Name: "frameworks/iso-42001-2023"})
	if err != nil {
		t.Fatal(err)
	}
	if f.GetFramework().GetDisplayName() != "ISO/IEC 42001:2023" || f.GetFramework().GetAssessableCount() != 70 || len(f.GetFramework().GetTags()) != 18 {
		t.Fatalf("unexpected framework %v", f.GetFramework())
	}
	r := s.rest(t, "GET", "/v1/frameworks/nist-ai-rmf-1.0", nil)
	if r.status != 200 || r.str("framework", "publisher") != "NIST" {
		t.Fatalf("REST: %d %s", r.status, r.raw)
	}
	groups := r.body["framework"].(map[string]any)["groups"].([]any)
	if len(groups) != 4 || groups[0] != "frameworks/nist-ai-rmf-1.0/controls/GOVERN" {
		t.Fatalf("AI RMF groups %v", groups)
	}
}

// collectControls pages through a framework's controls over REST with the
// given filters, a few at a time.
func collectControls(t *testing.T, s *stack, fw, filters string) []map[string]any {
	t.Helper()
	var out []map[string]any
	token := ""
	for pages := 0; ; pages++ {
		if pages > 200 {
			t.Fatal("paging does not end")
		}
		r := s.rest(t, "GET", fmt.Sprintf("/v1/frameworks/%s/controls?page_size=17&%s&page_token=%s", fw, filters, url.QueryEscape(token)), nil)
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
		for _, c := range r.body["controls"].([]any) {
			out = append(out, c.(map[string]any))
		}
		if token = r.str("nextPageToken"); token == "" {
			return out
		}
	}
}

func refIDs(cs []map[string]any) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c["refId"].(string)
	}
	return ids
}

func TestListControlsCountsAndClauses(t *testing.T) {
	s := startDefault(t)
	for _, tc := range []struct {
		fw, filter string
		want       int
	}{
		{"iso-27001-2022", "kind=CONTROL_KIND_ANNEX_CONTROL&assessable=true", 93},
		{"iso-42001-2023", "kind=CONTROL_KIND_ANNEX_CONTROL&assessable=true", 38},
		{"nist-ai-rmf-1.0", "assessable=true", 72},
		{"nist-ai-rmf-1.0", "kind=CONTROL_KIND_CATEGORY", 19},
		{"iso-27001-2022", "kind=CONTROL_KIND_CLAUSE&assessable=true", 30},
		{"iso-42001-2023", "kind=CONTROL_KIND_CLAUSE&assessable=true", 32},
		{"iso-27001-2022", "group=A.6", 9},
		{"iso-27001-2022", "parent_control=A.8", 34},
		{"iso-42001-2023", "tag=objective:fairness", -1},
	} {
		got := collectControls(t, s, tc.fw, tc.filter)
		if tc.want >= 0 && len(got) != tc.want {
			t.Errorf("%s %s: %d controls, want %d", tc.fw, tc.filter, len(got), tc.want)
		}
		if tc.want < 0 && len(got) == 0 {
			t.Errorf("%s %s: no controls", tc.fw, tc.filter)
		}
	}

	all := refIDs(collectControls(t, s, "iso-42001-2023", "kind=CONTROL_KIND_CLAUSE"))
	for _, id := range []string{"4", "4.1", "5.2", "6.1", "6.1.4", "7.5.3", "8.4", "9.2.2", "9.3.3", "10.2"} {
		if !slices.Contains(all, id) {
			t.Errorf("ISO 42001 clause %s missing", id)
		}
	}

	r := s.rest(t, "GET", "/v1/frameworks/iso-27001-2022/controls?query=cloud", nil)
	if ids := refIDs(toMaps(r.body["controls"])); !slices.Contains(ids, "A.5.23") {
		t.Errorf("query=cloud found %v, want A.5.23 among them", ids)
	}

	// Over gRPC too, with the total over all pages.
	resp, err := s.catalog.ListControls(ctxT(t), &cmv1.ListControlsRequest{
		Parent: "frameworks/nist-ai-rmf-1.0", ParentControl: "GV-1", PageSize: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetTotalSize() != 7 || len(resp.GetControls()) != 3 || resp.GetNextPageToken() == "" ||
		resp.GetControls()[0].GetName() != "frameworks/nist-ai-rmf-1.0/controls/GOVERN-1.1" {
		t.Fatalf("gRPC ListControls: %v", resp)
	}
}

func toMaps(v any) []map[string]any {
	var out []map[string]any
	for _, x := range v.([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

func TestGetControlAliases(t *testing.T) {
	s := startDefault(t)
	for _, tc := range []struct{ fw, ref, want string }{
		{"iso-27001-2022", "A.5.15", "A.5.15"},
		{"iso-27001-2022", "5.15", "A.5.15"},
		{"iso-27001-2022", "a.5.15", "A.5.15"},
		{"iso-27001-2022", "A5.15", "A.5.15"},
		{"iso-27001-2022", "5.1", "5.1"}, // a clause id wins over an annex alias
		{"iso-42001-2023", "6.2.4", "A.6.2.4"},
		{"nist-ai-rmf-1.0", "GOVERN 1.1", "GOVERN-1.1"},
		{"nist-ai-rmf-1.0", "GV-1.1", "GOVERN-1.1"},
		{"nist-ai-rmf-1.0", "GV 1.1", "GOVERN-1.1"},
		{"nist-ai-rmf-1.0", "govern-1.1", "GOVERN-1.1"},
		{"nist-ai-rmf-1.0", "MS-2.11", "MEASURE-2.11"},
		{"nist-ai-rmf-1.0", "mg", "MANAGE"},
	} {
		want := "frameworks/" + tc.fw + "/controls/" + tc.want
		g, err := s.catalog.GetControl(ctxT(t), &cmv1.GetControlRequest{Name: "frameworks/" + tc.fw + "/controls/" + tc.ref})
		if err != nil || g.GetControl().GetName() != want {
			t.Errorf("gRPC %s/%s: got %q, %v; want %s", tc.fw, tc.ref, g.GetControl().GetName(), err, want)
		}
		r := s.rest(t, "GET", "/v1/frameworks/"+tc.fw+"/controls/"+url.PathEscape(tc.ref), nil)
		if r.status != 200 || r.str("control", "name") != want {
			t.Errorf("REST %s/%s: %d %s; want %s", tc.fw, tc.ref, r.status, r.raw, want)
		}
	}
	r := s.rest(t, "GET", "/v1/frameworks/nist-ai-rmf-1.0/controls/GOVERN-1.1", nil)
	c := r.body["control"].(map[string]any)
	if c["parent"] != "frameworks/nist-ai-rmf-1.0/controls/GOVERN-1" || c["group"] != "frameworks/nist-ai-rmf-1.0/controls/GOVERN" ||
		c["kind"] != "CONTROL_KIND_SUBCATEGORY" || c["assessable"] != true || !slices.Contains(c["aliases"].([]any), any("GV-1.1")) {
		t.Fatalf("GOVERN-1.1: %s", r.raw)
	}
}

func TestCatalogErrors(t *testing.T) {
	s := startDefault(t)
	for _, tc := range []struct {
		path   string
		status int
		field  string
	}{
		{"/v1/frameworks/unknown-fw", 404, ""},
		{"/v1/frameworks/Bad_Name", 400, "name"},
		{"/v1/frameworks/iso-27001-2022/controls/A.9.99", 404, ""},
		{"/v1/frameworks/unknown-fw/controls/A.5.1", 404, ""},
		{"/v1/frameworks/unknown-fw/controls", 404, ""},
		{"/v1/frameworks/iso-27001-2022/controls?page_size=-1", 400, "page_size"},
		{"/v1/frameworks/iso-27001-2022/controls?page_token=garbage", 400, "page_token"},
		{"/v1/frameworks?page_token=garbage", 400, "page_token"},
		{"/v1/frameworks/iso-27001-2022/controls?kind=99", 400, "kind"},
		{"/v1/frameworks/iso-27001-2022/controls?parent_control=nope", 404, ""},
		{"/v1/frameworks/iso-27001-2022/controls?group=frameworks/iso-42001-2023/controls/A.2", 400, "group"},
		{"/v1/frameworks?kind=NOT_A_KIND", 400, ""},
	} {
		r := s.rest(t, "GET", tc.path, nil)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.path, r.status, tc.status, r.raw)
			continue
		}
		if r.body["code"] == nil || r.body["message"] == "" {
			t.Errorf("%s: error body without code and message: %s", tc.path, r.raw)
		}
		if tc.field != "" && !slices.Contains(r.fieldViolations(), tc.field) {
			t.Errorf("%s: field violations %v, want %q", tc.path, r.fieldViolations(), tc.field)
		}
	}

	// A page token is bound to its filters.
	r := s.rest(t, "GET", "/v1/frameworks/iso-27001-2022/controls?page_size=2&kind=CONTROL_KIND_CLAUSE", nil)
	r = s.rest(t, "GET", "/v1/frameworks/iso-27001-2022/controls?page_size=2&page_token="+url.QueryEscape(r.str("nextPageToken")), nil)
	if r.status != 400 {
		t.Errorf("token replayed with other filters: status %d", r.status)
	}

	// page_size above the maximum is clamped, not refused.
	r = s.rest(t, "GET", "/v1/frameworks/iso-27001-2022/controls?page_size=100000", nil)
	if r.status != 200 || len(r.body["controls"].([]any)) != 138 {
		t.Errorf("huge page_size: %d, %d controls", r.status, len(r.body["controls"].([]any)))
	}

	for _, tc := range []struct {
		name string
		call func() error
		code codes.Code
	}{
		{"GetFramework unknown", func() error {
			_, err := s.catalog.GetFramework(ctxT(t), &cmv1.GetFrameworkRequest{Name: "frameworks/nope"})
			return err
		}, codes.NotFound},
		{"GetFramework malformed", func() error {
			_, err := s.catalog.GetFramework(ctxT(t), &cmv1.GetFrameworkRequest{Name: "iso-27001-2022"})
			return err
		}, codes.InvalidArgument},
		{"GetControl empty", func() error {
			_, err := s.catalog.GetControl(ctxT(t), &cmv1.GetControlRequest{})
			return err
		}, codes.InvalidArgument},
		{"ListControls bad enum", func() error {
			_, err := s.catalog.ListControls(ctxT(t), &cmv1.ListControlsRequest{Parent: "frameworks/iso-27001-2022", Kind: 42})
			return err
		}, codes.InvalidArgument},
		{"ListFrameworks negative page", func() error {
			_, err := s.catalog.ListFrameworks(ctxT(t), &cmv1.ListFrameworksRequest{PageSize: -5})
			return err
		}, codes.InvalidArgument},
	} {
		if got := status.Code(tc.call()); got != tc.code {
			t.Errorf("%s: code %v, want %v", tc.name, got, tc.code)
		}
	}
}

// A huge value a client sends comes back, in errors and in logs, as a
// short prefix only.
func TestLargeInputsAreNotEchoed(t *testing.T) {
	var logs syncBuffer
	s := start(t, server.Config{AdminToken: adminToken, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	huge := strings.Repeat("x", 900_000)
	check := func(what string, size int) {
		t.Helper()
		if size > 8<<10 {
			t.Fatalf("%s: %d bytes", what, size)
		}
	}
	for _, r := range []restResponse{
		s.rest(t, "GET", "/v1/frameworks/"+huge, nil),
		s.rest(t, "GET", "/v1/frameworks/iso-27001-2022/controls?query="+huge, nil),
		s.rest(t, "POST", "/v1/mappings", map[string]any{"source": huge, "target": "frameworks/nist-ai-rmf-1.0/controls/GOVERN-1.1"}, "Authorization", bearer),
		s.rest(t, "POST", "/v1/mappings", `{"strength": "`+huge+`"}`, "Authorization", bearer),
		s.rest(t, "DELETE", "/v1/mappings/m0000000000000000?etag="+huge, nil, "Authorization", bearer),
	} {
		if r.status < 400 {
			t.Fatalf("a huge value was accepted: %d", r.status)
		}
		check("REST answer", len(r.raw))
	}
	_, err := s.catalog.GetFramework(ctxT(t), &cmv1.GetFrameworkRequest{Name: "frameworks/" + huge})
	check("gRPC error", len(status.Convert(err).Message()))
	for _, line := range strings.Split(logs.String(), "\n") {
		check("log line", len(line))
	}
}
