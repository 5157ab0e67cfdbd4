// Loadtest measures controlmap under concurrent load: a satisfaction
// lookup through gRPC against an empty unary call (grpc.health.v1 Check) on
// the same server, through REST against the gateway's /healthz, and /healthz
// against a plain net/http handler returning the same bytes, all in one run.
//
// With no address it starts a server on loopback with the built-in content:
//
//	go run ./cmd/loadtest -duration 5s -concurrency 16
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/loadtest"
	"github.com/controlmap/controlmap/internal/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run() error {
	concurrency := flag.Int("concurrency", 16, "concurrent clients per scenario")
	duration := flag.Duration("duration", 5*time.Second, "measured time per scenario (plus a tenth to warm up)")
	grpcAddr := flag.String("grpc-addr", "", "gRPC address of a running server; empty starts one on loopback")
	httpAddr := flag.String("http-addr", "", "REST address of a running server (with -grpc-addr)")
	control := flag.String("control", "frameworks/iso-27001-2022/controls/A.5.24", "control whose satisfaction is looked up")
	datastore := flag.String("datastore", "memory", "store of the started server: memory or postgres")
	databaseURL := flag.String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL for -datastore postgres (migrated at start)")
	writes := flag.Bool("writes", false, "also measure CreateMapping (writes to the started server's store)")
	flag.Parse()
	if *concurrency < 1 || *duration <= 0 || *duration > 5*time.Minute {
		return fmt.Errorf("-concurrency must be positive and -duration between 0 and 5m")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var plainURL string
	token := ""
	if *grpcAddr == "" {
		token = "loadtest"
		srv, err := server.New(ctx, server.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
			Datastore: *datastore, DatabaseURL: *databaseURL, Migrate: true, AdminToken: token,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
		if err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		defer func() { cancel(); <-done }()
		*grpcAddr, *httpAddr = srv.GRPCAddr(), srv.HTTPAddr()
		if err := waitServing(ctx, "http://"+*httpAddr+"/healthz"); err != nil {
			return err
		}

		// The plain handler returns exactly what /healthz returns.
		healthz := []byte(`{"status":"SERVING"}`)
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		plain := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(healthz)
		})}
		go plain.Serve(lis)
		defer plain.Close()
		plainURL = "http://" + lis.Addr().String() + "/healthz"
	}

	conn, err := grpc.NewClient(*grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	health := grpc_health_v1.NewHealthClient(conn)
	sat := cmv1.NewSatisfactionServiceClient(conn)
	client := loadtest.NewHTTPClient(*concurrency)
	restSatisfies := "http://" + *httpAddr + "/v1/" + (&url.URL{Path: *control}).EscapedPath() + ":satisfies"

	// Check every scenario answers before measuring it.
	if _, err := sat.Satisfies(ctx, &cmv1.SatisfiesRequest{Control: *control}); err != nil {
		return fmt.Errorf("satisfies %s: %w", *control, err)
	}
	scenarios := []struct {
		name string
		call loadtest.Call
	}{
		{"grpc-empty", func(ctx context.Context) error {
			_, err := health.Check(ctx, &grpc_health_v1.HealthCheckRequest{})
			return err
		}},
		{"grpc-satisfies", func(ctx context.Context) error {
			_, err := sat.Satisfies(ctx, &cmv1.SatisfiesRequest{Control: *control})
			return err
		}},
		{"rest-healthz", loadtest.HTTPGet(client, "http://"+*httpAddr+"/healthz")},
		{"rest-satisfies", loadtest.HTTPGet(client, restSatisfies)},
	}
	if plainURL != "" {
		scenarios = append(scenarios, struct {
			name string
			call loadtest.Call
		}{"plain-http", loadtest.HTTPGet(client, plainURL)})
	}
	if *writes {
		if token == "" {
			return fmt.Errorf("-writes needs the server this command starts (no -grpc-addr)")
		}
		create, err := createScenario(ctx, conn, token)
		if err != nil {
			return err
		}
		scenarios = append(scenarios, struct {
			name string
			call loadtest.Call
		}{"grpc-create", create})
	}
	var results []loadtest.Result
	for _, s := range scenarios {
		fmt.Fprintf(os.Stderr, "running %s for %s at concurrency %d\n", s.name, *duration, *concurrency)
		results = append(results, loadtest.Run(ctx, s.name, *concurrency, *duration, s.call))
	}
	fmt.Printf("datastore %s, control %s, concurrency %d, %s per scenario\n", *datastore, *control, *concurrency, *duration)
	loadtest.Report(os.Stdout, results, map[string]string{
		"grpc-satisfies": "grpc-empty",
		"rest-satisfies": "rest-healthz",
		"rest-healthz":   "plain-http",
	})
	return nil
}

// waitServing waits for the started server's health check to pass.
func waitServing(ctx context.Context, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not become healthy", url)
}

// createScenario maps, one call each, pairs of ISO 27001 and AI RMF
// controls that no mapping joins yet; it fails once they run out.
func createScenario(ctx context.Context, conn *grpc.ClientConn, token string) (loadtest.Call, error) {
	cat := cmv1.NewCatalogServiceClient(conn)
	list := func(fw string) ([]string, error) {
		r, err := cat.ListControls(ctx, &cmv1.ListControlsRequest{Parent: "frameworks/" + fw, PageSize: 1000, Assessable: proto.Bool(true)})
		var names []string
		for _, c := range r.GetControls() {
			names = append(names, c.GetName())
		}
		return names, err
	}
	src, err := list("iso-27001-2022")
	if err != nil {
		return nil, err
	}
	dst, err := list("nist-ai-rmf-1.0")
	if err != nil {
		return nil, err
	}
	cw := cmv1.NewCrosswalkServiceClient(conn)
	auth := metadata.Pairs("authorization", "Bearer "+token)
	var next atomic.Int64
	return func(ctx context.Context) error {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(src)*len(dst) {
				return fmt.Errorf("no unmapped pairs left")
			}
			_, err := cw.CreateMapping(metadata.NewOutgoingContext(ctx, auth), &cmv1.CreateMappingRequest{Mapping: &cmv1.Mapping{
				Source: src[i%len(src)], Target: dst[i/len(src)],
				Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, Strength: 2, ReverseStrength: 2,
				Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "load test",
			}})
			if status.Code(err) == codes.AlreadyExists {
				continue // a built-in mapping holds the pair
			}
			return err
		}
	}, nil
}
