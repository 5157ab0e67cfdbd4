package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

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
}

// Store is the PostgreSQL store.
type Store struct {
	cfg  Config
	log  *slog.Logger
	pool *pgxpool.Pool

	graph    atomic.Pointer[catalog.Graph]
	dir      atomic.Pointer[tenancy.Directory]
	ready    atomic.Bool
	revision store.Revisions

	applyMu sync.Mutex // serializes catching up

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

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
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	// The pool would hand out a connection unchecked if it was used within
	// the last second, so after a database restart a busy pool serves dead
	// connections. Writes are rare next to reads; a ping each is cheap.
	pc.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return true }
	pc.PingTimeout = cfg.ConnectTimeout
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("database pool: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg, log: log, pool: pool, wake: make(chan struct{}, 1), done: make(chan struct{})}
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

// CreateMapping implements store.Store.
func (s *Store) CreateMapping(ctx context.Context, m catalog.Mapping) (catalog.Mapping, error) {
	if err := store.CheckMapping(&m); err != nil {
		return catalog.Mapping{}, err
	}
	m.BuiltIn = false
	rev, err := s.write(ctx, func(tx pgx.Tx, rev int64) (change, error) {
		m.ID = store.NewMappingID()
		m.Revision = rev
		err := tx.QueryRow(ctx, `INSERT INTO mappings (id, source_framework, source_control, target_framework, target_control,
				relationship, strength, rationale, justification, document, method, status, author,
				create_time, update_time, built_in, revision, reverse_strength)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now(), now(), false, $14, $15)
			RETURNING create_time`,
			m.ID, m.Source.Framework, m.Source.Control, m.Target.Framework, m.Target.Control,
			int32(m.Relationship), m.Strength, int32(m.Rationale), m.Justification,
			m.Provenance.Document, int32(m.Provenance.Method), int32(m.Provenance.Status), m.Provenance.Author, rev, m.ReverseStrength,
		).Scan(&m.Provenance.CreateTime)
		m.Provenance.UpdateTime = m.Provenance.CreateTime
		m.Revision = rev
		return mappingChange(ctx, m.ID, nil, &m), createError(err, m)
	})
	if err != nil {
		return catalog.Mapping{}, err
	}
	m.Revision = rev
	return m, nil
}

func createError(err error, m catalog.Mapping) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23503": // foreign_key_violation
		return fmt.Errorf("%w: control %s or %s", store.ErrNotFound, m.Source.Name(), m.Target.Name())
	case "23505": // unique_violation
		return fmt.Errorf("%w: %s and %s are already mapped", store.ErrAlreadyExists, m.Source.Name(), m.Target.Name())
	case "23514": // check_violation: CheckMapping runs first, so only a
		// rule the database knows and this binary does not can get here
		return catalog.Invalid("mapping", "breaks a rule of the database schema")
	}
	return err
}

// UpdateMapping implements store.Store: change is applied to the row as
// locked in the database, not to this replica's copy, which may be behind.
func (s *Store) UpdateMapping(ctx context.Context, id, etag string, apply func(*catalog.Mapping) error) (catalog.Mapping, error) {
	var out catalog.Mapping
	_, err := s.write(ctx, func(tx pgx.Tx, rev int64) (change, error) {
		cur, err := lockMapping(ctx, tx, id)
		if err != nil {
			return change{}, err
		}
		next := cur
		if err := apply(&next); err != nil {
			return change{}, callerError{err}
		}
		if err := checkEtag(&cur, etag); err != nil {
			return change{}, err
		}
		store.KeepIdentity(&next, cur)
		if err := store.CheckMapping(&next); err != nil {
			return change{}, err
		}
		out, err = scanMappingRow(tx.QueryRow(ctx, `UPDATE mappings SET relationship = $2, strength = $3, rationale = $4, justification = $5,
				document = $6, method = $7, status = $8, author = $9, update_time = now(), revision = $10,
				reverse_strength = $11, user_modified = built_in
			WHERE id = $1 RETURNING `+mappingColumns,
			id, int32(next.Relationship), next.Strength, int32(next.Rationale), next.Justification,
			next.Provenance.Document, int32(next.Provenance.Method), int32(next.Provenance.Status), next.Provenance.Author, rev,
			next.ReverseStrength))
		return mappingChange(ctx, id, &cur, &out), err
	})
	return out, err
}

func mappingChange(ctx context.Context, id string, before, after *catalog.Mapping) change {
	row := catalog.Change{Kind: catalog.MappingChange, Delete: after == nil, Mapping: catalog.Mapping{ID: id}}
	if after != nil {
		row.Mapping = *after
	}
	return change{rows: []catalog.Change{row}, event: store.Event(ctx, catalog.MappingName(id), "", before, after)}
}

// DeleteMapping implements store.Store.
func (s *Store) DeleteMapping(ctx context.Context, id, etag string, check func(*catalog.Mapping) error) (int64, error) {
	return s.write(ctx, func(tx pgx.Tx, _ int64) (change, error) {
		cur, err := lockMapping(ctx, tx, id)
		if err != nil {
			return change{}, err
		}
		if check != nil {
			if err := check(&cur); err != nil {
				return change{}, callerError{err}
			}
		}
		if err := checkEtag(&cur, etag); err != nil {
			return change{}, err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM mappings WHERE id = $1", id); err != nil {
			return change{}, err
		}
		if cur.BuiltIn {
			_, err = tx.Exec(ctx, "INSERT INTO deleted_built_in_mappings (id) VALUES ($1) ON CONFLICT DO NOTHING", id)
		}
		return mappingChange(ctx, id, &cur, nil), err
	})
}

// lockMapping locks a mapping row for the rest of the transaction and
// returns it.
func lockMapping(ctx context.Context, tx pgx.Tx, id string) (catalog.Mapping, error) {
	m, err := scanMappingRow(tx.QueryRow(ctx, "SELECT "+mappingColumns+" FROM mappings WHERE id = $1 FOR UPDATE", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, store.NotFound("mapping", catalog.MappingName(id))
	}
	return m, err
}

func checkEtag(m *catalog.Mapping, etag string) error {
	if etag != "" && etag != m.Etag() {
		return fmt.Errorf("%w: mapping %s has etag %q, the request sent %q",
			store.ErrEtagMismatch, catalog.MappingName(m.ID), m.Etag(), etag)
	}
	return nil
}

// change is what a write did, for the change log and the audit trail: the
// catalog rows it wrote, in order, or a change to tenancy.
type change struct {
	tenancy bool
	rows    []catalog.Change
	event   tenancy.AuditEvent
}

func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx, rev int64) (change, error)) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	var rev int64
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		rev, err = s.writeOnce(ctx, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return 0, classify(err)
	}
	if err := s.catchUp(ctx); err != nil {
		s.log.WarnContext(ctx, "write committed, catching up failed; the follower will retry", "revision", rev, "err", err)
	}
	return rev, nil
}

// writeTimeout bounds a write, catching up included, so a database that
// stops answering without closing connections cannot hold a caller forever.
const writeTimeout = 10 * time.Second

// retryable reports failures that left nothing behind: nothing reached the
// server, or the server rolled the transaction back for a conflict.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return pgconn.SafeToRetry(err)
}

func (s *Store) writeOnce(ctx context.Context, fn func(tx pgx.Tx, rev int64) (change, error)) (int64, error) {
	var rev int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "UPDATE store_state SET revision = revision + 1 RETURNING revision").Scan(&rev); err != nil {
			return err
		}
		c, err := fn(tx, rev)
		if err != nil {
			return err
		}
		if err := logChanges(ctx, tx, rev, c); err != nil {
			return err
		}
		e := c.event
		if _, err := tx.Exec(ctx, `INSERT INTO audit_events (revision, time, tenant, actor, method, resource, before, after)
			VALUES ($1, now(), $2, $3, $4, $5, $6, $7)`, rev, e.Tenant, e.Actor, e.Method, e.Resource, e.Before, e.After); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "SELECT pg_notify($1, $2)", changesChannel, strconv.FormatInt(rev, 10))
		return err
	})
	return rev, err
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
	switch {
	case errors.As(err, &ce):
		return ce.err
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrAlreadyExists), errors.Is(err, store.ErrEtagMismatch),
		errors.Is(err, store.ErrFailedPrecondition),
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

// changeKinds names the change kinds in the change log.
var changeKinds = map[catalog.ChangeKind]string{
	catalog.FrameworkChange: "framework",
	catalog.ControlChange:   "control",
	catalog.MappingChange:   "mapping",
}

// logChanges records what a write changed in one statement, however many
// rows it took with it.
func logChanges(ctx context.Context, tx pgx.Tx, rev int64, c change) error {
	if c.tenancy {
		_, err := tx.Exec(ctx, "INSERT INTO changes (revision, kind) VALUES ($1, 'tenancy')", rev)
		return err
	}
	kinds := make([]string, len(c.rows))
	deleted := make([]bool, len(c.rows))
	bodies := make([]string, len(c.rows))
	for i, r := range c.rows {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		kinds[i], deleted[i], bodies[i] = changeKinds[r.Kind], r.Delete, string(b)
	}
	_, err := tx.Exec(ctx, `INSERT INTO changes (revision, idx, kind, deleted, body)
		SELECT $1, ord - 1, kind, deleted, body::jsonb FROM unnest($2::text[], $3::boolean[], $4::text[]) WITH ORDINALITY AS r(kind, deleted, body, ord)`,
		rev, kinds, deleted, bodies)
	return err
}
