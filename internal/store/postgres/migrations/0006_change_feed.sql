-- The change log feeds WatchChanges: each row says whose it is ('' for
-- public data), and store_state says from which revision on the log is
-- complete (retention deletes the oldest). Rows without an owner (older
-- rows, and rows an older release writes during a rolling update) are
-- shown to the operator only.
ALTER TABLE changes ADD COLUMN owner text;
ALTER TABLE store_state ADD COLUMN log_start bigint NOT NULL DEFAULT 0;
UPDATE store_state SET log_start = revision + 1;

-- Writes find the mappings of a control (to delete them with it, and for
-- the foreign keys' own checks) without reading every mapping.
CREATE INDEX mappings_source ON mappings (source_framework, source_control);
CREATE INDEX mappings_target ON mappings (target_framework, target_control);
