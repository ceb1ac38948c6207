-- workshops and workshop_members: design-thinking workshops and who belongs to them.
-- The package passes the person bound by skilldb.workshops.acting_as() as :acting_user_id;
-- who may see and change what is decided by row-level security (migration 0020), so a
-- statement aimed at a workshop the person may not see finds nothing. workshop_role()
-- reads the person's role in a workshop (NULL for non-members): statements that change
-- rows return it, so the caller can tell "no such workshop" from "not allowed".

-- name: create_workshop(workshop_id, member_id, step_row_ids, title, original_idea, org_id, template_id)^
-- Creates the workshop for the bound person, with them as 'owner' member and one
-- workshop_steps row per step definition (the database function create_workshop, 0020).
SELECT
    id, clerk_user_id, title, original_idea, status, org_id, template_id, visibility, share_token,
    created_at, updated_at
FROM create_workshop(:workshop_id, :member_id, :step_row_ids, :title, :original_idea, :org_id, :template_id);

-- name: get_workshop(workshop_id)^
-- The workshop, when the bound person may see it; no row otherwise.
SELECT
    id, clerk_user_id, title, original_idea, status, org_id, template_id, visibility, share_token,
    created_at, updated_at
FROM workshops
WHERE id = :workshop_id;

-- name: list_workshops_for_user(acting_user_id, status, after_key, after_id, limit)
-- A page of the workshops the bound person is a member of (their own and those shared
-- with them), newest first, ties by id descending, after (:after_key, :after_id); only
-- those in :status when it is not null.
SELECT
    w.id, w.clerk_user_id, w.title, w.original_idea, w.status, w.org_id, w.template_id, w.visibility,
    w.share_token, w.created_at, w.updated_at
FROM workshop_members m
JOIN workshops w ON w.id = m.workshop_id
WHERE m.clerk_user_id = :acting_user_id
    AND (:status::text IS NULL OR w.status = :status)
    AND (w.created_at, w.id) < (:after_key::timestamptz, :after_id::text)
ORDER BY w.created_at DESC, w.id DESC
LIMIT :limit;

-- name: set_workshop_visibility(workshop_id, visibility, share_token)^
-- Sets visibility and the share token (a new one when shared, NULL when private); one
-- row with the bound person's role and the updated workshop (null columns when nothing
-- changed); no row when the workshop is not visible. Only an owner may (trigger, 0020).
WITH changed AS (
    UPDATE workshops
    SET visibility = :visibility, share_token = :share_token
    WHERE id = :workshop_id AND workshop_role(:workshop_id) = 'owner'
    RETURNING
        id, clerk_user_id, title, original_idea, status, org_id, template_id, visibility, share_token,
        created_at, updated_at
)
SELECT
    workshop_role(w.id) AS acting_role,
    c.id, c.clerk_user_id, c.title, c.original_idea, c.status, c.org_id, c.template_id, c.visibility,
    c.share_token, c.created_at, c.updated_at
FROM workshops w
LEFT JOIN changed c ON c.id = w.id
WHERE w.id = :workshop_id;

-- name: delete_workshop(workshop_id)^
-- Deletes the workshop and everything in it (cascade); one row with the bound person's
-- role and the number deleted; no row when the workshop is not visible.
WITH gone AS (
    DELETE FROM workshops
    WHERE id = :workshop_id AND workshop_role(:workshop_id) = 'owner'
    RETURNING id
)
SELECT workshop_role(w.id) AS acting_role, (SELECT count(*) FROM gone) AS changed
FROM workshops w
WHERE w.id = :workshop_id;

-- name: add_workshop_member(workshop_id, member_id, clerk_user_id, role)^
-- Adds the person to the workshop with :role and returns the membership; row-level
-- security refuses it unless the bound person is an owner.
INSERT INTO workshop_members (id, workshop_id, clerk_user_id, role)
VALUES (:member_id, :workshop_id, :clerk_user_id, :role)
RETURNING id, workshop_id, clerk_user_id, role, created_at;

-- name: remove_workshop_member(workshop_id, clerk_user_id)^
-- Removes the person from the workshop unless they are its last owner; one row with the
-- bound person's role, the removed person's role (null when not a member), how many other
-- owners there are, and the number removed; no row when the workshop is not visible.
WITH target AS (
    SELECT id, role
    FROM workshop_members
    WHERE workshop_id = :workshop_id AND clerk_user_id = :clerk_user_id
),
other_owners AS (
    SELECT count(*) AS n
    FROM workshop_members
    WHERE workshop_id = :workshop_id AND role = 'owner' AND clerk_user_id <> :clerk_user_id
),
gone AS (
    DELETE FROM workshop_members m
    USING target
    WHERE m.id = target.id AND (target.role <> 'owner' OR (SELECT n FROM other_owners) > 0)
    RETURNING m.id
)
SELECT
    workshop_role(w.id) AS acting_role,
    (SELECT role FROM target) AS member_role,
    (SELECT n FROM other_owners) AS other_owners,
    (SELECT count(*) FROM gone) AS changed
FROM workshops w
WHERE w.id = :workshop_id;

-- name: get_workshop_with_relations(workshop_id)^
-- The workshop with its steps (each with its definition, in step order), members (oldest
-- first), sessions (oldest first) and build packs (oldest first), as json; no row when
-- the bound person may not see it.
SELECT
    w.id, w.clerk_user_id, w.title, w.original_idea, w.status, w.org_id, w.template_id, w.visibility,
    w.share_token, w.created_at, w.updated_at,
    (
        SELECT coalesce(json_agg(s ORDER BY s.step_order), '[]')
        FROM (
            SELECT
                ws.id, ws.workshop_id, ws.step_id, ws.status, ws.output, ws.started_at, ws.completed_at,
                ws.created_at, ws.updated_at, d."order" AS step_order,
                json_build_object(
                    'id', d.id, 'order', d."order", 'name', d.name, 'description', d.description,
                    'prompt_template', d.prompt_template, 'created_at', d.created_at, 'updated_at', d.updated_at
                ) AS definition
            FROM workshop_steps ws
            JOIN step_definitions d ON d.id = ws.step_id
            WHERE ws.workshop_id = w.id
        ) AS s
    ) AS steps,
    (
        SELECT coalesce(json_agg(m ORDER BY m.created_at, m.id), '[]')
        FROM (
            SELECT m.id, m.workshop_id, m.clerk_user_id, m.role, m.created_at
            FROM workshop_members m
            WHERE m.workshop_id = w.id
        ) AS m
    ) AS members,
    (
        SELECT coalesce(json_agg(x ORDER BY x.started_at, x.id), '[]')
        FROM (
            SELECT x.id, x.workshop_id, x.started_at, x.ended_at, x.created_at
            FROM sessions x
            WHERE x.workshop_id = w.id
        ) AS x
    ) AS sessions,
    (
        SELECT coalesce(json_agg(b ORDER BY b.created_at, b.id), '[]')
        FROM (
            SELECT b.id, b.workshop_id, b.title, b.format_type, b.content, b.created_at, b.updated_at
            FROM build_packs b
            WHERE b.workshop_id = w.id
        ) AS b
    ) AS build_packs
FROM workshops w
WHERE w.id = :workshop_id;

-- name: get_workshop_by_share_token(share_token)^
-- The shared workshop whose token is :share_token, with its relations as in
-- get_workshop_with_relations; no row for a wrong token or a private workshop. The
-- caller binds the token first (SET LOCAL app.share_token), which row-level security reads.
SELECT
    w.id, w.clerk_user_id, w.title, w.original_idea, w.status, w.org_id, w.template_id, w.visibility,
    w.share_token, w.created_at, w.updated_at,
    (
        SELECT coalesce(json_agg(s ORDER BY s.step_order), '[]')
        FROM (
            SELECT
                ws.id, ws.workshop_id, ws.step_id, ws.status, ws.output, ws.started_at, ws.completed_at,
                ws.created_at, ws.updated_at, d."order" AS step_order,
                json_build_object(
                    'id', d.id, 'order', d."order", 'name', d.name, 'description', d.description,
                    'prompt_template', d.prompt_template, 'created_at', d.created_at, 'updated_at', d.updated_at
                ) AS definition
            FROM workshop_steps ws
            JOIN step_definitions d ON d.id = ws.step_id
            WHERE ws.workshop_id = w.id
        ) AS s
    ) AS steps,
    (
        SELECT coalesce(json_agg(m ORDER BY m.created_at, m.id), '[]')
        FROM (
            SELECT m.id, m.workshop_id, m.clerk_user_id, m.role, m.created_at
            FROM workshop_members m
            WHERE m.workshop_id = w.id
        ) AS m
    ) AS members,
    (
        SELECT coalesce(json_agg(x ORDER BY x.started_at, x.id), '[]')
        FROM (
            SELECT x.id, x.workshop_id, x.started_at, x.ended_at, x.created_at
            FROM sessions x
            WHERE x.workshop_id = w.id
        ) AS x
    ) AS sessions,
    (
        SELECT coalesce(json_agg(b ORDER BY b.created_at, b.id), '[]')
        FROM (
            SELECT b.id, b.workshop_id, b.title, b.format_type, b.content, b.created_at, b.updated_at
            FROM build_packs b
            WHERE b.workshop_id = w.id
        ) AS b
    ) AS build_packs
FROM workshops w
WHERE w.share_token = :share_token AND w.visibility = 'shared';
