-- Drop users, tenants and the tenant-binding helper.

DROP TABLE users;
DROP TABLE tenants;
DROP FUNCTION current_tenant_id();
