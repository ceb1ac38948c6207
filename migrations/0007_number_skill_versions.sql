-- Number skill versions 1, 2, 3 ... per skill in the database, safely under concurrency.
-- depends: 0006_create_application_role
--
-- skills.latest_version is the highest number taken. A BEFORE INSERT trigger on
-- skill_versions takes the next one with an UPDATE of the skill's row, which locks
-- it: concurrent inserts for one skill queue on that lock and, under READ COMMITTED,
-- each sees the previous one's number, so numbers are consecutive with no gaps and
-- no duplicate-key error (a rolled-back insert also rolls back its number).
-- The application role may not write latest_version itself (0006 grants it no
-- UPDATE on the column), so the trigger function runs as its owner; it numbers only
-- rows of the bound tenant, so it can neither touch nor reveal another tenant's skill.

ALTER TABLE skills ADD COLUMN latest_version integer NOT NULL DEFAULT 0
    CONSTRAINT skills_latest_version_not_negative CHECK (latest_version >= 0);

COMMENT ON COLUMN skills.latest_version IS
    'Highest version number taken by this skill''s versions (0: none); set by the skill_versions trigger.';

CREATE FUNCTION assign_skill_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    next_version integer;
BEGIN
    IF NEW.tenant_id IS DISTINCT FROM current_setting('app.current_tenant_id', true) THEN
        RAISE EXCEPTION 'new row violates row-level security policy for table "skill_versions"'
            USING ERRCODE = 'insufficient_privilege', TABLE = 'skill_versions',
                  HINT = 'a version is numbered under its own tenant''s binding: '
                         'SET LOCAL app.current_tenant_id = ''<tenant_id>''';
    END IF;
    UPDATE skills SET latest_version = latest_version + 1
    WHERE tenant_id = NEW.tenant_id AND id = NEW.skill_id
    RETURNING latest_version INTO next_version;
    IF next_version IS NULL THEN
        -- no such skill in this tenant: the foreign key reports it
        NEW.version := coalesce(NEW.version, 1);
    ELSIF NEW.version IS NOT NULL AND NEW.version <> next_version THEN
        RAISE EXCEPTION 'skill % takes version % next, not %', NEW.skill_id, next_version, NEW.version
            USING ERRCODE = 'check_violation', TABLE = 'skill_versions',
                  CONSTRAINT = 'skill_versions_version_consecutive';
    ELSE
        NEW.version := next_version;
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION assign_skill_version() IS
    'BEFORE INSERT on skill_versions: sets version to the skill''s next number (or checks a given one).';

CREATE TRIGGER skill_versions_assign_version BEFORE INSERT ON skill_versions
    FOR EACH ROW EXECUTE FUNCTION assign_skill_version();
