-- Make skill_versions immutable: no UPDATE, and no DELETE but the cascade from deleting the skill.
-- depends: 0007_number_skill_versions

CREATE FUNCTION reject_skill_version_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'skill_versions are immutable: version % of skill % cannot be updated',
                OLD.version, OLD.skill_id
            USING ERRCODE = 'SK002', TABLE = 'skill_versions',
                  HINT = 'create a new version with skilldb.create_skill_version()';
    END IF;
    /* A DELETE is the cascade from deleting the skill (or its tenant) exactly when
       that row is already gone in this transaction. */
    IF EXISTS (SELECT FROM skills WHERE id = OLD.skill_id)
            AND EXISTS (SELECT FROM tenants WHERE id = OLD.tenant_id) THEN
        RAISE EXCEPTION 'skill_versions are immutable: version % of skill % can only go with its skill',
                OLD.version, OLD.skill_id
            USING ERRCODE = 'SK002', TABLE = 'skill_versions', HINT = 'delete the skill instead';
    END IF;
    RETURN OLD;
END
$$;

COMMENT ON FUNCTION reject_skill_version_change() IS
    'BEFORE UPDATE OR DELETE on skill_versions: raises SQLSTATE SK002 unless the skill itself is being deleted.';

CREATE TRIGGER skill_versions_immutable BEFORE UPDATE OR DELETE ON skill_versions
    FOR EACH ROW EXECUTE FUNCTION reject_skill_version_change();
