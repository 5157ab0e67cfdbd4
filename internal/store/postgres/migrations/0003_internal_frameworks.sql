-- Organizations' own frameworks: an owning tenant, and per control the
-- implementation status, owner and evidence.

ALTER TABLE frameworks ADD COLUMN owner text NOT NULL DEFAULT '';
ALTER TABLE controls ADD COLUMN implementation integer NOT NULL DEFAULT 0;
ALTER TABLE controls ADD COLUMN owner text NOT NULL DEFAULT '';
ALTER TABLE controls ADD COLUMN evidence text[] NOT NULL DEFAULT '{}';

-- Mappings follow their controls when a framework or control is deleted.
ALTER TABLE mappings DROP CONSTRAINT mappings_source_framework_source_control_fkey;
ALTER TABLE mappings DROP CONSTRAINT mappings_target_framework_target_control_fkey;
ALTER TABLE mappings ADD FOREIGN KEY (source_framework, source_control) REFERENCES controls (framework_id, id) ON DELETE CASCADE;
ALTER TABLE mappings ADD FOREIGN KEY (target_framework, target_control) REFERENCES controls (framework_id, id) ON DELETE CASCADE;
