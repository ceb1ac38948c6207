-- Search the temporary schema last in the functions that run as their owner.
-- depends: 0020_enforce_workshop_access
--
-- PostgreSQL looks up tables in the session's temporary schema first unless pg_temp is
-- named in search_path. A function with SET search_path = pg_catalog, public that names
-- a table without its schema can therefore be handed a temporary table of the same name
-- created by its caller (skilldb_app may create temporary tables), and the caller's
-- triggers on it then run as the function's owner. Naming pg_temp last closes that.

ALTER FUNCTION assign_skill_version() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION apply_rating_changes() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION count_new_usage_events() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION increment_skill_uses(text, text) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION update_skill_rating(text, text) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION recompute_skill_metrics(text, text) SET search_path = pg_catalog, public, pg_temp;
