-- skill_messages: one author's message to another about a skill, e.g. "your skill X belongs
-- under my skill Y". The package passes the tenant bound by skilldb.tenant() as :tenant_id,
-- and every table read is filtered on it, subqueries included; row-level security is a
-- second wall. A recipient's inbox is read newest first by keyset (created_at, id) on
-- skill_messages_inbox_idx, and the unread count from skill_messages_unread_idx (0011).
-- Status and read_at change through a locked read of the row in the same statement, so
-- the caller learns whether the row exists and what it held, and nothing fails in SQL.

-- name: send_skill_message(tenant_id, from_user_id, to_user_id, subject_skill_id, proposed_parent_skill_id, message)^
-- Records the message (status 'pending', unread) and returns it.
INSERT INTO skill_messages (tenant_id, from_user_id, to_user_id, subject_skill_id, proposed_parent_skill_id, message)
VALUES (:tenant_id, :from_user_id, :to_user_id, :subject_skill_id, :proposed_parent_skill_id, :message)
RETURNING
    id, tenant_id, from_user_id, to_user_id, subject_skill_id, proposed_parent_skill_id,
    message, status, created_at, read_at;

-- name: list_messages_for_user(tenant_id, to_user_id, after_key, after_id, limit)
-- A page of the messages to :to_user_id, newest first, ties by id descending, after
-- (:after_key, :after_id); the first page passes ('infinity', ''). One backward range
-- scan of skill_messages_inbox_idx, no OFFSET.
SELECT
    id, tenant_id, from_user_id, to_user_id, subject_skill_id, proposed_parent_skill_id,
    message, status, created_at, read_at
FROM skill_messages
WHERE tenant_id = :tenant_id
    AND to_user_id = :to_user_id
    AND (created_at, id) < (:after_key::timestamptz, :after_id::text)
ORDER BY created_at DESC, id DESC
LIMIT :limit;

-- name: count_unread_messages_for_user(tenant_id, to_user_id)$
-- The number of messages to :to_user_id not yet read (0 for an unknown user).
SELECT count(*)
FROM skill_messages
WHERE tenant_id = :tenant_id
    AND to_user_id = :to_user_id
    AND read_at IS NULL;

-- name: mark_message_read(tenant_id, message_id)^
-- Sets read_at to now() unless already set; one row, marked true when this call set
-- it and false when it was set before; no row when the message does not exist.
WITH target AS (
    SELECT id, read_at
    FROM skill_messages
    WHERE tenant_id = :tenant_id AND id = :message_id
    FOR NO KEY UPDATE
),
marked AS (
    UPDATE skill_messages m
    SET read_at = now()
    FROM target
    WHERE m.tenant_id = :tenant_id AND m.id = target.id AND target.read_at IS NULL
    RETURNING m.id
)
SELECT EXISTS (SELECT FROM marked) AS marked
FROM target;

-- name: update_message_status(tenant_id, message_id, status)^
-- Moves a pending message to :status; one row with the status the message had before
-- and, when it was pending, the updated message (its columns null otherwise); no row
-- when the message does not exist.
WITH target AS (
    SELECT id, status
    FROM skill_messages
    WHERE tenant_id = :tenant_id AND id = :message_id
    FOR NO KEY UPDATE
),
changed AS (
    UPDATE skill_messages m
    SET status = :status
    FROM target
    WHERE m.tenant_id = :tenant_id AND m.id = target.id AND target.status = 'pending'
    RETURNING
        m.id, m.tenant_id, m.from_user_id, m.to_user_id, m.subject_skill_id, m.proposed_parent_skill_id,
        m.message, m.status, m.created_at, m.read_at
)
SELECT
    target.status AS previous_status,
    changed.id, changed.tenant_id, changed.from_user_id, changed.to_user_id, changed.subject_skill_id,
    changed.proposed_parent_skill_id, changed.message, changed.status, changed.created_at, changed.read_at
FROM target
LEFT JOIN changed ON changed.id = target.id;

-- name: get_skill_message_with_relations(tenant_id, message_id)^
-- The message with its sender, recipient, subject skill and proposed parent skill (json,
-- null when absent); no row when there is none.
SELECT
    m.id, m.tenant_id, m.from_user_id, m.to_user_id, m.subject_skill_id, m.proposed_parent_skill_id,
    m.message, m.status, m.created_at, m.read_at,
    (
        SELECT row_to_json(f)
        FROM (
            SELECT u.id, u.tenant_id, u.email, u.name, u.created_at
            FROM users u
            WHERE u.tenant_id = :tenant_id AND u.id = m.from_user_id
        ) AS f
    ) AS from_user,
    (
        SELECT row_to_json(t)
        FROM (
            SELECT u.id, u.tenant_id, u.email, u.name, u.created_at
            FROM users u
            WHERE u.tenant_id = :tenant_id AND u.id = m.to_user_id
        ) AS t
    ) AS to_user,
    (
        SELECT row_to_json(s)
        FROM (
            SELECT
                s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
                s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses,
                s.average_rating, s.created_at, s.updated_at
            FROM skills s
            WHERE s.tenant_id = :tenant_id AND s.id = m.subject_skill_id
        ) AS s
    ) AS subject_skill,
    (
        SELECT row_to_json(p)
        FROM (
            SELECT
                p.id, p.tenant_id, p.author_id, p.name, p.slug, p.description, p.category,
                p.published_version_id, p.draft_version_id, p.latest_version, p.total_uses,
                p.average_rating, p.created_at, p.updated_at
            FROM skills p
            WHERE p.tenant_id = :tenant_id AND p.id = m.proposed_parent_skill_id
        ) AS p
    ) AS proposed_parent_skill
FROM skill_messages m
WHERE m.tenant_id = :tenant_id AND m.id = :message_id;
