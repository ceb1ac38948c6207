-- Drop the skill listing indexes and their sort key.

DROP INDEX skills_created_at_idx;
DROP INDEX skills_total_uses_idx;
DROP INDEX skills_average_rating_idx;
ALTER TABLE skills DROP CONSTRAINT skills_total_uses_below_max;
ALTER TABLE skills DROP COLUMN rating_sort_key;
