-- ratings: one 1-5 star rating per skill and user. The package passes the tenant bound
-- by skilldb.tenant() as :tenant_id, and every table read is filtered on it, subqueries
-- included. Row-level security, which reads app.current_tenant_id, is a second wall:
-- a :tenant_id that differs from the bound tenant matches no row.

-- name: get_rating_with_relations(tenant_id, rating_id)^
-- The rating with its skill and its user (json, null when absent); no row when there is none.
SELECT
    r.id, r.tenant_id, r.skill_id, r.user_id, r.rating, r.comment, r.hours_saved_estimate,
    r.created_at,
    (
        SELECT row_to_json(s)
        FROM (
            SELECT
                s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
                s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses,
                s.average_rating, s.created_at, s.updated_at
            FROM skills s
            WHERE s.tenant_id = :tenant_id AND s.id = r.skill_id
        ) AS s
    ) AS skill,
    (
        SELECT row_to_json(u)
        FROM (
            SELECT u.id, u.tenant_id, u.email, u.name, u.created_at
            FROM users u
            WHERE u.tenant_id = :tenant_id AND u.id = r.user_id
        ) AS u
    ) AS "user"
FROM ratings r
WHERE r.tenant_id = :tenant_id AND r.id = :rating_id;

-- name: rate_skill(tenant_id, skill_id, user_id, rating, comment, hours_saved_estimate)^
-- Records the user's rating of the skill, replacing their earlier one, and returns it; the
-- ratings trigger moves the skill's count, sum and average_rating in the same statement.
INSERT INTO ratings (tenant_id, skill_id, user_id, rating, comment, hours_saved_estimate)
VALUES (:tenant_id, :skill_id, :user_id, :rating, :comment, :hours_saved_estimate)
ON CONFLICT (tenant_id, skill_id, user_id) DO UPDATE
SET rating = excluded.rating, comment = excluded.comment, hours_saved_estimate = excluded.hours_saved_estimate
RETURNING id, tenant_id, skill_id, user_id, rating, comment, hours_saved_estimate, created_at;

-- name: delete_rating(tenant_id, rating_id)!
-- Deletes the rating (the ratings trigger takes it out of its skill's average); returns
-- the number of rows deleted, 0 when the bound tenant has no such rating.
DELETE FROM ratings
WHERE tenant_id = :tenant_id AND id = :rating_id;
