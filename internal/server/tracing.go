package server

import (
	"context"
	"errors"
	"os"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// propagator reads and writes trace context (W3C traceparent) and baggage
// on calls.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// tracing returns the tracer provider the server traces with: the one the
// configuration gives, else an OTLP/HTTP exporter when the standard
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// variable names a collector (the exporter reads the other OTEL_*
// variables itself), else none: tracing is off. stop flushes and closes
// what tracing started.
func tracing(ctx context.Context, cfg Config) (tp trace.TracerProvider, stop func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	if cfg.TracerProvider != nil {
		return cfg.TracerProvider, noop, nil
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, noop, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, noop, err
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithAttributes(semconv.ServiceName("controlmap")))
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, noop, err
	}
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return sdk, sdk.Shutdown, nil
}
