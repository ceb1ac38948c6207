-- skills: the marketplace's skills. The package passes the tenant bound by
-- skilldb.tenant() as :tenant_id; inserts write it, and every table read or updated is
-- filtered on it, subqueries included. Row-level security, which reads
-- app.current_tenant_id, is a second wall: a :tenant_id that differs from the bound
-- tenant matches no row, and inserting one is refused (skilldb.errors.RowSecurityViolation).
-- average_rating is stars x 100 (450 is 4.5 stars).
-- Nested fetches (*_with_relations) return relations as json built in the same
-- statement. The list is written once per sort key (list_skills_with_relations_by_*):
-- a sort key chosen by a parameter would defeat the index range scan that keeps
-- every page, however deep, as fast as the first.

-- name: create_skill(tenant_id, author_id, name, slug, description, category)^
-- Creates a skill in the bound tenant, with no versions yet, and returns it.
INSERT INTO skills (tenant_id, author_id, name, slug, description, category)
VALUES (:tenant_id, :author_id, :name, :slug, :description, :category)
RETURNING
    id, tenant_id, author_id, name, slug, description, category,
    published_version_id, draft_version_id, latest_version, total_uses, average_rating,
    created_at, updated_at;

-- name: get_skill(tenant_id, skill_id)^
-- The bound tenant's skill with this id; no row when there is none.
SELECT
    id, tenant_id, author_id, name, slug, description, category,
    published_version_id, draft_version_id, latest_version, total_uses, average_rating,
    created_at, updated_at
FROM skills
WHERE tenant_id = :tenant_id
    AND id = :skill_id;

-- name: get_skill_by_slug(tenant_id, slug)^
-- The bound tenant's skill with this slug; no row when there is none.
SELECT
    id, tenant_id, author_id, name, slug, description, category,
    published_version_id, draft_version_id, latest_version, total_uses, average_rating,
    created_at, updated_at
FROM skills
WHERE tenant_id = :tenant_id
    AND slug = :slug;

-- name: list_skills(tenant_id, category, limit)
-- The bound tenant's skills, oldest first (ties by id), at most :limit of them;
-- only those in :category when it is not null.
SELECT
    id, tenant_id, author_id, name, slug, description, category,
    published_version_id, draft_version_id, latest_version, total_uses, average_rating,
    created_at, updated_at
FROM skills
WHERE tenant_id = :tenant_id
    AND (:category::text IS NULL OR category = :category)
ORDER BY created_at, id
LIMIT :limit;

-- name: publish_version(tenant_id, skill_id, version_id)^
-- Points the skill's published_version_id at the version and returns the skill, plus
-- skill_found and version_skill_id so the caller can tell a missing skill, a missing
-- version and a version of another skill apart (then the skill columns are null).
WITH target AS (
    SELECT id FROM skills
    WHERE tenant_id = :tenant_id AND id = :skill_id
),
version AS (
    SELECT skill_id FROM skill_versions
    WHERE tenant_id = :tenant_id AND id = :version_id
),
updated AS (
    UPDATE skills s
    SET published_version_id = :version_id
    FROM version
    WHERE s.tenant_id = :tenant_id AND s.id = :skill_id AND version.skill_id = s.id
    RETURNING
        s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
        s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses, s.average_rating,
        s.created_at, s.updated_at
)
SELECT
    EXISTS (SELECT FROM target) AS skill_found,
    (SELECT skill_id FROM version) AS version_skill_id,
    updated.*
FROM (VALUES (1)) AS one (n)
LEFT JOIN updated ON true;

-- name: set_draft_version(tenant_id, skill_id, version_id)^
-- Points the skill's draft_version_id at the version (or clears it when :version_id is
-- null) and returns the skill, with skill_found and version_skill_id as publish_version.
WITH target AS (
    SELECT id FROM skills
    WHERE tenant_id = :tenant_id AND id = :skill_id
),
version AS (
    SELECT skill_id FROM skill_versions
    WHERE tenant_id = :tenant_id AND id = :version_id
),
updated AS (
    UPDATE skills s
    SET draft_version_id = :version_id
    WHERE s.tenant_id = :tenant_id AND s.id = :skill_id
        AND (:version_id::text IS NULL OR EXISTS (SELECT FROM version WHERE version.skill_id = s.id))
    RETURNING
        s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
        s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses, s.average_rating,
        s.created_at, s.updated_at
)
SELECT
    EXISTS (SELECT FROM target) AS skill_found,
    (SELECT skill_id FROM version) AS version_skill_id,
    updated.*
FROM (VALUES (1)) AS one (n)
LEFT JOIN updated ON true;

-- name: get_skill_with_relations(tenant_id, skill_id)^
-- The skill with its author, versions (newest first), published and draft versions,
-- ratings (newest first, each with its user) and usage; no row when there is none.
-- Relations are json: null for a missing one, [] for an empty list.
SELECT
    s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
    s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses, s.average_rating,
    s.created_at, s.updated_at,
    (
        SELECT row_to_json(a)
        FROM (
            SELECT u.id, u.tenant_id, u.email, u.name, u.created_at
            FROM users u
            WHERE u.tenant_id = :tenant_id AND u.id = s.author_id
        ) AS a
    ) AS author,
    vs.versions,
    vs.published_version,
    vs.draft_version,
    (
        SELECT coalesce(json_agg(r ORDER BY r.created_at DESC, r.id), '[]')
        FROM (
            SELECT
                r.id, r.tenant_id, r.skill_id, r.user_id, r.rating, r.comment,
                r.hours_saved_estimate, r.created_at,
                -- one index lookup per rating: a join lets the planner hash all the tenant's users
                (
                    SELECT row_to_json(ru)
                    FROM (
                        SELECT u.id, u.tenant_id, u.email, u.name, u.created_at
                        FROM users u
                        WHERE u.tenant_id = :tenant_id AND u.id = r.user_id
                    ) AS ru
                ) AS "user"
            FROM ratings r
            WHERE r.tenant_id = :tenant_id AND r.skill_id = s.id
        ) AS r
    ) AS ratings,
    json_build_object(
        'total_uses', s.total_uses,
        'last_used_at', (
            SELECT max(e.created_at) FROM usage_events e
            WHERE e.tenant_id = :tenant_id AND e.skill_id = s.id
        )
    ) AS usage
FROM skills s
-- the versions are read once: the published and draft ones are picked from them
CROSS JOIN LATERAL (
    SELECT
        coalesce(json_agg(vj.j ORDER BY vj.version DESC), '[]') AS versions,
        (array_agg(vj.j) FILTER (WHERE vj.id = s.published_version_id))[1] AS published_version,
        (array_agg(vj.j) FILTER (WHERE vj.id = s.draft_version_id))[1] AS draft_version
    FROM (
        SELECT v.id, v.version, row_to_json(v) AS j
        FROM (
            SELECT
                v.id, v.tenant_id, v.skill_id, v.version, v.content_url, v.content_hash,
                v.content_type, v.name, v.description, v.metadata, v.created_by, v.created_at
            FROM skill_versions v
            WHERE v.tenant_id = :tenant_id AND v.skill_id = s.id
        ) AS v
    ) AS vj
) AS vs
WHERE s.tenant_id = :tenant_id AND s.id = :skill_id;

-- name: list_skills_with_relations_by_created_at(tenant_id, after_key, after_id, limit)
-- A page of the bound tenant's skills, newest first, ties by id descending, each with author and
-- published version (json, null when absent), after (:after_key, :after_id); the first page
-- passes ('infinity', ''). One backward range scan of skills_created_at_idx, no OFFSET.
SELECT
    s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
    s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses, s.average_rating,
    s.created_at, s.updated_at,
    (
        SELECT row_to_json(a)
        FROM (
            SELECT u.id, u.tenant_id, u.email, u.name, u.created_at
            FROM users u
            WHERE u.tenant_id = :tenant_id AND u.id = s.author_id
        ) AS a
    ) AS author,
    (
        SELECT row_to_json(v)
        FROM (
            SELECT
                v.id, v.tenant_id, v.skill_id, v.version, v.content_url, v.content_hash,
                v.content_type, v.name, v.description, v.metadata, v.created_by, v.created_at
            FROM skill_versions v
            WHERE v.tenant_id = :tenant_id AND v.skill_id = s.id AND v.id = s.published_version_id
        ) AS v
    ) AS published_version
FROM (
    SELECT
        id, tenant_id, author_id, name, slug, description, category,
        published_version_id, draft_version_id, latest_version, total_uses, average_rating,
        created_at, updated_at
    FROM skills
    WHERE tenant_id = :tenant_id
        AND (created_at, id) < (:after_key::timestamptz, :after_id::text)
    ORDER BY created_at DESC, id DESC
    LIMIT :limit
) AS s
ORDER BY created_at DESC, s.id DESC;

-- name: list_skills_with_relations_by_total_uses(tenant_id, after_key, after_id, limit)
-- A page of the bound tenant's skills, most used first, ties by id descending, each with author and
-- published version (json, null when absent), after (:after_key, :after_id); the first page
-- passes (2147483647, ''). One backward range scan of skills_total_uses_idx, no OFFSET.
SELECT
    s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
    s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses, s.average_rating,
    s.created_at, s.updated_at,
    (
        SELECT row_to_json(a)
        FROM (
            SELECT u.id, u.tenant_id, u.email, u.name, u.created_at
            FROM users u
            WHERE u.tenant_id = :tenant_id AND u.id = s.author_id
        ) AS a
    ) AS author,
    (
        SELECT row_to_json(v)
        FROM (
            SELECT
                v.id, v.tenant_id, v.skill_id, v.version, v.content_url, v.content_hash,
                v.content_type, v.name, v.description, v.metadata, v.created_by, v.created_at
            FROM skill_versions v
            WHERE v.tenant_id = :tenant_id AND v.skill_id = s.id AND v.id = s.published_version_id
        ) AS v
    ) AS published_version
FROM (
    SELECT
        id, tenant_id, author_id, name, slug, description, category,
        published_version_id, draft_version_id, latest_version, total_uses, average_rating,
        created_at, updated_at
    FROM skills
    WHERE tenant_id = :tenant_id
        AND (total_uses, id) < (:after_key::integer, :after_id::text)
    ORDER BY total_uses DESC, id DESC
    LIMIT :limit
) AS s
ORDER BY total_uses DESC, s.id DESC;

-- name: list_skills_with_relations_by_average_rating(tenant_id, after_key, after_id, limit)
-- A page of the bound tenant's skills, best rated first (unrated last), ties by id descending, each with author and
-- published version (json, null when absent), after (:after_key, :after_id); the first page
-- passes (2147483647, ''). One backward range scan of skills_average_rating_idx, no OFFSET.
SELECT
    s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
    s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses, s.average_rating,
    s.created_at, s.updated_at,
    (
        SELECT row_to_json(a)
        FROM (
            SELECT u.id, u.tenant_id, u.email, u.name, u.created_at
            FROM users u
            WHERE u.tenant_id = :tenant_id AND u.id = s.author_id
        ) AS a
    ) AS author,
    (
        SELECT row_to_json(v)
        FROM (
            SELECT
                v.id, v.tenant_id, v.skill_id, v.version, v.content_url, v.content_hash,
                v.content_type, v.name, v.description, v.metadata, v.created_by, v.created_at
            FROM skill_versions v
            WHERE v.tenant_id = :tenant_id AND v.skill_id = s.id AND v.id = s.published_version_id
        ) AS v
    ) AS published_version
FROM (
    SELECT
        id, tenant_id, author_id, name, slug, description, category,
        published_version_id, draft_version_id, latest_version, total_uses, average_rating,
        rating_sort_key, created_at, updated_at
    FROM skills
    WHERE tenant_id = :tenant_id
        AND (rating_sort_key, id) < (:after_key::integer, :after_id::text)
    ORDER BY rating_sort_key DESC, id DESC
    LIMIT :limit
) AS s
ORDER BY s.rating_sort_key DESC, s.id DESC;

-- name: increment_skill_uses(tenant_id, skill_id)$
-- Adds one use to the skill (total_uses = coalesce(total_uses, 0) + 1, updated_at touched)
-- and returns the new total; null when the bound tenant has no such skill.
SELECT increment_skill_uses(:tenant_id, :skill_id);

-- name: update_skill_rating(tenant_id, skill_id)^
-- Recomputes average_rating (stars x 100) from the skill's ratings after locking the skill;
-- skill_found is false when there is no such skill, new_average_rating null when unrated.
SELECT skill_found, new_average_rating
FROM update_skill_rating(:tenant_id, :skill_id);

-- name: recompute_skill_metrics(tenant_id, skill_id)$
-- Rebuilds total_uses and the rating metrics from the raw tables for one skill, or every
-- skill of the tenant when :skill_id is null; returns the number of skills changed.
SELECT recompute_skill_metrics(:tenant_id, :skill_id);
