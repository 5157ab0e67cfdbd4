-- The change log lists every row a write changed, in order, with the row as
-- written (or only its identity when deleted), so replicas apply a write
-- without reloading the catalog. kind is 'framework', 'control' or 'mapping'
-- for such rows; 'content' (a built-in content load: replicas reload) and
-- 'tenancy' (tenants or keys: replicas reload the directory) stay one row a
-- revision.
ALTER TABLE changes DROP CONSTRAINT changes_pkey;
ALTER TABLE changes ADD COLUMN idx integer NOT NULL DEFAULT 0;
ALTER TABLE changes ADD COLUMN deleted boolean NOT NULL DEFAULT false;
ALTER TABLE changes ADD COLUMN body jsonb;
ALTER TABLE changes ADD PRIMARY KEY (revision, idx);
