-- tenants: the organisations using the marketplace.
-- Row-level security shows a session only the tenant bound by skilldb.tenant(),
-- so a tenant's row is created and read under its own binding.

-- name: create_tenant(name)^
-- Creates the row of the bound tenant (id = app.current_tenant_id) and returns it.
-- Raises SQLSTATE SK001 when no tenant is bound.
INSERT INTO tenants (id, name)
VALUES (current_tenant_id(), :name)
RETURNING id, name, created_at;

-- name: get_tenant()^
-- The bound tenant's row; no row when it has none. Raises SQLSTATE SK001 when no tenant is bound.
SELECT id, name, created_at
FROM tenants
WHERE id = current_tenant_id();
