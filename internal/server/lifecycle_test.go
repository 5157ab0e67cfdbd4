package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/server"
)

// The REST facade must run the gRPC interceptor chain: the request id
// interceptor answers with the id it was given (or one it made), and the auth
// interceptor refuses a write (see TestMappingWritesOverREST).
func TestRESTRunsTheInterceptorChain(t *testing.T) {
	s := startDefault(t)
	r := s.rest(t, "GET", "/v1/frameworks/iso-27001-2022", nil, "X-Request-Id", "trace-123")
	if got := r.header.Get("X-Request-Id"); got != "trace-123" {
		t.Fatalf("REST X-Request-Id = %q, want the one sent", got)
	}
	r = s.rest(t, "GET", "/v1/frameworks/iso-27001-2022", nil)
	if len(r.header.Get("X-Request-Id")) != 16 {
		t.Fatalf("REST call got no request id: %v", r.header)
	}
	// And over gRPC the same interceptor answers in the header metadata.
	var md metadata.MD
	_, err := s.catalog.GetFramework(metadata.AppendToOutgoingContext(ctxT(t), "x-request-id", "grpc-7"),
		&cmv1.GetFrameworkRequest{Name: "frameworks/iso-27001-2022"}, grpc.Header(&md))
	if err != nil || len(md.Get("x-request-id")) != 1 || md.Get("x-request-id")[0] != "grpc-7" {
		t.Fatalf("gRPC x-request-id = %v, %v", md.Get("x-request-id"), err)
	}
}

func TestHealthAndOpenAPI(t *testing.T) {
	s := startDefault(t)
	r := s.rest(t, "GET", "/healthz", nil)
	if r.status != 200 || r.str("status") != "SERVING" {
		t.Fatalf("/healthz: %d %s", r.status, r.raw)
	}
	h, err := grpc_health_v1.NewHealthClient(s.conn).Check(ctxT(t), &grpc_health_v1.HealthCheckRequest{Service: "controlmap.v1.CatalogService"})
	if err != nil || h.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC health: %v %v", h, err)
	}
	r = s.rest(t, "GET", "/openapi.json", nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Info    struct{ Title string }    `json:"info"`
		Paths   map[string]map[string]any `json:"paths"`
		Comps   struct {
			SecuritySchemes map[string]any `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.raw, &doc); err != nil || doc.OpenAPI != "3.0.3" || doc.Info.Title != "controlmap API" || doc.Comps.SecuritySchemes["bearer"] == nil {
		t.Fatalf("/openapi.json: %v %.300s", err, r.raw)
	}
	// One path per resource: no template repeated ("/v1/{name}" for five).
	for _, p := range []string{"/v1/frameworks", "/v1/frameworks/{framework}", "/v1/frameworks/{framework}/controls/{control}:satisfies",
		"/v1/mappings/{mapping}", "/v1/crosswalks/{source}/{target}", "/v1/tenants/{tenant}"} {
		if doc.Paths[p] == nil {
			t.Errorf("OpenAPI lacks %s", p)
		}
	}
	if doc.Paths["/v1/{name}"] != nil {
		t.Error("OpenAPI has the templated path /v1/{name}")
	}
	if r := s.rest(t, "GET", "/openapi/v2.json", nil); r.status != 200 || r.str("swagger") != "2.0" {
		t.Errorf("/openapi/v2.json: %d %.100s", r.status, r.raw)
	}
	if r := s.rest(t, "GET", "/v1/nothing/here", nil); r.status != 404 {
		t.Errorf("unknown route: %d", r.status)
	}
}

// Shutdown lets a request that is in flight finish, then Run returns.
func TestGracefulShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, server.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", AdminToken: adminToken, ShutdownTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	waitServing(t, "http://"+srv.HTTPAddr()+"/healthz")

	// A raw HTTP/1.1 request with Expect: 100-continue: the server answers
	// "100 Continue" once the handler starts reading the body, so the request
	// is known to be in flight before shutdown begins.
	raw, _ := json.Marshal(newMapping())
	conn, err := net.Dial("tcp", srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/mappings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", adminToken, len(raw))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("expected 100 Continue, got %q %v", line, err)
	}
	_, _ = br.ReadString('\n') // blank line after the interim response
	cancel()                   // shutdown starts while the body is awaited
	select {
	case err := <-done:
		t.Fatalf("Run returned before the in-flight request finished: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := conn.Write(raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("in-flight request: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := http.Get("http://" + srv.HTTPAddr() + "/healthz"); err == nil {
		t.Fatal("still accepting connections after shutdown")
	}
}

func waitServing(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a database that was away: retries back off up to 5 s
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), "SERVING") && resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never reported SERVING", url)
}

func TestCORS(t *testing.T) {
	s := start(t, server.Config{CORSOrigins: []string{"https://grc.example"}})
	r := s.rest(t, "OPTIONS", "/v1/mappings", nil, "Origin", "https://grc.example", "Access-Control-Request-Method", "POST")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://grc.example" || !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	if r := s.rest(t, "GET", "/v1/frameworks", nil, "Origin", "https://evil.example"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin allowed: %v", r.header)
	}
}

func TestMetrics(t *testing.T) {
	s := startDefault(t)
	s.rest(t, "GET", "/v1/frameworks", nil)
	if _, err := s.catalog.ListFrameworks(ctxT(t), &cmv1.ListFrameworksRequest{}); err != nil {
		t.Fatal(err)
	}
	s.rest(t, "GET", "/v1/frameworks/nope", nil)
	ops := "http://" + s.srv.MetricsAddr()
	resp, err := http.Get(ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(raw)
	for _, want := range []string{
		`grpc_server_handled_total{grpc_code="OK",grpc_method="ListFrameworks",grpc_service="controlmap.v1.CatalogService",grpc_type="unary"} 2`,
		`grpc_server_handled_total{grpc_code="NotFound",grpc_method="GetFramework",grpc_service="controlmap.v1.CatalogService",grpc_type="unary"} 1`,
		`grpc_server_handling_seconds_bucket{grpc_method="ListFrameworks",grpc_service="controlmap.v1.CatalogService",grpc_type="unary",le="0.5"} 2`,
		"controlmap_store_revision 1",
		"controlmap_store_ready 1",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if resp, err := http.Get(ops + "/debug/pprof/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("pprof: %v %v", resp, err)
	}
	// The API's port serves neither.
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		if r := s.rest(t, "GET", path, nil); r.status != 404 {
			t.Errorf("%s on the API port: %d", path, r.status)
		}
	}
}

// A query parameter that names no field is 400 naming it, not ignored; a
// method a path does not take is 405 with Allow; an unknown path is 404.
func TestRESTRouting(t *testing.T) {
	s := startDefault(t)
	for q, field := range map[string]string{
		"/v1/frameworks?knd=FRAMEWORK_KIND_STANDARD":                             "knd",
		"/v1/frameworks/iso-27001-2022/controls?assesable=true":                  "assesable",
		"/v1/frameworks/iso-27001-2022/controls/A.5.1:satisfies?max_hop=1":       "max_hop",
		"/v1/mappings?framework=iso-27001-2022&status.x=1":                       "status.x",
		"/v1/frameworks/iso-27001-2022/controls/A.5.1:satisfies?maxHops=1&x[y]=": "x[y]",
	} {
		r := s.rest(t, "GET", q, nil)
		if r.status != 400 || !slices.Contains(r.fieldViolations(), field) {
			t.Errorf("%s: %d %s", q, r.status, r.raw)
		}
	}
	for _, q := range []string{"/v1/frameworks?kind=FRAMEWORK_KIND_STANDARD&page_size=2", "/v1/frameworks/iso-27001-2022/controls/A.5.1:satisfies?maxHops=1&min_strength=3"} {
		if r := s.rest(t, "GET", q, nil); r.status != 200 {
			t.Errorf("%s: %d %s", q, r.status, r.raw)
		}
	}
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/v1/frameworks", "GET, POST"},
		{"DELETE", "/v1/frameworks", "GET, POST"},
		{"PUT", "/v1/frameworks/iso-27001-2022", "DELETE, GET, PATCH"},
		{"POST", "/v1/frameworks/iso-27001-2022/controls/A.5.1:satisfies", "GET"},
		{"POST", "/v1/changes:watch", "GET"},
	} {
		r := s.rest(t, tc.method, tc.path, nil, "Authorization", bearer)
		if r.status != 405 || r.header.Get("Allow") != tc.allow || r.str("message") == "" {
			t.Errorf("%s %s: %d Allow %q %s", tc.method, tc.path, r.status, r.header.Get("Allow"), r.raw)
		}
	}
	if r := s.rest(t, "GET", "/v1/nothing/here", nil); r.status != 404 || r.str("message") == "" {
		t.Errorf("unknown path: %d %s", r.status, r.raw)
	}
}

// Every error carries an ErrorInfo whose reason is a value of ErrorReason,
// whichever layer answered: the service, the store, authentication, the
// rate limiter or the REST gateway.
func TestErrorReasonsAreOneVocabulary(t *testing.T) {
	s := startDefault(t)
	created := s.rest(t, "POST", "/v1/mappings", newMapping(), "Authorization", bearer)
	if created.status != 200 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	cases := []struct {
		method, path string
		body         any
		header       []string
		reason       string
	}{
		{"GET", "/v1/frameworks/nope", nil, []string{"Authorization", bearer}, "NOT_FOUND"},
		{"GET", "/v1/frameworks?page_size=-1", nil, []string{"Authorization", bearer}, "INVALID_ARGUMENT"},
		{"POST", "/v1/mappings", newMapping(), []string{"Authorization", bearer}, "ALREADY_MAPPED"},
		{"DELETE", "/v1/" + created.str("mapping", "name") + "?etag=1", nil, []string{"Authorization", bearer}, "ETAG_MISMATCH"},
		{"POST", "/v1/mappings", newMapping(), nil, "MISSING_TOKEN"},
		{"GET", "/v1/frameworks", nil, []string{"Authorization", "Basic eDp5"}, "UNSUPPORTED_AUTH_SCHEME"},
		{"PUT", "/v1/frameworks", nil, nil, "METHOD_NOT_ALLOWED"},
		{"POST", "/v1/mappings", `{"justification": "` + strings.Repeat("a", 2<<20) + `"}`, []string{"Authorization", bearer}, "BODY_TOO_LARGE"},
		{"DELETE", "/v1/frameworks/iso-27001-2022", nil, []string{"Authorization", bearer}, "NOT_OWNER"},
		{"POST", "/v1/frameworks?framework_id=x-y", map[string]any{"displayName": "X", "kind": "FRAMEWORK_KIND_INTERNAL"}, []string{"Authorization", bearer}, "TENANT_REQUIRED"},
	}
	for _, tc := range cases {
		r := s.rest(t, tc.method, tc.path, tc.body, tc.header...)
		if got := errorReason(r); got != tc.reason {
			t.Errorf("%s %s: reason %q, want %q (%d %.300s)", tc.method, tc.path, got, tc.reason, r.status, r.raw)
		}
	}
	// Spend the anonymous rate limit (1/s, bursts of 2).
	limited := start(t, server.Config{RateLimit: 1})
	var r restResponse
	for range 5 {
		r = limited.rest(t, "GET", "/v1/frameworks", nil)
	}
	if got := errorReason(r); got != "RATE_LIMITED" {
		t.Errorf("over the rate limit: reason %q (%d %s)", got, r.status, r.raw)
	}
}

// errorReason is the ErrorInfo reason of a REST error, checked to be a
// value of ErrorReason.
func errorReason(r restResponse) string {
	details, _ := r.body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		if strings.HasSuffix(fmt.Sprint(m["@type"]), "google.rpc.ErrorInfo") {
			reason := fmt.Sprint(m["reason"])
			if _, ok := cmv1.ErrorReason_value["ERROR_REASON_"+reason]; !ok || m["domain"] != "controlmap" {
				return "not in ErrorReason: " + reason
			}
			return reason
		}
	}
	return ""
}

// Each finished call is logged once, by go-grpc-middleware's logging, with
// its method, code, duration and request id: failures at warn.
func TestCallLog(t *testing.T) {
	var logs syncBuffer
	s := start(t, server.Config{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	s.rest(t, "GET", "/v1/frameworks", nil)
	r := s.rest(t, "GET", "/v1/frameworks/nope", nil, "X-Request-Id", "req-42")
	if r.status != 404 {
		t.Fatalf("GET: %d", r.status)
	}
	var found bool
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, "GetFramework") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		found = rec["level"] == "WARN" && rec["grpc.code"] == "NotFound" && rec["request_id"] == "req-42" && rec["grpc.time_ms"] != nil
		if !found {
			t.Fatalf("log line: %s", line)
		}
	}
	if !found || strings.Contains(logs.String(), "ListFrameworks") {
		t.Fatalf("want one warn line for the failed call and none for the good one at info:\n%s", logs.String())
	}
}
