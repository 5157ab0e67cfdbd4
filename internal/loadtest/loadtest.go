package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Call performs one request; a non-nil error counts as a failure.
type Call func(ctx context.Context) error

// Result is what one scenario measured.
type Result struct {
	Name     string
	Requests int
	Failures int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// PerSecond is the throughput of successful requests.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Failures) / r.Elapsed.Seconds()
}

// Run calls call from concurrency goroutines until duration has passed,
// after a warm-up of a tenth of it that is not counted.
func Run(ctx context.Context, name string, concurrency int, duration time.Duration, call Call) Result {
	warm, cancelWarm := context.WithTimeout(ctx, duration/10)
	drive(warm, concurrency, call)
	cancelWarm()

	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	start := time.Now()
	lat, failures := drive(runCtx, concurrency, call)
	r := Result{Name: name, Requests: len(lat), Failures: failures, Elapsed: time.Since(start)}
	slices.Sort(lat)
	if len(lat) > 0 {
		r.P50 = lat[len(lat)/2]
		r.P99 = lat[len(lat)*99/100]
	}
	return r
}

func drive(ctx context.Context, concurrency int, call Call) ([]time.Duration, int) {
	var (
		mu       sync.Mutex
		all      []time.Duration
		failures int
		wg       sync.WaitGroup
	)
	for range concurrency {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1<<14)
			failed := 0
			for ctx.Err() == nil {
				t0 := time.Now()
				err := call(context.WithoutCancel(ctx))
				lat = append(lat, time.Since(t0))
				if err != nil {
					failed++
				}
			}
			mu.Lock()
			all = append(all, lat...)
			failures += failed
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, failures
}

// HTTPGet returns a Call that GETs url with client and expects 200.
func HTTPGet(client *http.Client, url string) Call {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		return err
	}
}

// NewHTTPClient returns a client that keeps a connection per worker.
func NewHTTPClient(concurrency int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        concurrency * 2,
		MaxIdleConnsPerHost: concurrency * 2,
		IdleConnTimeout:     time.Minute,
	}}
}

// Report formats results as a table with each query's cost against its
// baseline (baseline throughput / query throughput; 1.0 is free).
func Report(w io.Writer, results []Result, baselineOf map[string]string) {
	byName := map[string]Result{}
	for _, r := range results {
		byName[r.Name] = r
	}
	fmt.Fprintf(w, "%-16s %10s %10s %10s %9s  %s\n", "scenario", "req/s", "p50", "p99", "failures", "cost vs baseline")
	for _, r := range results {
		ratio := ""
		if b, ok := baselineOf[r.Name]; ok && byName[b].PerSecond() > 0 && r.PerSecond() > 0 {
			ratio = fmt.Sprintf("%.2fx %s (p50 %.2fx)", byName[b].PerSecond()/r.PerSecond(), b,
				float64(r.P50)/float64(max(byName[b].P50, 1)))
		}
		fmt.Fprintf(w, "%-16s %10.0f %10s %10s %9d  %s\n", r.Name, r.PerSecond(),
			r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Failures, ratio)
	}
}
