-- Create the indexes behind keyset pagination of skills, newest / most used / best rated first.
-- depends: 0008_make_skill_versions_immutable
--
-- Each matches a list_skills_with_relations_by_* query: equality on tenant_id, then
-- the sort key and id, so a page is one backward index range scan, whatever its depth.
-- Unrated skills sort as rating 0, below every real rating (100-500).

CREATE INDEX skills_created_at_idx ON skills (tenant_id, created_at, id);
CREATE INDEX skills_total_uses_idx ON skills (tenant_id, total_uses, id);
CREATE INDEX skills_average_rating_idx ON skills (tenant_id, (coalesce(average_rating, 0)), id);
