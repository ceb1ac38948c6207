-- Create the application role skilldb_app (if absent) and grant it what the package needs.
-- depends: 0005_create_skill_messages
--
-- skilldb_app cannot log in, is no superuser and cannot bypass row-level security.
-- Applications connect with a login role that is a member of it
-- (CREATE ROLE app LOGIN IN ROLE skilldb_app), or run SET ROLE skilldb_app.
-- Roles belong to the cluster, so several databases may share it; the rollback
-- therefore keeps the role (and its members) and only revokes what is granted here.
--
-- Columns the database keeps itself (counters, version numbers, updated_at, ids,
-- tenant_id) are not granted for UPDATE: the application may change only the
-- columns listed. Trigger functions that maintain the others run as their owner.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'skilldb_app') THEN
        CREATE ROLE skilldb_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO skilldb_app;
GRANT SELECT, INSERT ON tenants TO skilldb_app;
GRANT UPDATE (name) ON tenants TO skilldb_app;
GRANT SELECT, INSERT, DELETE ON users TO skilldb_app;
GRANT UPDATE (email, name) ON users TO skilldb_app;
GRANT SELECT, DELETE ON skills TO skilldb_app;
GRANT INSERT (tenant_id, id, author_id, name, slug, description, category, created_at) ON skills TO skilldb_app;
GRANT UPDATE (author_id, name, slug, description, category, published_version_id, draft_version_id)
    ON skills TO skilldb_app;
GRANT SELECT, INSERT ON skill_versions TO skilldb_app;
GRANT SELECT, INSERT, DELETE ON ratings TO skilldb_app;
GRANT UPDATE (rating, comment, hours_saved_estimate) ON ratings TO skilldb_app;
GRANT SELECT, INSERT ON usage_events TO skilldb_app;
GRANT SELECT, INSERT, DELETE ON skill_messages TO skilldb_app;
GRANT UPDATE (status, read_at) ON skill_messages TO skilldb_app;
