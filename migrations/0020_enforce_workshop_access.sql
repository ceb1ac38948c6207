-- Enforce who may see and change workshops: row-level security, forced, on every workshop table.
-- depends: 0019_create_build_packs
--
-- The acting person is bound per transaction by skilldb.workshops.acting_as():
-- SET LOCAL app.clerk_user_id = '<id>' (and, to open a shared workshop by its token,
-- SET LOCAL app.share_token = '<token>').
-- * A workshop and all its rows are visible to its members; 'owner' and 'editor'
--   members may change them; 'viewer' members only read; only an 'owner' adds,
--   changes or removes members, changes visibility, or deletes the workshop.
-- * A shared workshop and its rows are readable by anyone who binds its token.
-- * Everyone else sees nothing: reads are empty, writes change 0 rows or are refused.
-- The policies apply to skilldb_app (the application). Membership is looked up by
-- SECURITY DEFINER functions owned by the role running this migration, which alone may
-- read all of workshops and workshop_members (policy *_lookup): a policy on
-- workshop_members that read workshop_members as the caller would recurse. Every
-- function here searches pg_temp last, so a caller's temporary table cannot stand in
-- for a real one.

CREATE FUNCTION current_clerk_user_id() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN nullif(current_setting('app.clerk_user_id', true), '');

COMMENT ON FUNCTION current_clerk_user_id() IS 'The person bound by SET LOCAL app.clerk_user_id, or NULL.';

CREATE FUNCTION current_share_token() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN nullif(current_setting('app.share_token', true), '');

COMMENT ON FUNCTION current_share_token() IS 'The share token bound by SET LOCAL app.share_token, or NULL.';

CREATE FUNCTION workshop_role(workshop text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
RETURN (
    SELECT m.role FROM workshop_members m
    WHERE m.workshop_id = workshop AND m.clerk_user_id = current_clerk_user_id()
);

COMMENT ON FUNCTION workshop_role(text) IS
    'The bound person''s role in the workshop (owner, editor, viewer, ...), NULL for non-members.';

CREATE FUNCTION workshop_shared_with_token(workshop text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
RETURN EXISTS (
    SELECT FROM workshops w
    WHERE w.id = workshop AND w.visibility = 'shared' AND w.share_token = current_share_token()
);

COMMENT ON FUNCTION workshop_shared_with_token(text) IS
    'Whether the workshop is shared and its token is the one bound by SET LOCAL app.share_token.';

CREATE FUNCTION workshop_unclaimed_by_creator(workshop text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
RETURN EXISTS (
    SELECT FROM workshops w
    WHERE w.id = workshop AND w.clerk_user_id = current_clerk_user_id()
        AND NOT EXISTS (SELECT FROM workshop_members m WHERE m.workshop_id = w.id)
);

COMMENT ON FUNCTION workshop_unclaimed_by_creator(text) IS
    'Whether the bound person created the workshop and it has no members yet: the creator may then add themselves as owner.';

/* The lookup functions above run as this migration's role: let it read every row. */
CREATE POLICY workshops_lookup ON workshops FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY workshop_members_lookup ON workshop_members FOR SELECT TO CURRENT_USER USING (true);

CREATE POLICY workshops_read ON workshops FOR SELECT TO skilldb_app
    USING (workshop_role(id) IS NOT NULL OR (visibility = 'shared' AND share_token = current_share_token()));
CREATE POLICY workshops_create ON workshops FOR INSERT TO skilldb_app
    WITH CHECK (clerk_user_id = current_clerk_user_id());
CREATE POLICY workshops_change ON workshops FOR UPDATE TO skilldb_app
    USING (workshop_role(id) IN ('owner', 'editor'))
    WITH CHECK (workshop_role(id) IN ('owner', 'editor'));
CREATE POLICY workshops_delete ON workshops FOR DELETE TO skilldb_app
    USING (workshop_role(id) = 'owner');

CREATE POLICY workshop_members_read ON workshop_members FOR SELECT TO skilldb_app
    USING (workshop_role(workshop_id) IS NOT NULL OR workshop_shared_with_token(workshop_id));
CREATE POLICY workshop_members_add ON workshop_members FOR INSERT TO skilldb_app
    WITH CHECK (
        workshop_role(workshop_id) = 'owner'
        OR (role = 'owner' AND clerk_user_id = current_clerk_user_id() AND workshop_unclaimed_by_creator(workshop_id))
    );
CREATE POLICY workshop_members_change ON workshop_members FOR UPDATE TO skilldb_app
    USING (workshop_role(workshop_id) = 'owner')
    WITH CHECK (workshop_role(workshop_id) = 'owner');
CREATE POLICY workshop_members_remove ON workshop_members FOR DELETE TO skilldb_app
    USING (workshop_role(workshop_id) = 'owner');

CREATE POLICY step_definitions_read ON step_definitions FOR SELECT TO skilldb_app USING (true);

CREATE POLICY workshop_steps_read ON workshop_steps FOR SELECT TO skilldb_app
    USING (workshop_role(workshop_id) IS NOT NULL OR workshop_shared_with_token(workshop_id));
CREATE POLICY workshop_steps_write ON workshop_steps FOR ALL TO skilldb_app
    USING (workshop_role(workshop_id) IN ('owner', 'editor'))
    WITH CHECK (workshop_role(workshop_id) IN ('owner', 'editor'));

CREATE POLICY sessions_read ON sessions FOR SELECT TO skilldb_app
    USING (workshop_role(workshop_id) IS NOT NULL OR workshop_shared_with_token(workshop_id));
CREATE POLICY sessions_write ON sessions FOR ALL TO skilldb_app
    USING (workshop_role(workshop_id) IN ('owner', 'editor'))
    WITH CHECK (workshop_role(workshop_id) IN ('owner', 'editor'));

CREATE POLICY build_packs_read ON build_packs FOR SELECT TO skilldb_app
    USING (workshop_role(workshop_id) IS NOT NULL OR workshop_shared_with_token(workshop_id));
CREATE POLICY build_packs_write ON build_packs FOR ALL TO skilldb_app
    USING (workshop_role(workshop_id) IN ('owner', 'editor'))
    WITH CHECK (workshop_role(workshop_id) IN ('owner', 'editor'));

ALTER TABLE workshops ENABLE ROW LEVEL SECURITY;
ALTER TABLE workshops FORCE ROW LEVEL SECURITY;
ALTER TABLE workshop_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE workshop_members FORCE ROW LEVEL SECURITY;
ALTER TABLE step_definitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE step_definitions FORCE ROW LEVEL SECURITY;
ALTER TABLE workshop_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE workshop_steps FORCE ROW LEVEL SECURITY;
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
ALTER TABLE build_packs ENABLE ROW LEVEL SECURITY;
ALTER TABLE build_packs FORCE ROW LEVEL SECURITY;

/* Only an owner changes visibility or the token (an editor may change the rest). */
CREATE FUNCTION guard_workshop_visibility() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF (NEW.visibility, NEW.share_token) IS DISTINCT FROM (OLD.visibility, OLD.share_token)
        AND workshop_role(OLD.id) IS DISTINCT FROM 'owner'
        AND NOT (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'only an owner of workshop % changes its visibility', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER workshops_guard_visibility BEFORE UPDATE OF visibility, share_token ON workshops
    FOR EACH ROW EXECUTE FUNCTION guard_workshop_visibility();

/* A workshop keeps at least one owner: the last one is neither removed nor demoted
   (unless the workshop itself is being deleted). The workshop row is locked first, so
   two owners removing each other at once cannot both succeed. */
CREATE FUNCTION guard_last_workshop_owner() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
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

CREATE TRIGGER workshop_members_guard_last_owner BEFORE DELETE OR UPDATE OF role ON workshop_members
    FOR EACH ROW EXECUTE FUNCTION guard_last_workshop_owner();

/* Creating a workshop: the row, its creator as owner, and one step row per definition
   (in "order", with the ids the application made), in one call. Runs as the caller, so
   every insert passes the policies above. */
CREATE FUNCTION create_workshop(
    workshop_id text, member_id text, step_row_ids text[],
    title text, original_idea text, org_id text, template_id text
) RETURNS SETOF workshops
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    person text := current_clerk_user_id();
    steps integer := (SELECT count(*) FROM step_definitions);
BEGIN
    IF person IS NULL THEN
        RAISE EXCEPTION 'no person is bound to this transaction'
            USING ERRCODE = 'insufficient_privilege', HINT = 'SET LOCAL app.clerk_user_id = ''<clerk_user_id>'' first';
    END IF;
    IF coalesce(cardinality(step_row_ids), 0) < steps THEN
        RAISE EXCEPTION 'create_workshop needs % step row ids, got %', steps, coalesce(cardinality(step_row_ids), 0)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO workshops (id, clerk_user_id, title, original_idea, org_id, template_id)
    VALUES (workshop_id, person, title, original_idea, org_id, template_id);
    INSERT INTO workshop_members (id, workshop_id, clerk_user_id, role)
    VALUES (member_id, workshop_id, person, 'owner');
    INSERT INTO workshop_steps (id, workshop_id, step_id)
    SELECT step_row_ids[d.n], workshop_id, d.id
    FROM (SELECT s.id, row_number() OVER (ORDER BY s."order") AS n FROM step_definitions s) AS d;
    RETURN QUERY SELECT w.* FROM workshops w WHERE w.id = workshop_id;
END
$$;

COMMENT ON FUNCTION create_workshop(text, text, text[], text, text, text, text) IS
    'Creates a workshop for the bound person, with them as owner and one workshop_steps row per step definition.';

GRANT SELECT, INSERT, DELETE ON workshops TO skilldb_app;
GRANT UPDATE (title, original_idea, status, org_id, template_id, visibility, share_token) ON workshops TO skilldb_app;
GRANT SELECT, INSERT, DELETE ON workshop_members TO skilldb_app;
GRANT UPDATE (role) ON workshop_members TO skilldb_app;
GRANT SELECT ON step_definitions TO skilldb_app;
GRANT SELECT, INSERT, DELETE ON workshop_steps TO skilldb_app;
GRANT UPDATE (status, output, started_at, completed_at) ON workshop_steps TO skilldb_app;
GRANT SELECT, INSERT, DELETE ON sessions TO skilldb_app;
GRANT UPDATE (ended_at) ON sessions TO skilldb_app;
GRANT SELECT, INSERT, DELETE ON build_packs TO skilldb_app;
GRANT UPDATE (title, content) ON build_packs TO skilldb_app;
