// Package loadtest drives concurrent load against a running controlmap
// server and reports throughput and latency percentiles, so that the cost of
// a query is always measured against a baseline (an empty gRPC call, the
// gateway's /healthz, a plain net/http handler) in the same run.
//
// It only sends requests to the addresses it is given, for a bounded time;
// it never starts or changes a server itself.
package loadtest
