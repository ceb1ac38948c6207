-- Revoke what skilldb_app was granted in this database; keep the role and its members.
--
-- The role belongs to the cluster: dropping it would silently end every login role's
-- membership, and re-applying would leave applications with "permission denied".

REVOKE ALL ON tenants, users, skills, skill_versions, ratings, usage_events, skill_messages FROM skilldb_app;
REVOKE USAGE ON SCHEMA public FROM skilldb_app;
