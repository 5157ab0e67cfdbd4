package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/controlmap/controlmap/internal/catalog"
)

// queryTracer traces every statement the store sends, and every batch, as
// a client span of the call that caused it.
type queryTracer struct{ tracer trace.Tracer }

var (
	_ pgx.QueryTracer = queryTracer{}
	_ pgx.BatchTracer = queryTracer{}
)

func (q queryTracer) start(ctx context.Context, name, sql string) context.Context {
	ctx, _ = q.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system.name", "postgresql"), attribute.String("db.query.text", catalog.ClipTo(sql, 1024))))
	return ctx
}

func end(ctx context.Context, err error) {
	span := trace.SpanFromContext(ctx)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

func (q queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return q.start(ctx, "postgres query", data.SQL)
}

func (q queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	end(ctx, data.Err)
}

func (q queryTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	sql, n := "", 0
	if data.Batch != nil && len(data.Batch.QueuedQueries) > 0 {
		sql, n = data.Batch.QueuedQueries[0].SQL, len(data.Batch.QueuedQueries)
	}
	ctx = q.start(ctx, "postgres batch", sql)
	trace.SpanFromContext(ctx).SetAttributes(attribute.Int("db.operation.batch.size", n))
	return ctx
}

func (q queryTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (q queryTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	end(ctx, data.Err)
}
