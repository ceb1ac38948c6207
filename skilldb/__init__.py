"""skilldb: the query-first PostgreSQL data layer of a multi-tenant skills marketplace.

Bind a tenant, then call typed functions; each runs one named statement from
``queries/*.sql``::

    import psycopg, skilldb

    with psycopg.connect(url) as conn, skilldb.tenant(conn, tenant_id):
        skill = skilldb.create_skill(conn, author_id=None, name="Review", slug="review")
        full = skilldb.get_skill_with_relations(conn, skill.id)

``skilldb.aio`` holds the async twins (the same definitions, for
``psycopg.AsyncConnection``); ``skilldb.queries`` the raw aiosql functions.
"""

from skilldb import (
    aio,
    errors,
)
from skilldb._sql import MIGRATIONS_DIR, QUERIES_DIR, queries
from skilldb.migrate import apply_migrations, rollback_migrations
from skilldb.models import (
    NewRating,
    NewSkillVersion,
    Page,
    Rating,
    RatingWithRelations,
    RatingWithUser,
    Skill,
    SkillListItem,
    SkillUsage,
    SkillVersion,
    SkillVersionWithRelations,
    SkillWithRelations,
    Tenant,
    UsageEvent,
    UsageEventWithRelations,
    User,
    UserWithRelations,
    verify_content,
)
from skilldb.ratings import get_rating_with_relations
from skilldb.skill_versions import (
    create_skill_version,
    get_skill_version,
    get_skill_version_with_relations,
    list_skill_versions,
)
from skilldb.skills import (
    create_skill,
    get_skill,
    get_skill_by_slug,
    get_skill_with_relations,
    list_skills,
    list_skills_with_relations,
    publish_version,
    set_draft_version,
)
from skilldb.tenancy import tenant
from skilldb.tenants import create_tenant, get_tenant
from skilldb.usage_events import get_usage_event_with_relations
from skilldb.users import create_user, get_user, get_user_by_email, get_user_with_relations

__all__ = [
    "MIGRATIONS_DIR",
    "QUERIES_DIR",
    "NewRating",
    "NewSkillVersion",
    "Page",
    "Rating",
    "RatingWithRelations",
    "RatingWithUser",
    "Skill",
    "SkillListItem",
    "SkillUsage",
    "SkillVersion",
    "SkillVersionWithRelations",
    "SkillWithRelations",
    "Tenant",
    "UsageEvent",
    "UsageEventWithRelations",
    "User",
    "UserWithRelations",
    "aio",
    "apply_migrations",
    "create_skill",
    "create_skill_version",
    "create_tenant",
    "create_user",
    "errors",
    "get_rating_with_relations",
    "get_skill",
    "get_skill_by_slug",
    "get_skill_version",
    "get_skill_version_with_relations",
    "get_skill_with_relations",
    "get_tenant",
    "get_usage_event_with_relations",
    "get_user",
    "get_user_by_email",
    "get_user_with_relations",
    "list_skill_versions",
    "list_skills",
    "list_skills_with_relations",
    "publish_version",
    "queries",
    "rollback_migrations",
    "set_draft_version",
    "tenant",
    "verify_content",
]
