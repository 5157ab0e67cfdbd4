package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// AuditEvents implements store.Store. The trail is read from the database:
// it is not part of the serving snapshot.
func (s *Store) AuditEvents(ctx context.Context, q store.AuditQuery) ([]tenancy.AuditEvent, error) {
	before := q.Before
	if before <= 0 {
		before = 1 << 62
	}
	// A tenant's trail also has the writes of others that changed its data,
	// each with what of it changed (audit_event_tenants); the operator's
	// whole trail lists each write once.
	const columns = "SELECT revision, time, tenant, actor, method, resource, before, after, request_id, false FROM audit_events "
	const affected = ` UNION ALL SELECT a.revision, a.time, x.tenant, a.actor, a.method, a.resource, x.before, '', a.request_id, true
		FROM audit_event_tenants x JOIN audit_events a ON a.revision = x.revision WHERE NOT $2 AND x.tenant = $3 AND x.revision < $1`
	var rows pgx.Rows
	var err error
	if q.RequestID != "" { // its own statement, so that its plan uses the request id index
		rows, err = s.pool.Query(ctx, columns+`WHERE request_id = $4 AND revision < $1 AND ($2 OR tenant = $3)`+affected+` AND a.request_id = $4 ORDER BY 1 DESC LIMIT $5`,
			before, q.All, q.Tenant, q.RequestID, q.Limit)
	} else {
		rows, err = s.pool.Query(ctx, columns+`WHERE revision < $1 AND ($2 OR tenant = $3)`+affected+` ORDER BY 1 DESC LIMIT $4`,
			before, q.All, q.Tenant, q.Limit)
	}
	if err != nil {
		return nil, classify(err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenancy.AuditEvent, error) {
		var e tenancy.AuditEvent
		err := r.Scan(&e.Revision, &e.Time, &e.Tenant, &e.Actor, &e.Method, &e.Resource, &e.Before, &e.After, &e.RequestID, &e.Affected)
		e.Time = e.Time.UTC()
		return e, err
	})
	if err != nil {
		return nil, classify(err)
	}
	return events, nil
}

// loadDirectory reads every tenant and key.
func loadDirectory(ctx context.Context, tx pgx.Tx, rev int64) (*tenancy.Directory, error) {
	rows, err := tx.Query(ctx, "SELECT id, display_name, create_time, revision, require_admin_approval FROM tenants")
	if err != nil {
		return nil, err
	}
	tenants, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenancy.Tenant, error) {
		var t tenancy.Tenant
		err := r.Scan(&t.ID, &t.DisplayName, &t.CreateTime, &t.Revision, &t.RequireAdminApproval)
		t.CreateTime = t.CreateTime.UTC()
		return t, err
	})
	if err != nil {
		return nil, err
	}
	keys, err := queryKeys(ctx, tx, "")
	if err != nil {
		return nil, err
	}
	return tenancy.NewDirectory(rev, tenants, keys), nil
}

const keyQuery = "SELECT id, tenant_id, scopes, hash, create_time, revoke_time, expire_time FROM api_keys "

func queryKeys(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]tenancy.APIKey, error) {
	rows, err := tx.Query(ctx, keyQuery+where, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanKey)
}

func scanKey(r pgx.CollectableRow) (tenancy.APIKey, error) {
	var k tenancy.APIKey
	var scopes []int32
	var hash []byte
	var revoked, expires *time.Time
	err := r.Scan(&k.ID, &k.Tenant, &scopes, &hash, &k.CreateTime, &revoked, &expires)
	if expires != nil {
		k.ExpireTime = expires.UTC()
	}
	for _, sc := range scopes {
		k.Scopes = append(k.Scopes, cmv1.Scope(sc))
	}
	copy(k.Hash[:], hash)
	k.CreateTime = k.CreateTime.UTC()
	if revoked != nil {
		k.RevokeTime = revoked.UTC()
	}
	return k, err
}
