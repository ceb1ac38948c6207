-- users: people in a tenant. Rows of other tenants are invisible (row-level security);
-- tenant_id defaults to the bound tenant, and every query raises SQLSTATE SK001
-- (skilldb.errors.TenantRequired) when no tenant is bound.

-- name: create_user(email, name)^
-- Creates a user in the bound tenant and returns it. Emails are unique per tenant, ignoring case.
INSERT INTO users (email, name)
VALUES (:email, :name)
RETURNING id, tenant_id, email, name, created_at;

-- name: get_user(user_id)^
-- The bound tenant's user with this id; no row when there is none.
SELECT id, tenant_id, email, name, created_at
FROM users
WHERE tenant_id = current_tenant_id()
    AND id = :user_id;

-- name: get_user_by_email(email)^
-- The user with this email, compared ignoring case; no row when none is visible.
SELECT id, tenant_id, email, name, created_at
FROM users
WHERE tenant_id = current_tenant_id()
    AND lower(email) = lower(:email);
