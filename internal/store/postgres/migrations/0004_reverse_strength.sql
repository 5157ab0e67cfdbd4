-- Strength is directional: strength is how much of the target implementing
-- the source accomplishes, reverse_strength the same read the other way.
-- Existing rows are carried over by the rule of their relationship
-- (1 EQUAL, 2 SUBSET_OF, 3 SUPERSET_OF, 4 INTERSECTS_WITH, 5 NO_RELATIONSHIP):
-- the containing side accomplishes all (10); an intersection keeps its one
-- score both ways until someone reviews it.
ALTER TABLE mappings ADD COLUMN reverse_strength integer NOT NULL DEFAULT 0
    CHECK (reverse_strength BETWEEN 0 AND 10);
UPDATE mappings SET reverse_strength = CASE relationship
        WHEN 1 THEN 10
        WHEN 2 THEN 10
        WHEN 3 THEN strength
        WHEN 4 THEN strength
        ELSE 0 END,
    strength = CASE relationship WHEN 3 THEN 10 ELSE strength END;
