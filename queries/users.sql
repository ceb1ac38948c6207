-- users: people in a tenant. The package passes the tenant bound by skilldb.tenant()
-- as :tenant_id; inserts write it, and every table read is filtered on it, subqueries
-- included. Row-level security, which reads app.current_tenant_id, is a second wall:
-- a :tenant_id that differs from the bound tenant matches no row, and inserting one is
-- refused (skilldb.errors.RowSecurityViolation).

-- name: create_user(tenant_id, email, name)^
-- Creates a user in the bound tenant and returns it. Emails are unique per tenant, ignoring case.
INSERT INTO users (tenant_id, email, name)
VALUES (:tenant_id, :email, :name)
RETURNING id, tenant_id, email, name, created_at;

-- name: get_user(tenant_id, user_id)^
-- The bound tenant's user with this id; no row when there is none.
SELECT id, tenant_id, email, name, created_at
FROM users
WHERE tenant_id = :tenant_id
    AND id = :user_id;

-- name: get_user_by_email(tenant_id, email)^
-- The user with this email, compared ignoring case; no row when none is visible.
SELECT id, tenant_id, email, name, created_at
FROM users
WHERE tenant_id = :tenant_id
    AND lower(email) = lower(:email);

-- name: get_user_with_relations(tenant_id, user_id)^
-- The user with the skills they author (newest first), the versions they created
-- (newest first), their ratings (newest first) and their newest 50 usage events;
-- lists are json, [] when empty. No row when there is none.
SELECT
    u.id, u.tenant_id, u.email, u.name, u.created_at,
    (
        SELECT coalesce(json_agg(s ORDER BY s.created_at DESC, s.id DESC), '[]')
        FROM (
            SELECT
                s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
                s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses,
                s.average_rating, s.created_at, s.updated_at
            FROM skills s
            WHERE s.tenant_id = :tenant_id AND s.author_id = u.id
        ) AS s
    ) AS skills,
    (
        SELECT coalesce(json_agg(v ORDER BY v.created_at DESC, v.id DESC), '[]')
        FROM (
            SELECT
                v.id, v.tenant_id, v.skill_id, v.version, v.content_url, v.content_hash,
                v.content_type, v.name, v.description, v.metadata, v.created_by, v.created_at
            FROM skill_versions v
            WHERE v.tenant_id = :tenant_id AND v.created_by = u.id
        ) AS v
    ) AS skill_versions,
    (
        SELECT coalesce(json_agg(r ORDER BY r.created_at DESC, r.id DESC), '[]')
        FROM (
            SELECT
                r.id, r.tenant_id, r.skill_id, r.user_id, r.rating, r.comment,
                r.hours_saved_estimate, r.created_at
            FROM ratings r
            WHERE r.tenant_id = :tenant_id AND r.user_id = u.id
        ) AS r
    ) AS ratings,
    (
        SELECT coalesce(json_agg(e ORDER BY e.created_at DESC, e.id DESC), '[]')
        FROM (
            SELECT e.id, e.tenant_id, e.skill_id, e.user_id, e.tool_name, e.metadata, e.created_at
            FROM usage_events e
            WHERE e.tenant_id = :tenant_id AND e.user_id = u.id
            ORDER BY e.created_at DESC, e.id DESC
            LIMIT 50
        ) AS e
    ) AS usage_events
FROM users u
WHERE u.tenant_id = :tenant_id AND u.id = :user_id;
