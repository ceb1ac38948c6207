-- Create tenants and users, the tenant-binding helper, and their row-level security.
--
-- The bound tenant lives in the transaction-local setting app.current_tenant_id
-- (skilldb.tenant() sets it with set_config(..., true)). Policies compare against
-- current_setting(..., true): unset (NULL) or ended ('') binds nothing, so every
-- tenant table reads as empty. Column defaults use current_tenant_id(), which
-- raises SQLSTATE SK001 instead, so an insert without a tenant fails loudly.

CREATE FUNCTION current_tenant_id() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    bound text := current_setting('app.current_tenant_id', true);
BEGIN
    IF bound IS NULL OR bound = '' THEN
        RAISE EXCEPTION 'no tenant is bound to this transaction'
            USING ERRCODE = 'SK001',
                  HINT = 'bind one with skilldb.tenant(conn, tenant_id), '
                         'or SELECT set_config(''app.current_tenant_id'', <id>, true)';
    END IF;
    RETURN bound;
END
$$;

COMMENT ON FUNCTION current_tenant_id() IS
    'The tenant bound to this transaction (app.current_tenant_id); raises SQLSTATE SK001 when none is bound.';

CREATE TABLE tenants (
    id text PRIMARY KEY DEFAULT gen_random_uuid()::text CONSTRAINT tenants_id_not_empty CHECK (id <> ''),
    name text NOT NULL CONSTRAINT tenants_name_not_empty CHECK (btrim(name) <> ''),
    created_at timestamptz(3) NOT NULL DEFAULT now()
);

COMMENT ON TABLE tenants IS 'An organisation using the marketplace; every other table belongs to one tenant.';

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants AS PERMISSIVE FOR ALL
    USING (id = current_setting('app.current_tenant_id', true))
    WITH CHECK (id = current_setting('app.current_tenant_id', true));

CREATE TABLE users (
    id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    tenant_id text NOT NULL DEFAULT current_tenant_id()
        REFERENCES tenants (id) ON DELETE CASCADE,
    email text NOT NULL CONSTRAINT users_email_valid CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    name text CONSTRAINT users_name_not_empty CHECK (btrim(name) <> ''),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    CONSTRAINT users_tenant_id_id_key UNIQUE (tenant_id, id)
);

COMMENT ON TABLE users IS 'A person in one tenant: author of skills, rater, sender of messages.';
COMMENT ON CONSTRAINT users_tenant_id_id_key ON users IS
    'Target of the composite (tenant_id, user) foreign keys, so no row can point at another tenant''s user.';

CREATE UNIQUE INDEX users_tenant_id_email_key ON users (tenant_id, lower(email));

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users AS PERMISSIVE FOR ALL
    USING (tenant_id = current_setting('app.current_tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true));
