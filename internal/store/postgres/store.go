package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// Config configures a Store.
type Config struct {
	// URL is the PostgreSQL connection string.
	URL string
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
	// PollInterval bounds how long a missed notification can delay a
	// replica: the revision is checked at least this often (default 1s).
	PollInterval time.Duration
	// ConnectTimeout bounds each connection attempt, so writes fail fast
	// while the database is away (default 2s).
	ConnectTimeout time.Duration
	// Migrate, when set, is the built-in content to migrate the database to
	// before the first load (see Migrate), retried until it succeeds.
	Migrate *content.Content
	// MigrateSchema applies the migrations before the first load without
	// loading any content (when Migrate is nil): for a service that holds
	// only imported frameworks.
	MigrateSchema bool
	// ChangeRetention is how long the change log keeps a change for
	// WatchChanges (default 7 days); older ones are deleted.
	ChangeRetention time.Duration
	// TracerProvider, when set, traces every statement and batch sent.
	TracerProvider trace.TracerProvider
	// StartupGrace is how long, before the first load, the store bears an
	// error that waiting does not cure (credentials refused, no such
	// database, no schema) before it gives up and reports it on Failed
	// (default 10s).
	StartupGrace time.Duration
}

// DefaultChangeRetention is how long the change log keeps a change unless
// configured otherwise.
const DefaultChangeRetention = 7 * 24 * time.Hour

// Store is the PostgreSQL store.
type Store struct {
	cfg  Config
	log  *slog.Logger
	pool *pgxpool.Pool

	graph    atomic.Pointer[catalog.Graph]
	dir      atomic.Pointer[tenancy.Directory]
	ready    atomic.Bool
	revision store.Revisions

	group    group        // writes waiting to commit together
	applyMu  sync.Mutex   // serializes catching up
	lastSync atomic.Int64 // unix nanoseconds of the last catch-up that succeeded

	wake   chan struct{}
	failed chan error
	cancel context.CancelFunc
	done   chan struct{}
}

// Failed delivers the error that keeps the store from ever starting, if
// it meets one (see Config.StartupGrace); the store then stops following
// the database.
func (s *Store) Failed() <-chan error { return s.failed }

var _ store.Store = (*Store)(nil)

// Open returns a store for the database at cfg.URL and starts following
// it in the background: it loads the catalog as soon as the database
// answers (retrying with backoff, never failing for want of a database),
// then applies every committed change. Until the first load Ready is false
// and the catalog is empty. Open fails only on a malformed configuration.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 2 * time.Second
	}
	if cfg.ChangeRetention <= 0 {
		cfg.ChangeRetention = DefaultChangeRetention
	}
	if cfg.StartupGrace <= 0 {
		cfg.StartupGrace = 10 * time.Second
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	if cfg.TracerProvider != nil {
		pc.ConnConfig.Tracer = queryTracer{tracer: cfg.TracerProvider.Tracer("github.com/controlmap/controlmap/internal/store/postgres")}
	}
	// After a database restart a busy pool holds dead connections: a write
	// that finds one before its COMMIT went out is retried on another
	// (Update), rather than pinging before every write.
	pc.PingTimeout = cfg.ConnectTimeout
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("database pool: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg, log: log, pool: pool, wake: make(chan struct{}, 1), failed: make(chan error, 1), done: make(chan struct{})}
	empty, err := (&catalog.Builder{}).Build(0, nil)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.publish(empty)
	s.dir.Store(tenancy.NewDirectory(0, nil, nil))
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	go s.follow(runCtx)
	return s, nil
}

// LastSync is when the store last confirmed it serves the database's
// revision; zero before the first load.
func (s *Store) LastSync() time.Time {
	if n := s.lastSync.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Pool is the store's connection pool, for Migrate.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Directory implements store.Store.
func (s *Store) Directory() *tenancy.Directory { return s.dir.Load() }

// Snapshot implements store.Store.
func (s *Store) Snapshot() *catalog.Graph { return s.graph.Load() }

// Ready implements store.Store: the catalog has been loaded once.
func (s *Store) Ready() bool { return s.ready.Load() }

// WaitForRevision implements store.Store.
func (s *Store) WaitForRevision(ctx context.Context, rev int64) error {
	if s.Snapshot().Revision() >= rev {
		return nil
	}
	select { // ask the follower to look now rather than at its next poll
	case s.wake <- struct{}{}:
	default:
	}
	return s.revision.Wait(ctx, rev, func() int64 { return s.Snapshot().Revision() })
}

// Close stops following the database and closes the pool.
func (s *Store) Close() error {
	s.cancel()
	<-s.done
	s.pool.Close()
	return nil
}

func (s *Store) publish(g *catalog.Graph) {
	s.graph.Store(g)
	s.revision.Publish()
}

// writeTimeout bounds a write, catching up included, so a database that
// stops answering without closing connections cannot hold a caller forever.
const writeTimeout = 10 * time.Second

// retryable reports failures that left nothing behind: nothing reached the
// server, or the server rolled the transaction back for a conflict.
func retryable(err error) bool {
	var pre preCommitError
	if errors.As(err, &pre) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return pgconn.SafeToRetry(err)
}

// callerError carries an error of the caller's change function through the
// transaction unchanged.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }
func (e callerError) Unwrap() error { return e.err }

// classify keeps the store's and the caller's own errors and reports
// anything that is not an answer from PostgreSQL as the database being
// unavailable.
func classify(err error) error {
	var pe *pgconn.PgError
	var inv *catalog.InvalidError
	var ce callerError
	var compacted *store.CompactedError
	switch {
	case errors.As(err, &ce):
		return ce.err
	case errors.As(err, &compacted):
		return err
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrAlreadyExists), errors.Is(err, store.ErrEtagMismatch),
		errors.Is(err, store.ErrFailedPrecondition), errors.Is(err, store.ErrOutcomeUnknown),
		errors.As(err, &inv), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &pe):
		switch {
		case pe.Code[:2] == "08", // connection exception
			pe.Code[:2] == "53",                    // insufficient resources
			pe.Code[:3] == "57P",                   // shutting down, cannot connect now
			pe.Code == "57014",                     // query canceled (statement timeout)
			pe.Code == "25006",                     // read-only transaction: a standby after failover
			pe.Code == "40001", pe.Code == "40P01": // serialization failure, deadlock: retryable
			return unavailable(err)
		}
		return err
	}
	return unavailable(err)
}

func unavailable(err error) error { return fmt.Errorf("%w: %v", store.ErrUnavailable, err) }
