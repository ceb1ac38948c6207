-- On Citus, distribute the tenant tables by tenant in one colocation group; elsewhere do nothing.
-- depends: 0022_tighten_workshop_access
--
-- Runs only where the citus extension is installed in this database (a Citus coordinator);
-- on plain PostgreSQL the DO block returns at once and the schema is unchanged.
--
-- On Citus:
-- * tenants is distributed by id and the six tenant tables by tenant_id, all colocated
--   with tenants: a tenant's row and all its data live on one shard group, so a request of
--   one tenant is routed to one node, the foreign keys to tenants are checked there, and
--   deleting a tenant cascades there. (A reference table would copy every tenant to every
--   node and make each new tenant a write to all of them, for no query that needs it.)
-- * The distribution columns become plain text, their key_text rule kept as a CHECK:
--   Citus prunes shards by comparing the column with the query's value, and on a column
--   of a domain type it compares through a cast, which pruned a tenant's own shard away
--   (a tenant's skills counted 0) or refused correlated subqueries as "complex joins".
--   The tenant_isolation policies are dropped and recreated around the type change, from
--   the catalog, unchanged.
-- * Every foreign key among these tables is dropped, the tables distributed, and the keys
--   added back under the same names. Citus refuses ON DELETE SET NULL (column) on a key
--   that includes the distribution column: those keys come back as NO ACTION, and a row
--   trigger on the referenced table (skilldb_set_null_on_delete) sets the column to NULL
--   first, which is what PostgreSQL's action did. Triggers on distributed tables run on
--   the shards; citus.enable_unsafe_triggers lets them be created, and they reach only
--   colocated shards of the same tenant (Citus allows a trigger local shards only).
-- * Citus gives shards no column-level privileges (and expands an INSERT's default
--   values into the statement it sends a shard): where the application has a column
--   grant, the shards get the privilege on the whole table. The coordinator keeps the
--   column grants and checks them against the statement the application sent: the
--   application connects to the coordinator.
-- * A populated database is distributed with its rows; the tables' own triggers are off
--   while the rows are copied to the shards (version numbers and counters are kept).
-- * Where Citus runs things differently, the functions do it its way: the metric triggers
--   update skill by skill (a shard's trigger reaches only its tenant's shards), the three
--   metric functions the application calls run on the tenant's node (force_delegation),
--   rating_average divides by nullif(count, 0) (Citus computes both branches of a CASE
--   over parameters), and the message guard names its constraint in the error's detail
--   (a worker's error reaches the client without its constraint field).
-- * The database gets citus.propagate_set_commands = 'local', so that the SET LOCAL
--   tenant binding reaches the workers (set_config() and plain SET never do).
-- The workshop tables stay on the coordinator as ordinary tables: they have no tenant
-- column, and their row-level security calls functions that read other workshop tables
-- (workshop_role(), ...), which Citus could not run on a shard of a distributed table.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '600s';

DO $citus$
DECLARE
    tenant_tables constant text[] := ARRAY[
        'tenants', 'users', 'skills', 'skill_versions', 'ratings', 'usage_events', 'skill_messages'
    ];
    t text;
    fk record;
    foreign_keys jsonb := '[]';
    grants record;
    arguments text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);

    -- ON DELETE SET NULL (column), done by a trigger where Citus refuses the action
    EXECUTE $create$
        CREATE FUNCTION skilldb_set_null_on_delete() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $body$
        /* BEFORE DELETE on a referenced table: ON DELETE SET NULL (column) done by hand, for
           Citus, which refuses that action on a key that includes the distribution column.
           Arguments: referencing table, column to set to NULL, then pairs of (referencing
           column, referenced column). Runs as its owner: the application may not write the
           column itself. */
        DECLARE
            old_row jsonb := to_jsonb(OLD);
            conditions text[] := '{}';
            i integer;
        BEGIN
            /* the key's values as literals: Citus routes the UPDATE to the tenant's own,
               colocated shard by the value of tenant_id (a trigger may reach no other) */
            FOR i IN 2 .. TG_NARGS - 1 BY 2 LOOP
                conditions := conditions || format('%I = %L', TG_ARGV[i], old_row ->> TG_ARGV[i + 1]);
            END LOOP;
            EXECUTE format('UPDATE %I SET %I = NULL WHERE %s', TG_ARGV[0], TG_ARGV[1], array_to_string(conditions, ' AND '));
            RETURN OLD;
        END
        $body$
    $create$;
    COMMENT ON FUNCTION skilldb_set_null_on_delete() IS
        'BEFORE DELETE on a referenced table (Citus only): ON DELETE SET NULL (column) for a foreign key Citus refuses it on.';
    REVOKE ALL ON FUNCTION skilldb_set_null_on_delete() FROM PUBLIC;

    -- the foreign keys among the tenant tables, as they are defined
    FOR fk IN
        SELECT c.conname, c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent,
               pg_get_constraintdef(c.oid) AS definition,
               (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY AS k (attnum, n)
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS child_columns,
               (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(c.confkey) WITH ORDINALITY AS k (attnum, n)
                JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS parent_columns,
               (SELECT array_agg(a.attname) FROM unnest(c.confdelsetcols) AS k (attnum)
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS set_null_columns
        FROM pg_catalog.pg_constraint c
        WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY (tenant_tables)
        ORDER BY c.conname
    LOOP
        foreign_keys := foreign_keys || jsonb_build_object(
            'name', fk.conname, 'child', fk.child, 'parent', fk.parent, 'definition', fk.definition,
            'child_columns', fk.child_columns, 'parent_columns', fk.parent_columns,
            'set_null_columns', fk.set_null_columns
        );
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', fk.child, fk.conname);
    END LOOP;

    /* The distribution columns as plain text (key_text's rule kept as a CHECK), around
       their policies; the rollback calls the same function to make them key_text again. */
    EXECUTE $create$
        CREATE FUNCTION skilldb_retype_tenant_keys(key_type regtype) RETURNS void
        LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $body$
        DECLARE
            tenant_tables constant text[] := ARRAY[
                'tenants', 'users', 'skills', 'skill_versions', 'ratings', 'usage_events', 'skill_messages'
            ];
            t text;
            key_column text;
            policy record;
            policies jsonb := '[]';
        BEGIN
            FOR policy IN
                SELECT p.tablename, p.policyname, p.permissive, p.roles, p.cmd, p.qual, p.with_check
                FROM pg_catalog.pg_policies p
                WHERE p.schemaname = 'public' AND p.tablename = ANY (tenant_tables)
            LOOP
                policies := policies || to_jsonb(policy);
                EXECUTE format('DROP POLICY %I ON %I', policy.policyname, policy.tablename);
            END LOOP;
            FOREACH t IN ARRAY tenant_tables LOOP
                key_column := CASE t WHEN 'tenants' THEN 'id' ELSE 'tenant_id' END;
                EXECUTE format('ALTER TABLE %I DROP CONSTRAINT IF EXISTS %I', t, t || '_' || key_column || '_valid');
                EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE %s', t, key_column, key_type);
                IF key_type = 'text'::regtype THEN
                    EXECUTE format(
                        'ALTER TABLE %I ADD CONSTRAINT %I CHECK (%I::key_text IS NOT NULL)',
                        t, t || '_' || key_column || '_valid', key_column
                    );
                END IF;
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
        $body$
    $create$;
    COMMENT ON FUNCTION skilldb_retype_tenant_keys(regtype) IS
        'Citus only (0023): gives the tenant tables'' distribution columns the type text (with key_text''s rule as a CHECK) or key_text, around their policies.';
    REVOKE ALL ON FUNCTION skilldb_retype_tenant_keys(regtype) FROM PUBLIC;
    PERFORM skilldb_retype_tenant_keys('text');

    /* distribute, colocated with tenants. The rows a table already has are copied to its
       shards as inserts: the tables' own triggers are off meanwhile, or the copy would
       number the versions again, count every usage event and rating a second time and
       find no tenant bound. */
    FOREACH t IN ARRAY tenant_tables LOOP
        EXECUTE format('ALTER TABLE %I DISABLE TRIGGER USER', t);
    END LOOP;
    PERFORM create_distributed_table('tenants', 'id');
    FOREACH t IN ARRAY tenant_tables[2:] LOOP
        PERFORM create_distributed_table(t, 'tenant_id', colocate_with => 'tenants');
    END LOOP;
    FOREACH t IN ARRAY tenant_tables LOOP
        EXECUTE format('ALTER TABLE %I ENABLE TRIGGER USER', t);
    END LOOP;

    -- the foreign keys back, SET NULL (column) as a trigger on the referenced table
    FOR fk IN SELECT * FROM jsonb_to_recordset(foreign_keys) AS f (
        name text, child text, parent text, definition text,
        child_columns text[], parent_columns text[], set_null_columns text[]
    ) LOOP
        IF fk.set_null_columns IS NULL THEN
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', fk.child, fk.name, fk.definition);
        ELSE
            EXECUTE format(
                'ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %I (%s)',
                fk.child, fk.name,
                (SELECT string_agg(quote_ident(c), ', ') FROM unnest(fk.child_columns) AS c),
                fk.parent,
                (SELECT string_agg(quote_ident(c), ', ') FROM unnest(fk.parent_columns) AS c)
            );
            SELECT string_agg(format('%L, %L', child_column, parent_column), ', ')
            INTO arguments
            FROM unnest(fk.child_columns, fk.parent_columns) AS pair (child_column, parent_column);
            EXECUTE format(
                'CREATE TRIGGER %I BEFORE DELETE ON %I FOR EACH ROW '
                'EXECUTE FUNCTION skilldb_set_null_on_delete(%L, %L, %s)',
                fk.name || '_set_null', fk.parent, fk.child, fk.set_null_columns[1], arguments
            );
        END IF;
    END LOOP;

    /* Column grants: Citus gives shards no column privileges, and expands an INSERT's
       defaults into the statement a shard runs. The table-level privilege goes to the
       shards (and the workers' copies of the table), and on the coordinator, which checks
       the statement the application sent, it is narrowed back to the columns. */
    FOR grants IN
        SELECT c.relname, g.privilege_type, g.grantee::regrole::text AS grantee,
               string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) AS columns
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
        CROSS JOIN LATERAL aclexplode(a.attacl) AS g
        WHERE c.relname = ANY (tenant_tables) AND c.relnamespace = 'public'::regnamespace
        GROUP BY c.relname, g.privilege_type, g.grantee
    LOOP
        EXECUTE format('GRANT %s ON TABLE %I TO %I', grants.privilege_type, grants.relname, grants.grantee);
        PERFORM set_config('citus.enable_ddl_propagation', 'off', true);
        EXECUTE format('REVOKE %s ON TABLE %I FROM %I', grants.privilege_type, grants.relname, grants.grantee);
        EXECUTE format(
            'GRANT %s (%s) ON TABLE %I TO %I', grants.privilege_type, grants.columns, grants.relname, grants.grantee
        );
        PERFORM set_config('citus.enable_ddl_propagation', 'on', true);
    END LOOP;

    /* Citus computes expressions of a statement's parameters before it sends the
       statement to a shard, both branches of a CASE included: the average divides by
       nullif(count, 0) instead of behind CASE WHEN count > 0 (the same result). */
    EXECUTE $create$
        CREATE OR REPLACE FUNCTION rating_average(rating_sum integer, rating_count integer) RETURNS integer
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN round(rating_sum::numeric / nullif(rating_count, 0) * 100)::integer
    $create$;

    /* The metric triggers run on the shards, where a statement may reach only the
       tenant's own colocated shards, by the tenant's value: one UPDATE per skill, in key
       order (which orders the row locks too, so overlapping statements queue instead of
       deadlocking), instead of one UPDATE joined with the transition table. */
    EXECUTE $create$
        CREATE OR REPLACE FUNCTION apply_rating_changes() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $body$
        DECLARE
            change record;
        BEGIN
            FOR change IN EXECUTE
                'SELECT tenant_id, skill_id, sum(n)::integer AS n, sum(total)::integer AS total FROM ('
                || CASE TG_OP
                    WHEN 'INSERT' THEN 'SELECT tenant_id, skill_id, 1 AS n, rating AS total FROM new_ratings'
                    WHEN 'DELETE' THEN 'SELECT tenant_id, skill_id, -1 AS n, -rating AS total FROM old_ratings'
                    ELSE 'SELECT tenant_id, skill_id, 1 AS n, rating AS total FROM new_ratings '
                         'UNION ALL SELECT tenant_id, skill_id, -1, -rating FROM old_ratings'
                   END
                || ') AS moves GROUP BY tenant_id, skill_id ORDER BY tenant_id, skill_id'
            LOOP
                CONTINUE WHEN (change.n, change.total) = (0, 0);
                UPDATE skills s
                SET rating_count = s.rating_count + change.n, rating_sum = s.rating_sum + change.total,
                    average_rating = rating_average(s.rating_sum + change.total, s.rating_count + change.n)
                WHERE s.tenant_id = change.tenant_id AND s.id = change.skill_id;
            END LOOP;
            RETURN NULL;
        END
        $body$
    $create$;
    EXECUTE $create$
        CREATE OR REPLACE FUNCTION count_new_usage_events() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $body$
        DECLARE
            counted record;
        BEGIN
            FOR counted IN
                SELECT tenant_id, skill_id, count(*)::integer AS uses
                FROM inserted_events
                WHERE skill_id IS NOT NULL
                GROUP BY tenant_id, skill_id
                ORDER BY tenant_id, skill_id
            LOOP
                UPDATE skills s SET total_uses = s.total_uses + counted.uses
                WHERE s.tenant_id = counted.tenant_id AND s.id = counted.skill_id;
            END LOOP;
            RETURN NULL;
        END
        $body$
    $create$;

    /* A worker's error reaches the client with its message, detail and hint only: the
       message update guard names its constraint and table in the detail as well. */
    EXECUTE $create$
        CREATE OR REPLACE FUNCTION guard_skill_message_update() RETURNS trigger
        LANGUAGE plpgsql AS $body$
        BEGIN
            IF NEW.status IS DISTINCT FROM OLD.status AND OLD.status <> 'pending' THEN
                RAISE EXCEPTION 'skill message % is already %: only a pending message changes status', OLD.id, OLD.status
                    USING ERRCODE = 'check_violation', TABLE = 'skill_messages', CONSTRAINT = 'skill_messages_status_once',
                          DETAIL = 'violates constraint "skill_messages_status_once" of table "skill_messages"';
            END IF;
            IF NEW.read_at IS DISTINCT FROM OLD.read_at AND OLD.read_at IS NOT NULL THEN
                RAISE EXCEPTION 'skill message % was read at %: read_at is set once', OLD.id, OLD.read_at
                    USING ERRCODE = 'check_violation', TABLE = 'skill_messages', CONSTRAINT = 'skill_messages_read_once',
                          DETAIL = 'violates constraint "skill_messages_read_once" of table "skill_messages"';
            END IF;
            RETURN NEW;
        END
        $body$
    $create$;

    /* The functions the application calls run where the tenant's shards are, in the
       transaction's own connection to that node (force_delegation): run on the
       coordinator they would open a connection as their owner to shards the application
       already wrote in the transaction, which Citus refuses. */
    PERFORM create_distributed_function(
        'increment_skill_uses(text, text)', 'tenant', colocate_with => 'tenants', force_delegation => true
    );
    PERFORM create_distributed_function(
        'update_skill_rating(text, text)', 'tenant', colocate_with => 'tenants', force_delegation => true
    );
    PERFORM create_distributed_function(
        'recompute_skill_metrics(text, text)', 'tenant', colocate_with => 'tenants', force_delegation => true
    );

    EXECUTE format('ALTER DATABASE %I SET citus.propagate_set_commands = %L', current_database(), 'local');
END
$citus$;
