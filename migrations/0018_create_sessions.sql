-- Create sessions: the working sessions of a workshop, written once and closed once.
-- depends: 0017_create_workshop_steps

CREATE TABLE sessions (
    id key_text NOT NULL CONSTRAINT sessions_pkey PRIMARY KEY,
    workshop_id key_text NOT NULL
        CONSTRAINT sessions_workshop_id_fkey REFERENCES workshops (id) ON DELETE CASCADE,
    started_at moment NOT NULL DEFAULT now(),
    ended_at moment,
    created_at moment NOT NULL DEFAULT now(),
    CONSTRAINT sessions_ended_after_started CHECK (ended_at >= started_at)
);

COMMENT ON TABLE sessions IS 'A working session of a workshop; ended_at is set once, when it ends.';

CREATE INDEX sessions_workshop_id_idx ON sessions (workshop_id);

CREATE FUNCTION guard_session_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.ended_at IS NOT NULL
        OR NEW.id IS DISTINCT FROM OLD.id OR NEW.workshop_id IS DISTINCT FROM OLD.workshop_id
        OR NEW.started_at IS DISTINCT FROM OLD.started_at OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'session % changes only once, when it ends', OLD.id
            USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, CONSTRAINT = 'sessions_end_once';
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION guard_session_update() IS 'Refuses every change of a session but the first setting of ended_at.';

CREATE TRIGGER sessions_guard_update BEFORE UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION guard_session_update();
