-- Drop the skill listing indexes.

DROP INDEX skills_created_at_idx;
DROP INDEX skills_total_uses_idx;
DROP INDEX skills_average_rating_idx;
