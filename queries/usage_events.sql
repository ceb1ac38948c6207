-- usage_events: one row per use of a skill; kept (with skill_id or user_id null) when
-- the skill or user is deleted. The package passes the tenant bound by skilldb.tenant()
-- as :tenant_id, and every table read is filtered on it, subqueries included.
-- Row-level security, which reads app.current_tenant_id, is a second wall: a
-- :tenant_id that differs from the bound tenant matches no row.

-- name: get_usage_event_with_relations(tenant_id, event_id)^
-- The event with its skill and its user (json, null when absent or deleted);
-- no row when there is none.
SELECT
    e.id, e.tenant_id, e.skill_id, e.user_id, e.tool_name, e.metadata, e.created_at,
    (
        SELECT row_to_json(s)
        FROM (
            SELECT
                s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
                s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses,
                s.average_rating, s.created_at, s.updated_at
            FROM skills s
            WHERE s.tenant_id = :tenant_id AND s.id = e.skill_id
        ) AS s
    ) AS skill,
    (
        SELECT row_to_json(u)
        FROM (
            SELECT u.id, u.tenant_id, u.email, u.name, u.created_at
            FROM users u
            WHERE u.tenant_id = :tenant_id AND u.id = e.user_id
        ) AS u
    ) AS "user"
FROM usage_events e
WHERE e.tenant_id = :tenant_id AND e.id = :event_id;
