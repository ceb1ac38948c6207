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

-- name: record_usage_event(tenant_id, skill_id, user_id, tool_name, metadata)^
-- Records one use of the skill and returns the event; the usage_events statement trigger
-- adds it to the skill's total_uses in the same statement.
INSERT INTO usage_events (tenant_id, skill_id, user_id, tool_name, metadata)
VALUES (:tenant_id, :skill_id, :user_id, :tool_name, coalesce(:metadata::jsonb, '{}'))
RETURNING id, tenant_id, skill_id, user_id, tool_name, metadata, created_at;

-- name: record_usage_events(tenant_id, skill_ids, user_ids, tool_names, metadata)^
-- Records a batch given as parallel arrays, all or nothing, in one statement; returns the
-- 1-based position of the first event naming no skill or user of the tenant (then nothing
-- is inserted) and the number recorded. The statement trigger adds one grouped count per skill.
WITH batch AS (
    SELECT b.skill_id, b.user_id, b.tool_name, b.metadata, b.position
    FROM unnest(:skill_ids::text [], :user_ids::text [], :tool_names::text [], :metadata::jsonb [])
        WITH ORDINALITY AS b (skill_id, user_id, tool_name, metadata, position)
),
bad AS (
    SELECT min(b.position) AS position
    FROM batch AS b
    WHERE NOT EXISTS (
        SELECT FROM skills AS s WHERE s.tenant_id = :tenant_id AND s.id = b.skill_id
    )
    OR (
        b.user_id IS NOT NULL
        AND NOT EXISTS (SELECT FROM users AS u WHERE u.tenant_id = :tenant_id AND u.id = b.user_id)
    )
),
inserted AS (
    INSERT INTO usage_events (tenant_id, skill_id, user_id, tool_name, metadata)
    SELECT :tenant_id, b.skill_id, b.user_id, b.tool_name, coalesce(b.metadata, '{}')
    FROM batch AS b
    WHERE (SELECT bad.position FROM bad) IS NULL
    ORDER BY b.position
    RETURNING 1
)
SELECT
    (SELECT bad.position FROM bad) AS bad_position,
    (SELECT count(*) FROM inserted) AS recorded;
