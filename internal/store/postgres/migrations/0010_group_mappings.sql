-- Group mappings: a side of a mapping may be several controls of one
-- framework (source_control and target_control are then the first of them).
-- The members are the control ids in id order, separated by spaces (ids
-- have none); '' for a side of one control.
ALTER TABLE mappings
    ADD COLUMN source_members text NOT NULL DEFAULT '',
    ADD COLUMN target_members text NOT NULL DEFAULT '';

-- What a mapping maps, in either direction: two controls, or two groups.
-- The same two sides are mapped once.
DROP INDEX mappings_pair;
ALTER TABLE mappings ADD COLUMN pair_key text GENERATED ALWAYS AS (
    LEAST(source_framework || '/' || CASE WHEN source_members = '' THEN source_control ELSE source_members END,
          target_framework || '/' || CASE WHEN target_members = '' THEN target_control ELSE target_members END)
    || ' | ' ||
    GREATEST(source_framework || '/' || CASE WHEN source_members = '' THEN source_control ELSE source_members END,
             target_framework || '/' || CASE WHEN target_members = '' THEN target_control ELSE target_members END)
) STORED;
CREATE UNIQUE INDEX mappings_pair ON mappings (pair_key);

-- The group mappings a control is a member of, for deletes that take them
-- with the control.
CREATE INDEX mappings_source_members ON mappings USING gin (string_to_array(source_members, ' ')) WHERE source_members <> '';
CREATE INDEX mappings_target_members ON mappings USING gin (string_to_array(target_members, ' ')) WHERE target_members <> '';
