-- Each audit event names the request that made the change, so a client
-- whose write ended without an answer can ask whether it happened. Added
-- with a default, so replicas of the previous release keep working during
-- a rolling update.
ALTER TABLE audit_events ADD COLUMN request_id text NOT NULL DEFAULT '';
CREATE INDEX audit_events_request_id ON audit_events (request_id) WHERE request_id <> '';
