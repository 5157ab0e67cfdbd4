package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/server"
	"github.com/controlmap/controlmap/internal/store/postgres/pgtest"
)

// replica is one controlmap server on a fixed gRPC address, so clients
// reconnect to it after a restart.
type replica struct {
	cfg  server.Config
	conn *grpc.ClientConn

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
}

func newReplica(t *testing.T, databaseURL string) *replica {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := &replica{cfg: server.Config{
		GRPCAddr: addr, HTTPAddr: "127.0.0.1:0",
		Datastore: "postgres", DatabaseURL: databaseURL, Migrate: true,
		AdminToken:      adminToken,
		PollInterval:    200 * time.Millisecond,
		ConsistencyWait: 2 * time.Second,
		ShutdownTimeout: 15 * time.Second,
	}}
	if r.conn, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.conn.Close() })
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("replica %s: %v", addr, err)
		}
	})
	return r
}

// start starts the server, retrying while its port or the database is not
// yet available, and waits until it answers.
func (r *replica) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	for range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		var srv *server.Server
		if srv, err = server.New(ctx, r.cfg); err != nil {
			cancel()
			time.Sleep(200 * time.Millisecond)
			continue
		}
		r.cancel, r.done = cancel, make(chan error, 1)
		go func() { r.done <- srv.Run(ctx) }()
		return r.waitServing()
	}
	return fmt.Errorf("start: %w", err)
}

func (r *replica) waitServing() error {
	frameworks := cmv1.NewCatalogServiceClient(r.conn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := frameworks.ListFrameworks(ctx, &cmv1.ListFrameworksRequest{})
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not serving after 30s: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop shuts the server down gracefully, as a rolling restart does.
func (r *replica) stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	err := <-r.done
	r.cancel = nil
	return err
}

// fault is one kind of fault the scheduler injects.
type fault int

const (
	killDatabase fault = iota
	cutListen
	restartReplica
	faultKinds
)

func (f fault) String() string {
	return [...]string{"kill and restart PostgreSQL", "cut a replica's LISTEN connection", "restart a replica"}[f]
}

// scheduler injects faults at random moments drawn from its seed.
type scheduler struct {
	t        *testing.T
	rng      *rand.Rand
	cluster  *pgtest.Cluster
	admin    string // URL of the cluster's postgres database
	replicas []*replica
	start    time.Time
	counts   [faultKinds]int
}

// run injects faults until ctx ends, and leaves the database running.
func (s *scheduler) run(ctx context.Context) error {
	for {
		pause := time.Duration(300+s.rng.IntN(1500)) * time.Millisecond
		kind := fault(s.rng.IntN(int(faultKinds)))
		victim := s.rng.IntN(len(s.replicas))
		down := time.Duration(100+s.rng.IntN(1200)) * time.Millisecond
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		s.t.Logf("%6.2fs  %s", time.Since(s.start).Seconds(), kind)
		s.counts[kind]++
		var err error
		switch kind {
		case killDatabase:
			if err = s.cluster.Stop(); err == nil {
				time.Sleep(down)
				err = s.cluster.Start()
			}
		case cutListen:
			err = s.cutListen(victim)
		case restartReplica:
			if err = s.replicas[victim].stop(); err == nil {
				err = s.replicas[victim].start()
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
	}
}

// cutListen terminates the backend of one of the replicas' LISTEN
// connections, as a proxy or a network fault would.
func (s *scheduler) cutListen(victim int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid() ORDER BY pid")
	if err != nil {
		return err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return err
	}
	if len(pids) == 0 {
		return nil // both are reconnecting from an earlier fault
	}
	var ok bool
	err = conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pids[victim%len(pids)]).Scan(&ok)
	if err == nil && !ok {
		err = errors.New("pg_terminate_backend refused")
	}
	return err
}
