package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/controlmap/controlmap/internal/store"
)

// Changes implements store.ChangeLog: the log is read from the database,
// so every replica serves the same feed, and a position stays valid across
// restarts of replicas and of the database.
func (s *Store) Changes(ctx context.Context, from store.Position, limit int) ([]store.Record, error) {
	var out []store.Record
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var logStart int64
		if err := tx.QueryRow(ctx, "SELECT log_start FROM store_state").Scan(&logStart); err != nil {
			return err
		}
		if from.Revision < logStart {
			return &store.CompactedError{Asked: from.Revision, Oldest: logStart}
		}
		rows, err := tx.Query(ctx, `SELECT revision, idx, change_time, body, owner FROM changes
			WHERE (revision, idx) >= ($1, $2) ORDER BY revision, idx LIMIT $3`, from.Revision, from.Index, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Record, error) {
			var rec store.Record
			var body []byte
			var owner *string
			if err := r.Scan(&rec.Revision, &rec.Index, &rec.Time, &body, &owner); err != nil {
				return rec, err
			}
			rec.Time = rec.Time.UTC()
			if body == nil { // a row of an older release: a content load, or tenancy
				rec.Change = store.Change{Kind: store.KindContent}
			} else if err := json.Unmarshal(body, &rec.Change); err != nil {
				return rec, err
			}
			rec.Change = rec.Change.At(rec.Revision)
			rec.Change.Owner = store.UnknownOwner
			if owner != nil {
				rec.Change.Owner = *owner
			}
			return rec, nil
		})
		return err
	})
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// prune deletes the changes older than the retention, whole revisions at
// a time and never the latest, and moves the start of the log past them.
// Every replica prunes; doing it twice changes nothing.
func (s *Store) prune(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var cut *int64
		if err := tx.QueryRow(ctx, `SELECT max(revision) FROM changes
			WHERE change_time < $1 AND revision < (SELECT revision FROM store_state)`,
			time.Now().Add(-s.cfg.ChangeRetention)).Scan(&cut); err != nil || cut == nil {
			return err
		}
		// The rows first, the row of the revision (which writers lock) last,
		// held only to commit.
		if _, err := tx.Exec(ctx, "DELETE FROM changes WHERE revision <= $1", *cut); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "UPDATE store_state SET log_start = greatest(log_start, $1)", *cut+1)
		return err
	})
}
