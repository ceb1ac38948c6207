"""skilldb: the query-first PostgreSQL data layer of a multi-tenant skills marketplace.

Bind a tenant, then call typed functions; each runs one named statement from
``queries/*.sql``::

    import psycopg, skilldb

    with psycopg.connect(url) as conn, skilldb.tenant(conn, tenant_id):
        skill = skilldb.create_skill(conn, author_id=None, name="Review", slug="review")
        full = skilldb.get_skill_with_relations(conn, skill.id)

    # one operation as the whole block: one round trip for a read, two for a write
    full = skilldb.tenant(conn, tenant_id).run(skilldb.get_skill_with_relations, skill_id)

``skilldb.aio`` holds the async twins (the same definitions, for
``psycopg.AsyncConnection``); ``skilldb.queries`` the raw aiosql functions.
"""

from typing import TYPE_CHECKING, Any

from skilldb import (
    aio,
    errors,
    workshops,
)
from skilldb._sql import MIGRATIONS_DIR, QUERIES_DIR, load_queries
from skilldb.migrate import apply_migrations, rollback_migrations
from skilldb.models import (
    NewRating,
    NewSkillMessage,
    NewSkillVersion,
    NewUsageEvent,
    Page,
    Rating,
    RatingWithRelations,
    RatingWithUser,
    Skill,
    SkillListItem,
    SkillMessage,
    SkillMessageWithRelations,
    SkillUsage,
    SkillVersion,
    SkillVersionWithRelations,
    SkillWithRelations,
    Tenant,
    UsageEvent,
    UsageEventWithRelations,
    User,
    UserWithRelations,
    format_rating,
    verify_content,
)
from skilldb.prompts import PromptImport, import_prompts
from skilldb.ratings import delete_rating, get_rating_with_relations, rate_skill
from skilldb.seed import SeedReport, seed
from skilldb.skill_messages import (
    get_messages_for_user,
    get_skill_message_with_relations,
    get_unread_count_for_user,
    mark_message_read,
    send_skill_message,
    update_message_status,
)
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
    increment_skill_uses,
    list_skills,
    list_skills_with_relations,
    publish_version,
    recompute_skill_metrics,
    set_draft_version,
    update_skill_rating,
)
from skilldb.tenancy import tenant
from skilldb.tenants import create_tenant, get_tenant
from skilldb.usage_events import get_usage_event_with_relations, record_usage_event, record_usage_events
from skilldb.users import create_user, get_user, get_user_by_email, get_user_with_relations

__all__ = [
    "MIGRATIONS_DIR",
    "QUERIES_DIR",
    "NewRating",
    "NewSkillMessage",
    "NewSkillVersion",
    "NewUsageEvent",
    "Page",
    "PromptImport",
    "Rating",
    "RatingWithRelations",
    "RatingWithUser",
    "SeedReport",
    "Skill",
    "SkillListItem",
    "SkillMessage",
    "SkillMessageWithRelations",
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
    "delete_rating",
    "errors",
    "format_rating",
    "get_messages_for_user",
    "get_rating_with_relations",
    "get_skill",
    "get_skill_by_slug",
    "get_skill_message_with_relations",
    "get_skill_version",
    "get_skill_version_with_relations",
    "get_skill_with_relations",
    "get_tenant",
    "get_unread_count_for_user",
    "get_usage_event_with_relations",
    "get_user",
    "get_user_by_email",
    "get_user_with_relations",
    "import_prompts",
    "increment_skill_uses",
    "list_skill_versions",
    "list_skills",
    "list_skills_with_relations",
    "mark_message_read",
    "publish_version",
    "queries",
    "rate_skill",
    "recompute_skill_metrics",
    "record_usage_event",
    "record_usage_events",
    "rollback_migrations",
    "seed",
    "send_skill_message",
    "set_draft_version",
    "tenant",
    "update_message_status",
    "update_skill_rating",
    "verify_content",
    "workshops",
]


if TYPE_CHECKING:
    from skilldb._raw_queries import SyncQueries

    # for type checkers: each query's parameters and rows (``skilldb stubs`` generates them)
    queries: SyncQueries


def __getattr__(name: str) -> Any:
    # ``skilldb.queries``: the raw aiosql functions, loaded on first use (see load_queries)
    if name == "queries":
        return load_queries("psycopg")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
