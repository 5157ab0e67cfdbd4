-- A write of one principal that changes another tenant's data (the
-- operator deletes a reference framework, and tenants' mappings go with it)
-- is recorded in that tenant's trail too: one row per tenant, with what of
-- its data the write changed. The event's other columns are the write's.
CREATE TABLE audit_event_tenants (
    tenant   text   NOT NULL,
    revision bigint NOT NULL,
    before   text   NOT NULL,
    PRIMARY KEY (tenant, revision)
);
