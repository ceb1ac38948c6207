-- Undo 0023 on Citus: the tenant tables back to ordinary tables on the coordinator, as 0022 left them.
--
-- On plain PostgreSQL (no citus extension) there is nothing to undo. On Citus,
-- undistribute_table copies each table's rows back to the coordinator; the functions
-- 0023 replaced get their definitions back; the foreign keys get their ON DELETE SET
-- NULL (column) back in place of the triggers; the distribution columns get their
-- key_text type and their policies back.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '600s';

DO $citus$
DECLARE
    trigger_ record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    EXECUTE format('ALTER DATABASE %I RESET citus.propagate_set_commands', current_database());

    PERFORM undistribute_table('tenants', cascade_via_foreign_keys => true);

    -- the functions 0023 replaced, as 0010, 0012 and 0021 left them (the delegated ones run
    -- where their tables are: on the coordinator again, once the tables are back there)
    EXECUTE $create$
        CREATE OR REPLACE FUNCTION rating_average(rating_sum integer, rating_count integer) RETURNS integer
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN CASE WHEN rating_count > 0 THEN round(rating_sum::numeric / rating_count * 100)::integer END
    $create$;
    EXECUTE $create$
        CREATE OR REPLACE FUNCTION apply_rating_changes() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $body$
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
        $body$
    $create$;
    EXECUTE $create$
        CREATE OR REPLACE FUNCTION count_new_usage_events() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $body$
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
        $body$
    $create$;
    EXECUTE $create$
        CREATE OR REPLACE FUNCTION guard_skill_message_update() RETURNS trigger
        LANGUAGE plpgsql AS $body$
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
        $body$
    $create$;

    -- the emulated SET NULL keys back to PostgreSQL's own action
    FOR trigger_ IN
        SELECT tg.tgname, tg.tgrelid::regclass::text AS parent, c.conname, c.conrelid::regclass::text AS child,
               (SELECT a.attname FROM pg_attribute a
                WHERE a.attrelid = c.conrelid
                    AND a.attname = convert_from(split_part(encode(tg.tgargs, 'escape'), '\000', 2)::bytea, 'UTF8')
               ) AS set_null_column,
               pg_get_constraintdef(c.oid) AS definition
        FROM pg_catalog.pg_trigger tg
        JOIN pg_catalog.pg_constraint c ON c.conname || '_set_null' = tg.tgname AND c.contype = 'f'
        WHERE tg.tgfoid = 'skilldb_set_null_on_delete()'::regprocedure
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', trigger_.tgname, trigger_.parent);
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', trigger_.child, trigger_.conname);
        EXECUTE format(
            'ALTER TABLE %I ADD CONSTRAINT %I %s ON DELETE SET NULL (%I)',
            trigger_.child, trigger_.conname, trigger_.definition, trigger_.set_null_column
        );
    END LOOP;
    DROP FUNCTION skilldb_set_null_on_delete();

    PERFORM skilldb_retype_tenant_keys('key_text');
    DROP FUNCTION skilldb_retype_tenant_keys(regtype);
END
$citus$;
