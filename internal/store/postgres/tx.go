package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// commitError reports a failure of the batch that ends in COMMIT. An error
// the database answered for one of its statements means the transaction
// rolled back. A connection that failed once the batch was sent, or a
// session the server ended (a shutdown, a crash), leaves the outcome
// unknown: COMMIT may have been carried out with its answer lost.
func commitError(err error) error {
	var pe *pgconn.PgError
	var inv *catalog.InvalidError
	switch {
	case errors.As(err, &pe):
		severity := pe.SeverityUnlocalized // not translated by lc_messages; empty before PostgreSQL 9.6
		if severity == "" {
			severity = pe.Severity
		}
		if severity != "FATAL" && severity != "PANIC" && pe.Code[:2] != "08" && pe.Code[:3] != "57P" {
			return err
		}
	case errors.Is(err, store.ErrAlreadyExists), errors.Is(err, store.ErrNotFound), errors.As(err, &inv):
		return err // an answer of the database, named by writeError
	}
	if pgconn.SafeToRetry(err) { // nothing was sent
		return err
	}
	return fmt.Errorf("%w: %v", store.ErrOutcomeUnknown, err)
}

// preCommitError is a failure before anything could be committed.
type preCommitError struct{ err error }

func (e preCommitError) Error() string { return e.err.Error() }
func (e preCommitError) Unwrap() error { return e.err }

// revisionPlaceholder stands for the revision in what is rendered before
// the revision is known (the audit event's JSON); the database puts the
// revision in its place. In JSON it appears only as a whole field value
// ("revision":"9223372036854775807"), which no text a user wrote can
// produce inside a JSON string.
const revisionPlaceholder = 9223372036854775807

// querier is what a write transaction runs its statements on.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// tx implements store.Tx on a PostgreSQL transaction. Writes wait in
// pending until commit, or until a read needs them applied first.
type tx struct {
	ctx context.Context
	q   querier
	// prelude goes with the first statement of the write: what is held
	// of earlier writes of the group, then this write's savepoint and
	// revision (see group); opened once it has gone.
	prelude []statement
	// graph is the replica's catalog when it is the database's as of this
	// transaction (no write of the group before changed a framework).
	graph   *catalog.Graph
	held    []*segment
	heldErr error // an earlier write's failure, found with the prelude
	heldAt  int   // the index of the statement of held that failed
	opened  bool
	now     time.Time
	rev     int64 // the write's revision, given by its group
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
		if err := t.flush(); err != nil {
			return t.fail(err)
		}
	}
	return nil
}

// thisRevision is the revision of the write in SQL, as the statement that
// takes it leaves it in a setting of the transaction. Reading the setting
// rather than the row spares every statement of the write a walk through
// the row's versions: every write updates that one row.
const thisRevision = "(SELECT current_setting('controlmap.revision')::bigint)"

// flush sends the pending writes in one batch (with the prelude, when
// they are the first statements of the write): a read needs them applied.
func (t *tx) flush() error {
	b := &pgx.Batch{}
	opens := t.open(b)
	sent := t.queuePending(b)
	res := t.q.SendBatch(t.ctx, b)
	defer res.Close()
	if err := t.execPrelude(res, opens); err != nil {
		return err
	}
	for i := range b.Len() - opens {
		if _, err := res.Exec(); err != nil {
			return writeError(err, sent[i])
		}
	}
	return res.Close()
}

// maxRun is the most rows one statement writes: a bulk write (an import)
// costs one statement per maxRun rows of a kind.
const maxRun = 1000

// queuePending queues the pending writes and returns the changes of each
// statement it queued, to name what failed. Consecutive deletes of
// controls or mappings go in one statement, and so do consecutive puts of
// mappings, or of one framework's controls (up to maxRun, each row once).
func (t *tx) queuePending(b *pgx.Batch) [][]store.Change {
	var sent [][]store.Change
	for i := 0; i < len(t.pending); {
		c := t.pending[i]
		n := 1
		if c.Kind == store.KindMapping || c.Kind == store.KindControl {
			seen := map[string]bool{runKey(&c): true}
			for i+n < len(t.pending) && n < maxRun && sameRun(&c, &t.pending[i+n]) && !seen[runKey(&t.pending[i+n])] {
				seen[runKey(&t.pending[i+n])] = true
				n++
			}
		}
		run := t.pending[i : i+n]
		for range queueWrite(b, c, run) {
			sent = append(sent, run)
		}
		t.changes = append(t.changes, run...)
		i += n
	}
	t.pending = nil
	return sent
}

// sameRun reports whether d can be written by the statement of c's run:
// deletes of the same kind; puts of mappings, or of controls of the same
// framework, equally new or not.
func sameRun(c, d *store.Change) bool {
	if d.Kind != c.Kind || d.Delete != c.Delete {
		return false
	}
	return c.Delete || (d.New == c.New && (c.Kind == store.KindMapping || d.Framework.ID == c.Framework.ID))
}

// runKey is the row a change of a run writes: a statement that upserts
// must not write a row twice.
func runKey(c *store.Change) string {
	if c.Kind == store.KindMapping {
		return c.Mapping.ID
	}
	return c.Framework.ID + "/" + c.Control.ID
}

// segment is the part of a write not sent yet, held back to go with the
// next statement of its group (the next write's first read, or COMMIT),
// which spares each write a round trip of its own: all of a write that
// has sent nothing (its savepoint and revision first), else the end of it
// (its last writes, change log, audit event and the release of its
// savepoint).
type segment struct {
	j     *job
	whole bool // starts with the write's savepoint and revision
	stmts []statement
	sent  [][]store.Change // the changes of each write statement
	first int              // the index in stmts of the first of them
}

// errorAt names the failure of statement i of the segment.
func (g *segment) errorAt(i int, err error) error {
	if k := i - g.first; k >= 0 && k < len(g.sent) {
		return writeError(err, g.sent[k])
	}
	return err
}

// renumber gives a whole segment another revision: a write before it in
// its group failed.
func (g *segment) renumber(rev int64) {
	if g.whole {
		g.stmts[1] = revisionStatement(rev)
	}
}

// savepoint is what a write of a group begins with: its savepoint, and
// its revision as a setting of the transaction for thisRevision.
func savepoint(rev int64) []statement {
	return []statement{{sql: "SAVEPOINT write"}, revisionStatement(rev)}
}

func revisionStatement(rev int64) statement {
	return statement{sql: "SELECT set_config('controlmap.revision', $1, true)", args: []any{strconv.FormatInt(rev, 10)}}
}

// hold returns the rest of the write as a segment instead of sending it.
func (t *tx) hold(j *job, ev tenancy.AuditEvent, affected []tenancy.AuditEvent) *segment {
	b := &pgx.Batch{}
	g := &segment{j: j, whole: !t.opened}
	if g.whole {
		for _, st := range savepoint(t.rev) {
			b.Queue(st.sql, st.args...)
		}
	}
	g.first = b.Len()
	g.sent = t.queuePending(b)
	t.queueLog(b, ev, affected)
	b.Queue("RELEASE SAVEPOINT write")
	for _, q := range b.QueuedQueries {
		g.stmts = append(g.stmts, statement{sql: q.SQL, args: q.Arguments})
	}
	return g
}

// statements lists the statements of segments in order.
func statements(held []*segment) []statement {
	var out []statement
	for _, g := range held {
		out = append(out, g.stmts...)
	}
	return out
}

// locate finds the segment of statement i of held, and its index there.
func locate(held []*segment, i int) (int, int) {
	for m, g := range held {
		if i < len(g.stmts) {
			return m, i
		}
		i -= len(g.stmts)
	}
	return -1, -1
}

// execPrelude reads the results of the prelude's statements. A failure
// within the segments held for earlier writes is recorded with where it
// happened (heldAt): that write failed, not this one.
func (t *tx) execPrelude(res pgx.BatchResults, opens int) error {
	n := len(statements(t.held))
	for i := range opens {
		if _, err := res.Exec(); err != nil {
			if i < n {
				t.heldErr, t.heldAt = err, i
			}
			return err
		}
	}
	return nil
}

// queueWrite queues the statements of a change (for a run of deletes of
// one kind, of the whole run) and returns how many it queued.
func queueWrite(b *pgx.Batch, c store.Change, run []store.Change) int {
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
			VALUES ($1, $2, $3, $4, $5, $6, $7, false, `+thisRevision+`, $8)`+unlessNew(c, `
			ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, version = EXCLUDED.version,
				publisher = EXCLUDED.publisher, kind = EXCLUDED.kind, description = EXCLUDED.description, tags = EXCLUDED.tags,
				revision = EXCLUDED.revision, owner = EXCLUDED.owner`),
			f.ID, f.DisplayName, f.Version, f.Publisher, int32(f.Kind), f.Description, tags, f.Owner)
	case store.KindControl:
		if c.Delete {
			fws, ids := make([]string, len(run)), make([]string, len(run))
			for i, r := range run {
				fws[i], ids[i] = r.Framework.ID, r.Control.ID
			}
			b.Queue("DELETE FROM controls WHERE (framework_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))", fws, ids)
			break
		}
		if len(run) > 1 {
			queueControls(b, c, run)
			break
		}
		ctl := c.Control
		b.Queue(`INSERT INTO controls (framework_id, id, position, parent_id, title, summary, kind, assessable, aliases, tags,
				built_in, revision, implementation, owner, evidence)
			SELECT $1, $2, coalesce(max(position), -1) + 1, $3, $4, $5, $6, $7, $8, $9, false, `+thisRevision+`, $10, $11, $12
			FROM controls WHERE framework_id = $1`+unlessNew(c, controlUpsert),
			c.Framework.ID, ctl.ID, ctl.Parent, ctl.Title, ctl.Summary, int32(ctl.Kind), ctl.Assessable,
			nonNil(ctl.Aliases), nonNil(ctl.Tags), int32(ctl.Implementation), ctl.Owner, nonNil(ctl.Evidence))
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
		if len(run) > 1 {
			queueMappings(b, c, run)
			break
		}
		m := c.Mapping
		b.Queue(`INSERT INTO mappings (id, source_framework, source_control, target_framework, target_control,
				relationship, strength, rationale, justification, document, method, status, author,
				create_time, update_time, built_in, revision, reverse_strength, interchange, source_members, target_members)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, `+thisRevision+`, $17, $18, $19, $20)`+unlessNew(c, mappingUpsert),
			m.ID, m.Source.Framework, m.Source.Control, m.Target.Framework, m.Target.Control,
			int32(m.Relationship), m.Strength, int32(m.Rationale), m.Justification,
			m.Provenance.Document, int32(m.Provenance.Method), int32(m.Provenance.Status), m.Provenance.Author,
			m.Provenance.CreateTime, m.Provenance.UpdateTime, m.BuiltIn, m.ReverseStrength, m.Interchange, membersColumn(m.Sources), membersColumn(m.Targets))
	case store.KindTenant:
		t := c.Tenant
		b.Queue(`INSERT INTO tenants (id, display_name, create_time, revision, require_admin_approval) VALUES ($1, $2, $3, `+thisRevision+`, $4)`+unlessNew(c, `
			ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, revision = EXCLUDED.revision,
				require_admin_approval = EXCLUDED.require_admin_approval`),
			t.ID, t.DisplayName, t.CreateTime, t.RequireAdminApproval)
	case store.KindAPIKey:
		k := c.APIKey
		scopes := make([]int32, len(k.Scopes))
		for i, sc := range k.Scopes {
			scopes[i] = int32(sc)
		}
		var revoked, expires *time.Time
		if k.Revoked() {
			revoked = &k.RevokeTime
		}
		if !k.ExpireTime.IsZero() {
			expires = &k.ExpireTime
		}
		b.Queue(`INSERT INTO api_keys (id, tenant_id, scopes, hash, create_time, revoke_time, expire_time) VALUES ($1, $2, $3, $4, $5, $6, $7)`+unlessNew(c, `
			ON CONFLICT (id) DO UPDATE SET scopes = EXCLUDED.scopes, revoke_time = EXCLUDED.revoke_time, expire_time = EXCLUDED.expire_time`),
			k.ID, k.Tenant, scopes, k.Hash[:], k.CreateTime, revoked, expires)
	}
	return b.Len() - n
}

// unlessNew is the conflict clause of a put, left out when the row must be
// new: then a row created meanwhile is a unique violation (ErrAlreadyExists).
func unlessNew(c store.Change, clause string) string {
	if c.New {
		return ""
	}
	return clause
}

// controlUpsert and mappingUpsert are what a put of an existing row
// changes.
const (
	controlUpsert = `
			ON CONFLICT (framework_id, id) DO UPDATE SET parent_id = EXCLUDED.parent_id, title = EXCLUDED.title,
				summary = EXCLUDED.summary, kind = EXCLUDED.kind, assessable = EXCLUDED.assessable, aliases = EXCLUDED.aliases,
				tags = EXCLUDED.tags, revision = EXCLUDED.revision, implementation = EXCLUDED.implementation,
				owner = EXCLUDED.owner, evidence = EXCLUDED.evidence`
	mappingUpsert = `
			ON CONFLICT (id) DO UPDATE SET relationship = EXCLUDED.relationship, strength = EXCLUDED.strength,
				rationale = EXCLUDED.rationale, justification = EXCLUDED.justification, document = EXCLUDED.document,
				method = EXCLUDED.method, status = EXCLUDED.status, author = EXCLUDED.author, update_time = EXCLUDED.update_time,
				revision = EXCLUDED.revision, reverse_strength = EXCLUDED.reverse_strength, interchange = EXCLUDED.interchange,
				user_modified = mappings.built_in`
)

// queueControls queues one statement that puts a run of controls of one
// framework, in order: new ones after the framework's others. Lists go as
// JSON (unnest would flatten arrays of arrays).
func queueControls(b *pgx.Batch, c store.Change, run []store.Change) {
	n := len(run)
	ids, parents, titles, summaries, aliases, tags, owners, evidence := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	kinds, impls := make([]int32, n), make([]int32, n)
	assessable := make([]bool, n)
	for i, r := range run {
		ctl := &r.Control
		ids[i], parents[i], titles[i], summaries[i], owners[i] = ctl.ID, ctl.Parent, ctl.Title, ctl.Summary, ctl.Owner
		kinds[i], impls[i], assessable[i] = int32(ctl.Kind), int32(ctl.Implementation), ctl.Assessable
		aliases[i], tags[i], evidence[i] = jsonList(ctl.Aliases), jsonList(ctl.Tags), jsonList(ctl.Evidence)
	}
	b.Queue(`INSERT INTO controls (framework_id, id, position, parent_id, title, summary, kind, assessable, aliases, tags,
			built_in, revision, implementation, owner, evidence)
		SELECT $1, x.id, (SELECT coalesce(max(position), -1) FROM controls WHERE framework_id = $1) + x.ord, x.parent, x.title, x.summary,
			x.kind, x.assessable, ARRAY(SELECT jsonb_array_elements_text(x.aliases::jsonb)), ARRAY(SELECT jsonb_array_elements_text(x.tags::jsonb)),
			false, `+thisRevision+`, x.impl, x.owner, ARRAY(SELECT jsonb_array_elements_text(x.evidence::jsonb))
		FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::boolean[], $8::text[], $9::text[], $10::int[], $11::text[], $12::text[])
			WITH ORDINALITY AS x(id, parent, title, summary, kind, assessable, aliases, tags, impl, owner, evidence, ord)
		ORDER BY x.ord`+unlessNew(c, controlUpsert),
		c.Framework.ID, ids, parents, titles, summaries, kinds, assessable, aliases, tags, impls, owners, evidence)
}

// queueMappings queues one statement that puts a run of mappings.
func queueMappings(b *pgx.Batch, c store.Change, run []store.Change) {
	n := len(run)
	ids, sf, sc, tf, tc, just, doc, author := make([]string, n), make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	rel, str, rat, method, status, rev := make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
	created, updated := make([]time.Time, n), make([]time.Time, n)
	builtIn := make([]bool, n)
	extras := make([]*catalog.Interchange, n)
	srcMembers, dstMembers := make([]string, n), make([]string, n)
	for i, r := range run {
		m := &r.Mapping
		ids[i], sf[i], sc[i], tf[i], tc[i] = m.ID, m.Source.Framework, m.Source.Control, m.Target.Framework, m.Target.Control
		rel[i], str[i], rat[i], rev[i] = int32(m.Relationship), m.Strength, int32(m.Rationale), m.ReverseStrength
		just[i], doc[i], author[i] = m.Justification, m.Provenance.Document, m.Provenance.Author
		method[i], status[i], created[i], updated[i], builtIn[i] = int32(m.Provenance.Method), int32(m.Provenance.Status), m.Provenance.CreateTime, m.Provenance.UpdateTime, m.BuiltIn
		extras[i], srcMembers[i], dstMembers[i] = m.Interchange, membersColumn(m.Sources), membersColumn(m.Targets)
	}
	b.Queue(`INSERT INTO mappings (id, source_framework, source_control, target_framework, target_control,
			relationship, strength, rationale, justification, document, method, status, author,
			create_time, update_time, built_in, revision, reverse_strength, interchange, source_members, target_members)
		SELECT x.id, x.sf, x.sc, x.tf, x.tc, x.rel, x.str, x.rat, x.just, x.doc, x.method, x.status, x.author, x.created, x.updated, x.built_in,
			`+thisRevision+`, x.rev, x.extras, x.sm, x.tm
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::text[], $10::text[],
			$11::int[], $12::int[], $13::text[], $14::timestamptz[], $15::timestamptz[], $16::boolean[], $17::int[], $18::jsonb[], $19::text[], $20::text[])
			AS x(id, sf, sc, tf, tc, rel, str, rat, just, doc, method, status, author, created, updated, built_in, rev, extras, sm, tm)`+unlessNew(c, mappingUpsert),
		ids, sf, sc, tf, tc, rel, str, rat, just, doc, method, status, author, created, updated, builtIn, rev, extras, srcMembers, dstMembers)
}

// jsonList is a list as a JSON array, for the arrays of a run.
func jsonList(s []string) string {
	b, _ := json.Marshal(nonNil(s))
	return string(b)
}

// writeError names what a write refers to that the database found missing
// or taken: the change of a statement that wrote one, what the database
// says for a run.
func writeError(err error, run []store.Change) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || len(run) == 0 {
		return err
	}
	if len(run) > 1 {
		return runError(pe, &run[0])
	}
	c := &run[0]
	switch {
	case pe.Code == "23505" && c.Kind == store.KindMapping && c.Mapping.IsGroup(): // unique_violation: the pair of groups
		return fmt.Errorf("%w: %s and %s are already mapped", store.ErrAlreadyMapped, catalog.SideKey(c.Mapping.SourceSide()), catalog.SideKey(c.Mapping.TargetSide()))
	case pe.Code == "23505" && c.Kind == store.KindMapping: // unique_violation: the pair
		return fmt.Errorf("%w: %s and %s are already mapped", store.ErrAlreadyMapped, c.Mapping.Source.Name(), c.Mapping.Target.Name())
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

// runError is writeError for a statement that wrote several rows: the
// database's detail says which.
func runError(pe *pgconn.PgError, c *store.Change) error {
	switch pe.Code {
	case "23505":
		if c.Kind == store.KindMapping {
			return fmt.Errorf("%w: %s", store.ErrAlreadyMapped, pe.Detail)
		}
		return fmt.Errorf("%w: %s", store.ErrAlreadyExists, pe.Detail)
	case "23503":
		return fmt.Errorf("%w: %s", store.ErrNotFound, pe.Detail)
	case "23514":
		return catalog.Invalid(c.Kind.String(), "breaks a rule of the database schema")
	}
	return pe
}

// queueLog queues what every write ends with: its changes in the log
// (without revisions: readers take them from the revision column) and its
// audit event.
func (t *tx) queueLog(b *pgx.Batch, ev tenancy.AuditEvent, affected []tenancy.AuditEvent) {
	n := len(t.changes)
	kinds, owners, bodies, revisionAt := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	deleted := make([]bool, n)
	for i, c := range t.changes {
		body, _ := json.Marshal(c) // plain data: cannot fail
		kinds[i], deleted[i], owners[i], bodies[i], revisionAt[i] = logKind(c.Kind), c.Delete, c.Owner, string(body), revisionKey(&c)
	}
	// The body gets the revision where the row written carries it.
	b.Queue(`INSERT INTO changes (revision, idx, kind, deleted, owner, body, change_time)
		SELECT s.r, ord - 1, kind, deleted, owner,
			CASE WHEN at = '' THEN body::jsonb ELSE jsonb_set(body::jsonb, ARRAY[at, 'Revision'], to_jsonb(s.r)) END, $6
		FROM `+thisRevision+` AS s(r),
			unnest($1::text[], $2::boolean[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS x(kind, deleted, owner, body, at, ord)`,
		kinds, deleted, owners, bodies, revisionAt, t.now)
	placeholder := strconv.FormatInt(revisionPlaceholder, 10)
	b.Queue(`INSERT INTO audit_events (revision, time, tenant, actor, method, resource, before, after, request_id)
		SELECT r, $1, $2, $3, $4, $5, $6,
			replace(replace($7, '"revision":"'||$8||'"', '"revision":"'||r||'"'), '"etag":"'||$8||'"', '"etag":"'||r||'"'), $9
		FROM `+thisRevision+` AS s(r)`, t.now, ev.Tenant, ev.Actor, ev.Method, ev.Resource, ev.Before, ev.After, placeholder, ev.RequestID)
	if len(affected) > 0 {
		tenants, befores := make([]string, len(affected)), make([]string, len(affected))
		for i, a := range affected {
			tenants[i], befores[i] = a.Tenant, a.Before
		}
		b.Queue(`INSERT INTO audit_event_tenants (tenant, revision, before)
			SELECT x.tenant, s.r, x.before FROM `+thisRevision+` AS s(r), unnest($1::text[], $2::text[]) AS x(tenant, before)`, tenants, befores)
	}
}

// logKind is the kind column of a change. Changes to tenants and keys are
// logged as "tenancy", the kind replicas of the previous release reload
// their directory for, so that a rolling update keeps every replica's
// keys current; their body says which.
func logKind(k store.Kind) string {
	if k == store.KindTenant || k == store.KindAPIKey {
		return "tenancy"
	}
	return k.String()
}

// revisionKey names the object of a change's body that carries the
// revision of what it puts; empty when there is none.
func revisionKey(c *store.Change) string {
	if c.Delete {
		return ""
	}
	switch c.Kind {
	case store.KindFramework:
		return "Framework"
	case store.KindControl:
		return "Control"
	case store.KindMapping:
		return "Mapping"
	case store.KindTenant:
		return "Tenant"
	}
	return ""
}

// statement is a statement with its arguments.
type statement struct {
	sql  string
	args []any
}

// open queues the prelude before the first statement of the write and
// returns how many statements it queued.
func (t *tx) open(b *pgx.Batch) int {
	if t.opened {
		return 0
	}
	t.opened = true
	for _, p := range t.prelude {
		b.Queue(p.sql, p.args...)
	}
	return len(t.prelude)
}

// query runs a read; the first statement of the write sends the prelude
// in the same round trip.
func (t *tx) query(sql string, args ...any) (pgx.Rows, error) {
	if t.opened {
		return t.q.Query(t.ctx, sql, args...)
	}
	b := &pgx.Batch{}
	opens := t.open(b)
	b.Queue(sql, args...)
	res := t.q.SendBatch(t.ctx, b)
	if err := t.execPrelude(res, opens); err != nil {
		res.Close()
		return nil, err
	}
	rows, err := res.Query()
	if err != nil {
		res.Close()
		return nil, err
	}
	return batchRows{Rows: rows, res: res}, nil
}

// batchRows closes the batch with its rows.
type batchRows struct {
	pgx.Rows
	res pgx.BatchResults
}

func (r batchRows) Close() {
	r.Rows.Close()
	r.res.Close()
}

// queryRow is query for one row, as pgx.Conn.QueryRow answers it.
func (t *tx) queryRow(sql string, args ...any) pgx.Row {
	rows, err := t.query(sql, args...)
	return oneRow{rows: rows, err: err}
}

type oneRow struct {
	rows pgx.Rows
	err  error
}

func (r oneRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
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
	f, err := scanFramework(t.queryRow("SELECT "+frameworkColumns+" FROM frameworks WHERE id = $1"+forUpdate(lock), id))
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
	c, err := scanControl(t.queryRow("SELECT "+controlColumns+" FROM controls WHERE framework_id = $1 AND id = $2"+forUpdate(lock), framework, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, store.NotFound("control", catalog.ControlName(framework, id))
	}
	if err != nil {
		return c, t.fail(err)
	}
	return c, nil
}

func (t *tx) LockControls(refs []catalog.ControlRef) error {
	refs = slices.Clone(refs)
	slices.SortFunc(refs, func(a, b catalog.ControlRef) int {
		return cmp.Or(strings.Compare(a.Framework, b.Framework), strings.Compare(a.Control, b.Control))
	})
	refs = slices.Compact(refs)
	if len(refs) == 0 {
		return nil
	}
	if err := t.read(); err != nil {
		return err
	}
	fws, ids := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		fws[i], ids[i] = r.Framework, r.Control
	}
	// Sorted below the lock, so that the rows are locked in that order.
	rows, err := t.query(`SELECT c.framework_id, c.id FROM controls c JOIN unnest($1::text[], $2::text[]) AS r(framework_id, id)
		ON c.framework_id = r.framework_id AND c.id = r.id ORDER BY c.framework_id COLLATE "C", c.id COLLATE "C" FOR UPDATE OF c`, fws, ids)
	if err != nil {
		return t.fail(err)
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalog.ControlRef, error) {
		var ref catalog.ControlRef
		err := r.Scan(&ref.Framework, &ref.Control)
		return ref, err
	})
	if err != nil {
		return t.fail(err)
	}
	if len(found) < len(refs) {
		for _, r := range refs {
			if !slices.Contains(found, r) {
				return store.NotFound("control", r.Name())
			}
		}
	}
	return nil
}

func (t *tx) Controls(framework string, lock store.Lock) ([]catalog.Control, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	rows, err := t.query("SELECT "+controlColumns+" FROM controls WHERE framework_id = $1 ORDER BY position, id"+forUpdate(lock), framework)
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
	m, err := scanMappingRow(t.queryRow("SELECT "+mappingColumns+" FROM mappings WHERE id = $1 FOR UPDATE", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, store.NotFound("mapping", catalog.MappingName(id))
	}
	if err != nil {
		return m, t.fail(err)
	}
	return m, nil
}

func (t *tx) Frameworks(ids ...string) ([]catalog.Framework, error) {
	if t.failed != nil {
		return nil, t.failed
	}
	if out, ok := t.knownOwners(ids); ok {
		return out, nil
	}
	if err := t.read(); err != nil {
		return nil, err
	}
	// No lock (see store.Tx): a share lock that every mapping write took on
	// the same few framework rows made PostgreSQL track each row's lockers
	// in a multixact, at a cost every write paid. Only the columns that
	// say who owns a framework: its tags and description are of no use to
	// a write and cost more to decode than the rest of it.
	rows, err := t.query("SELECT id, kind, owner, revision FROM frameworks WHERE id = ANY($1) ORDER BY id", ids)
	if err != nil {
		return nil, t.fail(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalog.Framework, error) {
		var f catalog.Framework
		var kind int32
		err := r.Scan(&f.ID, &kind, &f.Owner, &f.Revision)
		f.Kind = cmv1.FrameworkKind(kind)
		return f, err
	})
	if err != nil {
		return nil, t.fail(err)
	}
	return out, nil
}

// changed reports whether the write has written a change of these kinds.
func (t *tx) changed(kinds ...store.Kind) bool {
	for _, l := range [][]store.Change{t.pending, t.changes} {
		for _, c := range l {
			if slices.Contains(kinds, c.Kind) {
				return true
			}
		}
	}
	return false
}

// knownOwners answers Frameworks from the replica's catalog when it holds
// every one of them, without a query: who owns a framework, and its kind,
// never change. One deleted meanwhile is the database's to catch, when the
// write refers to its controls (a delete locks them first).
func (t *tx) knownOwners(ids []string) ([]catalog.Framework, bool) {
	if t.graph == nil || t.changed(store.KindFramework, store.KindTenant) {
		return nil, false
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make([]catalog.Framework, 0, len(ids))
	for _, id := range ids {
		f, ok := t.graph.Framework(id)
		if !ok {
			return nil, false
		}
		out = append(out, catalog.Framework{ID: f.ID, Kind: f.Kind, Owner: f.Owner, Revision: f.Revision})
	}
	return out, true
}

func (t *tx) MappingsOf(framework, control string, lock store.Lock) ([]catalog.Mapping, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	rows, err := t.query("SELECT "+mappingColumns+` FROM mappings
		WHERE (source_framework = $1 AND ($2 = '' OR source_control = $2 OR (source_members <> '' AND string_to_array(source_members, ' ') @> ARRAY[$2])))
			OR (target_framework = $1 AND ($2 = '' OR target_control = $2 OR (target_members <> '' AND string_to_array(target_members, ' ') @> ARRAY[$2])))
		ORDER BY id`+forUpdate(lock), framework, control)
	if err != nil {
		return nil, t.fail(err)
	}
	out, err := pgx.CollectRows(rows, scanMapping)
	if err != nil {
		return nil, t.fail(err)
	}
	return out, nil
}

func (t *tx) Tenant(id string, lock store.Lock) (tenancy.Tenant, bool, error) {
	if err := t.read(); err != nil {
		return tenancy.Tenant{}, false, err
	}
	var tn tenancy.Tenant
	err := t.queryRow("SELECT id, display_name, create_time, revision, require_admin_approval FROM tenants WHERE id = $1"+forUpdate(lock), id).
		Scan(&tn.ID, &tn.DisplayName, &tn.CreateTime, &tn.Revision, &tn.RequireAdminApproval)
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
	rows, err := t.query(keyQuery+"WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant, id)
	if err != nil {
		return tenancy.APIKey{}, t.fail(err)
	}
	keys, err := pgx.CollectRows(rows, scanKey)
	if err != nil {
		return tenancy.APIKey{}, t.fail(err)
	}
	if len(keys) == 0 {
		return tenancy.APIKey{}, store.NotFound("api key", tenancy.KeyName(tenant, id))
	}
	return keys[0], nil
}

const frameworkColumns = "id, display_name, version, publisher, kind, description, tags, revision, owner, built_in"

func scanFramework(row pgx.Row) (catalog.Framework, error) {
	var f catalog.Framework
	var kind int32
	var tags []byte
	if err := row.Scan(&f.ID, &f.DisplayName, &f.Version, &f.Publisher, &kind, &f.Description, &tags, &f.Revision, &f.Owner, &f.BuiltIn); err != nil {
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
