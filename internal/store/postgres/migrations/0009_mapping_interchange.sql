-- What the file a mapping was imported from said beyond the mapping's own
-- columns (an OSCAL map's confidence, coverage, qualifiers, method), as
-- JSON; NULL for the others.
ALTER TABLE mappings ADD COLUMN interchange jsonb;
