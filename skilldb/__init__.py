"""skilldb: the query-first PostgreSQL data layer of a multi-tenant skills marketplace.

Bind a tenant, then call typed functions; each runs one named statement from
``queries/*.sql``::

    import psycopg, skilldb

    with psycopg.connect(url) as conn, skilldb.tenant(conn, tenant_id):
        skill = skilldb.create_skill(conn, author_id=None, name="Review", slug="review")

``skilldb.aio`` holds the async twins; ``skilldb.queries`` the raw aiosql functions.
"""

from skilldb import errors
from skilldb._sql import MIGRATIONS_DIR, QUERIES_DIR, queries
from skilldb.migrate import apply_migrations, rollback_migrations
from skilldb.models import Skill, Tenant, User
from skilldb.skills import create_skill, get_skill, get_skill_by_slug, list_skills
from skilldb.tenancy import tenant
from skilldb.tenants import create_tenant, get_tenant
from skilldb.users import create_user, get_user, get_user_by_email

__all__ = [
    "MIGRATIONS_DIR",
    "QUERIES_DIR",
    "Skill",
    "Tenant",
    "User",
    "apply_migrations",
    "create_skill",
    "create_tenant",
    "create_user",
    "errors",
    "get_skill",
    "get_skill_by_slug",
    "get_tenant",
    "get_user",
    "get_user_by_email",
    "list_skills",
    "queries",
    "rollback_migrations",
    "tenant",
]
