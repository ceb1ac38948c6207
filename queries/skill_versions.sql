-- skill_versions: immutable, numbered snapshots of a skill's content. The version
-- number is assigned by a trigger (1, 2, 3 ... per skill); rows cannot be updated,
-- and go only with their skill. The package passes the tenant bound by skilldb.tenant()
-- as :tenant_id, and every table read is filtered on it, subqueries included.
-- Row-level security, which reads app.current_tenant_id, is a second wall: a
-- :tenant_id that differs from the bound tenant matches no row.

-- name: create_skill_version(tenant_id, skill_id, version_id, content_url, content_hash, content_type, name, description, metadata, created_by)^
-- Creates the skill's next version and returns it; name and description default to
-- the skill's current ones. No row when the bound tenant has no such skill. The id comes
-- from the caller: a volatile default (gen_random_uuid()) would make Citus run this
-- INSERT ... SELECT in two steps through the coordinator instead of on the tenant's shard
-- (and Citus needs the alias v to send a RETURNING with it to the shard).
INSERT INTO skill_versions AS v (
    id, tenant_id, skill_id, content_url, content_hash, content_type, name, description, metadata,
    created_by
)
SELECT
    :version_id, s.tenant_id, s.id, :content_url, :content_hash, :content_type,
    coalesce(:name, s.name), coalesce(:description, s.description),
    coalesce(:metadata::jsonb, '{}'), :created_by
FROM skills s
WHERE s.tenant_id = :tenant_id AND s.id = :skill_id
RETURNING
    id, tenant_id, skill_id, version, content_url, content_hash, content_type,
    name, description, metadata, created_by, created_at;

-- name: get_skill_version(tenant_id, version_id)^
-- The bound tenant's skill version with this id; no row when there is none.
SELECT
    id, tenant_id, skill_id, version, content_url, content_hash, content_type,
    name, description, metadata, created_by, created_at
FROM skill_versions
WHERE tenant_id = :tenant_id AND id = :version_id;

-- name: list_skill_versions(tenant_id, skill_id)
-- Every version of the skill, newest (highest number) first; empty when there is none.
SELECT
    id, tenant_id, skill_id, version, content_url, content_hash, content_type,
    name, description, metadata, created_by, created_at
FROM skill_versions
WHERE tenant_id = :tenant_id AND skill_id = :skill_id
ORDER BY version DESC;

-- name: get_skill_version_with_relations(tenant_id, version_id)^
-- The version with its skill and the user who created it (json, null when absent);
-- no row when there is none.
SELECT
    v.id, v.tenant_id, v.skill_id, v.version, v.content_url, v.content_hash, v.content_type,
    v.name, v.description, v.metadata, v.created_by, v.created_at,
    (
        SELECT row_to_json(s)
        FROM (
            SELECT
                s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
                s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses,
                s.average_rating, s.created_at, s.updated_at
            FROM skills s
            WHERE s.tenant_id = :tenant_id AND s.id = v.skill_id
        ) AS s
    ) AS skill,
    (
        SELECT row_to_json(u)
        FROM (
            SELECT u.id, u.tenant_id, u.email, u.name, u.created_at
            FROM users u
            WHERE u.tenant_id = :tenant_id AND u.id = v.created_by
        ) AS u
    ) AS created_by_user
FROM skill_versions v
WHERE v.tenant_id = :tenant_id AND v.id = :version_id;
