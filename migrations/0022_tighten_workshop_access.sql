-- Tighten workshop access: the last-owner guard runs as the table owner, write policies
-- cover writes only, and the application never deletes a session.
-- depends: 0021_search_pg_temp_last
--
-- * guard_last_workshop_owner() locked the workshop as the caller and skipped its check
--   when the caller could no longer see the workshop: an owner who removed their own row
--   and the other owner's in one statement, or two owners removing each other at once,
--   left a workshop with no owner. It now runs as its owner, who may read and lock every
--   workshop (policies *_lookup and workshops_lock), so "not found" means the workshop
--   itself is being deleted.
-- * The FOR ALL write policies of workshop_steps, sessions and build_packs also applied to
--   reads, so every row read looked up the caller's role twice; they become one policy
--   per writing command.
-- * Sessions are written once and closed once: the application may no longer delete one
--   (they go with their workshop).

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE POLICY workshops_lock ON workshops FOR UPDATE TO CURRENT_USER USING (true);

CREATE OR REPLACE FUNCTION guard_last_workshop_owner() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF OLD.role = 'owner' AND (TG_OP = 'DELETE' OR NEW.role IS DISTINCT FROM 'owner') THEN
        PERFORM FROM workshops w WHERE w.id = OLD.workshop_id FOR NO KEY UPDATE;
        IF FOUND AND NOT EXISTS (
            SELECT FROM workshop_members m
            WHERE m.workshop_id = OLD.workshop_id AND m.role = 'owner' AND m.id <> OLD.id
        ) THEN
            RAISE EXCEPTION 'workshop % would have no owner left', OLD.workshop_id
                USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, CONSTRAINT = 'workshop_members_last_owner';
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

DROP POLICY workshop_steps_write ON workshop_steps;
CREATE POLICY workshop_steps_insert ON workshop_steps FOR INSERT TO skilldb_app
    WITH CHECK (workshop_role(workshop_id) IN ('owner', 'editor'));
CREATE POLICY workshop_steps_update ON workshop_steps FOR UPDATE TO skilldb_app
    USING (workshop_role(workshop_id) IN ('owner', 'editor'))
    WITH CHECK (workshop_role(workshop_id) IN ('owner', 'editor'));
CREATE POLICY workshop_steps_delete ON workshop_steps FOR DELETE TO skilldb_app
    USING (workshop_role(workshop_id) IN ('owner', 'editor'));

DROP POLICY sessions_write ON sessions;
CREATE POLICY sessions_insert ON sessions FOR INSERT TO skilldb_app
    WITH CHECK (workshop_role(workshop_id) IN ('owner', 'editor'));
CREATE POLICY sessions_update ON sessions FOR UPDATE TO skilldb_app
    USING (workshop_role(workshop_id) IN ('owner', 'editor'))
    WITH CHECK (workshop_role(workshop_id) IN ('owner', 'editor'));
REVOKE DELETE ON sessions FROM skilldb_app;

DROP POLICY build_packs_write ON build_packs;
CREATE POLICY build_packs_insert ON build_packs FOR INSERT TO skilldb_app
    WITH CHECK (workshop_role(workshop_id) IN ('owner', 'editor'));
CREATE POLICY build_packs_update ON build_packs FOR UPDATE TO skilldb_app
    USING (workshop_role(workshop_id) IN ('owner', 'editor'))
    WITH CHECK (workshop_role(workshop_id) IN ('owner', 'editor'));
CREATE POLICY build_packs_delete ON build_packs FOR DELETE TO skilldb_app
    USING (workshop_role(workshop_id) IN ('owner', 'editor'));
