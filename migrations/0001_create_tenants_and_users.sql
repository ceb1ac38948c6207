-- Create tenants and users, the tenant-binding helper, the key and timestamp domains, and row-level security.
--
-- skilldb binds a tenant per transaction with SET LOCAL app.current_tenant_id = '<id>'
-- and also passes that id to every named query as :tenant_id. The policies compare
-- against current_setting(..., true): unset (NULL) or ended ('') binds nothing, so
-- every tenant table reads as empty. Column defaults use current_tenant_id(), which
-- raises SQLSTATE SK001 instead, so an insert from psql without a tenant fails loudly.
-- Every tenant table's primary key is (tenant_id, id): keys are scoped to the tenant,
-- as a distributed PostgreSQL (Citus, sharded by tenant_id) requires.

/* Ids and other keys: 1-128 characters, no control characters (tab, newline and the
   like included), no surrounding space of any kind (so ' a' and 'a' cannot become two
   tenants). Keys stay far below the btree row size limit. */
CREATE DOMAIN key_text AS text
    CONSTRAINT key_text_valid CHECK (
        char_length(VALUE) BETWEEN 1 AND 128
        AND VALUE !~ '[[:cntrl:]]'
        AND VALUE = btrim(VALUE, E' \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008'
                                 '\u2009\u200a\u2028\u2029\u202f\u205f\u3000')
    );

COMMENT ON DOMAIN key_text IS
    'An id or key: 1-128 characters, no control characters, no leading or trailing whitespace.';

/* Finite times within the range every client's datetime type can hold, whatever the
   session's time zone ('infinity' or year 10000 would make every read of the row fail). */
CREATE DOMAIN moment AS timestamptz(3)
    CONSTRAINT moment_in_range CHECK (VALUE >= '1900-01-01 00:00:00+00' AND VALUE < '9999-12-30 00:00:00+00');

COMMENT ON DOMAIN moment IS
    'A point in time with millisecond precision, from 1900-01-01 to before 9999-12-30 (UTC); never infinite.';

CREATE FUNCTION current_tenant_id() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
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

COMMENT ON FUNCTION current_tenant_id() IS
    'The tenant bound to this transaction (app.current_tenant_id); raises SQLSTATE SK001 when none is bound.';

CREATE TABLE tenants (
    id key_text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    name text NOT NULL CONSTRAINT tenants_name_valid CHECK (btrim(name) <> '' AND char_length(name) <= 200),
    created_at moment NOT NULL DEFAULT now()
);

COMMENT ON TABLE tenants IS 'An organisation using the marketplace; every other table belongs to one tenant.';

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants AS PERMISSIVE FOR ALL
    USING (id = current_setting('app.current_tenant_id', true))
    WITH CHECK (id = current_setting('app.current_tenant_id', true));

CREATE TABLE users (
    tenant_id key_text NOT NULL DEFAULT current_tenant_id()
        REFERENCES tenants (id) ON DELETE CASCADE,
    id key_text NOT NULL DEFAULT gen_random_uuid()::text,
    email text NOT NULL CONSTRAINT users_email_valid
        CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND char_length(email) <= 254),
    name text CONSTRAINT users_name_valid CHECK (btrim(name) <> '' AND char_length(name) <= 200),
    created_at moment NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id)
);

COMMENT ON TABLE users IS 'A person in one tenant: author of skills, rater, sender of messages.';
COMMENT ON COLUMN users.email IS 'At most 254 characters; unique per tenant, ignoring case.';

CREATE UNIQUE INDEX users_tenant_id_email_key ON users (tenant_id, lower(email));

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users AS PERMISSIVE FOR ALL
    USING (tenant_id = current_setting('app.current_tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true));
