package server_test

import (
	"os"
	"slices"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/server"
)

// Calls are traced over gRPC and REST, continuing the caller's trace
// (W3C traceparent); on PostgreSQL the statements a write sends are spans
// of it too.
func TestTracing(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s := start(t, server.Config{AdminToken: adminToken, TracerProvider: tp})
	if _, err := s.catalog.ListFrameworks(ctxT(t), &cmv1.ListFrameworksRequest{}); err != nil {
		t.Fatal(err)
	}
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := s.rest(t, "POST", "/v1/mappings", newMapping(), "Authorization", bearer, "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	if r.status != 200 {
		t.Fatalf("write: %d %s", r.status, r.raw)
	}
	onPostgres := os.Getenv("CONTROLMAP_TEST_DATASTORE") == "postgres"
	var names []string
	var continued, queried bool
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		names, continued, queried = nil, false, false
		for _, sp := range rec.Ended() {
			names = append(names, sp.Name())
			inTrace := sp.SpanContext().TraceID().String() == traceID
			continued = continued || (sp.Name() == "POST /v1/mappings" && inTrace)
			queried = queried || (sp.Name() == "postgres batch" && inTrace)
		}
		if slices.Contains(names, "controlmap.v1.CatalogService/ListFrameworks") && continued && (queried || !onPostgres) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("spans %v; the REST call continued the caller's trace: %v; its statements are in it: %v", names, continued, queried)
}
