-- skilldb schema snapshot, PostgreSQL 18; regenerate: skilldb check --update-snapshot

CREATE DOMAIN public.key_text AS text
	CONSTRAINT key_text_valid CHECK ((((char_length(VALUE) >= 1) AND (char_length(VALUE) <= 128)) AND (VALUE !~ '[[:cntrl:]]'::text) AND (VALUE = btrim(VALUE, '                  　'::text))));

COMMENT ON DOMAIN public.key_text IS 'An id or key: 1-128 characters, no control characters, no leading or trailing whitespace.';

CREATE DOMAIN public.moment AS timestamp(3) with time zone
	CONSTRAINT moment_in_range CHECK (((VALUE >= '1900-01-01 00:00:00+00'::timestamp with time zone) AND (VALUE < '9999-12-30 00:00:00+00'::timestamp with time zone)));

COMMENT ON DOMAIN public.moment IS 'A point in time with millisecond precision, from 1900-01-01 to before 9999-12-30 (UTC); never infinite.';

CREATE FUNCTION public.apply_rating_changes() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
BEGIN
    /* Lock the affected skills in key order first: two statements over overlapping
       skills then queue instead of deadlocking (the UPDATE's plan order is arbitrary). */
    IF TG_OP = 'INSERT' THEN
        PERFORM FROM skills s
        WHERE (s.tenant_id, s.id) IN (SELECT tenant_id, skill_id FROM new_ratings)
        ORDER BY s.tenant_id, s.id FOR NO KEY UPDATE;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM FROM skills s
        WHERE (s.tenant_id, s.id) IN (SELECT tenant_id, skill_id FROM old_ratings)
        ORDER BY s.tenant_id, s.id FOR NO KEY UPDATE;
    ELSE
        PERFORM FROM skills s
        WHERE (s.tenant_id, s.id) IN (
            SELECT tenant_id, skill_id FROM new_ratings
            UNION SELECT tenant_id, skill_id FROM old_ratings
        )
        ORDER BY s.tenant_id, s.id FOR NO KEY UPDATE;
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE skills s
        SET rating_count = s.rating_count + d.n, rating_sum = s.rating_sum + d.total,
            average_rating = rating_average(s.rating_sum + d.total, s.rating_count + d.n)
        FROM (SELECT tenant_id, skill_id, count(*)::integer AS n, sum(rating)::integer AS total
              FROM new_ratings GROUP BY tenant_id, skill_id) AS d
        WHERE s.tenant_id = d.tenant_id AND s.id = d.skill_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE skills s
        SET rating_count = s.rating_count - d.n, rating_sum = s.rating_sum - d.total,
            average_rating = rating_average(s.rating_sum - d.total, s.rating_count - d.n)
        FROM (SELECT tenant_id, skill_id, count(*)::integer AS n, sum(rating)::integer AS total
              FROM old_ratings GROUP BY tenant_id, skill_id) AS d
        WHERE s.tenant_id = d.tenant_id AND s.id = d.skill_id;
    ELSE
        UPDATE skills s
        SET rating_count = s.rating_count + d.n, rating_sum = s.rating_sum + d.total,
            average_rating = rating_average(s.rating_sum + d.total, s.rating_count + d.n)
        FROM (
            SELECT tenant_id, skill_id, sum(n)::integer AS n, sum(total)::integer AS total
            FROM (
                SELECT tenant_id, skill_id, 1 AS n, rating AS total FROM new_ratings
                UNION ALL
                SELECT tenant_id, skill_id, -1, -rating FROM old_ratings
            ) AS moves
            GROUP BY tenant_id, skill_id
        ) AS d
        WHERE s.tenant_id = d.tenant_id AND s.id = d.skill_id AND (d.n, d.total) <> (0, 0);
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION public.apply_rating_changes() IS 'AFTER INSERT, UPDATE or DELETE statement triggers on ratings: move each affected skill''s rating count, sum and average by the statement''s grouped change.';

CREATE FUNCTION public.assign_skill_version() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
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

COMMENT ON FUNCTION public.assign_skill_version() IS 'BEFORE INSERT on skill_versions: sets version to the skill''s next number (or checks a given one).';

CREATE FUNCTION public.count_new_usage_events() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
BEGIN
    /* Lock the counted skills in key order first, so that concurrent batches over
       overlapping skills queue instead of deadlocking. */
    PERFORM FROM skills s
    WHERE (s.tenant_id, s.id) IN (SELECT tenant_id, skill_id FROM inserted_events)
    ORDER BY s.tenant_id, s.id FOR NO KEY UPDATE;
    UPDATE skills s
    SET total_uses = s.total_uses + n.uses
    FROM (
        SELECT tenant_id, skill_id, count(*)::integer AS uses
        FROM inserted_events
        WHERE skill_id IS NOT NULL
        GROUP BY tenant_id, skill_id
    ) AS n
    WHERE s.tenant_id = n.tenant_id AND s.id = n.skill_id;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION public.count_new_usage_events() IS 'AFTER INSERT statement trigger on usage_events: adds each skill''s number of new events to its total_uses.';

CREATE TABLE public.workshops (
    id public.key_text NOT NULL,
    clerk_user_id public.key_text NOT NULL,
    title text NOT NULL,
    original_idea text NOT NULL,
    status text DEFAULT 'draft'::text NOT NULL,
    org_id public.key_text,
    template_id public.key_text,
    visibility text DEFAULT 'private'::text NOT NULL,
    share_token text,
    created_at public.moment DEFAULT now() NOT NULL,
    updated_at public.moment DEFAULT now() NOT NULL,
    CONSTRAINT workshops_original_idea_valid CHECK (((btrim(original_idea) <> ''::text) AND (char_length(original_idea) <= 10000))),
    CONSTRAINT workshops_share_token_valid CHECK ((((visibility = 'shared'::text) = (share_token IS NOT NULL)) AND (share_token ~ '^[A-Za-z0-9_-]{22,128}$'::text))),
    CONSTRAINT workshops_status_valid CHECK ((status = ANY (ARRAY['draft'::text, 'active'::text, 'paused'::text, 'completed'::text]))),
    CONSTRAINT workshops_title_valid CHECK (((btrim(title) <> ''::text) AND (char_length(title) <= 200))),
    CONSTRAINT workshops_visibility_valid CHECK ((visibility = ANY (ARRAY['private'::text, 'shared'::text])))
);

ALTER TABLE ONLY public.workshops FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.workshops IS 'A design-thinking workshop; visible to its members (workshop_members).';

COMMENT ON COLUMN public.workshops.clerk_user_id IS 'The creator (the auth provider''s user id); its first owner member.';

COMMENT ON COLUMN public.workshops.share_token IS 'While visibility is shared: the random token (>= 128 bits) that opens the workshop read-only to whoever holds it.';

CREATE FUNCTION public.create_workshop(workshop_id text, member_id text, step_row_ids text[], title text, original_idea text, org_id text, template_id text) RETURNS SETOF public.workshops
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
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

COMMENT ON FUNCTION public.create_workshop(workshop_id text, member_id text, step_row_ids text[], title text, original_idea text, org_id text, template_id text) IS 'Creates a workshop for the bound person, with them as owner and one workshop_steps row per step definition.';

CREATE FUNCTION public.current_clerk_user_id() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN NULLIF(current_setting('app.clerk_user_id'::text, true), ''::text);

COMMENT ON FUNCTION public.current_clerk_user_id() IS 'The person bound by SET LOCAL app.clerk_user_id, or NULL.';

CREATE FUNCTION public.current_share_token() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN NULLIF(current_setting('app.share_token'::text, true), ''::text);

COMMENT ON FUNCTION public.current_share_token() IS 'The share token bound by SET LOCAL app.share_token, or NULL.';

CREATE FUNCTION public.current_tenant_id() RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$
DECLARE
    bound text := current_setting('app.current_tenant_id', true);
BEGIN
    IF bound IS NULL OR bound = '' THEN
        RAISE EXCEPTION 'no tenant is bound to this transaction'
            USING ERRCODE = 'SK001',
                  HINT = 'bind one with skilldb.tenant(conn, tenant_id), '
                         'or SET LOCAL app.current_tenant_id = ''<id>''';
    END IF;
    RETURN bound;
END
$$;

COMMENT ON FUNCTION public.current_tenant_id() IS 'The tenant bound to this transaction (app.current_tenant_id); raises SQLSTATE SK001 when none is bound.';

CREATE FUNCTION public.guard_last_workshop_owner() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
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

CREATE FUNCTION public.guard_session_update() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

COMMENT ON FUNCTION public.guard_session_update() IS 'Refuses every change of a session but the first setting of ended_at.';

CREATE FUNCTION public.guard_skill_message_update() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

COMMENT ON FUNCTION public.guard_skill_message_update() IS 'Refuses a status change away from accepted/declined and a change of a set read_at.';

CREATE FUNCTION public.guard_workshop_visibility() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
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

CREATE FUNCTION public.increment_skill_uses(tenant text, skill text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE
    total integer;
BEGIN
    PERFORM require_bound_tenant(tenant);
    UPDATE skills SET total_uses = coalesce(total_uses, 0) + 1
    WHERE tenant_id = tenant AND id = skill
    RETURNING total_uses INTO total;
    RETURN total;
END
$$;

COMMENT ON FUNCTION public.increment_skill_uses(tenant text, skill text) IS 'Adds one use to the bound tenant''s skill (no event) and returns the new total_uses; NULL when there is no such skill.';

CREATE FUNCTION public.rating_average(rating_sum integer, rating_count integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN (rating_count > 0) THEN (round((((rating_sum)::numeric / (rating_count)::numeric) * (100)::numeric)))::integer ELSE NULL::integer END;

COMMENT ON FUNCTION public.rating_average(rating_sum integer, rating_count integer) IS 'round(sum / count * 100) as an integer (stars x 100), NULL when count is 0.';

CREATE FUNCTION public.recompute_skill_metrics(tenant text, skill text DEFAULT NULL::text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE
    changed integer;
BEGIN
    PERFORM require_bound_tenant(tenant);
    PERFORM FROM skills WHERE tenant_id = tenant AND (skill IS NULL OR id = skill)
    ORDER BY id FOR NO KEY UPDATE;
    WITH fresh AS (
        SELECT
            s.id,
            (SELECT count(*)::integer FROM usage_events e
             WHERE e.tenant_id = tenant AND e.skill_id = s.id) AS total_uses,
            r.n AS rating_count,
            r.total AS rating_sum
        FROM skills s
        CROSS JOIN LATERAL (
            SELECT count(*)::integer AS n, coalesce(sum(rating), 0)::integer AS total
            FROM ratings WHERE tenant_id = tenant AND skill_id = s.id
        ) AS r
        WHERE s.tenant_id = tenant AND (skill IS NULL OR s.id = skill)
    )
    UPDATE skills s
    SET total_uses = f.total_uses, rating_count = f.rating_count, rating_sum = f.rating_sum,
        average_rating = rating_average(f.rating_sum, f.rating_count)
    FROM fresh f
    WHERE s.tenant_id = tenant AND s.id = f.id
        AND (s.total_uses, s.rating_count, s.rating_sum, s.average_rating)
            IS DISTINCT FROM (f.total_uses, f.rating_count, f.rating_sum, rating_average(f.rating_sum, f.rating_count));
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END
$$;

COMMENT ON FUNCTION public.recompute_skill_metrics(tenant text, skill text) IS 'Rebuilds total_uses (from usage_events) and the rating metrics (from ratings) of one skill, or every skill of the bound tenant; returns how many changed.';

CREATE FUNCTION public.reject_skill_version_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

COMMENT ON FUNCTION public.reject_skill_version_change() IS 'On skill_versions: raises SQLSTATE SK002 on UPDATE, on TRUNCATE, and on DELETE unless the skill itself is being deleted.';

CREATE FUNCTION public.require_bound_tenant(tenant text) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    IF tenant IS DISTINCT FROM current_setting('app.current_tenant_id', true) THEN
        RAISE EXCEPTION 'tenant % is not the tenant bound to this transaction', tenant
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'SET LOCAL app.current_tenant_id = ''<tenant_id>'' first';
    END IF;
END
$$;

COMMENT ON FUNCTION public.require_bound_tenant(tenant text) IS 'Raises 42501 unless tenant is the one bound by SET LOCAL app.current_tenant_id: the guard of functions that run as their owner.';

CREATE FUNCTION public.set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION public.set_updated_at() IS 'BEFORE UPDATE trigger: keeps updated_at at the time of the last change.';

CREATE FUNCTION public.update_skill_rating(tenant text, skill text, OUT skill_found boolean, OUT new_average_rating integer) RETURNS record
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE
    n integer;
    total integer;
BEGIN
    PERFORM require_bound_tenant(tenant);
    /* Lock first: the next statement's snapshot then includes every rating whose
       writer held the lock before us. */
    PERFORM FROM skills WHERE tenant_id = tenant AND id = skill FOR NO KEY UPDATE;
    skill_found := FOUND;
    IF NOT skill_found THEN
        RETURN;
    END IF;
    SELECT count(*), coalesce(sum(rating), 0) INTO n, total
    FROM ratings WHERE tenant_id = tenant AND skill_id = skill;
    UPDATE skills s
    SET rating_count = n, rating_sum = total, average_rating = rating_average(total, n)
    WHERE s.tenant_id = tenant AND s.id = skill
    RETURNING s.average_rating INTO new_average_rating;
END
$$;

COMMENT ON FUNCTION public.update_skill_rating(tenant text, skill text, OUT skill_found boolean, OUT new_average_rating integer) IS 'Recomputes the bound tenant''s skill''s rating count, sum and average from ratings; skill_found is false when there is no such skill.';

CREATE TABLE public.workshop_members (
    id public.key_text NOT NULL,
    workshop_id public.key_text NOT NULL,
    clerk_user_id public.key_text NOT NULL,
    role public.key_text NOT NULL,
    created_at public.moment DEFAULT now() NOT NULL
);

ALTER TABLE ONLY public.workshop_members FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.workshop_members IS 'A person''s membership of a workshop.';

COMMENT ON COLUMN public.workshop_members.role IS 'owner (everything), editor (changes the workshop''s content), viewer (reads); extensible text.';

CREATE FUNCTION public.workshop_role(workshop text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    RETURN (SELECT m.role FROM public.workshop_members m WHERE (((m.workshop_id)::text = workshop_role.workshop) AND ((m.clerk_user_id)::text = public.current_clerk_user_id())));

COMMENT ON FUNCTION public.workshop_role(workshop text) IS 'The bound person''s role in the workshop (owner, editor, viewer, ...), NULL for non-members.';

CREATE FUNCTION public.workshop_shared_with_token(workshop text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    RETURN (EXISTS (SELECT FROM public.workshops w WHERE (((w.id)::text = workshop_shared_with_token.workshop) AND (w.visibility = 'shared'::text) AND (w.share_token = public.current_share_token()))));

COMMENT ON FUNCTION public.workshop_shared_with_token(workshop text) IS 'Whether the workshop is shared and its token is the one bound by SET LOCAL app.share_token.';

CREATE FUNCTION public.workshop_unclaimed_by_creator(workshop text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    RETURN (EXISTS (SELECT FROM public.workshops w WHERE (((w.id)::text = workshop_unclaimed_by_creator.workshop) AND ((w.clerk_user_id)::text = public.current_clerk_user_id()) AND (NOT (EXISTS (SELECT FROM public.workshop_members m WHERE ((m.workshop_id)::text = (w.id)::text)))))));

COMMENT ON FUNCTION public.workshop_unclaimed_by_creator(workshop text) IS 'Whether the bound person created the workshop and it has no members yet: the creator may then add themselves as owner.';

CREATE TABLE public.build_packs (
    id public.key_text NOT NULL,
    workshop_id public.key_text NOT NULL,
    title text NOT NULL,
    format_type text DEFAULT 'markdown'::text NOT NULL,
    content text,
    created_at public.moment DEFAULT now() NOT NULL,
    updated_at public.moment DEFAULT now() NOT NULL,
    CONSTRAINT build_packs_format_type_valid CHECK ((format_type = ANY (ARRAY['markdown'::text, 'pdf'::text, 'json'::text]))),
    CONSTRAINT build_packs_title_valid CHECK (((btrim(title) <> ''::text) AND (char_length(title) <= 200)))
);

ALTER TABLE ONLY public.build_packs FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.build_packs IS 'A document assembled from the workshop''s step outputs as they were when it was generated.';

COMMENT ON COLUMN public.build_packs.content IS 'The document (markdown, or json text); NULL for formats made elsewhere (pdf).';

CREATE TABLE public.ratings (
    tenant_id public.key_text DEFAULT public.current_tenant_id() NOT NULL,
    id public.key_text DEFAULT (gen_random_uuid())::text NOT NULL,
    skill_id public.key_text NOT NULL,
    user_id public.key_text NOT NULL,
    rating integer NOT NULL,
    comment text,
    hours_saved_estimate integer,
    created_at public.moment DEFAULT now() NOT NULL,
    CONSTRAINT ratings_comment_length CHECK ((char_length(comment) <= 10000)),
    CONSTRAINT ratings_hours_saved_estimate_not_negative CHECK ((hours_saved_estimate >= 0)),
    CONSTRAINT ratings_rating_range CHECK (((rating >= 1) AND (rating <= 5)))
);

ALTER TABLE ONLY public.ratings FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.ratings IS 'One user''s 1-5 star rating of one skill (at most one per skill and user).';

COMMENT ON COLUMN public.ratings.hours_saved_estimate IS 'The rater''s estimate of hours the skill saved them.';

CREATE TABLE public.sessions (
    id public.key_text NOT NULL,
    workshop_id public.key_text NOT NULL,
    started_at public.moment DEFAULT now() NOT NULL,
    ended_at public.moment,
    created_at public.moment DEFAULT now() NOT NULL,
    CONSTRAINT sessions_ended_after_started CHECK (((ended_at)::timestamp with time zone >= (started_at)::timestamp with time zone))
);

ALTER TABLE ONLY public.sessions FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.sessions IS 'A working session of a workshop; ended_at is set once, when it ends.';

CREATE TABLE public.skill_messages (
    tenant_id public.key_text DEFAULT public.current_tenant_id() NOT NULL,
    id public.key_text DEFAULT (gen_random_uuid())::text NOT NULL,
    from_user_id public.key_text NOT NULL,
    to_user_id public.key_text NOT NULL,
    subject_skill_id public.key_text NOT NULL,
    proposed_parent_skill_id public.key_text,
    message text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    created_at public.moment DEFAULT now() NOT NULL,
    read_at public.moment,
    CONSTRAINT skill_messages_message_valid CHECK (((btrim(message) <> ''::text) AND (char_length(message) <= 10000))),
    CONSTRAINT skill_messages_not_to_sender CHECK (((to_user_id)::text <> (from_user_id)::text)),
    CONSTRAINT skill_messages_parent_not_subject CHECK (((proposed_parent_skill_id)::text <> (subject_skill_id)::text)),
    CONSTRAINT skill_messages_status_valid CHECK ((status = ANY (ARRAY['pending'::text, 'accepted'::text, 'declined'::text])))
);

ALTER TABLE ONLY public.skill_messages FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.skill_messages IS 'A message from one author to another about a skill, e.g. a proposed parent.';

COMMENT ON COLUMN public.skill_messages.proposed_parent_skill_id IS 'The skill the sender proposes as the subject''s parent, if any.';

COMMENT ON COLUMN public.skill_messages.read_at IS 'When the recipient read it; NULL while unread.';

CREATE TABLE public.skill_versions (
    tenant_id public.key_text DEFAULT public.current_tenant_id() NOT NULL,
    id public.key_text DEFAULT (gen_random_uuid())::text NOT NULL,
    skill_id public.key_text NOT NULL,
    version integer NOT NULL,
    content_url text NOT NULL,
    content_hash text NOT NULL,
    content_type text NOT NULL,
    name text NOT NULL,
    description text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_by public.key_text NOT NULL,
    created_at public.moment DEFAULT now() NOT NULL,
    CONSTRAINT skill_versions_content_hash_sha256 CHECK ((content_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT skill_versions_content_type_mime CHECK (((content_type ~ '^[a-z]+/[a-z0-9][a-z0-9.+-]*$'::text) AND (char_length(content_type) <= 255))),
    CONSTRAINT skill_versions_content_url_valid CHECK (((btrim(content_url) <> ''::text) AND (char_length(content_url) <= 2048))),
    CONSTRAINT skill_versions_description_length CHECK ((char_length(description) <= 100000)),
    CONSTRAINT skill_versions_metadata_object CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT skill_versions_name_valid CHECK (((btrim(name) <> ''::text) AND (char_length(name) <= 200))),
    CONSTRAINT skill_versions_version_positive CHECK ((version >= 1))
);

ALTER TABLE ONLY public.skill_versions FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.skill_versions IS 'An immutable, numbered snapshot of a skill''s content (1, 2, 3 ... per skill).';

COMMENT ON COLUMN public.skill_versions.content_url IS 'Object-store key of the content, at most 2048 characters.';

COMMENT ON COLUMN public.skill_versions.content_hash IS 'SHA-256 of the content, 64 lowercase hex digits.';

COMMENT ON COLUMN public.skill_versions.content_type IS 'MIME type of the content: text/markdown, application/json, ...';

COMMENT ON COLUMN public.skill_versions.name IS 'The skill''s name when this version was created.';

COMMENT ON COLUMN public.skill_versions.description IS 'The skill''s description when this version was created.';

CREATE TABLE public.skills (
    tenant_id public.key_text DEFAULT public.current_tenant_id() NOT NULL,
    id public.key_text DEFAULT (gen_random_uuid())::text NOT NULL,
    author_id public.key_text,
    name text NOT NULL,
    slug text NOT NULL,
    description text,
    category text,
    published_version_id public.key_text,
    draft_version_id public.key_text,
    total_uses integer DEFAULT 0 NOT NULL,
    average_rating integer,
    created_at public.moment DEFAULT now() NOT NULL,
    updated_at public.moment DEFAULT now() NOT NULL,
    latest_version integer DEFAULT 0 NOT NULL,
    rating_sort_key integer GENERATED ALWAYS AS (COALESCE(average_rating, 0)) STORED NOT NULL,
    rating_count integer DEFAULT 0 NOT NULL,
    rating_sum integer DEFAULT 0 NOT NULL,
    CONSTRAINT skills_average_rating_range CHECK (((average_rating >= 100) AND (average_rating <= 500))),
    CONSTRAINT skills_category_valid CHECK (((btrim(category) <> ''::text) AND (char_length(category) <= 100))),
    CONSTRAINT skills_description_length CHECK ((char_length(description) <= 100000)),
    CONSTRAINT skills_latest_version_not_negative CHECK ((latest_version >= 0)),
    CONSTRAINT skills_name_valid CHECK (((btrim(name) <> ''::text) AND (char_length(name) <= 200))),
    CONSTRAINT skills_rating_count_not_negative CHECK ((rating_count >= 0)),
    CONSTRAINT skills_rating_sum_in_range CHECK (((rating_sum >= rating_count) AND (rating_sum <= (5 * rating_count)))),
    CONSTRAINT skills_slug_valid CHECK (((slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'::text) AND (char_length(slug) <= 100))),
    CONSTRAINT skills_total_uses_below_max CHECK ((total_uses < 2147483647)),
    CONSTRAINT skills_total_uses_not_negative CHECK ((total_uses >= 0))
);

ALTER TABLE ONLY public.skills FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.skills IS 'A reusable skill; its content lives in immutable skill_versions.';

COMMENT ON COLUMN public.skills.slug IS 'URL name, unique per tenant: lowercase words joined by single hyphens, at most 100 characters.';

COMMENT ON COLUMN public.skills.published_version_id IS 'The version users get; a version of this same skill (foreign key).';

COMMENT ON COLUMN public.skills.draft_version_id IS 'The version being worked on; a version of this same skill (foreign key).';

COMMENT ON COLUMN public.skills.total_uses IS 'Denormalized count of usage events; kept by the database, not writable by skilldb_app.';

COMMENT ON COLUMN public.skills.average_rating IS 'Denormalized mean rating in stars x 100 (4.5 stars is 450); NULL when unrated; not writable by skilldb_app.';

COMMENT ON COLUMN public.skills.latest_version IS 'Highest version number taken by this skill''s versions (0: none); set by the skill_versions trigger.';

COMMENT ON COLUMN public.skills.rating_sort_key IS 'average_rating, with unrated skills as 0: the sort key of listings by rating.';

COMMENT ON COLUMN public.skills.rating_count IS 'Number of ratings of the skill; kept by the ratings trigger.';

COMMENT ON COLUMN public.skills.rating_sum IS 'Sum of the skill''s ratings in stars; kept by the ratings trigger.';

CREATE TABLE public.step_definitions (
    id text NOT NULL,
    "order" integer NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    prompt_template text,
    created_at public.moment DEFAULT now() NOT NULL,
    updated_at public.moment DEFAULT now() NOT NULL,
    CONSTRAINT step_definitions_description_valid CHECK (((btrim(description) <> ''::text) AND (char_length(description) <= 10000))),
    CONSTRAINT step_definitions_id_valid CHECK ((id ~ '^[a-z][a-z0-9_]{0,63}$'::text)),
    CONSTRAINT step_definitions_name_valid CHECK (((btrim(name) <> ''::text) AND (char_length(name) <= 200))),
    CONSTRAINT step_definitions_order_positive CHECK (("order" > 0)),
    CONSTRAINT step_definitions_prompt_template_length CHECK ((char_length(prompt_template) <= 100000))
);

ALTER TABLE ONLY public.step_definitions FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.step_definitions IS 'The design-thinking steps every workshop goes through, in "order".';

COMMENT ON COLUMN public.step_definitions.prompt_template IS 'The prompt the facilitator app starts the step with, if any.';

CREATE TABLE public.tenants (
    id public.key_text DEFAULT (gen_random_uuid())::text NOT NULL,
    name text NOT NULL,
    created_at public.moment DEFAULT now() NOT NULL,
    CONSTRAINT tenants_name_valid CHECK (((btrim(name) <> ''::text) AND (char_length(name) <= 200)))
);

ALTER TABLE ONLY public.tenants FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.tenants IS 'An organisation using the marketplace; every other table belongs to one tenant.';

CREATE TABLE public.usage_events (
    tenant_id public.key_text DEFAULT public.current_tenant_id() NOT NULL,
    id public.key_text DEFAULT (gen_random_uuid())::text NOT NULL,
    skill_id public.key_text,
    user_id public.key_text,
    tool_name text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at public.moment DEFAULT now() NOT NULL,
    CONSTRAINT usage_events_metadata_object CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT usage_events_tool_name_valid CHECK (((btrim(tool_name) <> ''::text) AND (char_length(tool_name) <= 200)))
);

ALTER TABLE ONLY public.usage_events FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.usage_events IS 'One use of a skill by a user through a tool; kept when the skill or user is deleted.';

COMMENT ON COLUMN public.usage_events.tool_name IS 'The tool the skill was used through (an MCP tool name, for example).';

CREATE TABLE public.users (
    tenant_id public.key_text DEFAULT public.current_tenant_id() NOT NULL,
    id public.key_text DEFAULT (gen_random_uuid())::text NOT NULL,
    email text NOT NULL,
    name text,
    created_at public.moment DEFAULT now() NOT NULL,
    CONSTRAINT users_email_valid CHECK (((email ~ '^[^@[:space:]]+@[^@[:space:]]+$'::text) AND (char_length(email) <= 254))),
    CONSTRAINT users_name_valid CHECK (((btrim(name) <> ''::text) AND (char_length(name) <= 200)))
);

ALTER TABLE ONLY public.users FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.users IS 'A person in one tenant: author of skills, rater, sender of messages.';

COMMENT ON COLUMN public.users.email IS 'At most 254 characters; unique per tenant, ignoring case.';

CREATE TABLE public.workshop_steps (
    id public.key_text NOT NULL,
    workshop_id public.key_text NOT NULL,
    step_id text NOT NULL,
    status text DEFAULT 'not_started'::text NOT NULL,
    output jsonb,
    started_at public.moment,
    completed_at public.moment,
    created_at public.moment DEFAULT now() NOT NULL,
    updated_at public.moment DEFAULT now() NOT NULL,
    CONSTRAINT workshop_steps_output_object CHECK ((jsonb_typeof(output) = 'object'::text)),
    CONSTRAINT workshop_steps_status_valid CHECK ((status = ANY (ARRAY['not_started'::text, 'in_progress'::text, 'complete'::text]))),
    CONSTRAINT workshop_steps_timestamps_follow_status CHECK ((((started_at IS NULL) = (status = 'not_started'::text)) AND ((completed_at IS NULL) = (status <> 'complete'::text)) AND ((completed_at)::timestamp with time zone >= (started_at)::timestamp with time zone)))
);

ALTER TABLE ONLY public.workshop_steps FORCE ROW LEVEL SECURITY;

COMMENT ON TABLE public.workshop_steps IS 'A workshop''s progress through one step definition, with the step''s output.';

COMMENT ON COLUMN public.workshop_steps.output IS 'What the step produced (a json object), NULL before any.';

ALTER TABLE ONLY public.build_packs
    ADD CONSTRAINT build_packs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ratings
    ADD CONSTRAINT ratings_pkey PRIMARY KEY (tenant_id, id);

ALTER TABLE ONLY public.ratings
    ADD CONSTRAINT ratings_tenant_id_skill_id_user_id_key UNIQUE (tenant_id, skill_id, user_id);

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.skill_messages
    ADD CONSTRAINT skill_messages_pkey PRIMARY KEY (tenant_id, id);

ALTER TABLE ONLY public.skill_versions
    ADD CONSTRAINT skill_versions_pkey PRIMARY KEY (tenant_id, id);

ALTER TABLE ONLY public.skill_versions
    ADD CONSTRAINT skill_versions_tenant_id_skill_id_id_key UNIQUE (tenant_id, skill_id, id);

COMMENT ON CONSTRAINT skill_versions_tenant_id_skill_id_id_key ON public.skill_versions IS 'Target of the skills'' version pointers, so a pointer can only name a version of the same skill.';

ALTER TABLE ONLY public.skill_versions
    ADD CONSTRAINT skill_versions_tenant_id_skill_id_version_key UNIQUE (tenant_id, skill_id, version);

ALTER TABLE ONLY public.skills
    ADD CONSTRAINT skills_pkey PRIMARY KEY (tenant_id, id);

ALTER TABLE ONLY public.skills
    ADD CONSTRAINT skills_tenant_id_slug_key UNIQUE (tenant_id, slug);

ALTER TABLE ONLY public.step_definitions
    ADD CONSTRAINT step_definitions_order_key UNIQUE ("order");

ALTER TABLE ONLY public.step_definitions
    ADD CONSTRAINT step_definitions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.usage_events
    ADD CONSTRAINT usage_events_pkey PRIMARY KEY (tenant_id, id);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id);

ALTER TABLE ONLY public.workshop_members
    ADD CONSTRAINT workshop_members_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.workshop_members
    ADD CONSTRAINT workshop_members_workshop_id_clerk_user_id_key UNIQUE (workshop_id, clerk_user_id);

ALTER TABLE ONLY public.workshop_steps
    ADD CONSTRAINT workshop_steps_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.workshop_steps
    ADD CONSTRAINT workshop_steps_workshop_id_step_id_key UNIQUE (workshop_id, step_id);

ALTER TABLE ONLY public.workshops
    ADD CONSTRAINT workshops_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.workshops
    ADD CONSTRAINT workshops_share_token_key UNIQUE (share_token);

CREATE INDEX build_packs_workshop_id_idx ON public.build_packs USING btree (workshop_id);

CREATE INDEX ratings_user_id_idx ON public.ratings USING btree (tenant_id, user_id);

CREATE INDEX sessions_workshop_id_idx ON public.sessions USING btree (workshop_id);

CREATE INDEX skill_messages_from_user_id_idx ON public.skill_messages USING btree (tenant_id, from_user_id);

CREATE INDEX skill_messages_inbox_idx ON public.skill_messages USING btree (tenant_id, to_user_id, created_at, id);

CREATE INDEX skill_messages_proposed_parent_skill_id_idx ON public.skill_messages USING btree (tenant_id, proposed_parent_skill_id);

CREATE INDEX skill_messages_subject_skill_id_idx ON public.skill_messages USING btree (tenant_id, subject_skill_id);

CREATE INDEX skill_messages_unread_idx ON public.skill_messages USING btree (tenant_id, to_user_id) WHERE (read_at IS NULL);

CREATE INDEX skill_versions_created_by_idx ON public.skill_versions USING btree (tenant_id, created_by);

CREATE INDEX skills_author_id_idx ON public.skills USING btree (tenant_id, author_id);

CREATE INDEX skills_average_rating_idx ON public.skills USING btree (tenant_id, rating_sort_key, id);

CREATE INDEX skills_created_at_idx ON public.skills USING btree (tenant_id, created_at, id);

CREATE INDEX skills_total_uses_idx ON public.skills USING btree (tenant_id, total_uses, id);

CREATE INDEX usage_events_skill_id_idx ON public.usage_events USING btree (tenant_id, skill_id, created_at);

CREATE INDEX usage_events_user_id_idx ON public.usage_events USING btree (tenant_id, user_id, created_at);

CREATE UNIQUE INDEX users_tenant_id_email_key ON public.users USING btree (tenant_id, lower(email));

CREATE INDEX workshop_members_clerk_user_id_idx ON public.workshop_members USING btree (clerk_user_id);

CREATE INDEX workshop_steps_status_idx ON public.workshop_steps USING btree (status);

CREATE INDEX workshop_steps_step_id_idx ON public.workshop_steps USING btree (step_id);

CREATE INDEX workshop_steps_workshop_id_idx ON public.workshop_steps USING btree (workshop_id);

CREATE INDEX workshops_clerk_user_id_idx ON public.workshops USING btree (clerk_user_id);

CREATE INDEX workshops_org_id_idx ON public.workshops USING btree (org_id);

CREATE INDEX workshops_status_idx ON public.workshops USING btree (status);

CREATE TRIGGER build_packs_set_updated_at BEFORE UPDATE ON public.build_packs FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TRIGGER ratings_apply_deletes AFTER DELETE ON public.ratings REFERENCING OLD TABLE AS old_ratings FOR EACH STATEMENT EXECUTE FUNCTION public.apply_rating_changes();

CREATE TRIGGER ratings_apply_inserts AFTER INSERT ON public.ratings REFERENCING NEW TABLE AS new_ratings FOR EACH STATEMENT EXECUTE FUNCTION public.apply_rating_changes();

CREATE TRIGGER ratings_apply_updates AFTER UPDATE ON public.ratings REFERENCING OLD TABLE AS old_ratings NEW TABLE AS new_ratings FOR EACH STATEMENT EXECUTE FUNCTION public.apply_rating_changes();

CREATE TRIGGER sessions_guard_update BEFORE UPDATE ON public.sessions FOR EACH ROW EXECUTE FUNCTION public.guard_session_update();

CREATE TRIGGER skill_messages_guard_update BEFORE UPDATE OF status, read_at ON public.skill_messages FOR EACH ROW EXECUTE FUNCTION public.guard_skill_message_update();

CREATE TRIGGER skill_versions_assign_version BEFORE INSERT ON public.skill_versions FOR EACH ROW EXECUTE FUNCTION public.assign_skill_version();

CREATE TRIGGER skill_versions_immutable BEFORE DELETE OR UPDATE ON public.skill_versions FOR EACH ROW EXECUTE FUNCTION public.reject_skill_version_change();

CREATE TRIGGER skill_versions_no_truncate BEFORE TRUNCATE ON public.skill_versions FOR EACH STATEMENT EXECUTE FUNCTION public.reject_skill_version_change();

CREATE TRIGGER skills_set_updated_at BEFORE UPDATE ON public.skills FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TRIGGER step_definitions_set_updated_at BEFORE UPDATE ON public.step_definitions FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TRIGGER usage_events_count_new AFTER INSERT ON public.usage_events REFERENCING NEW TABLE AS inserted_events FOR EACH STATEMENT EXECUTE FUNCTION public.count_new_usage_events();

CREATE TRIGGER workshop_members_guard_last_owner BEFORE DELETE OR UPDATE OF role ON public.workshop_members FOR EACH ROW EXECUTE FUNCTION public.guard_last_workshop_owner();

CREATE TRIGGER workshop_steps_set_updated_at BEFORE UPDATE ON public.workshop_steps FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TRIGGER workshops_guard_visibility BEFORE UPDATE OF visibility, share_token ON public.workshops FOR EACH ROW EXECUTE FUNCTION public.guard_workshop_visibility();

CREATE TRIGGER workshops_set_updated_at BEFORE UPDATE ON public.workshops FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

ALTER TABLE ONLY public.build_packs
    ADD CONSTRAINT build_packs_workshop_id_fkey FOREIGN KEY (workshop_id) REFERENCES public.workshops(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.ratings
    ADD CONSTRAINT ratings_skill_id_fkey FOREIGN KEY (tenant_id, skill_id) REFERENCES public.skills(tenant_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.ratings
    ADD CONSTRAINT ratings_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.ratings
    ADD CONSTRAINT ratings_user_id_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES public.users(tenant_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_workshop_id_fkey FOREIGN KEY (workshop_id) REFERENCES public.workshops(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.skill_messages
    ADD CONSTRAINT skill_messages_from_user_id_fkey FOREIGN KEY (tenant_id, from_user_id) REFERENCES public.users(tenant_id, id);

ALTER TABLE ONLY public.skill_messages
    ADD CONSTRAINT skill_messages_proposed_parent_skill_id_fkey FOREIGN KEY (tenant_id, proposed_parent_skill_id) REFERENCES public.skills(tenant_id, id) ON DELETE SET NULL (proposed_parent_skill_id);

ALTER TABLE ONLY public.skill_messages
    ADD CONSTRAINT skill_messages_subject_skill_id_fkey FOREIGN KEY (tenant_id, subject_skill_id) REFERENCES public.skills(tenant_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.skill_messages
    ADD CONSTRAINT skill_messages_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.skill_messages
    ADD CONSTRAINT skill_messages_to_user_id_fkey FOREIGN KEY (tenant_id, to_user_id) REFERENCES public.users(tenant_id, id);

ALTER TABLE ONLY public.skill_versions
    ADD CONSTRAINT skill_versions_created_by_fkey FOREIGN KEY (tenant_id, created_by) REFERENCES public.users(tenant_id, id);

ALTER TABLE ONLY public.skill_versions
    ADD CONSTRAINT skill_versions_skill_id_fkey FOREIGN KEY (tenant_id, skill_id) REFERENCES public.skills(tenant_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.skill_versions
    ADD CONSTRAINT skill_versions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.skills
    ADD CONSTRAINT skills_author_id_fkey FOREIGN KEY (tenant_id, author_id) REFERENCES public.users(tenant_id, id) ON DELETE SET NULL (author_id);

ALTER TABLE ONLY public.skills
    ADD CONSTRAINT skills_draft_version_id_fkey FOREIGN KEY (tenant_id, id, draft_version_id) REFERENCES public.skill_versions(tenant_id, skill_id, id);

ALTER TABLE ONLY public.skills
    ADD CONSTRAINT skills_published_version_id_fkey FOREIGN KEY (tenant_id, id, published_version_id) REFERENCES public.skill_versions(tenant_id, skill_id, id);

ALTER TABLE ONLY public.skills
    ADD CONSTRAINT skills_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.usage_events
    ADD CONSTRAINT usage_events_skill_id_fkey FOREIGN KEY (tenant_id, skill_id) REFERENCES public.skills(tenant_id, id) ON DELETE SET NULL (skill_id);

ALTER TABLE ONLY public.usage_events
    ADD CONSTRAINT usage_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.usage_events
    ADD CONSTRAINT usage_events_user_id_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES public.users(tenant_id, id) ON DELETE SET NULL (user_id);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.workshop_members
    ADD CONSTRAINT workshop_members_workshop_id_fkey FOREIGN KEY (workshop_id) REFERENCES public.workshops(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.workshop_steps
    ADD CONSTRAINT workshop_steps_step_id_fkey FOREIGN KEY (step_id) REFERENCES public.step_definitions(id);

ALTER TABLE ONLY public.workshop_steps
    ADD CONSTRAINT workshop_steps_workshop_id_fkey FOREIGN KEY (workshop_id) REFERENCES public.workshops(id) ON DELETE CASCADE;

ALTER TABLE public.build_packs ENABLE ROW LEVEL SECURITY;

CREATE POLICY build_packs_delete ON public.build_packs FOR DELETE TO skilldb_app USING ((public.workshop_role((workshop_id)::text) = ANY (ARRAY['owner'::text, 'editor'::text])));

CREATE POLICY build_packs_insert ON public.build_packs FOR INSERT TO skilldb_app WITH CHECK ((public.workshop_role((workshop_id)::text) = ANY (ARRAY['owner'::text, 'editor'::text])));

CREATE POLICY build_packs_read ON public.build_packs FOR SELECT TO skilldb_app USING (((public.workshop_role((workshop_id)::text) IS NOT NULL) OR public.workshop_shared_with_token((workshop_id)::text)));

CREATE POLICY build_packs_update ON public.build_packs FOR UPDATE TO skilldb_app USING ((public.workshop_role((workshop_id)::text) = ANY (ARRAY['owner'::text, 'editor'::text]))) WITH CHECK ((public.workshop_role((workshop_id)::text) = ANY (ARRAY['owner'::text, 'editor'::text])));

ALTER TABLE public.ratings ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.sessions ENABLE ROW LEVEL SECURITY;

CREATE POLICY sessions_insert ON public.sessions FOR INSERT TO skilldb_app WITH CHECK ((public.workshop_role((workshop_id)::text) = ANY (ARRAY['owner'::text, 'editor'::text])));

CREATE POLICY sessions_read ON public.sessions FOR SELECT TO skilldb_app USING (((public.workshop_role((workshop_id)::text) IS NOT NULL) OR public.workshop_shared_with_token((workshop_id)::text)));

CREATE POLICY sessions_update ON public.sessions FOR UPDATE TO skilldb_app USING ((public.workshop_role((workshop_id)::text) = ANY (ARRAY['owner'::text, 'editor'::text]))) WITH CHECK ((public.workshop_role((workshop_id)::text) = ANY (ARRAY['owner'::text, 'editor'::text])));

ALTER TABLE public.skill_messages ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.skill_versions ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.skills ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.step_definitions ENABLE ROW LEVEL SECURITY;

CREATE POLICY step_definitions_read ON public.step_definitions FOR SELECT TO skilldb_app USING (true);

CREATE POLICY tenant_isolation ON public.ratings USING (((tenant_id)::text = current_setting('app.current_tenant_id'::text, true))) WITH CHECK (((tenant_id)::text = current_setting('app.current_tenant_id'::text, true)));

CREATE POLICY tenant_isolation ON public.skill_messages USING (((tenant_id)::text = current_setting('app.current_tenant_id'::text, true))) WITH CHECK (((tenant_id)::text = current_setting('app.current_tenant_id'::text, true)));

CREATE POLICY tenant_isolation ON public.skill_versions USING (((tenant_id)::text = current_setting('app.current_tenant_id'::text, true))) WITH CHECK (((tenant_id)::text = current_setting('app.current_tenant_id'::text, true)));

CREATE POLICY tenant_isolation ON public.skills USING (((tenant_id)::text = current_setting('app.current_tenant_id'::text, true))) WITH CHECK (((tenant_id)::text = current_setting('app.current_tenant_id'::text, true)));

CREATE POLICY tenant_isolation ON public.tenants USING (((id)::text = current_setting('app.current_tenant_id'::text, true))) WITH CHECK (((id)::text = current_setting('app.current_tenant_id'::text, true)));

CREATE POLICY tenant_isolation ON public.usage_events USING (((tenant_id)::text = current_setting('app.current_tenant_id'::text, true))) WITH CHECK (((tenant_id)::text = current_setting('app.current_tenant_id'::text, true)));

CREATE POLICY tenant_isolation ON public.users USING (((tenant_id)::text = current_setting('app.current_tenant_id'::text, true))) WITH CHECK (((tenant_id)::text = current_setting('app.current_tenant_id'::text, true)));

ALTER TABLE public.tenants ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.usage_events ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.workshop_members ENABLE ROW LEVEL SECURITY;

CREATE POLICY workshop_members_add ON public.workshop_members FOR INSERT TO skilldb_app WITH CHECK (((public.workshop_role((workshop_id)::text) = 'owner'::text) OR (((role)::text = 'owner'::text) AND ((clerk_user_id)::text = public.current_clerk_user_id()) AND public.workshop_unclaimed_by_creator((workshop_id)::text))));

CREATE POLICY workshop_members_change ON public.workshop_members FOR UPDATE TO skilldb_app USING ((public.workshop_role((workshop_id)::text) = 'owner'::text)) WITH CHECK ((public.workshop_role((workshop_id)::text) = 'owner'::text));

CREATE POLICY workshop_members_lookup ON public.workshop_members FOR SELECT TO postgres USING (true);

CREATE POLICY workshop_members_read ON public.workshop_members FOR SELECT TO skilldb_app USING (((public.workshop_role((workshop_id)::text) IS NOT NULL) OR public.workshop_shared_with_token((workshop_id)::text)));

CREATE POLICY workshop_members_remove ON public.workshop_members FOR DELETE TO skilldb_app USING ((public.workshop_role((workshop_id)::text) = 'owner'::text));

ALTER TABLE public.workshop_steps ENABLE ROW LEVEL SECURITY;

CREATE POLICY workshop_steps_delete ON public.workshop_steps FOR DELETE TO skilldb_app USING ((public.workshop_role((workshop_id)::text) = ANY (ARRAY['owner'::text, 'editor'::text])));

CREATE POLICY workshop_steps_insert ON public.workshop_steps FOR INSERT TO skilldb_app WITH CHECK ((public.workshop_role((workshop_id)::text) = ANY (ARRAY['owner'::text, 'editor'::text])));

CREATE POLICY workshop_steps_read ON public.workshop_steps FOR SELECT TO skilldb_app USING (((public.workshop_role((workshop_id)::text) IS NOT NULL) OR public.workshop_shared_with_token((workshop_id)::text)));

CREATE POLICY workshop_steps_update ON public.workshop_steps FOR UPDATE TO skilldb_app USING ((public.workshop_role((workshop_id)::text) = ANY (ARRAY['owner'::text, 'editor'::text]))) WITH CHECK ((public.workshop_role((workshop_id)::text) = ANY (ARRAY['owner'::text, 'editor'::text])));

ALTER TABLE public.workshops ENABLE ROW LEVEL SECURITY;

CREATE POLICY workshops_change ON public.workshops FOR UPDATE TO skilldb_app USING ((public.workshop_role((id)::text) = ANY (ARRAY['owner'::text, 'editor'::text]))) WITH CHECK ((public.workshop_role((id)::text) = ANY (ARRAY['owner'::text, 'editor'::text])));

CREATE POLICY workshops_create ON public.workshops FOR INSERT TO skilldb_app WITH CHECK (((clerk_user_id)::text = public.current_clerk_user_id()));

CREATE POLICY workshops_delete ON public.workshops FOR DELETE TO skilldb_app USING ((public.workshop_role((id)::text) = 'owner'::text));

CREATE POLICY workshops_lock ON public.workshops FOR UPDATE TO postgres USING (true);

CREATE POLICY workshops_lookup ON public.workshops FOR SELECT TO postgres USING (true);

CREATE POLICY workshops_read ON public.workshops FOR SELECT TO skilldb_app USING (((public.workshop_role((id)::text) IS NOT NULL) OR ((visibility = 'shared'::text) AND (share_token = public.current_share_token()))));

GRANT USAGE ON SCHEMA public TO skilldb_app;

GRANT SELECT,INSERT,DELETE ON TABLE public.workshops TO skilldb_app;

GRANT UPDATE(title) ON TABLE public.workshops TO skilldb_app;

GRANT UPDATE(original_idea) ON TABLE public.workshops TO skilldb_app;

GRANT UPDATE(status) ON TABLE public.workshops TO skilldb_app;

GRANT UPDATE(org_id) ON TABLE public.workshops TO skilldb_app;

GRANT UPDATE(template_id) ON TABLE public.workshops TO skilldb_app;

GRANT UPDATE(visibility) ON TABLE public.workshops TO skilldb_app;

GRANT UPDATE(share_token) ON TABLE public.workshops TO skilldb_app;

REVOKE ALL ON FUNCTION public.increment_skill_uses(tenant text, skill text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.increment_skill_uses(tenant text, skill text) TO skilldb_app;

REVOKE ALL ON FUNCTION public.recompute_skill_metrics(tenant text, skill text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.recompute_skill_metrics(tenant text, skill text) TO skilldb_app;

REVOKE ALL ON FUNCTION public.update_skill_rating(tenant text, skill text, OUT skill_found boolean, OUT new_average_rating integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.update_skill_rating(tenant text, skill text, OUT skill_found boolean, OUT new_average_rating integer) TO skilldb_app;

GRANT SELECT,INSERT,DELETE ON TABLE public.workshop_members TO skilldb_app;

GRANT UPDATE(role) ON TABLE public.workshop_members TO skilldb_app;

GRANT SELECT,INSERT,DELETE ON TABLE public.build_packs TO skilldb_app;

GRANT UPDATE(title) ON TABLE public.build_packs TO skilldb_app;

GRANT UPDATE(content) ON TABLE public.build_packs TO skilldb_app;

GRANT SELECT,INSERT,DELETE ON TABLE public.ratings TO skilldb_app;

GRANT UPDATE(rating) ON TABLE public.ratings TO skilldb_app;

GRANT UPDATE(comment) ON TABLE public.ratings TO skilldb_app;

GRANT UPDATE(hours_saved_estimate) ON TABLE public.ratings TO skilldb_app;

GRANT SELECT,INSERT ON TABLE public.sessions TO skilldb_app;

GRANT UPDATE(ended_at) ON TABLE public.sessions TO skilldb_app;

GRANT SELECT,INSERT,DELETE ON TABLE public.skill_messages TO skilldb_app;

GRANT UPDATE(status) ON TABLE public.skill_messages TO skilldb_app;

GRANT UPDATE(read_at) ON TABLE public.skill_messages TO skilldb_app;

GRANT SELECT,INSERT ON TABLE public.skill_versions TO skilldb_app;

GRANT SELECT,DELETE ON TABLE public.skills TO skilldb_app;

GRANT INSERT(tenant_id) ON TABLE public.skills TO skilldb_app;

GRANT INSERT(id) ON TABLE public.skills TO skilldb_app;

GRANT INSERT(author_id),UPDATE(author_id) ON TABLE public.skills TO skilldb_app;

GRANT INSERT(name),UPDATE(name) ON TABLE public.skills TO skilldb_app;

GRANT INSERT(slug),UPDATE(slug) ON TABLE public.skills TO skilldb_app;

GRANT INSERT(description),UPDATE(description) ON TABLE public.skills TO skilldb_app;

GRANT INSERT(category),UPDATE(category) ON TABLE public.skills TO skilldb_app;

GRANT UPDATE(published_version_id) ON TABLE public.skills TO skilldb_app;

GRANT UPDATE(draft_version_id) ON TABLE public.skills TO skilldb_app;

GRANT INSERT(created_at) ON TABLE public.skills TO skilldb_app;

GRANT SELECT ON TABLE public.step_definitions TO skilldb_app;

GRANT SELECT,INSERT ON TABLE public.tenants TO skilldb_app;

GRANT UPDATE(name) ON TABLE public.tenants TO skilldb_app;

GRANT SELECT,INSERT ON TABLE public.usage_events TO skilldb_app;

GRANT SELECT,INSERT,DELETE ON TABLE public.users TO skilldb_app;

GRANT UPDATE(email) ON TABLE public.users TO skilldb_app;

GRANT UPDATE(name) ON TABLE public.users TO skilldb_app;

GRANT SELECT,INSERT,DELETE ON TABLE public.workshop_steps TO skilldb_app;

GRANT UPDATE(status) ON TABLE public.workshop_steps TO skilldb_app;

GRANT UPDATE(output) ON TABLE public.workshop_steps TO skilldb_app;

GRANT UPDATE(started_at) ON TABLE public.workshop_steps TO skilldb_app;

GRANT UPDATE(completed_at) ON TABLE public.workshop_steps TO skilldb_app;
