package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
)

func catalogChange(ctx context.Context, resource string, before, after any, rows ...catalog.Change) change {
	return change{rows: rows, event: store.Event(ctx, resource, "", before, after)}
}

func frameworkRow(f catalog.Framework, deleted bool) catalog.Change {
	return catalog.Change{Kind: catalog.FrameworkChange, Delete: deleted, Framework: f}
}

func controlRow(framework string, c catalog.Control, deleted bool) catalog.Change {
	return catalog.Change{Kind: catalog.ControlChange, Delete: deleted, Framework: catalog.Framework{ID: framework}, Control: c}
}

func mappingRows(ms []catalog.Mapping) []catalog.Change {
	out := make([]catalog.Change, len(ms))
	for i, m := range ms {
		out[i] = catalog.Change{Kind: catalog.MappingChange, Delete: true, Mapping: catalog.Mapping{ID: m.ID}}
	}
	return out
}

// CreateFramework implements store.Store.
func (s *Store) CreateFramework(ctx context.Context, f catalog.Framework) (catalog.Framework, error) {
	_, err := s.write(ctx, func(tx pgx.Tx, rev int64) (change, error) {
		f.Revision = rev
		tags, err := json.Marshal(f.Tags)
		if err != nil {
			return change{}, err
		}
		_, err = tx.Exec(ctx, `INSERT INTO frameworks (id, display_name, version, publisher, kind, description, tags, built_in, revision, owner)
			VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8, $9)`,
			f.ID, f.DisplayName, f.Version, f.Publisher, int32(f.Kind), f.Description, tags, rev, f.Owner)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return change{}, fmt.Errorf("%w: framework %s", store.ErrAlreadyExists, catalog.FrameworkName(f.ID))
		}
		return catalogChange(ctx, catalog.FrameworkName(f.ID), nil, f, frameworkRow(f, false)), err
	})
	return f, err
}

func lockFramework(ctx context.Context, tx pgx.Tx, id string) (catalog.Framework, error) {
	var f catalog.Framework
	var kind int32
	var tags []byte
	err := tx.QueryRow(ctx, `SELECT id, display_name, version, publisher, kind, description, tags, revision, owner
		FROM frameworks WHERE id = $1 FOR UPDATE`, id).Scan(&f.ID, &f.DisplayName, &f.Version, &f.Publisher, &kind, &f.Description, &tags, &f.Revision, &f.Owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, store.NotFound("framework", catalog.FrameworkName(id))
	}
	if err != nil {
		return f, err
	}
	f.Kind = cmv1.FrameworkKind(kind)
	f.Tags, err = tagsFromJSON(tags)
	return f, err
}

// lockChecked locks a framework and lets check accept it, before anything
// about its controls is looked at.
func lockChecked(ctx context.Context, tx pgx.Tx, id string, check func(*catalog.Framework) error) (catalog.Framework, error) {
	f, err := lockFramework(ctx, tx, id)
	if err != nil {
		return f, err
	}
	if err := check(&f); err != nil {
		return f, callerError{err}
	}
	return f, nil
}

// UpdateFramework implements store.Store.
func (s *Store) UpdateFramework(ctx context.Context, id string, apply func(*catalog.Framework) error) (catalog.Framework, error) {
	var out catalog.Framework
	_, err := s.write(ctx, func(tx pgx.Tx, rev int64) (change, error) {
		before, err := lockFramework(ctx, tx, id)
		if err != nil {
			return change{}, err
		}
		out = before
		if err := apply(&out); err != nil {
			return change{}, callerError{err}
		}
		out.ID, out.Kind, out.Owner, out.Tags, out.Revision = before.ID, before.Kind, before.Owner, before.Tags, rev
		_, err = tx.Exec(ctx, `UPDATE frameworks SET display_name = $2, version = $3, description = $4, revision = $5 WHERE id = $1`,
			id, out.DisplayName, out.Version, out.Description, rev)
		return catalogChange(ctx, catalog.FrameworkName(id), before, out, frameworkRow(out, false)), err
	})
	return out, err
}

// DeleteFramework implements store.Store.
func (s *Store) DeleteFramework(ctx context.Context, id string, check func(*catalog.Framework) error) (int64, error) {
	return s.write(ctx, func(tx pgx.Tx, _ int64) (change, error) {
		before, err := lockFramework(ctx, tx, id)
		if err != nil {
			return change{}, err
		}
		if err := check(&before); err != nil {
			return change{}, callerError{err}
		}
		taken, err := cascaded(ctx, tx, "source_framework = $1 OR target_framework = $1", id)
		if err != nil {
			return change{}, err
		}
		// Children after parents by position: deleted last first.
		rows, err := tx.Query(ctx, "SELECT id FROM controls WHERE framework_id = $1 ORDER BY position DESC, id DESC", id)
		if err != nil {
			return change{}, err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return change{}, err
		}
		changes := mappingRows(taken)
		for _, c := range ids {
			changes = append(changes, controlRow(id, catalog.Control{ID: c}, true))
		}
		changes = append(changes, frameworkRow(catalog.Framework{ID: id}, true))
		_, err = tx.Exec(ctx, "DELETE FROM frameworks WHERE id = $1", id) // controls and mappings cascade
		return catalogChange(ctx, catalog.FrameworkName(id), cascade{Deleted: before, Mappings: taken}, nil, changes...), err
	})
}

// CreateControl implements store.Store.
func (s *Store) CreateControl(ctx context.Context, framework string, c catalog.Control, check func(*catalog.Framework) error) (catalog.Control, error) {
	_, err := s.write(ctx, func(tx pgx.Tx, rev int64) (change, error) {
		_, err := lockChecked(ctx, tx, framework, check)
		if err != nil {
			return change{}, err
		}
		var taken, parentOK bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM controls WHERE framework_id = $1 AND lower(id) = lower($2)),
				$3 = '' OR EXISTS (SELECT 1 FROM controls WHERE framework_id = $1 AND id = $3)`, framework, c.ID, c.Parent).Scan(&taken, &parentOK); err != nil {
			return change{}, err
		}
		switch {
		case taken:
			return change{}, fmt.Errorf("%w: control %s", store.ErrAlreadyExists, catalog.ControlName(framework, c.ID))
		case !parentOK:
			return change{}, catalog.Invalid("control.parent", "is not a control of "+catalog.FrameworkName(framework))
		}
		c.Revision = rev
		_, err = tx.Exec(ctx, `INSERT INTO controls (framework_id, id, position, parent_id, title, summary, kind, assessable, aliases, tags,
				built_in, revision, implementation, owner, evidence)
			SELECT $1, $2, coalesce(max(position), -1) + 1, $3, $4, $5, $6, $7, '{}', '{}', false, $8, $9, $10, $11 FROM controls WHERE framework_id = $1`,
			framework, c.ID, c.Parent, c.Title, c.Summary, int32(c.Kind), c.Assessable, rev, int32(c.Implementation), c.Owner, nonNil(c.Evidence))
		return catalogChange(ctx, catalog.ControlName(framework, c.ID), nil, c, controlRow(framework, c, false)), err
	})
	return c, err
}

// UpdateControl implements store.Store.
func (s *Store) UpdateControl(ctx context.Context, framework, id string, check func(*catalog.Framework) error, apply func(*catalog.Control) error) (catalog.Control, error) {
	var out catalog.Control
	_, err := s.write(ctx, func(tx pgx.Tx, rev int64) (change, error) {
		_, err := lockChecked(ctx, tx, framework, check)
		if err != nil {
			return change{}, err
		}
		var before catalog.Control
		var kind, impl int32
		err = tx.QueryRow(ctx, `SELECT id, parent_id, title, summary, kind, assessable, aliases, tags, revision, implementation, owner, evidence
			FROM controls WHERE framework_id = $1 AND id = $2 FOR UPDATE`, framework, id).Scan(&before.ID, &before.Parent, &before.Title,
			&before.Summary, &kind, &before.Assessable, &before.Aliases, &before.Tags, &before.Revision, &impl, &before.Owner, &before.Evidence)
		if errors.Is(err, pgx.ErrNoRows) {
			return change{}, store.NotFound("control", catalog.ControlName(framework, id))
		}
		if err != nil {
			return change{}, err
		}
		before.Kind, before.Implementation = cmv1.ControlKind(kind), cmv1.ImplementationStatus(impl)
		out = before
		if err := apply(&out); err != nil {
			return change{}, callerError{err}
		}
		out.ID, out.Parent, out.Kind, out.Aliases, out.Tags, out.Revision = before.ID, before.Parent, before.Kind, before.Aliases, before.Tags, rev
		_, err = tx.Exec(ctx, `UPDATE controls SET title = $3, summary = $4, assessable = $5, implementation = $6, owner = $7, evidence = $8,
			revision = $9 WHERE framework_id = $1 AND id = $2`,
			framework, id, out.Title, out.Summary, out.Assessable, int32(out.Implementation), out.Owner, nonNil(out.Evidence), rev)
		return catalogChange(ctx, catalog.ControlName(framework, id), before, out, controlRow(framework, out, false)), err
	})
	return out, err
}

// DeleteControl implements store.Store.
func (s *Store) DeleteControl(ctx context.Context, framework, id string, check func(*catalog.Framework) error) (int64, error) {
	return s.write(ctx, func(tx pgx.Tx, _ int64) (change, error) {
		_, err := lockChecked(ctx, tx, framework, check)
		if err != nil {
			return change{}, err
		}
		var exists, children bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM controls WHERE framework_id = $1 AND id = $2),
				EXISTS (SELECT 1 FROM controls WHERE framework_id = $1 AND parent_id = $2)`, framework, id).Scan(&exists, &children); err != nil {
			return change{}, err
		}
		switch {
		case !exists:
			return change{}, store.NotFound("control", catalog.ControlName(framework, id))
		case children:
			return change{}, fmt.Errorf("%w: control %s has child controls; delete them first", store.ErrFailedPrecondition, catalog.ControlName(framework, id))
		}
		var before struct {
			Title, Summary string
			Assessable     bool
		}
		if err := tx.QueryRow(ctx, "SELECT title, summary, assessable FROM controls WHERE framework_id = $1 AND id = $2",
			framework, id).Scan(&before.Title, &before.Summary, &before.Assessable); err != nil {
			return change{}, err
		}
		taken, err := cascaded(ctx, tx, "(source_framework = $1 AND source_control = $2) OR (target_framework = $1 AND target_control = $2)", framework, id)
		if err != nil {
			return change{}, err
		}
		_, err = tx.Exec(ctx, "DELETE FROM controls WHERE framework_id = $1 AND id = $2", framework, id) // mappings cascade
		deleted := catalog.Control{ID: id, Title: before.Title, Summary: before.Summary, Assessable: before.Assessable}
		return catalogChange(ctx, catalog.ControlName(framework, id), cascade{Deleted: deleted, Mappings: taken}, nil,
			append(mappingRows(taken), controlRow(framework, deleted, true))...), err
	})
}

// cascade is the "before" of a delete that takes mappings with it, so the
// audit trail keeps everything a delete removed.
type cascade struct {
	Deleted  any               `json:"deleted"`
	Mappings []catalog.Mapping `json:"mappings,omitempty"`
}

// cascaded reads the mappings a delete is about to take with it.
func cascaded(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]catalog.Mapping, error) {
	rows, err := tx.Query(ctx, "SELECT "+mappingColumns+" FROM mappings WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanMapping)
}
