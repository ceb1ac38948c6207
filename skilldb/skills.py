"""Typed face of ``queries/skills.sql``: skills of the bound tenant."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import class_row

from skilldb import _validate
from skilldb._sql import Call, every, first, run, single
from skilldb.models import Skill

__all__ = ["create_skill", "get_skill", "get_skill_by_slug", "list_skills"]

#: Most rows one list call returns.
MAX_LIMIT = 1000


def _create_skill(
    author_id: str | None, name: str, slug: str, description: str | None, category: str | None
) -> Call[Skill, Skill]:
    params = {
        "author_id": _validate.optional_text("author_id", author_id),
        "name": _validate.text("name", name),
        "slug": _validate.slug(slug),
        "description": description,
        "category": _validate.optional_text("category", category),
    }
    return Call("create_skill", params, class_row(Skill), single)


def _get_skill(skill_id: str) -> Call[Skill, Skill | None]:
    return Call("get_skill", {"skill_id": _validate.text("skill_id", skill_id)}, class_row(Skill), first)


def _get_skill_by_slug(slug: str) -> Call[Skill, Skill | None]:
    return Call("get_skill_by_slug", {"slug": _validate.slug(slug)}, class_row(Skill), first)


def _list_skills(category: str | None, limit: int) -> Call[Skill, list[Skill]]:
    params = {
        "category": _validate.optional_text("category", category),
        "limit": _validate.positive_int("limit", limit, maximum=MAX_LIMIT),
    }
    return Call("list_skills", params, class_row(Skill), every)


def create_skill(
    conn: psycopg.Connection[Any],
    *,
    author_id: str | None,
    name: str,
    slug: str,
    description: str | None = None,
    category: str | None = None,
) -> Skill:
    """Create a skill in the bound tenant, with no versions, and return it.

    SQL: ``queries/skills.sql`` ``create_skill``.

    :param author_id: id of a user of the bound tenant, or ``None``.
    :param name: non-blank display name.
    :param slug: URL name, unique in the tenant: lowercase words joined by hyphens.
    :param description: free text, or ``None``.
    :param category: non-blank category, or ``None``.
    :return: the new :class:`Skill` (``total_uses`` 0, ``average_rating`` ``None``).
    :raises InvalidInput: blank name or category, malformed slug.
    :raises AlreadyExists: the tenant already has a skill with this slug.
    :raises UnknownReference: ``author_id`` is no user of the bound tenant.
    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _create_skill(author_id, name, slug, description, category))


def get_skill(conn: psycopg.Connection[Any], skill_id: str) -> Skill | None:
    """The skill with ``skill_id`` in the bound tenant, or ``None``.

    SQL: ``queries/skills.sql`` ``get_skill``.

    :raises InvalidInput: ``skill_id`` is blank.
    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _get_skill(skill_id))


def get_skill_by_slug(conn: psycopg.Connection[Any], slug: str) -> Skill | None:
    """The bound tenant's skill with ``slug``, or ``None``.

    SQL: ``queries/skills.sql`` ``get_skill_by_slug``.

    :raises InvalidInput: malformed slug.
    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _get_skill_by_slug(slug))


def list_skills(
    conn: psycopg.Connection[Any], *, category: str | None = None, limit: int = 100
) -> list[Skill]:
    """The bound tenant's skills, oldest first (ties by id), at most ``limit``.

    SQL: ``queries/skills.sql`` ``list_skills``.

    :param category: only skills in this category, when given.
    :param limit: 1 to 1000.
    :return: a list, empty when nothing matches.
    :raises InvalidInput: ``limit`` out of range, blank ``category``.
    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _list_skills(category, limit))
