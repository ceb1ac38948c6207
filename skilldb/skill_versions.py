"""Typed face of ``queries/skill_versions.sql``: immutable, numbered versions of a skill."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from skilldb import _validate
from skilldb._sql import Call, every, first, one_or, run
from skilldb.errors import NotFound
from skilldb.models import NewSkillVersion, SkillVersion, SkillVersionWithRelations, verify_content

__all__ = [
    "create_skill_version",
    "get_skill_version",
    "get_skill_version_with_relations",
    "list_skill_versions",
    "verify_content",
]


def _create_skill_version(
    skill_id: str,
    *,
    content: bytes,
    content_url: str,
    content_type: str,
    created_by: str,
    name: str | None,
    description: str | None,
    metadata: dict[str, Any] | None,
) -> Call[SkillVersion, SkillVersion]:
    skill_id = _validate.text("skill_id", skill_id)
    new = NewSkillVersion(
        content=_validate.content(content),
        content_url=_validate.text("content_url", content_url),
        content_type=_validate.content_type(content_type),
        created_by=_validate.text("created_by", created_by),
        name=_validate.optional_text("name", name),
        description=description,
        metadata=_validate.json_object("metadata", metadata),
    )
    params = {
        "skill_id": skill_id,
        "content_url": new.content_url,
        "content_hash": new.content_hash,
        "content_type": new.content_type,
        "name": new.name,
        "description": new.description,
        "metadata": None if new.metadata is None else Jsonb(new.metadata),
        "created_by": new.created_by,
    }
    missing = one_or(lambda: NotFound(f"skills: no skill {skill_id!r} in the bound tenant"))
    return Call("create_skill_version", params, class_row(SkillVersion), missing)


def _get_skill_version(version_id: str) -> Call[SkillVersion, SkillVersion | None]:
    params = {"version_id": _validate.text("version_id", version_id)}
    return Call("get_skill_version", params, class_row(SkillVersion), first)


def _list_skill_versions(skill_id: str) -> Call[SkillVersion, list[SkillVersion]]:
    params = {"skill_id": _validate.text("skill_id", skill_id)}
    return Call("list_skill_versions", params, class_row(SkillVersion), every)


def _get_skill_version_with_relations(
    version_id: str,
) -> Call[SkillVersionWithRelations, SkillVersionWithRelations | None]:
    params = {"version_id": _validate.text("version_id", version_id)}
    return Call.nested("get_skill_version_with_relations", params, SkillVersionWithRelations, first)


def create_skill_version(
    conn: psycopg.Connection[Any],
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
    """Create the skill's next version (1, 2, 3 ...) and return it.

    The number is taken by a trigger that locks the skill's row, so concurrent callers
    on one skill get distinct, consecutive numbers with no gaps. The skill's version
    pointers are left alone (see :func:`skilldb.publish_version`).

    SQL: ``queries/skill_versions.sql`` ``create_skill_version`` (one ``INSERT ... SELECT``).

    :param skill_id: a skill of the bound tenant.
    :param content: the content's bytes; only their SHA-256 is stored (``content_hash``).
    :param content_url: the object-store key where the content lives.
    :param content_type: lowercase MIME type, e.g. ``text/markdown``, ``application/json``.
    :param created_by: id of a user of the bound tenant.
    :param name: snapshot name; the skill's current name when ``None``.
    :param description: snapshot description; the skill's current one when ``None``.
    :param metadata: json object of format-specific data; ``{}`` when ``None``.
    :return: the new :class:`SkillVersion`.
    :raises NotFound: the bound tenant has no skill ``skill_id``.
    :raises UnknownReference: ``created_by`` is no user of the bound tenant.
    :raises InvalidInput: content not bytes, blank url, malformed content type, ...
    :raises TenantRequired: no tenant is bound.
    """
    call = _create_skill_version(
        skill_id,
        content=content,
        content_url=content_url,
        content_type=content_type,
        created_by=created_by,
        name=name,
        description=description,
        metadata=metadata,
    )
    return run(conn, call)


def get_skill_version(conn: psycopg.Connection[Any], version_id: str) -> SkillVersion | None:
    """The bound tenant's version ``version_id``, or ``None``.

    SQL: ``queries/skill_versions.sql`` ``get_skill_version``.

    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _get_skill_version(version_id))


def list_skill_versions(conn: psycopg.Connection[Any], skill_id: str) -> list[SkillVersion]:
    """Every version of the skill, highest number first (``[]`` when none or no such skill).

    SQL: ``queries/skill_versions.sql`` ``list_skill_versions``.

    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _list_skill_versions(skill_id))


def get_skill_version_with_relations(
    conn: psycopg.Connection[Any], version_id: str
) -> SkillVersionWithRelations | None:
    """The version with its ``skill`` and ``created_by_user``, in one statement; ``None`` if absent.

    SQL: ``queries/skill_versions.sql`` ``get_skill_version_with_relations``.

    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _get_skill_version_with_relations(version_id))
