package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/server"
	"github.com/controlmap/controlmap/internal/store/postgres/pgtest"
)

const adminToken = "test-admin-token"

// stack is a running server with a gRPC client and a REST base URL.
type stack struct {
	srv       *server.Server
	conn      *grpc.ClientConn
	catalog   cmv1.CatalogServiceClient
	crosswalk cmv1.CrosswalkServiceClient
	base      string
}

// start runs a server on free loopback ports for the duration of the test.
// With CONTROLMAP_TEST_DATASTORE=postgres, servers that name no datastore
// run on a fresh, migrated PostgreSQL database instead of memory, so the
// whole suite checks both stores.
func start(t *testing.T, cfg server.Config) *stack {
	t.Helper()
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.MetricsAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	onPostgres := cfg.Datastore == "" && os.Getenv("CONTROLMAP_TEST_DATASTORE") == "postgres"
	if onPostgres {
		cfg.Datastore, cfg.DatabaseURL, cfg.Migrate = "postgres", pgtest.DatabaseURL(t), true
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	conn := dial(t, srv.GRPCAddr())
	if onPostgres {
		waitServing(t, "http://"+srv.HTTPAddr()+"/healthz")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &stack{
		srv:       srv,
		conn:      conn,
		catalog:   cmv1.NewCatalogServiceClient(conn),
		crosswalk: cmv1.NewCrosswalkServiceClient(conn),
		base:      "http://" + srv.HTTPAddr(),
	}
}

// dial connects a gRPC client for the duration of the test.
func dial(tb testing.TB, addr string) *grpc.ClientConn {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

func startDefault(t *testing.T) *stack {
	return start(t, server.Config{AdminToken: adminToken})
}

// admin returns a context that carries the admin token.
func admin(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+adminToken)
}

// ctxT bounds a test's calls: long enough for a loaded machine under the
// race detector, short enough to end a test that hangs.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// restResponse is a decoded REST answer.
type restResponse struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// rest sends a request to the facade; body, when not nil, is sent as JSON
// (a string is sent as is).
func (s *stack) rest(t *testing.T, method, path string, body any, header ...string) restResponse {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := restResponse{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return out
}

// fieldViolations lists the fields named by a REST error's BadRequest
// detail.
func (r restResponse) fieldViolations() []string {
	var fields []string
	details, _ := r.body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		if !strings.HasSuffix(m["@type"].(string), "google.rpc.BadRequest") {
			continue
		}
		vs, _ := m["fieldViolations"].([]any)
		for _, v := range vs {
			fields = append(fields, v.(map[string]any)["field"].(string))
		}
	}
	return fields
}

// reason is the reason of a REST error's ErrorInfo detail, if it has one.
func (r restResponse) reason() string {
	details, _ := r.body["details"].([]any)
	for _, d := range details {
		if m, _ := d.(map[string]any); m["reason"] != nil {
			return fmt.Sprint(m["reason"])
		}
	}
	return ""
}

func (r restResponse) str(path ...string) string {
	var cur any = r.body
	for _, p := range path {
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}
