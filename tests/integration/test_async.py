"""The async API: the same SQL and behaviour through psycopg.AsyncConnection."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

import skilldb
from skilldb import aio, errors


@pytest.mark.asyncio
async def test_async_round_trip_matches_sync(aapp_conn: psycopg.AsyncConnection[Any], db: Any) -> None:
    tenant_id = str(uuid.uuid4())
    async with aio.tenant(aapp_conn, tenant_id):
        tenant = await aio.create_tenant(aapp_conn, name="Async")
        user = await aio.create_user(aapp_conn, email="a@example.com", name="A")
        skill = await aio.create_skill(aapp_conn, author_id=user.id, name="S", slug="s", category="c")
    async with aio.tenant(aapp_conn, tenant_id):
        assert await aio.get_tenant(aapp_conn) == tenant
        assert await aio.get_user(aapp_conn, user.id) == user
        assert await aio.get_user_by_email(aapp_conn, "A@example.com") == user
        assert await aio.get_skill(aapp_conn, skill.id) == skill
        assert await aio.get_skill_by_slug(aapp_conn, "s") == skill
        assert await aio.list_skills(aapp_conn, category="c") == [skill]
    with psycopg.connect(db.app_url) as conn, skilldb.tenant(conn, tenant_id):
        assert skilldb.get_skill(conn, skill.id) == skill
        assert skilldb.list_skills(conn) == [skill]


@pytest.mark.asyncio
async def test_async_errors_are_translated(aapp_conn: psycopg.AsyncConnection[Any]) -> None:
    with pytest.raises(errors.TenantRequired):
        await aio.list_skills(aapp_conn)
    await aapp_conn.rollback()
    tenant_id = str(uuid.uuid4())
    async with aio.tenant(aapp_conn, tenant_id):
        await aio.create_tenant(aapp_conn, name="T")
        await aio.create_skill(aapp_conn, author_id=None, name="S", slug="s")
    with pytest.raises(errors.AlreadyExists):
        async with aio.tenant(aapp_conn, tenant_id):
            await aio.create_skill(aapp_conn, author_id=None, name="S", slug="s")
    with pytest.raises(errors.InvalidInput):
        async with aio.tenant(aapp_conn, tenant_id):
            await aio.create_skill(aapp_conn, author_id=None, name="S", slug="Bad Slug")
    async with aio.tenant(aapp_conn, tenant_id):
        assert len(await aio.list_skills(aapp_conn)) == 1
