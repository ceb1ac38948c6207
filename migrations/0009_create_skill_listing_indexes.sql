-- Create the indexes behind keyset pagination of skills, newest / most used / best rated first.
-- depends: 0008_make_skill_versions_immutable
--
-- Each matches a list_skills_with_relations_by_* query: equality on tenant_id, then
-- the sort key and id, so a page is one backward index range scan, whatever its
-- depth. The keyset comparison must compare plain columns with plain parameters:
-- under row-level security PostgreSQL keeps a comparison on an expression (or
-- with coalesce() around a parameter) out of the index condition in generic plans,
-- and every deep page then scans all rows before it.

/* Unrated skills sort as 0, below every real rating (100-500). */
ALTER TABLE skills ADD COLUMN rating_sort_key integer NOT NULL
    GENERATED ALWAYS AS (coalesce(average_rating, 0)) STORED;

COMMENT ON COLUMN skills.rating_sort_key IS
    'average_rating, with unrated skills as 0: the sort key of listings by rating.';

/* The first page starts after the greatest integer, so no skill may hold it. */
ALTER TABLE skills ADD CONSTRAINT skills_total_uses_below_max CHECK (total_uses < 2147483647);

CREATE INDEX skills_created_at_idx ON skills (tenant_id, created_at, id);
CREATE INDEX skills_total_uses_idx ON skills (tenant_id, total_uses, id);
CREATE INDEX skills_average_rating_idx ON skills (tenant_id, rating_sort_key, id);
