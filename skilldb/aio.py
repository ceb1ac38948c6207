"""Async twins of the public functions, for ``psycopg.AsyncConnection``.

Each runs the same named SQL as its sync twin (one ``queries/*.sql`` definition
serves both, through aiosql's ``apsycopg`` adapter) and shares its validation, row
mapping and error translation: only the ``await`` differs. Arguments, results and
errors are those of the sync function of the same name in :mod:`skilldb`.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from skilldb import ratings as _ratings
from skilldb import skill_versions as _versions
from skilldb import skills as _skills
from skilldb import tenants as _tenants
from skilldb import usage_events as _events
from skilldb import users as _users
from skilldb._sql import aio_queries as queries
from skilldb._sql import arun
from skilldb.models import (
    Page,
    RatingWithRelations,
    Skill,
    SkillListItem,
    SkillVersion,
    SkillVersionWithRelations,
    SkillWithRelations,
    Tenant,
    UsageEventWithRelations,
    User,
    UserWithRelations,
    verify_content,
)
from skilldb.tenancy import atenant as tenant

__all__ = [
    "create_skill",
    "create_skill_version",
    "create_tenant",
    "create_user",
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
    "set_draft_version",
    "tenant",
    "verify_content",
]

Conn = AsyncConnection[Any]


async def create_tenant(conn: Conn, *, name: str) -> Tenant:
    """Async :func:`skilldb.create_tenant` (``queries/tenants.sql`` ``create_tenant``)."""
    return await arun(conn, _tenants._create_tenant(name))


async def get_tenant(conn: Conn) -> Tenant | None:
    """Async :func:`skilldb.get_tenant` (``queries/tenants.sql`` ``get_tenant``)."""
    return await arun(conn, _tenants._get_tenant())


async def create_user(conn: Conn, *, email: str, name: str | None = None) -> User:
    """Async :func:`skilldb.create_user` (``queries/users.sql`` ``create_user``)."""
    return await arun(conn, _users._create_user(email, name))


async def get_user(conn: Conn, user_id: str) -> User | None:
    """Async :func:`skilldb.get_user` (``queries/users.sql`` ``get_user``)."""
    return await arun(conn, _users._get_user(user_id))


async def get_user_by_email(conn: Conn, email: str) -> User | None:
    """Async :func:`skilldb.get_user_by_email` (``queries/users.sql`` ``get_user_by_email``)."""
    return await arun(conn, _users._get_user_by_email(email))


async def create_skill(
    conn: Conn,
    *,
    author_id: str | None,
    name: str,
    slug: str,
    description: str | None = None,
    category: str | None = None,
) -> Skill:
    """Async :func:`skilldb.create_skill` (``queries/skills.sql`` ``create_skill``)."""
    return await arun(conn, _skills._create_skill(author_id, name, slug, description, category))


async def get_skill(conn: Conn, skill_id: str) -> Skill | None:
    """Async :func:`skilldb.get_skill` (``queries/skills.sql`` ``get_skill``)."""
    return await arun(conn, _skills._get_skill(skill_id))


async def get_skill_by_slug(conn: Conn, slug: str) -> Skill | None:
    """Async :func:`skilldb.get_skill_by_slug` (``queries/skills.sql`` ``get_skill_by_slug``)."""
    return await arun(conn, _skills._get_skill_by_slug(slug))


async def list_skills(conn: Conn, *, category: str | None = None, limit: int = 100) -> list[Skill]:
    """Async :func:`skilldb.list_skills` (``queries/skills.sql`` ``list_skills``)."""
    return await arun(conn, _skills._list_skills(category, limit))


async def create_skill_version(
    conn: Conn,
    skill_id: str,
    *,
    content: bytes,
    content_url: str,
    content_type: str,
    created_by: str,
    name: str | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> SkillVersion:
    """Async :func:`skilldb.create_skill_version` (``queries/skill_versions.sql`` ``create_skill_version``)."""
    call = _versions._create_skill_version(
        skill_id,
        content=content,
        content_url=content_url,
        content_type=content_type,
        created_by=created_by,
        name=name,
        description=description,
        metadata=metadata,
    )
    return await arun(conn, call)


async def get_skill_version(conn: Conn, version_id: str) -> SkillVersion | None:
    """Async :func:`skilldb.get_skill_version` (``queries/skill_versions.sql`` ``get_skill_version``)."""
    return await arun(conn, _versions._get_skill_version(version_id))


async def list_skill_versions(conn: Conn, skill_id: str) -> list[SkillVersion]:
    """Async :func:`skilldb.list_skill_versions` (``queries/skill_versions.sql`` ``list_skill_versions``)."""
    return await arun(conn, _versions._list_skill_versions(skill_id))


async def get_skill_version_with_relations(conn: Conn, version_id: str) -> SkillVersionWithRelations | None:
    """Async :func:`skilldb.get_skill_version_with_relations` (same SQL)."""
    return await arun(conn, _versions._get_skill_version_with_relations(version_id))


async def publish_version(conn: Conn, skill_id: str, version_id: str) -> Skill:
    """Async :func:`skilldb.publish_version` (``queries/skills.sql`` ``publish_version``)."""
    return await arun(conn, _skills._pointer("publish_version", skill_id, version_id))


async def set_draft_version(conn: Conn, skill_id: str, version_id: str | None) -> Skill:
    """Async :func:`skilldb.set_draft_version` (``queries/skills.sql`` ``set_draft_version``)."""
    return await arun(conn, _skills._pointer("set_draft_version", skill_id, version_id))


async def get_skill_with_relations(conn: Conn, skill_id: str) -> SkillWithRelations | None:
    """Async :func:`skilldb.get_skill_with_relations` (``queries/skills.sql`` ``get_skill_with_relations``)."""
    return await arun(conn, _skills._get_skill_with_relations(skill_id))


async def list_skills_with_relations(
    conn: Conn, *, order_by: str = "created_at", limit: int = 50, after: str | None = None
) -> Page[SkillListItem]:
    """Async :func:`skilldb.list_skills_with_relations` (``queries/skills.sql`` ``list_skills_with_relations_by_*``)."""
    return await arun(conn, _skills._list_skills_with_relations(order_by, limit, after))


async def get_rating_with_relations(conn: Conn, rating_id: str) -> RatingWithRelations | None:
    """Async :func:`skilldb.get_rating_with_relations` (``queries/ratings.sql`` ``get_rating_with_relations``)."""
    return await arun(conn, _ratings._get_rating_with_relations(rating_id))


async def get_user_with_relations(conn: Conn, user_id: str) -> UserWithRelations | None:
    """Async :func:`skilldb.get_user_with_relations` (``queries/users.sql`` ``get_user_with_relations``)."""
    return await arun(conn, _users._get_user_with_relations(user_id))


async def get_usage_event_with_relations(conn: Conn, event_id: str) -> UsageEventWithRelations | None:
    """Async :func:`skilldb.get_usage_event_with_relations` (same SQL as the sync twin)."""
    return await arun(conn, _events._get_usage_event_with_relations(event_id))
