package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// CreateTenant implements store.Store.
func (s *Store) CreateTenant(ctx context.Context, t tenancy.Tenant) (tenancy.Tenant, error) {
	_, err := s.write(ctx, func(tx pgx.Tx, rev int64) (change, error) {
		t.Revision = rev
		err := tx.QueryRow(ctx, `INSERT INTO tenants (id, display_name, create_time, revision) VALUES ($1, $2, now(), $3)
			RETURNING create_time`, t.ID, t.DisplayName, rev).Scan(&t.CreateTime)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return change{}, fmt.Errorf("%w: tenant %s", store.ErrAlreadyExists, tenancy.TenantName(t.ID))
		}
		t.CreateTime = t.CreateTime.UTC()
		return change{tenancy: true, event: store.Event(ctx, tenancy.TenantName(t.ID), t.ID, nil, t)}, err
	})
	return t, err
}

// CreateAPIKey implements store.Store.
func (s *Store) CreateAPIKey(ctx context.Context, k tenancy.APIKey) (tenancy.APIKey, int64, error) {
	rev, err := s.write(ctx, func(tx pgx.Tx, rev int64) (change, error) {
		scopes := make([]int32, len(k.Scopes))
		for i, sc := range k.Scopes {
			scopes[i] = int32(sc)
		}
		err := tx.QueryRow(ctx, `INSERT INTO api_keys (id, tenant_id, scopes, hash, create_time) VALUES ($1, $2, $3, $4, now())
			RETURNING create_time`, k.ID, k.Tenant, scopes, k.Hash[:]).Scan(&k.CreateTime)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23503" {
			return change{}, store.NotFound("tenant", tenancy.TenantName(k.Tenant))
		}
		k.CreateTime = k.CreateTime.UTC()
		return change{tenancy: true, event: store.Event(ctx, tenancy.KeyName(k.Tenant, k.ID), k.Tenant, nil, keyRecord(k))}, err
	})
	return k, rev, err
}

// RevokeAPIKey implements store.Store.
func (s *Store) RevokeAPIKey(ctx context.Context, tenant, id string) (tenancy.APIKey, int64, error) {
	for _, k := range s.Directory().Keys(tenant) {
		if k.ID == id && k.Revoked() {
			return *k, s.Snapshot().Revision(), nil // revoking twice writes nothing
		}
	}
	var out tenancy.APIKey
	rev, err := s.write(ctx, func(tx pgx.Tx, rev int64) (change, error) {
		keys, err := queryKeys(ctx, tx, "WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant, id)
		if err != nil {
			return change{}, err
		}
		if len(keys) == 0 {
			return change{}, store.NotFound("api key", tenancy.KeyName(tenant, id))
		}
		before := keys[0]
		out = before
		if !out.Revoked() {
			if err := tx.QueryRow(ctx, "UPDATE api_keys SET revoke_time = now() WHERE id = $1 RETURNING revoke_time", id).Scan(&out.RevokeTime); err != nil {
				return change{}, err
			}
			out.RevokeTime = out.RevokeTime.UTC()
		}
		return change{tenancy: true, event: store.Event(ctx, tenancy.KeyName(tenant, id), tenant, keyRecord(before), keyRecord(out))}, nil
	})
	return out, rev, err
}

// keyRecord is what the audit trail keeps of a key: never its hash.
func keyRecord(k tenancy.APIKey) map[string]any {
	return map[string]any{"name": tenancy.KeyName(k.Tenant, k.ID), "scopes": k.Scopes, "revoked": k.Revoked()}
}

// AuditEvents implements store.Store. The trail is read from the database:
// it is not part of the serving snapshot.
func (s *Store) AuditEvents(ctx context.Context, tenant string, all bool, before int64, limit int) ([]tenancy.AuditEvent, error) {
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := s.pool.Query(ctx, `SELECT revision, time, tenant, actor, method, resource, before, after FROM audit_events
		WHERE revision < $1 AND ($2 OR tenant = $3) ORDER BY revision DESC LIMIT $4`, before, all, tenant, limit)
	if err != nil {
		return nil, classify(err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenancy.AuditEvent, error) {
		var e tenancy.AuditEvent
		err := r.Scan(&e.Revision, &e.Time, &e.Tenant, &e.Actor, &e.Method, &e.Resource, &e.Before, &e.After)
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
	rows, err := tx.Query(ctx, "SELECT id, display_name, create_time, revision FROM tenants")
	if err != nil {
		return nil, err
	}
	tenants, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenancy.Tenant, error) {
		var t tenancy.Tenant
		err := r.Scan(&t.ID, &t.DisplayName, &t.CreateTime, &t.Revision)
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

func queryKeys(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]tenancy.APIKey, error) {
	rows, err := tx.Query(ctx, "SELECT id, tenant_id, scopes, hash, create_time, revoke_time FROM api_keys "+where, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenancy.APIKey, error) {
		var k tenancy.APIKey
		var scopes []int32
		var hash []byte
		var revoked *time.Time
		err := r.Scan(&k.ID, &k.Tenant, &scopes, &hash, &k.CreateTime, &revoked)
		for _, sc := range scopes {
			k.Scopes = append(k.Scopes, cmv1.Scope(sc))
		}
		copy(k.Hash[:], hash)
		k.CreateTime = k.CreateTime.UTC()
		if revoked != nil {
			k.RevokeTime = revoked.UTC()
		}
		return k, err
	})
}
