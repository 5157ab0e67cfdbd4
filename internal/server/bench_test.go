package server_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"google.golang.org/grpc/health/grpc_health_v1"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/server"
)

// Each query is benchmarked beside its baseline on the same server; compare
// ns/op within one run (go test -bench . -cpu 2 ./internal/server/). The
// load driver (go run ./cmd/loadtest) reports the same with percentiles.

const benchControl = "frameworks/iso-27001-2022/controls/A.5.24"

func benchStack(b *testing.B) *stack {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
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
