-- A tenant may require SCOPE_ADMIN to approve its mappings. Added with a
-- default, so replicas of the previous release keep working during a
-- rolling update.
ALTER TABLE tenants ADD COLUMN require_admin_approval boolean NOT NULL DEFAULT false;

-- A key may expire.
ALTER TABLE api_keys ADD COLUMN expire_time timestamptz;
