package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock that keeps two migrate runs (say, two
// replicas starting at once) from interleaving.
const migrationLock = 0x636d6170 // "cmap"

// changesChannel is the NOTIFY channel every committed write signals.
const changesChannel = "controlmap_changes"

// MigrateResult says what Migrate did.
type MigrateResult struct {
	// Applied lists the migrations applied by this run.
	Applied []string
	// ContentVersion is the built-in content version now in the database;
	// ContentLoaded is true when this run loaded or updated it.
	ContentVersion string
	ContentLoaded  bool
	// ContentNewer is true when the database holds a later content release
	// than this binary, which it leaves as it is.
	ContentNewer bool
	// Revision is the store revision after the run.
	Revision int64
}

// Migrate applies the embedded migrations that the database lacks, then
// loads the built-in content c unless the database already holds this
// version of it or a later release. Running it twice changes nothing. A newer content version
// updates built-in rows, adds new ones and removes retired ones, but never
// touches rows users wrote, built-in mappings users changed, or built-in
// mappings users deleted. With c nil only the schema is migrated.
func Migrate(ctx context.Context, pool *pgxpool.Pool, c *content.Content) (MigrateResult, error) {
	var res MigrateResult
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return res, unavailable(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return res, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return res, err
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return res, err
	}
	slices.Sort(files)
	for _, f := range files {
		name := path.Base(f)
		version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return res, fmt.Errorf("migration %s: name must start with a number", name)
		}
		var done bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", version).Scan(&done); err != nil {
			return res, err
		}
		if done {
			continue
		}
		sql, err := migrations.ReadFile(f)
		if err != nil {
			return res, err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name)
			return err
		})
		if err != nil {
			return res, fmt.Errorf("migration %s: %w", name, err)
		}
		res.Applied = append(res.Applied, name)
	}
	if c == nil {
		return res, conn.QueryRow(ctx, "SELECT revision, content_version FROM store_state").Scan(&res.Revision, &res.ContentVersion)
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var current string
		if err := tx.QueryRow(ctx, "SELECT revision, content_version FROM store_state FOR UPDATE").Scan(&res.Revision, &current); err != nil {
			return err
		}
		res.ContentVersion = current
		if current == c.Version {
			return nil
		}
		if content.ReleaseOf(current) > c.Release {
			res.ContentNewer = true
			return nil
		}
		rev := res.Revision + 1
		if err := loadContent(ctx, tx, c, rev); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE store_state SET revision = $1, content_version = $2", rev, c.Version); err != nil {
			return err
		}
		body, err := json.Marshal(store.Change{Kind: store.KindContent, Content: c.Version})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO changes (revision, kind, body) VALUES ($1, 'content', $2)", rev, body); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_events (revision, time, tenant, actor, method, resource, before, after)
			VALUES ($1, now(), '', 'migrate', 'controlmap migrate', 'content', $2, $3)`,
			rev, fmt.Sprintf("%q", current), fmt.Sprintf("%q", c.Version)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", changesChannel, strconv.FormatInt(rev, 10)); err != nil {
			return err
		}
		res.Revision, res.ContentVersion, res.ContentLoaded = rev, c.Version, true
		return nil
	})
	return res, err
}

// loadContent upserts the built-in rows at revision rev; a row keeps its
// revision unless its content changed.
func loadContent(ctx context.Context, tx pgx.Tx, c *content.Content, rev int64) error {
	// A release never merges into a framework an import created: its rows
	// would pass for the release's, and the release's for the operator's.
	fwIDs := make([]string, len(c.Frameworks))
	for i, f := range c.Frameworks {
		fwIDs[i] = f.ID
	}
	var taken []string
	rows, err := tx.Query(ctx, "SELECT id FROM frameworks WHERE id = ANY($1) AND NOT built_in ORDER BY id", fwIDs)
	if err == nil {
		taken, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return err
	}
	if len(taken) > 0 {
		return fmt.Errorf("content %s has the framework %s, which an import created: delete the imported one or export it and import it under another id, then migrate again",
			c.Version, strings.Join(taken, ", "))
	}
	b := &pgx.Batch{}
	for _, f := range c.Frameworks {
		tags, err := json.Marshal(f.Tags)
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO frameworks AS f (id, display_name, version, publisher, kind, description, tags, built_in, revision)
			VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8)
			ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, version = EXCLUDED.version,
				publisher = EXCLUDED.publisher, kind = EXCLUDED.kind, description = EXCLUDED.description,
				tags = EXCLUDED.tags, revision = EXCLUDED.revision
			WHERE f.built_in AND (f.display_name, f.version, f.publisher, f.kind, f.description, f.tags)
				IS DISTINCT FROM (EXCLUDED.display_name, EXCLUDED.version, EXCLUDED.publisher, EXCLUDED.kind, EXCLUDED.description, EXCLUDED.tags)`,
			f.ID, f.DisplayName, f.Version, f.Publisher, int32(f.Kind), f.Description, tags, rev)
		for i, ctl := range f.Controls {
			b.Queue(`INSERT INTO controls AS c (framework_id, id, position, parent_id, title, summary, kind, assessable, aliases, tags, built_in, revision)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true, $11)
				ON CONFLICT (framework_id, id) DO UPDATE SET position = EXCLUDED.position, parent_id = EXCLUDED.parent_id,
					title = EXCLUDED.title, summary = EXCLUDED.summary, kind = EXCLUDED.kind, assessable = EXCLUDED.assessable,
					aliases = EXCLUDED.aliases, tags = EXCLUDED.tags, revision = EXCLUDED.revision
				WHERE c.built_in AND (c.position, c.parent_id, c.title, c.summary, c.kind, c.assessable, c.aliases, c.tags)
					IS DISTINCT FROM (EXCLUDED.position, EXCLUDED.parent_id, EXCLUDED.title, EXCLUDED.summary, EXCLUDED.kind, EXCLUDED.assessable, EXCLUDED.aliases, EXCLUDED.tags)`,
				f.ID, ctl.ID, i, ctl.Parent, ctl.Title, ctl.Summary, int32(ctl.Kind), ctl.Assessable, nonNil(ctl.Aliases), nonNil(ctl.Tags), rev)
		}
	}
	ids := make([]string, len(c.Mappings))
	for i, m := range c.Mappings {
		ids[i] = m.ID
	}
	// Retire first: a mapping whose direction changed has a new id, and its
	// insert must not collide with the old row of the same pair.
	b.Queue(`DELETE FROM mappings WHERE built_in AND NOT user_modified AND NOT (id = ANY($1))`, ids)
	for _, m := range c.Mappings {
		args := []any{m.ID, m.Source.Framework, m.Source.Control, m.Target.Framework, m.Target.Control,
			int32(m.Relationship), m.Strength, int32(m.Rationale), m.Justification,
			m.Provenance.Document, int32(m.Provenance.Method), int32(m.Provenance.Status), m.Provenance.Author, rev, m.ReverseStrength}
		// Update a built-in row nobody changed; then insert a new one unless
		// a user deleted it or already maps the pair.
		b.Queue(`UPDATE mappings SET relationship = $6, strength = $7, rationale = $8, justification = $9,
				document = $10, method = $11, status = $12, author = $13, revision = $14, reverse_strength = $15
			WHERE id = $1 AND built_in AND NOT user_modified
				AND (relationship, strength, rationale, justification, document, method, status, author, reverse_strength)
					IS DISTINCT FROM ($6, $7, $8, $9, $10, $11, $12, $13, $15)
				AND (source_framework, source_control, target_framework, target_control) = ($2, $3, $4, $5)`, args...)
		b.Queue(`INSERT INTO mappings (id, source_framework, source_control, target_framework, target_control,
				relationship, strength, rationale, justification, document, method, status, author, built_in, revision, reverse_strength)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, true, $14, $15
			WHERE NOT EXISTS (SELECT 1 FROM deleted_built_in_mappings WHERE id = $1)
			ON CONFLICT DO NOTHING`, args...)
	}
	// Controls and frameworks the content no longer has go too, unless a
	// mapping users wrote still uses them.
	var ctlKeys []string
	for _, f := range c.Frameworks {
		for _, ctl := range f.Controls {
			ctlKeys = append(ctlKeys, f.ID+"/"+ctl.ID)
		}
	}
	b.Queue(`DELETE FROM controls c WHERE built_in AND NOT ((framework_id || '/' || id) = ANY($1))
		AND NOT EXISTS (SELECT 1 FROM mappings m WHERE (m.source_framework, m.source_control) = (c.framework_id, c.id)
			OR (m.target_framework, m.target_control) = (c.framework_id, c.id)
			OR (m.source_framework = c.framework_id AND m.source_members <> '' AND string_to_array(m.source_members, ' ') @> ARRAY[c.id])
			OR (m.target_framework = c.framework_id AND m.target_members <> '' AND string_to_array(m.target_members, ' ') @> ARRAY[c.id]))`, ctlKeys)
	b.Queue(`DELETE FROM frameworks f WHERE built_in AND NOT (id = ANY($1))
		AND NOT EXISTS (SELECT 1 FROM controls c WHERE c.framework_id = f.id)`, fwIDs)
	return tx.SendBatch(ctx, b).Close()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// tagsFromJSON reads the tags column of frameworks.
func tagsFromJSON(raw []byte) ([]catalog.Tag, error) {
	var tags []catalog.Tag
	if len(raw) == 0 {
		return nil, nil
	}
	return tags, json.Unmarshal(raw, &tags)
}
