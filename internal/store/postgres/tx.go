package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// Update implements store.Writer. fn reads the rows as stored (locking
// what it changes); its writes are sent at commit in one round trip with
// the change log, the audit event and the notification. The revision is
// taken last, so writers wait on each other only for that final step, and
// revisions commit in order.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) (store.Audit, error)) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	var rev int64
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		rev, err = s.updateOnce(ctx, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return 0, classify(err)
	}
	if rev > 0 {
		if err := s.catchUp(ctx); err != nil {
			s.log.WarnContext(ctx, "write committed, catching up failed; the follower will retry", "revision", rev, "err", err)
		}
	}
	return rev, nil
}

func (s *Store) updateOnce(ctx context.Context, fn func(store.Tx) (store.Audit, error)) (int64, error) {
	var rev int64
	err := pgx.BeginFunc(ctx, s.pool, func(ptx pgx.Tx) error {
		t := &tx{ctx: ctx, tx: ptx, now: time.Now().UTC().Truncate(time.Microsecond)}
		a, err := fn(t)
		switch {
		case t.failed != nil:
			return t.failed
		case err != nil:
			return callerError{err}
		case len(t.changes)+len(t.pending) == 0:
			return nil // nothing written; the read locks go with the commit
		}
		if err := t.flush(func(b *pgx.Batch) { t.queueCommit(b, store.Event(ctx, a, t.rev)) }); err != nil {
			return err
		}
		rev = t.rev
		return nil
	})
	return rev, err
}

// tx implements store.Tx on a PostgreSQL transaction. Writes wait in
// pending until commit, or until a read needs them applied first.
type tx struct {
	ctx     context.Context
	tx      pgx.Tx
	now     time.Time
	rev     int64 // taken by the first flush
	pending []store.Change
	changes []store.Change
	failed  error // an error of the database during a read
}

func (t *tx) Now() time.Time { return t.now }

func (t *tx) Write(changes ...store.Change) {
	t.pending = append(t.pending, changes...)
}

// fail records an error of the database: the transaction cannot commit.
func (t *tx) fail(err error) error {
	if t.failed == nil {
		t.failed = err
	}
	return err
}

// read runs before each read: the transaction's own writes apply first.
func (t *tx) read() error {
	if t.failed != nil {
		return t.failed
	}
	if len(t.pending) > 0 {
		if err := t.flush(nil); err != nil {
			return t.fail(err)
		}
	}
	return nil
}

// flush takes the revision if it has not yet, and sends the pending
// writes, and whatever more queues, in one batch.
func (t *tx) flush(more func(*pgx.Batch)) error {
	if t.rev == 0 {
		if err := t.tx.QueryRow(t.ctx, "UPDATE store_state SET revision = revision + 1 RETURNING revision").Scan(&t.rev); err != nil {
			return err
		}
	}
	b := &pgx.Batch{}
	var sent []store.Change // the change of each statement, to name what failed
	for i := 0; i < len(t.pending); {
		c := t.pending[i].At(t.rev)
		n := 1
		if c.Delete && (c.Kind == store.KindMapping || c.Kind == store.KindControl) {
			for i+n < len(t.pending) && t.pending[i+n].Kind == c.Kind && t.pending[i+n].Delete {
				n++
			}
		}
		run := t.pending[i : i+n]
		for range queueWrite(b, c, run, t.rev) {
			sent = append(sent, c)
		}
		for _, r := range run {
			t.changes = append(t.changes, r.At(t.rev))
		}
		i += n
	}
	t.pending = nil
	if more != nil {
		more(b)
	}
	res := t.tx.SendBatch(t.ctx, b)
	for i := range b.Len() {
		if _, err := res.Exec(); err != nil {
			res.Close()
			if i < len(sent) {
				return writeError(err, &sent[i])
			}
			return err
		}
	}
	return res.Close()
}

// queueWrite queues the statements of a change (for a run of deletes of
// one kind, of the whole run) and returns how many it queued.
func queueWrite(b *pgx.Batch, c store.Change, run []store.Change, rev int64) int {
	n := b.Len()
	switch c.Kind {
	case store.KindFramework:
		f := c.Framework
		if c.Delete {
			b.Queue("DELETE FROM frameworks WHERE id = $1", f.ID)
			break
		}
		tags, _ := json.Marshal(f.Tags)
		b.Queue(`INSERT INTO frameworks (id, display_name, version, publisher, kind, description, tags, built_in, revision, owner)
			VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8, $9)
			ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, version = EXCLUDED.version,
				publisher = EXCLUDED.publisher, kind = EXCLUDED.kind, description = EXCLUDED.description, tags = EXCLUDED.tags,
				revision = EXCLUDED.revision, owner = EXCLUDED.owner`,
			f.ID, f.DisplayName, f.Version, f.Publisher, int32(f.Kind), f.Description, tags, rev, f.Owner)
	case store.KindControl:
		if c.Delete {
			fws, ids := make([]string, len(run)), make([]string, len(run))
			for i, r := range run {
				fws[i], ids[i] = r.Framework.ID, r.Control.ID
			}
			b.Queue("DELETE FROM controls WHERE (framework_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))", fws, ids)
			break
		}
		ctl := c.Control
		b.Queue(`INSERT INTO controls (framework_id, id, position, parent_id, title, summary, kind, assessable, aliases, tags,
				built_in, revision, implementation, owner, evidence)
			SELECT $1, $2, coalesce(max(position), -1) + 1, $3, $4, $5, $6, $7, $8, $9, false, $10, $11, $12, $13
			FROM controls WHERE framework_id = $1
			ON CONFLICT (framework_id, id) DO UPDATE SET parent_id = EXCLUDED.parent_id, title = EXCLUDED.title,
				summary = EXCLUDED.summary, kind = EXCLUDED.kind, assessable = EXCLUDED.assessable, aliases = EXCLUDED.aliases,
				tags = EXCLUDED.tags, revision = EXCLUDED.revision, implementation = EXCLUDED.implementation,
				owner = EXCLUDED.owner, evidence = EXCLUDED.evidence`,
			c.Framework.ID, ctl.ID, ctl.Parent, ctl.Title, ctl.Summary, int32(ctl.Kind), ctl.Assessable,
			nonNil(ctl.Aliases), nonNil(ctl.Tags), rev, int32(ctl.Implementation), ctl.Owner, nonNil(ctl.Evidence))
	case store.KindMapping:
		if c.Delete {
			var ids, builtIn []string
			for _, r := range run {
				ids = append(ids, r.Mapping.ID)
				if r.Mapping.BuiltIn {
					builtIn = append(builtIn, r.Mapping.ID)
				}
			}
			b.Queue("DELETE FROM mappings WHERE id = ANY($1)", ids)
			if len(builtIn) > 0 { // content updates leave them deleted
				b.Queue("INSERT INTO deleted_built_in_mappings (id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", builtIn)
			}
			break
		}
		m := c.Mapping
		b.Queue(`INSERT INTO mappings (id, source_framework, source_control, target_framework, target_control,
				relationship, strength, rationale, justification, document, method, status, author,
				create_time, update_time, built_in, revision, reverse_strength)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
			ON CONFLICT (id) DO UPDATE SET relationship = EXCLUDED.relationship, strength = EXCLUDED.strength,
				rationale = EXCLUDED.rationale, justification = EXCLUDED.justification, document = EXCLUDED.document,
				method = EXCLUDED.method, status = EXCLUDED.status, author = EXCLUDED.author, update_time = EXCLUDED.update_time,
				revision = EXCLUDED.revision, reverse_strength = EXCLUDED.reverse_strength, user_modified = mappings.built_in`,
			m.ID, m.Source.Framework, m.Source.Control, m.Target.Framework, m.Target.Control,
			int32(m.Relationship), m.Strength, int32(m.Rationale), m.Justification,
			m.Provenance.Document, int32(m.Provenance.Method), int32(m.Provenance.Status), m.Provenance.Author,
			m.Provenance.CreateTime, m.Provenance.UpdateTime, m.BuiltIn, rev, m.ReverseStrength)
	case store.KindTenant:
		t := c.Tenant
		b.Queue(`INSERT INTO tenants (id, display_name, create_time, revision) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, revision = EXCLUDED.revision`,
			t.ID, t.DisplayName, t.CreateTime, rev)
	case store.KindAPIKey:
		k := c.APIKey
		scopes := make([]int32, len(k.Scopes))
		for i, sc := range k.Scopes {
			scopes[i] = int32(sc)
		}
		var revoked *time.Time
		if k.Revoked() {
			revoked = &k.RevokeTime
		}
		b.Queue(`INSERT INTO api_keys (id, tenant_id, scopes, hash, create_time, revoke_time) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET scopes = EXCLUDED.scopes, revoke_time = EXCLUDED.revoke_time`,
			k.ID, k.Tenant, scopes, k.Hash[:], k.CreateTime, revoked)
	}
	return b.Len() - n
}

// writeError names what a write refers to that the database found missing
// or taken.
func writeError(err error, c *store.Change) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch {
	case pe.Code == "23505" && c.Kind == store.KindMapping: // unique_violation: the pair
		return fmt.Errorf("%w: %s and %s are already mapped", store.ErrAlreadyExists, c.Mapping.Source.Name(), c.Mapping.Target.Name())
	case pe.Code == "23505":
		return fmt.Errorf("%w: %s", store.ErrAlreadyExists, c.Name())
	case pe.Code == "23503" && c.Kind == store.KindMapping: // foreign_key_violation
		return fmt.Errorf("%w: control %s or %s", store.ErrNotFound, c.Mapping.Source.Name(), c.Mapping.Target.Name())
	case pe.Code == "23503" && c.Kind == store.KindControl:
		return store.NotFound("framework", catalog.FrameworkName(c.Framework.ID))
	case pe.Code == "23503" && c.Kind == store.KindAPIKey:
		return store.NotFound("tenant", tenancy.TenantName(c.APIKey.Tenant))
	case pe.Code == "23514": // check_violation: only a rule the database
		// knows and this binary does not can get here
		return catalog.Invalid(c.Kind.String(), "breaks a rule of the database schema")
	}
	return err
}

// queueCommit queues what every write ends with: its changes in the log,
// its audit event, and the notification to the replicas.
func (t *tx) queueCommit(b *pgx.Batch, ev tenancy.AuditEvent) {
	kinds := make([]string, len(t.changes))
	deleted := make([]bool, len(t.changes))
	owners := make([]string, len(t.changes))
	bodies := make([]string, len(t.changes))
	for i, c := range t.changes {
		body, _ := json.Marshal(c) // plain data: cannot fail
		kinds[i], deleted[i], owners[i], bodies[i] = c.Kind.String(), c.Delete, c.Owner, string(body)
	}
	b.Queue(`INSERT INTO changes (revision, idx, kind, deleted, owner, body, change_time)
		SELECT $1, ord - 1, kind, deleted, owner, body::jsonb, $6
		FROM unnest($2::text[], $3::boolean[], $4::text[], $5::text[]) WITH ORDINALITY AS r(kind, deleted, owner, body, ord)`,
		t.rev, kinds, deleted, owners, bodies, t.now)
	b.Queue(`INSERT INTO audit_events (revision, time, tenant, actor, method, resource, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, t.rev, t.now, ev.Tenant, ev.Actor, ev.Method, ev.Resource, ev.Before, ev.After)
	b.Queue("SELECT pg_notify($1, $2)", changesChannel, strconv.FormatInt(t.rev, 10))
}

func forUpdate(lock store.Lock) string {
	if lock == store.Exclusive {
		return " FOR UPDATE"
	}
	return ""
}

func (t *tx) Framework(id string, lock store.Lock) (catalog.Framework, error) {
	if err := t.read(); err != nil {
		return catalog.Framework{}, err
	}
	f, err := scanFramework(t.tx.QueryRow(t.ctx, "SELECT "+frameworkColumns+" FROM frameworks WHERE id = $1"+forUpdate(lock), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return f, store.NotFound("framework", catalog.FrameworkName(id))
	}
	if err != nil {
		return f, t.fail(err)
	}
	return f, nil
}

func (t *tx) Control(framework, id string, lock store.Lock) (catalog.Control, error) {
	if err := t.read(); err != nil {
		return catalog.Control{}, err
	}
	c, err := scanControl(t.tx.QueryRow(t.ctx, "SELECT "+controlColumns+" FROM controls WHERE framework_id = $1 AND id = $2"+forUpdate(lock), framework, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, store.NotFound("control", catalog.ControlName(framework, id))
	}
	if err != nil {
		return c, t.fail(err)
	}
	return c, nil
}

func (t *tx) Controls(framework string) ([]catalog.Control, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(t.ctx, "SELECT "+controlColumns+" FROM controls WHERE framework_id = $1 ORDER BY position, id", framework)
	if err != nil {
		return nil, t.fail(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalog.Control, error) { return scanControl(r) })
	if err != nil {
		return nil, t.fail(err)
	}
	return out, nil
}

func (t *tx) Mapping(id string) (catalog.Mapping, error) {
	if err := t.read(); err != nil {
		return catalog.Mapping{}, err
	}
	m, err := scanMappingRow(t.tx.QueryRow(t.ctx, "SELECT "+mappingColumns+" FROM mappings WHERE id = $1 FOR UPDATE", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, store.NotFound("mapping", catalog.MappingName(id))
	}
	if err != nil {
		return m, t.fail(err)
	}
	return m, nil
}

func (t *tx) MappingBetween(a, b catalog.ControlRef) (catalog.Mapping, bool, error) {
	if err := t.read(); err != nil {
		return catalog.Mapping{}, false, err
	}
	m, err := scanMappingRow(t.tx.QueryRow(t.ctx, "SELECT "+mappingColumns+` FROM mappings
		WHERE (source_framework, source_control, target_framework, target_control) IN (($1, $2, $3, $4), ($3, $4, $1, $2)) LIMIT 1`,
		a.Framework, a.Control, b.Framework, b.Control))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, false, nil
	}
	if err != nil {
		return m, false, t.fail(err)
	}
	return m, true, nil
}

func (t *tx) MappingsOf(framework, control string) ([]catalog.Mapping, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(t.ctx, "SELECT "+mappingColumns+` FROM mappings
		WHERE (source_framework = $1 AND ($2 = '' OR source_control = $2)) OR (target_framework = $1 AND ($2 = '' OR target_control = $2))
		ORDER BY id`, framework, control)
	if err != nil {
		return nil, t.fail(err)
	}
	out, err := pgx.CollectRows(rows, scanMapping)
	if err != nil {
		return nil, t.fail(err)
	}
	return out, nil
}

func (t *tx) Tenant(id string) (tenancy.Tenant, bool, error) {
	if err := t.read(); err != nil {
		return tenancy.Tenant{}, false, err
	}
	var tn tenancy.Tenant
	err := t.tx.QueryRow(t.ctx, "SELECT id, display_name, create_time, revision FROM tenants WHERE id = $1", id).
		Scan(&tn.ID, &tn.DisplayName, &tn.CreateTime, &tn.Revision)
	if errors.Is(err, pgx.ErrNoRows) {
		return tn, false, nil
	}
	if err != nil {
		return tn, false, t.fail(err)
	}
	tn.CreateTime = tn.CreateTime.UTC()
	return tn, true, nil
}

func (t *tx) APIKey(tenant, id string) (tenancy.APIKey, error) {
	if err := t.read(); err != nil {
		return tenancy.APIKey{}, err
	}
	keys, err := queryKeys(t.ctx, t.tx, "WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant, id)
	if err != nil {
		return tenancy.APIKey{}, t.fail(err)
	}
	if len(keys) == 0 {
		return tenancy.APIKey{}, store.NotFound("api key", tenancy.KeyName(tenant, id))
	}
	return keys[0], nil
}

const frameworkColumns = "id, display_name, version, publisher, kind, description, tags, revision, owner"

func scanFramework(row pgx.Row) (catalog.Framework, error) {
	var f catalog.Framework
	var kind int32
	var tags []byte
	if err := row.Scan(&f.ID, &f.DisplayName, &f.Version, &f.Publisher, &kind, &f.Description, &tags, &f.Revision, &f.Owner); err != nil {
		return f, err
	}
	f.Kind = cmv1.FrameworkKind(kind)
	var err error
	f.Tags, err = tagsFromJSON(tags)
	return f, err
}

const controlColumns = "id, parent_id, title, summary, kind, assessable, aliases, tags, revision, implementation, owner, evidence"

func scanControl(row pgx.Row, before ...any) (catalog.Control, error) {
	var c catalog.Control
	var kind, impl int32
	dest := append(before, &c.ID, &c.Parent, &c.Title, &c.Summary, &kind, &c.Assessable, &c.Aliases, &c.Tags, &c.Revision,
		&impl, &c.Owner, &c.Evidence)
	err := row.Scan(dest...)
	c.Kind, c.Implementation = cmv1.ControlKind(kind), cmv1.ImplementationStatus(impl)
	// An empty list is stored as '{}': read it as none, as it was written.
	for _, l := range []*[]string{&c.Aliases, &c.Tags, &c.Evidence} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return c, err
}
