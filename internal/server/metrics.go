package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// metrics counts calls per method and code and their total duration, and
// writes them in the Prometheus text format. It counts every call, gRPC and
// REST alike, since both pass through the same chain.
type metrics struct {
	calls sync.Map // metricKey -> *metricValue
}

type metricKey struct{ method, code string }

type metricValue struct {
	count atomic.Int64
	nanos atomic.Int64
}

func (m *metrics) interceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		k := metricKey{method: info.FullMethod, code: status.Code(err).String()}
		v, ok := m.calls.Load(k)
		if !ok {
			v, _ = m.calls.LoadOrStore(k, &metricValue{})
		}
		mv := v.(*metricValue)
		mv.count.Add(1)
		mv.nanos.Add(int64(time.Since(start)))
		return resp, err
	}
}

// handler serves GET /metrics.
func (m *metrics) handler(revision func() int64) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		var lines []string
		m.calls.Range(func(k, v any) bool {
			key, val := k.(metricKey), v.(*metricValue)
			labels := fmt.Sprintf(`{method=%q,code=%q}`, key.method, key.code)
			lines = append(lines,
				"controlmap_rpc_calls_total"+labels+" "+fmt.Sprint(val.count.Load()),
				"controlmap_rpc_duration_seconds_total"+labels+" "+fmt.Sprintf("%.6f", float64(val.nanos.Load())/1e9))
			return true
		})
		slices.Sort(lines)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintln(w, "# HELP controlmap_rpc_calls_total Calls answered, per method and gRPC code (REST calls included).")
		fmt.Fprintln(w, "# TYPE controlmap_rpc_calls_total counter")
		fmt.Fprintln(w, "# HELP controlmap_rpc_duration_seconds_total Time spent answering, per method and code.")
		fmt.Fprintln(w, "# TYPE controlmap_rpc_duration_seconds_total counter")
		fmt.Fprintln(w, "# HELP controlmap_store_revision The revision this replica serves.")
		fmt.Fprintln(w, "# TYPE controlmap_store_revision gauge")
		fmt.Fprintln(w, strings.Join(lines, "\n"))
		fmt.Fprintf(w, "controlmap_store_revision %d\n", revision())
	}
}
