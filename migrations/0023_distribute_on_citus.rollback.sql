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
    tenant_tables constant text[] := ARRAY[
        'tenants', 'users', 'skills', 'skill_versions', 'ratings', 'usage_events', 'skill_messages'
    ];
    t text;
    column_name text;
    trigger_ record;
    replaced record;
    policy record;
    policies jsonb := '[]';
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    EXECUTE format('ALTER DATABASE %I RESET citus.propagate_set_commands', current_database());

    PERFORM undistribute_table('tenants', cascade_via_foreign_keys => true);

    -- the functions 0023 replaced, as they were (the delegated ones run where their tables
    -- are: on the coordinator again, once the tables are back there)
    FOR replaced IN SELECT definition FROM skilldb_citus_replaced_functions LOOP
        EXECUTE replaced.definition;
    END LOOP;
    DROP TABLE skilldb_citus_replaced_functions;

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

    FOR policy IN
        SELECT p.tablename, p.policyname, p.permissive, p.roles, p.cmd, p.qual, p.with_check
        FROM pg_catalog.pg_policies p
        WHERE p.schemaname = 'public' AND p.tablename = ANY (tenant_tables)
    LOOP
        policies := policies || to_jsonb(policy);
        EXECUTE format('DROP POLICY %I ON %I', policy.policyname, policy.tablename);
    END LOOP;
    FOREACH t IN ARRAY tenant_tables LOOP
        column_name := CASE t WHEN 'tenants' THEN 'id' ELSE 'tenant_id' END;
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', t, t || '_' || column_name || '_valid');
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE key_text', t, column_name);
    END LOOP;
    FOR policy IN SELECT * FROM jsonb_to_recordset(policies) AS p (
        tablename text, policyname text, permissive text, roles text[], cmd text, qual text, with_check text
    ) LOOP
        EXECUTE format(
            'CREATE POLICY %I ON %I AS %s FOR %s TO %s%s%s',
            policy.policyname, policy.tablename, policy.permissive, policy.cmd,
            (SELECT string_agg(CASE WHEN r = 'public' THEN 'PUBLIC' ELSE quote_ident(r) END, ', ')
             FROM unnest(policy.roles) AS r),
            CASE WHEN policy.qual IS NOT NULL THEN format(' USING (%s)', policy.qual) ELSE '' END,
            CASE WHEN policy.with_check IS NOT NULL THEN format(' WITH CHECK (%s)', policy.with_check) ELSE '' END
        );
    END LOOP;
END
$citus$;
