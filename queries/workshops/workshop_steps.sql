-- workshop_steps: a workshop's progress through each step definition. Row-level security
-- (0020) lets members read and owners and editors change them; each change returns the
-- bound person's role (workshop_role) so the caller can tell "not found" from "not allowed".

-- name: start_workshop_step(workshop_id, step_id)^
-- Moves a step that is not complete to 'in_progress' (started_at set once); one row with
-- the bound person's role, the step's status before, and the step after (its columns
-- null when nothing changed); no row when the step is not visible.
WITH target AS (
    SELECT id, status
    FROM workshop_steps
    WHERE workshop_id = :workshop_id AND step_id = :step_id
),
changed AS (
    UPDATE workshop_steps ws
    SET status = 'in_progress', started_at = coalesce(ws.started_at, now())
    FROM target
    WHERE ws.id = target.id AND target.status <> 'complete'
    RETURNING
        ws.id, ws.workshop_id, ws.step_id, ws.status, ws.output, ws.started_at, ws.completed_at,
        ws.created_at, ws.updated_at
)
SELECT
    workshop_role(:workshop_id) AS acting_role, target.status AS previous_status,
    c.id, c.workshop_id, c.step_id, c.status, c.output, c.started_at, c.completed_at, c.created_at, c.updated_at
FROM target
LEFT JOIN changed c ON c.id = target.id;

-- name: complete_workshop_step(workshop_id, step_id, output)^
-- Marks the step 'complete' with :output; a step completed before keeps its completed_at
-- (and started_at), only its output changes. One row with the bound person's role and
-- the step after (its columns null when the person may not change it); no row when the
-- step is not visible.
WITH target AS (
    SELECT id, status
    FROM workshop_steps
    WHERE workshop_id = :workshop_id AND step_id = :step_id
),
changed AS (
    UPDATE workshop_steps ws
    SET status = 'complete', output = :output,
        started_at = coalesce(ws.started_at, now()), completed_at = coalesce(ws.completed_at, now())
    FROM target
    WHERE ws.id = target.id
    RETURNING
        ws.id, ws.workshop_id, ws.step_id, ws.status, ws.output, ws.started_at, ws.completed_at,
        ws.created_at, ws.updated_at
)
SELECT
    workshop_role(:workshop_id) AS acting_role, target.status AS previous_status,
    c.id, c.workshop_id, c.step_id, c.status, c.output, c.started_at, c.completed_at, c.created_at, c.updated_at
FROM target
LEFT JOIN changed c ON c.id = target.id;
