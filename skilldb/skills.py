"""Typed face of ``queries/skills.sql``: skills of the bound tenant."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.rows import class_row, dict_row, scalar_row

from skilldb import _cursor
from skilldb._sql import Call, every, first, operation, single
from skilldb.errors import InvalidInput, NotFound
from skilldb.models import Page, Skill, SkillListItem, SkillWithRelations

SKILL_FIELDS = tuple(f.name for f in dataclasses.fields(Skill))

__all__ = [
    "create_skill",
    "get_skill",
    "get_skill_by_slug",
    "get_skill_with_relations",
    "increment_skill_uses",
    "list_skills",
    "list_skills_with_relations",
    "publish_version",
    "recompute_skill_metrics",
    "set_draft_version",
    "update_skill_rating",
]

#: Most rows one list call returns.
MAX_LIMIT = 1000


@operation
def create_skill(
    *,
    author_id: str | None,
    name: str,
    slug: str,
    description: str | None = None,
    category: str | None = None,
) -> Call[Skill, Skill]:
    """Create a skill in the bound tenant, with no versions, and return it.

    SQL: ``queries/skills.sql`` ``create_skill``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param author_id: id of a user of the bound tenant, or ``None``.
    :param name: non-blank display name, at most 200 characters.
    :param slug: URL name, unique in the tenant: lowercase words joined by hyphens, at most 100 characters.
    :param description: free text (at most 100,000 characters), or ``None``.
    :param category: non-blank category (at most 100 characters), or ``None``.
    :return: the new :class:`Skill` (``total_uses`` 0, ``average_rating`` ``None``).
    :raises InvalidInput: blank name or category, malformed slug, text too long.
    :raises InvalidType: an argument of the wrong type (also a ``TypeError``).
    :raises AlreadyExists: the tenant already has a skill with this slug.
    :raises UnknownReference: ``author_id`` is no user of the bound tenant.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    params = {"author_id": author_id, "name": name, "slug": slug, "description": description, "category": category}
    return Call("create_skill", params, class_row(Skill), single)


@operation
def get_skill(skill_id: str) -> Call[Skill, Skill | None]:
    """The skill with ``skill_id`` in the bound tenant, or ``None``.

    SQL: ``queries/skills.sql`` ``get_skill``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param skill_id: the skill's id.
    :return: a :class:`Skill` or ``None``.
    :raises InvalidInput: ``skill_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call("get_skill", {"skill_id": skill_id}, class_row(Skill), first)


@operation
def get_skill_by_slug(slug: str) -> Call[Skill, Skill | None]:
    """The bound tenant's skill with ``slug``, or ``None``.

    SQL: ``queries/skills.sql`` ``get_skill_by_slug``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param slug: the skill's URL name.
    :return: a :class:`Skill` or ``None``.
    :raises InvalidInput: malformed slug.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call("get_skill_by_slug", {"slug": slug}, class_row(Skill), first)


@operation
def list_skills(*, category: str | None = None, limit: int = 100) -> Call[Skill, list[Skill]]:
    """The bound tenant's skills, oldest first (ties by id), at most ``limit``.

    SQL: ``queries/skills.sql`` ``list_skills``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param category: only skills in this category, when given.
    :param limit: 1 to 1000.
    :return: a list, empty when nothing matches.
    :raises InvalidInput: ``limit`` out of range, blank ``category``.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call("list_skills", {"category": category, "limit": limit}, class_row(Skill), every)


ORDERS = ("created_at", "total_uses", "average_rating")
#: Keys above every skill's: created_at is a moment before 9999-12-30, total_uses is
#: below 2**31 - 1 (a CHECK constraint), the rating sort key at most 500.
FIRST_PAGE_KEY: dict[str, Any] = {
    "created_at": datetime.max.replace(tzinfo=UTC),
    "total_uses": 2**31 - 1,
    "average_rating": 2**31 - 1,
}
#: Most skills one page of :func:`list_skills_with_relations` holds.
MAX_PAGE = 500


def _pointer(query: str, skill_id: str, version_id: str | None) -> Call[dict[str, Any], Skill]:
    def finish(rows: Sequence[dict[str, Any]], rowcount: int) -> Skill:
        row = rows[0]
        if row["id"] is not None:
            return Skill(**{k: row[k] for k in SKILL_FIELDS})
        if not row["skill_found"]:
            raise NotFound(f"skills: no skill {skill_id!r} in the bound tenant")
        if row["version_skill_id"] is None:
            raise NotFound(f"skill_versions: no version {version_id!r} in the bound tenant")
        raise InvalidInput(
            f"skill_versions: version {version_id!r} belongs to skill {row['version_skill_id']!r}, not to {skill_id!r}"
        )

    return Call(query, {"skill_id": skill_id, "version_id": version_id}, dict_row, finish)


@operation
def publish_version(skill_id: str, version_id: str) -> Call[dict[str, Any], Skill]:
    """Publish ``version_id``: point the skill's ``published_version_id`` at it; return the skill.

    SQL: ``queries/skills.sql`` ``publish_version`` (one statement). The database's
    composite foreign key rejects a version of another skill as well.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param skill_id: the skill's id.
    :param version_id: the id of one of its versions.
    :return: the updated :class:`Skill`.
    :raises NotFound: the bound tenant has no such skill, or no such version.
    :raises InvalidInput: the version belongs to another skill.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return _pointer("publish_version", skill_id, version_id)


@operation
def set_draft_version(skill_id: str, version_id: str | None) -> Call[dict[str, Any], Skill]:
    """Point the skill's ``draft_version_id`` at ``version_id`` (``None`` clears it); return the skill.

    SQL: ``queries/skills.sql`` ``set_draft_version`` (one statement).

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param skill_id: the skill's id.
    :param version_id: the id of one of its versions, or ``None``.
    :return: the updated :class:`Skill`.
    :raises NotFound: the bound tenant has no such skill, or no such version.
    :raises InvalidInput: the version belongs to another skill.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return _pointer("set_draft_version", skill_id, version_id)


@operation
def get_skill_with_relations(skill_id: str) -> Call[SkillWithRelations, SkillWithRelations | None]:
    """The skill with every relation, in one statement and one round trip.

    Relations: ``author`` (``None`` when unset), ``versions`` (newest first),
    ``published_version`` and ``draft_version`` (``None`` when unset), ``ratings``
    (newest first, each with its ``user``), ``usage`` (``total_uses``, ``last_used_at``).

    SQL: ``queries/skills.sql`` ``get_skill_with_relations``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param skill_id: the skill's id.
    :return: a :class:`SkillWithRelations`, or ``None`` when absent.
    :raises InvalidInput: ``skill_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call.nested("get_skill_with_relations", {"skill_id": skill_id}, SkillWithRelations, first)


def _encode_cursor(order_by: str, item: SkillListItem) -> str:
    key: Any
    if order_by == "created_at":
        key = item.created_at
    elif order_by == "total_uses":
        key = item.total_uses
    else:
        key = item.average_rating or 0
    return _cursor.encode(order_by, key, item.id)


def _decode_cursor(order_by: str, cursor: str) -> tuple[Any, str]:
    """The (key, id) a cursor of :func:`list_skills_with_relations` holds, checked for ``order_by``."""
    name = "list_skills_with_relations"
    key, after_id = _cursor.decode(order_by, cursor, name)
    if order_by == "created_at":
        return _cursor.moment(key, cursor, name), after_id
    if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= FIRST_PAGE_KEY[order_by]:
        raise InvalidInput(f"after is not a cursor returned by {name}: {cursor[:80]!r}")
    return key, after_id


@operation
def list_skills_with_relations(
    *,
    order_by: str = "created_at",
    limit: int = 50,
    after: str | None = None,
) -> Call[SkillListItem, Page[SkillListItem]]:
    """A page of the bound tenant's skills, each with ``author`` and ``published_version``.

    Keyset pagination (no OFFSET): pass the returned ``next_cursor`` as ``after`` for
    the next page; every skill appears exactly once across pages, ties broken by id.

    SQL: ``queries/skills.sql`` ``list_skills_with_relations_by_<order_by>`` (one
    statement, an index range scan at any depth).

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param order_by: ``"created_at"`` (newest first), ``"total_uses"`` (most used
        first) or ``"average_rating"`` (best rated first, unrated last).
    :param limit: skills per page, 1 to 500.
    :param after: ``next_cursor`` of the previous page, ``None`` for the first.
    :return: a :class:`Page` of :class:`SkillListItem`; ``next_cursor`` is ``None``
        on the last page.
    :raises InvalidInput: unknown ``order_by``, ``limit`` out of range, a malformed
        cursor or one made for another ``order_by``.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    if order_by not in ORDERS:
        raise InvalidInput(f"order_by must be one of {', '.join(ORDERS)}; got {order_by!r}")
    if limit > MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}, got {limit!r}")
    # the first page starts after a key greater than any skill's (see migration 0009)
    after_key, after_id = (FIRST_PAGE_KEY[order_by], "") if after is None else _decode_cursor(order_by, after)

    def finish(rows: Sequence[SkillListItem], rowcount: int) -> Page[SkillListItem]:
        items = list(rows[:limit])
        more = len(rows) > limit
        return Page(items=items, next_cursor=_encode_cursor(order_by, items[-1]) if more else None)

    # one row more than asked tells whether another page follows
    params = {"after_key": after_key, "after_id": after_id, "limit": limit + 1}
    return Call.nested(f"list_skills_with_relations_by_{order_by}", params, SkillListItem, finish)


def _no_skill(skill_id: str) -> NotFound:
    return NotFound(f"skills: no skill {skill_id!r} in the bound tenant")


@operation
def increment_skill_uses(skill_id: str) -> Call[int | None, int]:
    """Add one use to the skill without recording an event; return the new ``total_uses``.

    One atomic ``UPDATE skills SET total_uses = coalesce(total_uses, 0) + 1 ... RETURNING``
    (relative to the row, so concurrent callers never lose an increment), which also
    touches ``updated_at``. :func:`skilldb.record_usage_event` records an event and counts it.

    SQL: ``queries/skills.sql`` ``increment_skill_uses`` (the database function
    ``increment_skill_uses(tenant, skill)``, migration 0010).

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param skill_id: a skill of the bound tenant.
    :return: the skill's new ``total_uses``.
    :raises NotFound: the bound tenant has no such skill.
    :raises InvalidInput: ``skill_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """

    def finish(rows: Sequence[int | None], rowcount: int) -> int:
        if rows[0] is None:
            raise _no_skill(skill_id)
        return rows[0]

    return Call("increment_skill_uses", {"skill_id": skill_id}, scalar_row, finish)


@operation
def update_skill_rating(skill_id: str) -> Call[dict[str, Any], int | None]:
    """Recompute the skill's ``average_rating`` from its ratings and return the stored value.

    The rating metrics are kept by the database on every rating change (see
    :func:`skilldb.rate_skill`); this rebuilds them from the ratings table, after locking
    the skill's row so that no concurrent rating is missed.

    SQL: ``queries/skills.sql`` ``update_skill_rating`` (the database function
    ``update_skill_rating(tenant, skill)``, migration 0010).

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param skill_id: a skill of the bound tenant.
    :return: ``round(avg(rating) * 100)`` (stars x 100, 450 is 4.5 stars), ``None`` when unrated.
    :raises NotFound: the bound tenant has no such skill.
    :raises InvalidInput: ``skill_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """

    def finish(rows: Sequence[dict[str, Any]], rowcount: int) -> int | None:
        if not rows[0]["skill_found"]:
            raise _no_skill(skill_id)
        average: int | None = rows[0]["new_average_rating"]
        return average

    return Call("update_skill_rating", {"skill_id": skill_id}, dict_row, finish)


@operation
def recompute_skill_metrics(skill_id: str | None = None) -> Call[int, int]:
    """Rebuild ``total_uses`` (from usage events) and the rating metrics (from ratings).

    For one skill, or every skill of the bound tenant when ``skill_id`` is ``None``: the
    repair for a DBA after manual edits. Skills are locked before the raw tables are read.
    ``increment_skill_uses`` adds uses without events, which a rebuild drops.

    SQL: ``queries/skills.sql`` ``recompute_skill_metrics`` (the database function
    ``recompute_skill_metrics(tenant, skill)``, migration 0010).

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param skill_id: one skill of the bound tenant, or ``None`` for all.
    :return: the number of skills whose metrics changed (0 when none did, or no such skill).
    :raises InvalidInput: ``skill_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call("recompute_skill_metrics", {"skill_id": skill_id}, scalar_row, single)
