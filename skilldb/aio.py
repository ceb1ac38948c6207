"""Async twins of the public functions, for ``psycopg.AsyncConnection``.

Each runs the same named SQL as its sync twin (one ``queries/*.sql`` definition
serves both, through aiosql's ``apsycopg`` adapter) and shares its validation, row
mapping and error translation: only the ``await`` differs. Arguments, results and
errors are those of the sync function of the same name in :mod:`skilldb`.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from skilldb import skills as _skills
from skilldb import tenants as _tenants
from skilldb import users as _users
from skilldb._sql import aio_queries as queries
from skilldb._sql import arun
from skilldb.models import Skill, Tenant, User
from skilldb.tenancy import atenant as tenant

__all__ = [
    "create_skill",
    "create_tenant",
    "create_user",
    "get_skill",
    "get_skill_by_slug",
    "get_tenant",
    "get_user",
    "get_user_by_email",
    "list_skills",
    "queries",
    "tenant",
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
