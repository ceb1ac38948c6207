-- sessions: working sessions of a workshop, written once and closed once (the trigger of
-- migration 0018 refuses any other change). Row-level security (0020) lets members read
-- and owners and editors start and end them.

-- name: start_workshop_session(workshop_id, session_id)^
-- Starts a session of the workshop now and returns it.
INSERT INTO sessions (id, workshop_id)
VALUES (:session_id, :workshop_id)
RETURNING id, workshop_id, started_at, ended_at, created_at;

-- name: end_workshop_session(session_id)^
-- Ends the session now (the clock, not the transaction's start) unless it already ended;
-- one row with the bound person's role in its workshop, when it ended before (null if it
-- was open), and the session after (its columns null when nothing changed); no row when
-- the session is not visible.
WITH target AS (
    SELECT id, workshop_id, ended_at
    FROM sessions
    WHERE id = :session_id
),
changed AS (
    UPDATE sessions x
    SET ended_at = clock_timestamp()
    FROM target
    WHERE x.id = target.id AND target.ended_at IS NULL
    RETURNING x.id, x.workshop_id, x.started_at, x.ended_at, x.created_at
)
SELECT
    workshop_role(target.workshop_id) AS acting_role, target.ended_at AS previous_ended_at,
    c.id, c.workshop_id, c.started_at, c.ended_at, c.created_at
FROM target
LEFT JOIN changed c ON c.id = target.id;
