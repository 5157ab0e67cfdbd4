package mcpserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/client"
	"github.com/controlmap/controlmap/internal/mcpserver"
	"github.com/controlmap/controlmap/internal/server"
)

const adminToken = "mcp-test-admin-token"

// fixture is a running server with two tenants: acme owns an internal
// framework, globex does not see it.
type fixture struct {
	grpcAddr, base string
	conn           *grpc.ClientConn
	acme, globex   string
}

func start(t *testing.T, cfg server.Config) *fixture {
	t.Helper()
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.AdminToken = "127.0.0.1:0", "127.0.0.1:0", adminToken
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	f := &fixture{grpcAddr: srv.GRPCAddr(), base: "http://" + srv.HTTPAddr()}
	if f.conn, err = client.Dial(f.grpcAddr, client.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.conn.Close() })
	tenants := cmv1.NewTenantServiceClient(f.conn)
	op := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+adminToken)
	key := func(tenant string) string {
		if _, err := tenants.CreateTenant(op, &cmv1.CreateTenantRequest{TenantId: tenant, Tenant: &cmv1.Tenant{DisplayName: strings.ToUpper(tenant)}}); err != nil {
			t.Fatal(err)
		}
		k, err := tenants.CreateApiKey(op, &cmv1.CreateApiKeyRequest{Parent: "tenants/" + tenant,
			ApiKey: &cmv1.ApiKey{Scopes: []cmv1.Scope{cmv1.Scope_SCOPE_READ, cmv1.Scope_SCOPE_WRITE}}})
		if err != nil {
			t.Fatal(err)
		}
		return k.GetSecret()
	}
	f.acme, f.globex = key("acme"), key("globex")
	actx := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+f.acme)
	cat := cmv1.NewCatalogServiceClient(f.conn)
	if _, err := cat.CreateFramework(actx, &cmv1.CreateFrameworkRequest{FrameworkId: "acme-isms", Framework: &cmv1.Framework{DisplayName: "Acme ISMS"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateControl(actx, &cmv1.CreateControlRequest{Parent: "frameworks/acme-isms", ControlId: "AI-1",
		Control: &cmv1.Control{Title: "AI impact assessment", ImplementationStatus: cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// bearerTransport adds a bearer token to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// overHTTP opens a session on /mcp with token.
func (f *fixture) overHTTP(t *testing.T, token string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	s, err := c.Connect(ctxT(t), &mcp.StreamableClientTransport{Endpoint: f.base + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{token}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// overStdio runs the stdio server as `controlmap mcp` does (a gRPC
// connection with the token, the protocol on a pair of pipes) and opens a
// session on it.
func (f *fixture) overStdio(t *testing.T, token string) *mcp.ClientSession {
	t.Helper()
	conn, err := client.Dial(f.grpcAddr, client.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- mcpserver.New(conn, mcpserver.Options{Version: "test"}).Run(ctx, &mcp.IOTransport{Reader: toServer, Writer: fromServer})
	}()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	s, err := c.Connect(ctxT(t), &mcp.IOTransport{Reader: toClient, Writer: fromClient}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		cancel()
		<-done
	})
	return s
}

// call calls a tool and decodes its structured content into out; it
// returns the result for the text and the error flag.
func call(t *testing.T, s *mcp.ClientSession, tool string, args map[string]any, out any) *mcp.CallToolResult {
	t.Helper()
	res, err := s.CallTool(ctxT(t), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error %v", tool, err)
	}
	if out != nil && !res.IsError {
		raw, err := json.Marshal(res.StructuredContent)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: structured content %s: %v", tool, raw, err)
		}
	}
	return res
}

func textOf(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestToolsOverBothTransports(t *testing.T) {
	f := start(t, server.Config{})
	for name, open := range map[string]func(*testing.T, string) *mcp.ClientSession{"http": f.overHTTP, "stdio": f.overStdio} {
		t.Run(name, func(t *testing.T) {
			f.exercise(t, open(t, f.acme))
			// Another tenant's key does not see acme's framework.
			var fws mcpserver.ListFrameworksOutput
			call(t, open(t, f.globex), "list_frameworks", nil, &fws)
			if slices.ContainsFunc(fws.Frameworks, func(fw mcpserver.Framework) bool { return fw.Name == "frameworks/acme-isms" }) || len(fws.Frameworks) != 3 {
				t.Errorf("globex sees %+v", fws.Frameworks)
			}
		})
	}
}

// exercise runs every tool, resource and prompt through s, a session of
// acme's key, and compares the figures with the gRPC API's.
func (f *fixture) exercise(t *testing.T, s *mcp.ClientSession) {
	tools, err := s.ListTools(ctxT(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		if tool.Description == "" || tool.OutputSchema == nil {
			t.Errorf("%s: no description or output schema", tool.Name)
		}
	}
	slices.Sort(names)
	if want := []string{"coverage", "explain", "find_controls", "get_control", "get_crosswalk", "list_frameworks", "satisfies"}; !slices.Equal(names, want) {
		t.Fatalf("tools %v, want %v", names, want)
	}

	var fws mcpserver.ListFrameworksOutput
	call(t, s, "list_frameworks", nil, &fws)
	if !slices.ContainsFunc(fws.Frameworks, func(fw mcpserver.Framework) bool { return fw.Name == "frameworks/acme-isms" && fw.Kind == "INTERNAL" }) ||
		!slices.ContainsFunc(fws.Frameworks, func(fw mcpserver.Framework) bool { return fw.Name == "frameworks/iso-42001-2023" }) {
		t.Errorf("acme's frameworks: %+v", fws.Frameworks)
	}

	var found mcpserver.FindControlsOutput
	call(t, s, "find_controls", map[string]any{"framework": "iso-27001-2022", "query": "5.1"}, &found)
	if !slices.ContainsFunc(found.Controls, func(c mcpserver.ControlSummary) bool { return c.Name == "frameworks/iso-27001-2022/controls/A.5.1" }) {
		t.Errorf("find_controls 5.1: %+v", found.Controls)
	}
	call(t, s, "find_controls", map[string]any{"framework": "iso-27001-2022", "page_size": 10}, &found)
	if len(found.Controls) != 10 || found.NextPageToken == "" {
		t.Errorf("a page of 10: %d controls, token %q", len(found.Controls), found.NextPageToken)
	}

	var ctl mcpserver.Control
	call(t, s, "get_control", map[string]any{"control": "frameworks/acme-isms/controls/AI-1"}, &ctl)
	if ctl.Title != "AI impact assessment" || ctl.ImplementationStatus != "IMPLEMENTED" {
		t.Errorf("get_control AI-1: %+v", ctl)
	}
	// Bad input is a tool error naming what is wrong, not a protocol failure.
	if res := call(t, s, "get_control", map[string]any{"control": "frameworks/iso-27001-2022/controls/Z.99"}, nil); !res.IsError || !strings.Contains(textOf(res), "Z.99") {
		t.Errorf("unknown control: error %v, %q", res.IsError, textOf(res))
	}
	for _, bad := range []struct {
		tool  string
		args  map[string]any
		names string // what the error must name
	}{
		{"find_controls", map[string]any{"framework": "no-such-framework"}, "no-such-framework"},
		{"find_controls", map[string]any{"framework": ""}, "framework:"},
		{"get_control", map[string]any{"control": "A.5.1"}, "control:"},
		{"coverage", map[string]any{"target": "iso-42001-2023"}, "source_framework or source_controls"},
		{"coverage", map[string]any{"source_framework": "nowhere", "target": "iso-42001-2023"}, "frameworks/nowhere"},
		{"find_controls", map[string]any{"framework": "iso-27001-2022", "page_token": "garbage"}, "page_token"},
		{"satisfies", map[string]any{"control": "frameworks/iso-27001-2022/controls/A.5.1", "max_hops": 9}, "max_hops"},
		{"satisfies", map[string]any{"control": "A.5.1"}, "control"},
		{"coverage", map[string]any{"target": "iso-42001-2023", "source_controls": []map[string]any{
			{"control": "frameworks/acme-isms/controls/AI-1", "implementation": "SOMETIMES"}}}, "source_controls[0].implementation"},
		{"coverage", map[string]any{"source_framework": "iso-27001-2022", "target": "nowhere"}, "nowhere"},
		{"explain", map[string]any{"source": "frameworks/iso-27001-2022/controls/A.5.1", "target": "frameworks/iso-42001-2023/controls/Q.1"}, "Q.1"},
		{"get_crosswalk", map[string]any{"source": "iso-27001-2022", "target": "iso-42001-2023", "relationship": "CLOSE_TO"}, "relationship"},
		{"get_crosswalk", map[string]any{"source": "iso-27001-2022", "target": "frameworks/globex-isms"}, "globex-isms"},
	} {
		if res := call(t, s, bad.tool, bad.args, nil); !res.IsError || !strings.Contains(textOf(res), bad.names) {
			t.Errorf("%s %v: error %v, %q; want a tool error naming %s", bad.tool, bad.args, res.IsError, textOf(res), bad.names)
		}
	}

	// satisfies and coverage give the API's figures.
	actx := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+f.acme)
	sat := cmv1.NewSatisfactionServiceClient(f.conn)
	want, err := sat.Satisfies(actx, &cmv1.SatisfiesRequest{Control: "frameworks/iso-27001-2022/controls/A.5.1"})
	if err != nil {
		t.Fatal(err)
	}
	var got mcpserver.SatisfiesOutput
	call(t, s, "satisfies", map[string]any{"control": "frameworks/iso-27001-2022/controls/A.5.1"}, &got)
	if len(got.Frameworks) == 0 || len(got.Frameworks) != len(want.GetFrameworks()) {
		t.Fatalf("satisfies: %d frameworks, the API %d", len(got.Frameworks), len(want.GetFrameworks()))
	}
	for i, fw := range got.Frameworks {
		if fw.Framework != want.GetFrameworks()[i].GetFramework() || len(fw.Controls) != len(want.GetFrameworks()[i].GetControls()) {
			t.Errorf("satisfies %s: %d controls, the API %d", fw.Framework, len(fw.Controls), len(want.GetFrameworks()[i].GetControls()))
		}
	}
	wantCov, err := sat.ComputeCoverage(actx, &cmv1.ComputeCoverageRequest{Source: &cmv1.CoverageSource{Framework: "iso-27001-2022"}, Target: "iso-42001-2023"})
	if err != nil {
		t.Fatal(err)
	}
	var cov mcpserver.CoverageOutput
	call(t, s, "coverage", map[string]any{"source_framework": "iso-27001-2022", "target": "iso-42001-2023"}, &cov)
	wt := wantCov.GetTotals()
	if cov.Totals.Total != wt.GetTotal() || cov.Totals.Full != wt.GetFull() || cov.Totals.Partial != wt.GetPartial() ||
		len(cov.Reuse) != int(wt.GetFull()) || len(cov.Extend) != int(wt.GetPartial()) || len(cov.New) != int(wt.GetNone()) || len(cov.Groups) != len(wantCov.GetGroups()) {
		t.Errorf("coverage %+v, the API %v", cov.Totals, wt)
	}

	// explain gives the proof with each mapping's justification.
	target := got.Frameworks[0].Controls[0].Control
	var ex mcpserver.ExplainOutput
	call(t, s, "explain", map[string]any{"source": "frameworks/iso-27001-2022/controls/A.5.1", "target": target}, &ex)
	if len(ex.Paths) == 0 || len(ex.Paths[0].Steps) == 0 || ex.Paths[0].Steps[0].Justification == "" || ex.Summary == "" {
		t.Errorf("explain A.5.1 -> %s: %+v", target, ex)
	}

	// get_crosswalk pages; nothing is cut off silently.
	var p1, p2 mcpserver.CrosswalkOutput
	call(t, s, "get_crosswalk", map[string]any{"source": "iso-27001-2022", "target": "iso-42001-2023", "page_size": 5}, &p1)
	call(t, s, "get_crosswalk", map[string]any{"source": "iso-27001-2022", "target": "iso-42001-2023", "page_size": 5, "page_token": p1.NextPageToken}, &p2)
	if len(p1.Mappings) != 5 || p1.NextPageToken == "" || p1.MappingCount <= 5 || len(p2.Mappings) == 0 || p2.Mappings[0].Name == p1.Mappings[0].Name {
		t.Errorf("crosswalk pages: %d then %d of %d", len(p1.Mappings), len(p2.Mappings), p1.MappingCount)
	}

	// Resources: a framework and a crosswalk, whole.
	res, err := s.ReadResource(ctxT(t), &mcp.ReadResourceParams{URI: "controlmap://frameworks/iso-42001-2023"})
	if err != nil {
		t.Fatal(err)
	}
	var fr mcpserver.FrameworkResource
	if err := json.Unmarshal([]byte(res.Contents[0].Text), &fr); err != nil || len(fr.Controls) != int(fr.Framework.Controls) || len(fr.Controls) == 0 {
		t.Errorf("framework resource: %d controls of %d, %v", len(fr.Controls), fr.Framework.Controls, err)
	}
	res, err = s.ReadResource(ctxT(t), &mcp.ReadResourceParams{URI: "controlmap://crosswalks/iso-27001-2022/iso-42001-2023"})
	if err != nil {
		t.Fatal(err)
	}
	var cr mcpserver.CrosswalkResource
	if err := json.Unmarshal([]byte(res.Contents[0].Text), &cr); err != nil || len(cr.Mappings) != int(p1.MappingCount) {
		t.Errorf("crosswalk resource: %d mappings of %d, %v", len(cr.Mappings), p1.MappingCount, err)
	}
	if _, err := s.ReadResource(ctxT(t), &mcp.ReadResourceParams{URI: "controlmap://frameworks/no-such"}); err == nil {
		t.Error("an unknown framework resource was read")
	}

	prompt, err := s.GetPrompt(ctxT(t), &mcp.GetPromptParams{Name: "gap_analysis", Arguments: map[string]string{"source": "iso-27001-2022", "target": "iso-42001-2023"}})
	if err != nil || len(prompt.Messages) != 1 || !strings.Contains(prompt.Messages[0].Content.(*mcp.TextContent).Text, "iso-42001-2023") {
		t.Errorf("gap_analysis prompt: %+v %v", prompt, err)
	}
}

// /mcp is stateless: each request is authenticated on its own, as over
// REST, with the same budget of failed attempts per address.
func TestHTTPAuthentication(t *testing.T) {
	f := start(t, server.Config{FailedAuthRate: 1.0 / 60}) // bad credentials: one a minute, bursts of one
	post := func(base, token, host string) *http.Response {
		body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
		req, _ := http.NewRequest("POST", base+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post(f.base, f.acme, ""); resp.StatusCode != http.StatusOK || resp.Header.Get("Mcp-Session-Id") != "" {
		t.Errorf("initialize with a key: %d, session %q (want 200 and no session)", resp.StatusCode, resp.Header.Get("Mcp-Session-Id"))
	}
	if resp, err := http.Get(f.base + "/mcp"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /mcp (a stream that would outlive the request): %v %v", resp.StatusCode, err)
	}
	// Without a token a client reads public data, as REST does.
	var fws mcpserver.ListFrameworksOutput
	call(t, f.overHTTP(t, ""), "list_frameworks", nil, &fws)
	if len(fws.Frameworks) != 3 {
		t.Errorf("anonymous: %+v", fws.Frameworks)
	}
	// Bad tokens are refused, and an address that keeps guessing is
	// held off, even with a good token.
	codes := map[int]int{}
	for range 3 {
		codes[post(f.base, "cmk_not-a-key", "").StatusCode]++
	}
	if codes[http.StatusUnauthorized] != 1 || codes[http.StatusTooManyRequests] != 2 {
		t.Errorf("3 bad tokens: %v", codes)
	}
	if resp := post(f.base, f.acme, ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a good token right after the guessing: %d, want 429", resp.StatusCode)
	} else if after, _ := strconv.Atoi(resp.Header.Get("Retry-After")); after < 55 || after > 60 {
		t.Errorf("Retry-After %q at one bad credential a minute", resp.Header.Get("Retry-After"))
	}

	// Refused without a token when anonymous reads are off; gone with
	// MCP off; a proxy's host name is accepted once proxies are trusted.
	if resp := post(start(t, server.Config{DenyAnonymous: true}).base, "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token, anonymous reads off: %d", resp.StatusCode)
	}
	if resp := post(start(t, server.Config{DisableMCP: true}).base, "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/mcp with MCP off: %d, want 404", resp.StatusCode)
	}
	if resp := post(f.base, "", "controlmap.example.com"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another host name on loopback: %d, want 403 (DNS rebinding protection)", resp.StatusCode)
	}
	proxied := start(t, server.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, ClientIPHeader: "X-Forwarded-For"})
	if resp := post(proxied.base, "", "controlmap.example.com"); resp.StatusCode != http.StatusOK {
		t.Errorf("through a trusted proxy: %d", resp.StatusCode)
	}
}
