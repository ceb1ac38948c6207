-- Revoke skilldb_app's privileges here, and drop the role unless another database still grants it something.

REVOKE ALL ON tenants, users, skills, skill_versions, ratings, usage_events, skill_messages FROM skilldb_app;
REVOKE USAGE ON SCHEMA public FROM skilldb_app;

DO $$
BEGIN
    DROP ROLE IF EXISTS skilldb_app;
EXCEPTION WHEN dependent_objects_still_exist THEN
    RAISE NOTICE 'skilldb_app is still used by another database; kept';
END
$$;
