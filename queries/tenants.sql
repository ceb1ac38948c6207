-- tenants: the organisations using the marketplace.
-- The package passes the tenant bound by skilldb.tenant() as :tenant_id. Row-level
-- security, which reads app.current_tenant_id, is a second wall: it shows a session
-- only the bound tenant's row, so a :tenant_id that differs from the bound tenant
-- matches no row, and creating one is refused.

-- name: create_tenant(tenant_id, name)^
-- Creates the row of tenant :tenant_id (the bound tenant) and returns it.
INSERT INTO tenants (id, name)
VALUES (:tenant_id, :name)
RETURNING id, name, created_at;

-- name: get_tenant(tenant_id)^
-- The row of tenant :tenant_id (the bound tenant); no row when it has none.
SELECT id, name, created_at
FROM tenants
WHERE id = :tenant_id;
