-- Make skill_versions immutable: no UPDATE, no TRUNCATE, and no DELETE but the cascade from deleting the skill.
-- depends: 0007_number_skill_versions
--
-- Row-level security does not apply to TRUNCATE: a TRUNCATE ... CASCADE by the owner
-- would wipe every tenant's history (and, through the foreign keys, skills, ratings,
-- usage events and messages). A statement-level trigger refuses it; a DBA who means
-- it disables the trigger first, on purpose.

CREATE FUNCTION reject_skill_version_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'skill_versions are immutable: TRUNCATE would erase every tenant''s version history'
            USING ERRCODE = 'SK002', TABLE = 'skill_versions',
                  HINT = 'delete skills (their versions go with them), or ALTER TABLE skill_versions '
                         'DISABLE TRIGGER skill_versions_no_truncate first';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'skill_versions are immutable: version % of skill % cannot be updated',
                OLD.version, OLD.skill_id
            USING ERRCODE = 'SK002', TABLE = 'skill_versions',
                  HINT = 'create a new version with skilldb.create_skill_version()';
    END IF;
    /* A DELETE is the cascade from deleting the skill (or its tenant) exactly when
       that row is already gone in this transaction. */
    IF EXISTS (SELECT FROM skills WHERE tenant_id = OLD.tenant_id AND id = OLD.skill_id)
            AND EXISTS (SELECT FROM tenants WHERE id = OLD.tenant_id) THEN
        RAISE EXCEPTION 'skill_versions are immutable: version % of skill % can only go with its skill',
                OLD.version, OLD.skill_id
            USING ERRCODE = 'SK002', TABLE = 'skill_versions', HINT = 'delete the skill instead';
    END IF;
    RETURN OLD;
END
$$;

COMMENT ON FUNCTION reject_skill_version_change() IS
    'On skill_versions: raises SQLSTATE SK002 on UPDATE, on TRUNCATE, and on DELETE unless the skill itself is being deleted.';

CREATE TRIGGER skill_versions_immutable BEFORE UPDATE OR DELETE ON skill_versions
    FOR EACH ROW EXECUTE FUNCTION reject_skill_version_change();

CREATE TRIGGER skill_versions_no_truncate BEFORE TRUNCATE ON skill_versions
    FOR EACH STATEMENT EXECUTE FUNCTION reject_skill_version_change();
