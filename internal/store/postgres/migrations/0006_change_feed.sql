-- The change log feeds WatchChanges: each row says whose it is, and
-- store_state says from which revision on the log is complete (older rows
-- carry no owner, and retention deletes the oldest).
ALTER TABLE changes ADD COLUMN owner text NOT NULL DEFAULT '';
ALTER TABLE store_state ADD COLUMN log_start bigint NOT NULL DEFAULT 0;
UPDATE store_state SET log_start = revision + 1;
