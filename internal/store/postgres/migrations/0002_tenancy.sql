-- Tenants, their API keys (hashes only) and the audit trail of every change.

CREATE TABLE tenants (
    id           text PRIMARY KEY,
    display_name text        NOT NULL,
    create_time  timestamptz NOT NULL,
    revision     bigint      NOT NULL
);

CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    tenant_id   text        NOT NULL REFERENCES tenants (id),
    scopes      integer[]   NOT NULL,
    hash        bytea       NOT NULL UNIQUE,
    create_time timestamptz NOT NULL,
    revoke_time timestamptz
);

-- Written in the same transaction as the change it records.
CREATE TABLE audit_events (
    revision bigint PRIMARY KEY,
    time     timestamptz NOT NULL,
    tenant   text        NOT NULL, -- '' for the operator
    actor    text        NOT NULL,
    method   text        NOT NULL,
    resource text        NOT NULL,
    before   text        NOT NULL,
    after    text        NOT NULL
);
CREATE INDEX audit_events_tenant ON audit_events (tenant, revision DESC);
