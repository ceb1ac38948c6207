-- Loosen workshop access back to 0020's rules.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DROP POLICY build_packs_delete ON build_packs;
DROP POLICY build_packs_update ON build_packs;
DROP POLICY build_packs_insert ON build_packs;
CREATE POLICY build_packs_write ON build_packs FOR ALL TO skilldb_app
    USING (workshop_role(workshop_id) IN ('owner', 'editor'))
    WITH CHECK (workshop_role(workshop_id) IN ('owner', 'editor'));

GRANT DELETE ON sessions TO skilldb_app;
DROP POLICY sessions_update ON sessions;
DROP POLICY sessions_insert ON sessions;
CREATE POLICY sessions_write ON sessions FOR ALL TO skilldb_app
    USING (workshop_role(workshop_id) IN ('owner', 'editor'))
    WITH CHECK (workshop_role(workshop_id) IN ('owner', 'editor'));

DROP POLICY workshop_steps_delete ON workshop_steps;
DROP POLICY workshop_steps_update ON workshop_steps;
DROP POLICY workshop_steps_insert ON workshop_steps;
CREATE POLICY workshop_steps_write ON workshop_steps FOR ALL TO skilldb_app
    USING (workshop_role(workshop_id) IN ('owner', 'editor'))
    WITH CHECK (workshop_role(workshop_id) IN ('owner', 'editor'));

CREATE OR REPLACE FUNCTION guard_last_workshop_owner() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp AS $$
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

DROP POLICY workshops_lock ON workshops;
