package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	var stuck startStuck
	for (s.cfg.Migrate != nil || s.cfg.MigrateSchema) && ctx.Err() == nil {
		res, err := Migrate(ctx, s.pool, s.cfg.Migrate)
		if err == nil {
			s.log.Info("migrated", "applied", res.Applied, "content_version", res.ContentVersion, "content_loaded", res.ContentLoaded, "revision", res.Revision)
			break
		}
		if s.giveUp(&stuck, err) {
			return
		}
		s.log.Warn("migration failed; retrying", "err", err, "retry_in", backoff.peek())
		backoff.sleep(ctx)
	}
	backoff.reset()
	for ctx.Err() == nil {
		if err := s.catchUp(ctx); err != nil {
			if !s.Ready() && s.giveUp(&stuck, err) {
				return
			}
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

// startStuck tracks, before the first load, how long the database has
// answered with an error that waiting does not cure.
type startStuck struct {
	since time.Time
}

// giveUp reports, and sends on Failed, an error that keeps the store from
// ever starting (credentials refused, no such database, no schema) once it
// has lasted StartupGrace: a database being set up may answer so for a
// moment, a misconfigured one for ever. A database that does not answer
// at all is waited for.
func (s *Store) giveUp(stuck *startStuck, err error) bool {
	msg, fatal := startError(err, s.cfg.Migrate != nil || s.cfg.MigrateSchema)
	if !fatal {
		stuck.since = time.Time{}
		return false
	}
	if stuck.since.IsZero() {
		stuck.since = time.Now()
	}
	if time.Since(stuck.since) < s.cfg.StartupGrace {
		return false
	}
	s.log.Error("giving up on the database", "problem", msg)
	s.failed <- errors.New(msg)
	return true
}

// startError explains an error of the database that waiting does not cure,
// from its SQLSTATE (not from the driver's text, which leads with the TLS
// attempts of the connection).
func startError(err error, migrating bool) (string, bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return "", false
	}
	switch pe.Code {
	case "28P01", "28000": // invalid password, invalid authorization
		return "the database refused the credentials of --database-url: " + pe.Message, true
	case "3D000": // invalid catalog name
		return "the database of --database-url does not exist (" + pe.Message + "): create it, or fix the URL", true
	case "42P01": // undefined table
		if !migrating {
			return "the database has no controlmap schema (" + pe.Message + "): run `controlmap migrate`, or serve with --migrate", true
		}
	case "42703": // undefined column
		if !migrating {
			return "the database schema is older than this release (" + pe.Message + "): run `controlmap migrate` of this release", true
		}
	case "42501": // insufficient privilege
		return "the role of --database-url may not do what controlmap needs: " + pe.Message, true
	}
	return "", false
}

// listen holds a LISTEN connection until it fails or ctx ends. Once the
// connection is up and caught up, the reconnect delay starts over, so a cut
// after a long outage is retried at once rather than after the longest delay.
func (s *Store) listen(ctx context.Context, backoff *backoff) error {
	// The pool's connection settings, so pool parameters in the URL
	// (pool_max_conns) are understood here too.
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
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
// in one snapshot the revision and the rows changed since ours: the
// published catalog is always exactly the database at some revision.
func (s *Store) catchUp(ctx context.Context) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	cur := s.graph.Load()
	if s.Ready() {
		if done, err := s.applyLog(ctx, cur); done || err != nil {
			if err == nil {
				s.lastSync.Store(time.Now().UnixNano())
			}
			return err
		}
	}
	err := s.reload(ctx, cur)
	if err == nil {
		s.lastSync.Store(time.Now().UnixNano())
	}
	return err
}

// applyLog reads in one statement the revision, the start of the log and
// the changes since cur, and applies them. It reports false when that is
// not enough: the log lacks changes we missed, the built-in content was
// loaded, tenants or keys changed, or the database went back.
func (s *Store) applyLog(ctx context.Context, cur *catalog.Graph) (bool, error) {
	res, err := s.pool.Query(ctx, `SELECT s.revision, s.log_start, c.revision, c.body
		FROM store_state s LEFT JOIN LATERAL (SELECT revision, idx, body FROM changes
			WHERE revision > $1 AND revision <= s.revision ORDER BY revision, idx) c ON true`, cur.Revision())
	if err != nil {
		return false, err
	}
	defer res.Close()
	var rev, logStart int64
	var log changeLog
	for res.Next() {
		var crev *int64
		var body []byte
		if err := res.Scan(&rev, &logStart, &crev, &body); err != nil {
			return false, err
		}
		if crev != nil {
			if err := log.add(*crev, body); err != nil {
				return false, err
			}
		}
	}
	if err := res.Err(); err != nil {
		return false, err
	}
	switch {
	case rev == cur.Revision():
		return true, nil
	case rev < cur.Revision() || cur.Revision()+1 < logStart || log.reload || log.tenancy:
		return false, nil
	}
	g, err := cur.Apply(rev, s.valid(log.rows))
	if err != nil {
		s.log.Error("cannot apply the change log; reloading the catalog", "from", cur.Revision(), "to", rev, "err", err)
		return false, nil
	}
	s.publish(g)
	return true, nil
}

// reload reads, in one snapshot transaction, what applyLog cannot apply:
// the directory, and the changes since cur or else the whole catalog.
func (s *Store) reload(ctx context.Context, cur *catalog.Graph) error {
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
				log, err := readChanges(ctx, tx, cur.Revision(), rev)
				if err != nil {
					return err
				}
				rows, reload, tenancyChanged = log.rows, log.reload, log.tenancy
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

// changeLog is what the change log says a replica must do: apply catalog
// rows, reload the catalog (a content load, or a row of an older release),
// or reload the directory (tenants or keys changed).
type changeLog struct {
	rows            []catalog.Change
	reload, tenancy bool
}

// add reads one row of the change log.
func (l *changeLog) add(rev int64, body []byte) error {
	if body == nil {
		l.reload = true // a row of an older release
		return nil
	}
	var c store.Change
	if err := json.Unmarshal(body, &c); err != nil {
		return err
	}
	c = c.At(rev) // the body leaves the revision to its column
	if cc, ok := c.Catalog(); ok {
		l.rows = append(l.rows, cc)
		return nil
	}
	switch c.Kind {
	case store.KindTenant, store.KindAPIKey:
		l.tenancy = true
	default:
		l.reload = true // a content load
	}
	return nil
}

// readChanges reads the change log between two revisions.
func readChanges(ctx context.Context, tx pgx.Tx, from, to int64) (changeLog, error) {
	var log changeLog
	res, err := tx.Query(ctx, `SELECT revision, body FROM changes WHERE revision > $1 AND revision <= $2 ORDER BY revision, idx`, from, to)
	if err != nil {
		return log, err
	}
	defer res.Close()
	for res.Next() {
		var rev int64
		var body []byte
		if err := res.Scan(&rev, &body); err != nil {
			return log, err
		}
		if err := log.add(rev, body); err != nil {
			return log, err
		}
	}
	return log, res.Err()
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
	exists := map[catalog.ControlRef]bool{}
	for fw, cs := range controls {
		for _, c := range cs {
			exists[catalog.ControlRef{Framework: fw, Control: c.ID}] = true
		}
	}
	// A group member has no foreign key: a row naming a control that is gone
	// is left out (and said), not allowed to stop the whole catalog.
	list = slices.DeleteFunc(list, func(m catalog.Mapping) bool {
		for _, r := range slices.Concat(m.SourceSide(), m.TargetSide()) {
			if !exists[r] {
				s.log.Error("mapping in the database names a control that does not exist; not serving it", "mapping", m.ID, "control", r.Name())
				return true
			}
		}
		return false
	})
	return b.Build(rev, s.validMappings(list))
}

const mappingColumns = `id, source_framework, source_control, target_framework, target_control, relationship, strength,
	rationale, justification, document, method, status, author, create_time, update_time, built_in, revision, reverse_strength, interchange,
	source_members, target_members`

// membersOf reads a side's members column (” for one control).
func membersOf(framework, members string) []catalog.ControlRef {
	if members == "" {
		return nil
	}
	ids := strings.Fields(members)
	out := make([]catalog.ControlRef, len(ids))
	for i, id := range ids {
		out[i] = catalog.ControlRef{Framework: framework, Control: id}
	}
	return out
}

// membersColumn is a side's members column: the ids in order, separated by
// spaces; ” for a side of one control.
func membersColumn(side []catalog.ControlRef) string {
	ids := make([]string, len(side))
	for i, r := range side {
		ids[i] = r.Control
	}
	return strings.Join(ids, " ")
}

func scanMapping(row pgx.CollectableRow) (catalog.Mapping, error) { return scanMappingRow(row) }

func scanMappingRow(row pgx.Row) (catalog.Mapping, error) {
	var m catalog.Mapping
	var rel, rat, method, st int32
	var created, updated *time.Time
	var srcMembers, dstMembers string
	err := row.Scan(&m.ID, &m.Source.Framework, &m.Source.Control, &m.Target.Framework, &m.Target.Control,
		&rel, &m.Strength, &rat, &m.Justification, &m.Provenance.Document, &method, &st, &m.Provenance.Author,
		&created, &updated, &m.BuiltIn, &m.Revision, &m.ReverseStrength, &m.Interchange, &srcMembers, &dstMembers)
	m.Sources, m.Targets = membersOf(m.Source.Framework, srcMembers), membersOf(m.Target.Framework, dstMembers)
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
