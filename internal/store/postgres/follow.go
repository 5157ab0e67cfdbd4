package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
)

// follow keeps the catalog current until ctx ends: it loads it once the
// database answers, then listens for notifications on a dedicated
// connection, catching up on each one, at every poll interval, and after
// every reconnect.
func (s *Store) follow(ctx context.Context) {
	defer close(s.done)
	backoff := newBackoff()
	for s.cfg.Migrate != nil && ctx.Err() == nil {
		res, err := Migrate(ctx, s.pool, s.cfg.Migrate)
		if err == nil {
			s.log.Info("migrated", "applied", res.Applied, "content_version", res.ContentVersion, "content_loaded", res.ContentLoaded, "revision", res.Revision)
			break
		}
		s.log.Warn("migration failed; retrying", "err", err, "retry_in", backoff.peek())
		backoff.sleep(ctx)
	}
	backoff.reset()
	for ctx.Err() == nil {
		if err := s.catchUp(ctx); err != nil {
			s.log.Warn("cannot catch up with the database; serving the last catalog", "revision", s.Snapshot().Revision(), "err", err, "retry_in", backoff.peek())
			backoff.sleep(ctx)
			continue
		}
		if err := s.listen(ctx, backoff); err != nil && ctx.Err() == nil {
			s.log.Warn("listening for changes failed; reconnecting", "err", err, "retry_in", backoff.peek())
			backoff.sleep(ctx)
			continue
		}
		backoff.reset()
	}
}

// listen holds a LISTEN connection until it fails or ctx ends. Once the
// connection is up and caught up, the reconnect delay starts over, so a cut
// after a long outage is retried at once rather than after the longest delay.
func (s *Store) listen(ctx context.Context, backoff *backoff) error {
	cc, err := pgx.ParseConfig(s.cfg.URL)
	if err != nil {
		return err
	}
	cc.ConnectTimeout = s.cfg.ConnectTimeout
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return err
	}
	// Changes committed before LISTEN took effect are in the log.
	if err := s.catchUp(ctx); err != nil {
		return err
	}
	backoff.reset()
	var pruned time.Time
	for {
		if time.Since(pruned) >= min(time.Minute, s.cfg.ChangeRetention) {
			if err := s.prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("cannot delete old changes; retrying later", "err", err)
			}
			pruned = time.Now()
		}
		wait, cancel := context.WithTimeout(ctx, s.cfg.PollInterval)
		go func() {
			select {
			case <-s.wake:
				cancel()
			case <-wait.Done():
			}
		}()
		_, err := conn.WaitForNotification(wait)
		cancel()
		if err != nil && ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			return err // the connection broke
		}
		if err := s.catchUp(ctx); err != nil {
			return err
		}
	}
}

// catchUp brings the catalog to the database's current revision, reading
// in one snapshot transaction the revision and the rows changed since ours:
// the published catalog is always exactly the database at some revision.
func (s *Store) catchUp(ctx context.Context) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	cur := s.graph.Load()
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var rev int64
		if err := tx.QueryRow(ctx, "SELECT revision FROM store_state").Scan(&rev); err != nil {
			return err
		}
		if rev == cur.Revision() && s.Ready() {
			return nil
		}
		var reload, tenancyChanged bool
		var rows []catalog.Change
		if s.Ready() && rev > cur.Revision() {
			var logStart int64
			if err := tx.QueryRow(ctx, "SELECT log_start FROM store_state").Scan(&logStart); err != nil {
				return err
			}
			reload = cur.Revision()+1 < logStart // the log no longer holds all we missed
			if !reload {
				var err error
				if rows, reload, tenancyChanged, err = readChanges(ctx, tx, cur.Revision(), rev); err != nil {
					return err
				}
			}
		}
		if !s.Ready() || tenancyChanged || reload || rev < cur.Revision() {
			dir, err := loadDirectory(ctx, tx, rev)
			if err != nil {
				return err
			}
			s.dir.Store(dir)
		}
		if !reload && s.Ready() && rev > cur.Revision() {
			g, err := cur.Apply(rev, s.valid(rows))
			if err == nil {
				s.publish(g)
				return nil
			}
			s.log.Error("cannot apply the change log; reloading the catalog", "from", cur.Revision(), "to", rev, "err", err)
		}
		g, err := s.loadAll(ctx, tx, rev)
		if err != nil {
			return err
		}
		s.publish(g)
		s.ready.Store(true)
		s.log.Info("catalog loaded from the database", "revision", rev, "frameworks", len(g.Frameworks()), "mappings", g.MappingCount())
		return nil
	})
}

// readChanges reads the change log between two revisions: the catalog rows
// written, in order, and whether a content load (which needs a reload) or
// a change to tenancy happened among them.
func readChanges(ctx context.Context, tx pgx.Tx, from, to int64) (rows []catalog.Change, reload, tenancyChanged bool, err error) {
	res, err := tx.Query(ctx, `SELECT body FROM changes WHERE revision > $1 AND revision <= $2 ORDER BY revision, idx`, from, to)
	if err != nil {
		return nil, false, false, err
	}
	defer res.Close()
	for res.Next() {
		var body []byte
		if err := res.Scan(&body); err != nil {
			return nil, false, false, err
		}
		var c store.Change
		if body == nil {
			reload = true // a row of an older release
			continue
		}
		if err := json.Unmarshal(body, &c); err != nil {
			return nil, false, false, err
		}
		if cc, ok := c.Catalog(); ok {
			rows = append(rows, cc)
			continue
		}
		switch c.Kind {
		case store.KindTenant, store.KindAPIKey:
			tenancyChanged = true
		default:
			reload = true // a content load
		}
	}
	return rows, reload, tenancyChanged, res.Err()
}

// catchUpTimeout bounds one catch-up, so a database that stops answering
// cannot hold the replica (and the writers waiting on it) forever.
const catchUpTimeout = 10 * time.Second

// valid drops, loudly, mappings that break a rule this binary enforces, so
// that one row written under other rules (an older or newer release) cannot
// stop every replica from following the database.
func (s *Store) valid(rows []catalog.Change) []catalog.Change {
	return slices.DeleteFunc(rows, func(c catalog.Change) bool {
		return c.Kind == catalog.MappingChange && !c.Delete && s.breaksRule(&c.Mapping)
	})
}

// validMappings is valid for a list of mappings.
func (s *Store) validMappings(ms []catalog.Mapping) []catalog.Mapping {
	return slices.DeleteFunc(ms, func(m catalog.Mapping) bool { return s.breaksRule(&m) })
}

func (s *Store) breaksRule(m *catalog.Mapping) bool {
	vs := catalog.CheckMapping(m)
	if len(vs) > 0 {
		s.log.Error("mapping in the database breaks a rule; not serving it", "mapping", m.ID, "problem", (&catalog.InvalidError{Violations: vs}).Error())
	}
	return len(vs) > 0
}

// loadAll reads the whole catalog.
func (s *Store) loadAll(ctx context.Context, tx pgx.Tx, rev int64) (*catalog.Graph, error) {
	var b catalog.Builder
	rows, err := tx.Query(ctx, "SELECT "+frameworkColumns+" FROM frameworks ORDER BY id")
	if err != nil {
		return nil, err
	}
	fws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalog.Framework, error) { return scanFramework(r) })
	if err != nil {
		return nil, err
	}
	controls := map[string][]catalog.Control{}
	rows, err = tx.Query(ctx, "SELECT framework_id, "+controlColumns+" FROM controls ORDER BY framework_id, position, id")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var fw string
		c, err := scanControl(rows, &fw)
		if err != nil {
			return nil, err
		}
		controls[fw] = append(controls[fw], c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, f := range fws {
		b.AddFramework(f, controls[f.ID])
	}
	rows, err = tx.Query(ctx, "SELECT "+mappingColumns+" FROM mappings")
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, scanMapping)
	if err != nil {
		return nil, err
	}
	return b.Build(rev, s.validMappings(list))
}

const mappingColumns = `id, source_framework, source_control, target_framework, target_control, relationship, strength,
	rationale, justification, document, method, status, author, create_time, update_time, built_in, revision, reverse_strength`

func scanMapping(row pgx.CollectableRow) (catalog.Mapping, error) { return scanMappingRow(row) }

func scanMappingRow(row pgx.Row) (catalog.Mapping, error) {
	var m catalog.Mapping
	var rel, rat, method, st int32
	var created, updated *time.Time
	err := row.Scan(&m.ID, &m.Source.Framework, &m.Source.Control, &m.Target.Framework, &m.Target.Control,
		&rel, &m.Strength, &rat, &m.Justification, &m.Provenance.Document, &method, &st, &m.Provenance.Author,
		&created, &updated, &m.BuiltIn, &m.Revision, &m.ReverseStrength)
	m.Relationship, m.Rationale = cmv1.Relationship(rel), cmv1.Rationale(rat)
	m.Provenance.Method, m.Provenance.Status = cmv1.MappingMethod(method), cmv1.MappingStatus(st)
	if created != nil {
		m.Provenance.CreateTime = created.UTC()
	}
	if updated != nil {
		m.Provenance.UpdateTime = updated.UTC()
	}
	return m, err
}

// backoff doubles a delay from 100ms up to 5s.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{d: 100 * time.Millisecond} }

func (b *backoff) peek() time.Duration { return b.d }

func (b *backoff) reset() { b.d = 100 * time.Millisecond }

func (b *backoff) sleep(ctx context.Context) {
	t := time.NewTimer(b.d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	b.d = min(2*b.d, 5*time.Second)
}
