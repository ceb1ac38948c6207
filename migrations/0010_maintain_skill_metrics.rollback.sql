-- Stop maintaining the skill metrics in the database.

DROP FUNCTION recompute_skill_metrics(text, text);
DROP FUNCTION update_skill_rating(text, text);
DROP FUNCTION increment_skill_uses(text, text);
DROP TRIGGER usage_events_count_new ON usage_events;
DROP FUNCTION count_new_usage_events();
DROP TRIGGER ratings_apply_deletes ON ratings;
DROP TRIGGER ratings_apply_updates ON ratings;
DROP TRIGGER ratings_apply_inserts ON ratings;
DROP FUNCTION apply_rating_changes();
DROP FUNCTION rating_average(integer, integer);
DROP FUNCTION require_bound_tenant(text);
ALTER TABLE skills DROP COLUMN rating_sum;
ALTER TABLE skills DROP COLUMN rating_count;
