-- Maintain skills.total_uses and skills.average_rating in the database, exactly under concurrency.
-- depends: 0009_create_skill_listing_indexes
--
-- Both metrics are kept by updates relative to the skill's own row, never by an
-- aggregate read in the same statement: under READ COMMITTED, an UPDATE that waits
-- for a concurrent writer re-checks the row, but a subquery in it keeps its old
-- snapshot and would lose that writer's rating. A relative update re-reads the row.
--
-- * ratings keep rating_count and rating_sum on the skill (statement triggers over the
--   changed rows, any writer, psql included); average_rating = round(sum / count * 100).
-- * usage_events add their count to total_uses (statement trigger over the inserted
--   rows: one grouped UPDATE per statement, however many events it inserts).
-- * increment_skill_uses() adds uses without an event; update_skill_rating() and
--   recompute_skill_metrics() rebuild from the raw tables after locking the skills.
-- skilldb_app may not write these columns (0006), so the functions run as their owner,
-- and act only on the tenant bound to the transaction.

ALTER TABLE skills ADD COLUMN rating_count integer NOT NULL DEFAULT 0
    CONSTRAINT skills_rating_count_not_negative CHECK (rating_count >= 0);
ALTER TABLE skills ADD COLUMN rating_sum integer NOT NULL DEFAULT 0
    CONSTRAINT skills_rating_sum_in_range CHECK (rating_sum BETWEEN rating_count AND 5 * rating_count);

COMMENT ON COLUMN skills.rating_count IS 'Number of ratings of the skill; kept by the ratings trigger.';
COMMENT ON COLUMN skills.rating_sum IS 'Sum of the skill''s ratings in stars; kept by the ratings trigger.';

CREATE FUNCTION require_bound_tenant(tenant text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF tenant IS DISTINCT FROM current_setting('app.current_tenant_id', true) THEN
        RAISE EXCEPTION 'tenant % is not the tenant bound to this transaction', tenant
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'SET LOCAL app.current_tenant_id = ''<tenant_id>'' first';
    END IF;
END
$$;

COMMENT ON FUNCTION require_bound_tenant(text) IS
    'Raises 42501 unless tenant is the one bound by SET LOCAL app.current_tenant_id: the guard of functions that run as their owner.';

/* The average as an integer number of hundredths of a star, from a sum and a count,
   rounded half away from zero exactly as round(avg(rating) * 100). */
CREATE FUNCTION rating_average(rating_sum integer, rating_count integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN rating_count > 0 THEN round(rating_sum::numeric / rating_count * 100)::integer END;

COMMENT ON FUNCTION rating_average(integer, integer) IS
    'round(sum / count * 100) as an integer (stars x 100), NULL when count is 0.';

/* One statement trigger per event (PostgreSQL allows transition tables on one event
   per trigger); each moves the affected skills by the grouped change of the statement,
   so a bulk insert or a cascade delete of many ratings updates each skill row once. */
CREATE FUNCTION apply_rating_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
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

COMMENT ON FUNCTION apply_rating_changes() IS
    'AFTER INSERT, UPDATE or DELETE statement triggers on ratings: move each affected skill''s rating count, sum and average by the statement''s grouped change.';

CREATE TRIGGER ratings_apply_inserts AFTER INSERT ON ratings
    REFERENCING NEW TABLE AS new_ratings
    FOR EACH STATEMENT EXECUTE FUNCTION apply_rating_changes();
CREATE TRIGGER ratings_apply_updates AFTER UPDATE ON ratings
    REFERENCING OLD TABLE AS old_ratings NEW TABLE AS new_ratings
    FOR EACH STATEMENT EXECUTE FUNCTION apply_rating_changes();
CREATE TRIGGER ratings_apply_deletes AFTER DELETE ON ratings
    REFERENCING OLD TABLE AS old_ratings
    FOR EACH STATEMENT EXECUTE FUNCTION apply_rating_changes();

CREATE FUNCTION count_new_usage_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
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

COMMENT ON FUNCTION count_new_usage_events() IS
    'AFTER INSERT statement trigger on usage_events: adds each skill''s number of new events to its total_uses.';

CREATE TRIGGER usage_events_count_new AFTER INSERT ON usage_events
    REFERENCING NEW TABLE AS inserted_events
    FOR EACH STATEMENT EXECUTE FUNCTION count_new_usage_events();

CREATE FUNCTION increment_skill_uses(tenant text, skill text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
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

COMMENT ON FUNCTION increment_skill_uses(text, text) IS
    'Adds one use to the bound tenant''s skill (no event) and returns the new total_uses; NULL when there is no such skill.';

CREATE FUNCTION update_skill_rating(
    tenant text, skill text, OUT skill_found boolean, OUT new_average_rating integer
)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
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

COMMENT ON FUNCTION update_skill_rating(text, text) IS
    'Recomputes the bound tenant''s skill''s rating count, sum and average from ratings; skill_found is false when there is no such skill.';

CREATE FUNCTION recompute_skill_metrics(tenant text, skill text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
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

COMMENT ON FUNCTION recompute_skill_metrics(text, text) IS
    'Rebuilds total_uses (from usage_events) and the rating metrics (from ratings) of one skill, or every skill of the bound tenant; returns how many changed.';

REVOKE EXECUTE ON FUNCTION increment_skill_uses(text, text), update_skill_rating(text, text),
    recompute_skill_metrics(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION increment_skill_uses(text, text), update_skill_rating(text, text),
    recompute_skill_metrics(text, text) TO skilldb_app;
