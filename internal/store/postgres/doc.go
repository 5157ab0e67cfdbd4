// Package postgres is the PostgreSQL Store (pgx/v5): writes go to the
// database in one transaction each (row, change-log entry, revision bump,
// NOTIFY); reads are served from an in-memory catalog.Graph that every
// replica keeps current by applying the change log in revision order.
//
// NOTIFY is only a hint: a listener on a dedicated connection wakes the
// replica, and a periodic check of the revision catches whatever a lost
// notification or a dropped connection missed. Reads never touch the
// database, so they keep answering while it is away; writes then fail fast
// with store.ErrUnavailable and nothing is written.
//
// Migrations are embedded SQL files (migrations/NNNN_*.sql) applied by
// Migrate, which also loads or updates the built-in content.
package postgres
