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


@pytest.mark.asyncio
async def test_every_versioned_and_nested_function_through_the_async_api(
    aapp_conn: psycopg.AsyncConnection[Any], db: Any
) -> None:
    tenant_id = str(uuid.uuid4())
    async with aio.tenant(aapp_conn, tenant_id):
        await aio.create_tenant(aapp_conn, name="Async")
        user = await aio.create_user(aapp_conn, email="a@example.com")
        skill = await aio.create_skill(aapp_conn, author_id=user.id, name="S", slug="s")
        other = await aio.create_skill(aapp_conn, author_id=None, name="O", slug="o")
        v1 = await aio.create_skill_version(
            aapp_conn, skill.id, content=b"one", content_url="k1", content_type="text/markdown", created_by=user.id
        )
        v2 = await aio.create_skill_version(
            aapp_conn,
            skill.id,
            content=b"two",
            content_url="k2",
            content_type="application/json",
            created_by=user.id,
            metadata={"a": 1},
        )
        ov = await aio.create_skill_version(
            aapp_conn, other.id, content=b"o", content_url="k3", content_type="text/plain", created_by=user.id
        )
        assert (v1.version, v2.version, ov.version) == (1, 2, 1)
        assert aio.verify_content(v2, b"two")
        assert (await aio.publish_version(aapp_conn, skill.id, v2.id)).published_version_id == v2.id
        assert (await aio.set_draft_version(aapp_conn, skill.id, v1.id)).draft_version_id == v1.id
        rating_id = (
            await (
                await aapp_conn.execute(
                    "INSERT INTO ratings (skill_id, user_id, rating) VALUES (%s, %s, 5) RETURNING id",
                    (skill.id, user.id),
                )
            ).fetchone()
        )[0]  # type: ignore[index]
        event_id = (
            await (
                await aapp_conn.execute(
                    "INSERT INTO usage_events (skill_id, user_id) VALUES (%s, %s) RETURNING id", (skill.id, user.id)
                )
            ).fetchone()
        )[0]  # type: ignore[index]
    with pytest.raises(errors.InvalidInput):
        async with aio.tenant(aapp_conn, tenant_id):
            await aio.publish_version(aapp_conn, skill.id, ov.id)
    with pytest.raises(errors.NotFound):
        async with aio.tenant(aapp_conn, tenant_id):
            await aio.create_skill_version(
                aapp_conn, "nope", content=b"", content_url="k", content_type="text/plain", created_by=user.id
            )

    async with aio.tenant(aapp_conn, tenant_id):
        got = {
            "skill": await aio.get_skill_with_relations(aapp_conn, skill.id),
            "page": await aio.list_skills_with_relations(aapp_conn, limit=1),
            "version": await aio.get_skill_version_with_relations(aapp_conn, v1.id),
            "rating": await aio.get_rating_with_relations(aapp_conn, rating_id),
            "user": await aio.get_user_with_relations(aapp_conn, user.id),
            "event": await aio.get_usage_event_with_relations(aapp_conn, event_id),
            "versions": await aio.list_skill_versions(aapp_conn, skill.id),
            "one": await aio.get_skill_version(aapp_conn, v2.id),
        }
        page2 = await aio.list_skills_with_relations(aapp_conn, limit=1, after=got["page"].next_cursor)
    with psycopg.connect(db.app_url) as conn, skilldb.tenant(conn, tenant_id):
        first = skilldb.list_skills_with_relations(conn, limit=1)
        assert got == {
            "skill": skilldb.get_skill_with_relations(conn, skill.id),
            "page": first,
            "version": skilldb.get_skill_version_with_relations(conn, v1.id),
            "rating": skilldb.get_rating_with_relations(conn, rating_id),
            "user": skilldb.get_user_with_relations(conn, user.id),
            "event": skilldb.get_usage_event_with_relations(conn, event_id),
            "versions": skilldb.list_skill_versions(conn, skill.id),
            "one": skilldb.get_skill_version(conn, v2.id),
        }
        assert page2 == skilldb.list_skills_with_relations(conn, limit=1, after=first.next_cursor)
    assert got["skill"] is not None and [v.id for v in got["skill"].versions] == [v2.id, v1.id]
    assert {first.items[0].id, page2.items[0].id} == {skill.id, other.id}
