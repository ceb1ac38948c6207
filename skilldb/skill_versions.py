"""Typed face of ``queries/skill_versions.sql``: immutable, numbered versions of a skill."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from skilldb._sql import Call, every, first, one_or, operation
from skilldb.errors import NotFound
from skilldb.models import SkillVersion, SkillVersionWithRelations, sha256_hex

__all__ = [
    "create_skill_version",
    "get_skill_version",
    "get_skill_version_with_relations",
    "list_skill_versions",
]


@operation
def create_skill_version(
    skill_id: str,
    *,
    content: bytes,
    content_url: str,
    content_type: str,
    created_by: str,
    name: str | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Call[SkillVersion, SkillVersion]:
    """Create the skill's next version (1, 2, 3 ...) and return it.

    The number is taken by a trigger that locks the skill's row, so concurrent callers
    on one skill get distinct, consecutive numbers with no gaps. The skill's version
    pointers are left alone (see :func:`skilldb.publish_version`).

    SQL: ``queries/skill_versions.sql`` ``create_skill_version`` (one ``INSERT ... SELECT``;
    the new version's id, a random UUID as text, is made here).

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param skill_id: a skill of the bound tenant.
    :param content: the content's bytes; only their SHA-256 is stored (``content_hash``).
    :param content_url: the object-store key where the content lives (at most 2048 characters).
    :param content_type: lowercase MIME type, e.g. ``text/markdown``, ``application/json``.
    :param created_by: id of a user of the bound tenant.
    :param name: snapshot name; the skill's current name when ``None``.
    :param description: snapshot description; the skill's current one when ``None``.
    :param metadata: json object of format-specific data (at most 32 levels, 1 MiB); ``{}`` when ``None``.
    :return: the new :class:`SkillVersion`.
    :raises NotFound: the bound tenant has no skill ``skill_id``.
    :raises UnknownReference: ``created_by`` is no user of the bound tenant.
    :raises InvalidInput: content not bytes, blank url, malformed content type, ...
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    :raises SerializationFailure: under REPEATABLE READ or SERIALIZABLE, a concurrent
        version of the same skill won; retry the block.
    """
    params = {
        "skill_id": skill_id,
        "version_id": str(uuid.uuid4()),  # the default's format (gen_random_uuid()::text), made here
        "content_url": content_url,
        "content_hash": sha256_hex(content),
        "content_type": content_type,
        "name": name,
        "description": description,
        "metadata": None if metadata is None else Jsonb(metadata),
        "created_by": created_by,
    }
    missing = one_or(lambda: NotFound(f"skills: no skill {skill_id!r} in the bound tenant"))
    return Call("create_skill_version", params, class_row(SkillVersion), missing)


@operation
def get_skill_version(version_id: str) -> Call[SkillVersion, SkillVersion | None]:
    """The bound tenant's version ``version_id``, or ``None``.

    SQL: ``queries/skill_versions.sql`` ``get_skill_version``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param version_id: the version's id.
    :return: a :class:`SkillVersion` or ``None``.
    :raises InvalidInput: ``version_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call("get_skill_version", {"version_id": version_id}, class_row(SkillVersion), first)


@operation
def list_skill_versions(skill_id: str) -> Call[SkillVersion, list[SkillVersion]]:
    """Every version of the skill, highest number first (``[]`` when none or no such skill).

    SQL: ``queries/skill_versions.sql`` ``list_skill_versions``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param skill_id: the skill's id.
    :return: a list of :class:`SkillVersion`.
    :raises InvalidInput: ``skill_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call("list_skill_versions", {"skill_id": skill_id}, class_row(SkillVersion), every)


@operation
def get_skill_version_with_relations(
    version_id: str,
) -> Call[SkillVersionWithRelations, SkillVersionWithRelations | None]:
    """The version with its ``skill`` and ``created_by_user``, in one statement.

    SQL: ``queries/skill_versions.sql`` ``get_skill_version_with_relations``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param version_id: the version's id.
    :return: a :class:`SkillVersionWithRelations`, or ``None`` when absent.
    :raises InvalidInput: ``version_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    params = {"version_id": version_id}
    return Call.nested("get_skill_version_with_relations", params, SkillVersionWithRelations, first)
