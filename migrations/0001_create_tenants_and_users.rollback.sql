-- Drop users, tenants, the tenant-binding helper and the domains.

DROP TABLE users;
DROP TABLE tenants;
DROP FUNCTION current_tenant_id();
DROP DOMAIN moment;
DROP DOMAIN key_text;
