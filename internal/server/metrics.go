package server

import (
	"context"
	"net/http"
	"net/http/pprof"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/controlmap/controlmap/internal/store"
)

// metrics are the server's Prometheus metrics: per method and code, call
// counts and latency histograms (go-grpc-middleware's provider; REST calls
// are counted under their RPC, since they run the same chain), the
// revision served and how fresh it is, the database pool, and the Go
// runtime.
type metrics struct {
	registry *prometheus.Registry
	rpc      *grpcprom.ServerMetrics
}

func newMetrics(st store.Store) *metrics {
	reg := prometheus.NewRegistry()
	rpc := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
		grpcprom.WithHistogramBuckets([]float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5})))
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), rpc,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "controlmap_store_revision", Help: "The revision this replica serves."},
			func() float64 { return float64(st.Snapshot().Revision()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "controlmap_store_ready", Help: "1 once this replica has loaded the catalog."},
			func() float64 {
				if st.Ready() {
					return 1
				}
				return 0
			}))
	if f, ok := st.(interface{ LastSync() time.Time }); ok {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "controlmap_store_sync_age_seconds",
			Help: "Seconds since this replica last confirmed it serves the database's revision; it grows while the database is away."},
			func() float64 {
				if t := f.LastSync(); !t.IsZero() {
					return time.Since(t).Seconds()
				}
				return 0
			}))
	}
	if p, ok := st.(interface{ Pool() *pgxpool.Pool }); ok {
		pool := p.Pool()
		for name, v := range map[string]func(*pgxpool.Stat) float64{
			"acquired":     func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) },
			"idle":         func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) },
			"total":        func(s *pgxpool.Stat) float64 { return float64(s.TotalConns()) },
			"max":          func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) },
			"constructing": func(s *pgxpool.Stat) float64 { return float64(s.ConstructingConns()) },
		} {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "controlmap_db_pool_" + name + "_connections",
				Help: "Connections of the database pool: " + name + "."}, func() float64 { return v(pool.Stat()) }))
		}
	}
	return &metrics{registry: reg, rpc: rpc}
}

// unary counts unary calls; streams, which the server also runs through
// the unary chain, are counted by stream.
func (m *metrics) unary() grpc.UnaryServerInterceptor {
	count := m.rpc.UnaryServerInterceptor()
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if streaming(ctx) {
			return handler(ctx, req)
		}
		return count(ctx, req, info, handler)
	}
}

func (m *metrics) stream() grpc.StreamServerInterceptor { return m.rpc.StreamServerInterceptor() }

// opsHandler serves the operations listener: /metrics, and the Go
// profiler under /debug/pprof/.
func (m *metrics) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
