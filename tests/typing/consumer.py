"""A short consumer of the public API, type-checked with mypy --strict by tests/unit/test_typing.py."""

from __future__ import annotations

from datetime import datetime

import psycopg

import skilldb
from skilldb import aio
from skilldb.errors import NotFound, SkillDBError


def newest_version_number(conn: psycopg.Connection[tuple[object, ...]], tenant_id: str, skill_id: str) -> int:
    with skilldb.tenant(conn, tenant_id):
        skill = skilldb.get_skill_with_relations(conn, skill_id)
        if skill is None:
            raise NotFound(skill_id)
        created: datetime = skill.created_at
        stars: float | None = None if skill.average_rating is None else skill.average_rating / 100
        del created, stars
        author_email: str | None = skill.author.email if skill.author else None
        del author_email
        for rating in skill.ratings:
            user_name: str | None = rating.user.name if rating.user else None
            del user_name
        last: datetime | None = skill.usage.last_used_at
        del last
        return skill.versions[0].version if skill.versions else 0


def all_slugs(conn: psycopg.Connection[tuple[object, ...]], tenant_id: str) -> list[str]:
    slugs: list[str] = []
    after: str | None = None
    with skilldb.tenant(conn, tenant_id):
        while True:
            page: skilldb.Page[skilldb.SkillListItem] = skilldb.list_skills_with_relations(
                conn, order_by="total_uses", limit=100, after=after
            )
            slugs += [item.slug for item in page.items]
            if page.next_cursor is None:
                return slugs
            after = page.next_cursor


async def publish_latest(conn: psycopg.AsyncConnection[tuple[object, ...]], tenant_id: str, skill_id: str) -> str:
    try:
        async with aio.tenant(conn, tenant_id):
            versions = await aio.list_skill_versions(conn, skill_id)
            skill = await aio.publish_version(conn, skill_id, versions[0].id)
            published: str | None = skill.published_version_id
            return published or ""
    except SkillDBError as exc:
        return str(exc)


def one_request(conn: psycopg.Connection[tuple[object, ...]], tenant_id: str, skill_id: str) -> str | None:
    skill = skilldb.tenant(conn, tenant_id).run(skilldb.get_skill_with_relations, skill_id)
    return skill.published_version.id if skill and skill.published_version else None


async def one_async_request(conn: psycopg.AsyncConnection[tuple[object, ...]], tenant_id: str) -> list[str]:
    page = await aio.tenant(conn, tenant_id).run(aio.list_skills_with_relations, order_by="created_at", limit=10)
    return [item.slug for item in page.items]
