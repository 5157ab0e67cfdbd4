package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/server"
)

// Each query is benchmarked beside its baseline on the same server; compare
// ns/op within one run (go test -bench . -cpu 2 ./internal/server/). The
// load driver (go run ./cmd/loadtest) reports the same with percentiles.

const benchControl = "frameworks/iso-27001-2022/controls/A.5.24"

func benchStack(b *testing.B) *stack {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", AdminToken: adminToken})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	s := &stack{srv: srv, base: "http://" + srv.HTTPAddr()}
	return s
}

func BenchmarkGRPC(b *testing.B) {
	s := benchStack(b)
	conn := dial(b, s.srv.GRPCAddr())
	health := grpc_health_v1.NewHealthClient(conn)
	sat := cmv1.NewSatisfactionServiceClient(conn)
	b.Run("empty", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := health.Check(context.Background(), &grpc_health_v1.HealthCheckRequest{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("satisfies", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := sat.Satisfies(context.Background(), &cmv1.SatisfiesRequest{Control: benchControl}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// A write: one CreateMapping and one DeleteMapping of a pair the
	// built-in content leaves unmapped, per op (two revisions).
	crosswalk := cmv1.NewCrosswalkServiceClient(conn)
	b.Run("create+delete-mapping", func(b *testing.B) {
		ctx := admin(context.Background())
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1)
				m := &cmv1.Mapping{
					Source:       fmt.Sprintf("frameworks/iso-27001-2022/controls/A.8.%d", 1+i%34),
					Target:       fmt.Sprintf("frameworks/nist-ai-rmf-1.0/controls/MEASURE-2.%d", 1+i%13),
					Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, Strength: 2, ReverseStrength: 2,
					Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "benchmark",
				}
				created, err := crosswalk.CreateMapping(ctx, &cmv1.CreateMappingRequest{Mapping: m})
				if status.Code(err) == codes.AlreadyExists {
					continue // another writer holds this pair now, or the content maps it
				}
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := crosswalk.DeleteMapping(ctx, &cmv1.DeleteMappingRequest{Name: created.GetMapping().GetName()}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkREST(b *testing.B) {
	s := benchStack(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func(b *testing.B, url string) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	b.Run("healthz", func(b *testing.B) { get(b, s.base+"/healthz") })
	b.Run("satisfies", func(b *testing.B) { get(b, s.base+"/v1/"+benchControl+":satisfies") })
}
