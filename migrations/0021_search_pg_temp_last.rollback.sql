-- Search the temporary schema first again in the functions that run as their owner.

ALTER FUNCTION recompute_skill_metrics(text, text) SET search_path = pg_catalog, public;
ALTER FUNCTION update_skill_rating(text, text) SET search_path = pg_catalog, public;
ALTER FUNCTION increment_skill_uses(text, text) SET search_path = pg_catalog, public;
ALTER FUNCTION count_new_usage_events() SET search_path = pg_catalog, public;
ALTER FUNCTION apply_rating_changes() SET search_path = pg_catalog, public;
ALTER FUNCTION assign_skill_version() SET search_path = pg_catalog, public;
