-- Guard skill messages in the database: no message to oneself, no skill proposed as its
-- own parent, a status that leaves 'pending' once, and a read_at that is set once.
-- depends: 0011_create_skill_message_indexes
--
-- skilldb checks the same before any SQL runs; these keep a psql session (or any
-- other writer) from breaking them. skilldb_app may update only status and read_at (0006).

ALTER TABLE skill_messages ADD CONSTRAINT skill_messages_not_to_sender
    CHECK (to_user_id <> from_user_id);
ALTER TABLE skill_messages ADD CONSTRAINT skill_messages_parent_not_subject
    CHECK (proposed_parent_skill_id <> subject_skill_id);

CREATE FUNCTION guard_skill_message_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'skill message % is already %: only a pending message changes status', OLD.id, OLD.status
            USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, CONSTRAINT = 'skill_messages_status_once';
    END IF;
    IF NEW.read_at IS DISTINCT FROM OLD.read_at AND OLD.read_at IS NOT NULL THEN
        RAISE EXCEPTION 'skill message % was read at %: read_at is set once', OLD.id, OLD.read_at
            USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, CONSTRAINT = 'skill_messages_read_once';
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION guard_skill_message_update() IS
    'Refuses a status change away from accepted/declined and a change of a set read_at.';

CREATE TRIGGER skill_messages_guard_update
    BEFORE UPDATE OF status, read_at ON skill_messages
    FOR EACH ROW EXECUTE FUNCTION guard_skill_message_update();
