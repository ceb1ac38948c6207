"""A consumer of the raw aiosql functions (``skilldb.queries``, ``skilldb.aio.queries``),
type-checked with mypy --strict through the stub ``skilldb stubs`` generates, by
tests/integration/test_stubs.py (which also checks that misspelling a parameter here fails).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, assert_type

import psycopg

import skilldb
from skilldb import aio
from skilldb._raw_queries import GetSkillRow


def skill_name(conn: psycopg.Connection[tuple[object, ...]], tenant_id: str, skill_id: str) -> str | None:
    row = skilldb.queries.get_skill(conn, tenant_id=tenant_id, skill_id=skill_id)
    assert_type(row, GetSkillRow | None)
    if row is None:
        return None
    author_id: str | None = row[2]
    created: datetime = row[12]
    del author_id, created
    return row[3]


def tenant_row(conn: psycopg.Connection[tuple[object, ...]], tenant_id: str) -> tuple[str, str, datetime] | None:
    row = skilldb.queries.get_tenant(conn, tenant_id=tenant_id)
    assert_type(row, tuple[str, str, datetime] | None)
    return row


def slugs(conn: psycopg.Connection[tuple[object, ...]], tenant_id: str, category: str | None) -> list[str]:
    with skilldb.queries.list_skills_cursor(conn, tenant_id=tenant_id, category=category, limit=1) as cur:
        assert_type(cur, psycopg.Cursor[tuple[Any, ...]])
    return [row[4] for row in skilldb.queries.list_skills(conn, tenant_id=tenant_id, category=category, limit=10)]


def unread(conn: psycopg.Connection[tuple[object, ...]], tenant_id: str, user_id: str) -> int:
    count = skilldb.queries.count_unread_messages_for_user(conn, tenant_id=tenant_id, to_user_id=user_id)
    assert_type(count, int | None)
    return count or 0


def delete(conn: psycopg.Connection[tuple[object, ...]], tenant_id: str, rating_id: str) -> bool:
    deleted: int = skilldb.queries.delete_rating(conn, tenant_id=tenant_id, rating_id=rating_id)
    return deleted > 0


def workshop_title(conn: psycopg.Connection[tuple[object, ...]], workshop_id: str) -> str | None:
    row = skilldb.queries.workshops.get_workshop(conn, workshop_id=workshop_id)
    return None if row is None else row[2]


async def async_slugs(conn: psycopg.AsyncConnection[tuple[object, ...]], tenant_id: str) -> list[str]:
    rows = aio.queries.list_skills(conn, tenant_id=tenant_id, category=None, limit=10)
    return [row[4] async for row in rows]


async def async_skill(conn: psycopg.AsyncConnection[tuple[object, ...]], tenant_id: str, skill_id: str) -> str:
    row = await aio.queries.get_skill(conn, tenant_id=tenant_id, skill_id=skill_id)
    return "" if row is None else row[4]
