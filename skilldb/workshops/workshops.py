"""Typed face of ``queries/workshops/workshops.sql``: workshops and their members."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.rows import class_row, dict_row

from skilldb import _cursor
from skilldb._sql import Call, first, single, workshop_operation
from skilldb.errors import InvalidInput, NotFound
from skilldb.models import Page
from skilldb.tenancy import bind_sql
from skilldb.workshops._common import acting_row, fields, new_id
from skilldb.workshops.models import Workshop, WorkshopMember, WorkshopWithRelations

__all__ = [
    "add_member",
    "create_workshop",
    "delete_workshop",
    "get_workshop",
    "get_workshop_by_share_token",
    "get_workshop_with_relations",
    "list_workshops_for_user",
    "remove_member",
    "set_visibility",
]

STATUSES = ("draft", "active", "paused", "completed")
VISIBILITIES = ("private", "shared")
#: Step rows :func:`create_workshop` can make: ids are made ahead for up to this many step definitions.
MAX_STEPS = 16
#: Most workshops one page of :func:`list_workshops_for_user` holds.
MAX_PAGE = 500
CURSOR_KIND = "workshops"


@workshop_operation
def create_workshop(
    *, title: str, original_idea: str, org_id: str | None = None, template_id: str | None = None
) -> Call[Workshop, Workshop]:
    """Create a workshop for the acting person, who becomes its creator and 'owner' member,
    with one ``not_started`` step row per step definition, all in one statement.

    SQL: ``queries/workshops/workshops.sql`` ``create_workshop`` (the database function
    ``create_workshop``, migration 0020). Ids are cuid2 strings made here.

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param title: non-blank, at most 200 characters.
    :param original_idea: non-blank, at most 10,000 characters (newlines allowed).
    :param org_id: the organization's id, or ``None``.
    :param template_id: the template's id, or ``None``.
    :return: the new :class:`Workshop` (status ``draft``, visibility ``private``).
    :raises InvalidInput: blank or too long text, a malformed id.
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """
    params = {
        "workshop_id": new_id(),
        "member_id": new_id(),
        "step_row_ids": [new_id() for _ in range(MAX_STEPS)],
        "title": title,
        "original_idea": original_idea,
        "org_id": org_id,
        "template_id": template_id,
    }
    return Call("workshops.create_workshop", params, class_row(Workshop), single)


@workshop_operation
def get_workshop(workshop_id: str) -> Call[Workshop, Workshop | None]:
    """The workshop, if the acting person may see it (a member, or holding its bound share token).

    SQL: ``queries/workshops/workshops.sql`` ``get_workshop``.

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param workshop_id: the workshop's id.
    :return: a :class:`Workshop`, or ``None`` when absent or not visible.
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """
    return Call("workshops.get_workshop", {"workshop_id": workshop_id}, class_row(Workshop), first)


@workshop_operation
def get_workshop_with_relations(workshop_id: str) -> Call[WorkshopWithRelations, WorkshopWithRelations | None]:
    """The workshop with its ``steps`` (in step order, each with its ``definition``),
    ``members``, ``sessions`` and ``build_packs``, in one statement.

    SQL: ``queries/workshops/workshops.sql`` ``get_workshop_with_relations``.

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param workshop_id: the workshop's id.
    :return: a :class:`WorkshopWithRelations`, or ``None`` when absent or not visible.
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """
    params = {"workshop_id": workshop_id}
    return Call.nested("workshops.get_workshop_with_relations", params, WorkshopWithRelations, first)


@workshop_operation
def get_workshop_by_share_token(share_token: str) -> Call[WorkshopWithRelations, WorkshopWithRelations | None]:
    """The shared workshop this token opens, read-only, with its relations; for any acting person.

    Binds the token for the rest of the transaction (``SET LOCAL app.share_token``),
    which row-level security reads: the workshop and its rows become readable in this
    block, never writable.

    SQL: ``SET LOCAL app.share_token``, then ``queries/workshops/workshops.sql``
    ``get_workshop_by_share_token``.

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param share_token: the token from :func:`set_visibility` (22-128 url-safe characters).
    :return: a :class:`WorkshopWithRelations`, or ``None`` for a wrong token or a
        workshop that is private again.
    :raises InvalidInput: ``share_token`` is not shaped like a token.
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """
    return Call.nested(
        "workshops.get_workshop_by_share_token",
        {"share_token": share_token},
        WorkshopWithRelations,
        first,
        setup=(bind_sql("app.share_token", share_token),),
    )


@workshop_operation
def list_workshops_for_user(
    *, status: str | None = None, limit: int = 50, after: str | None = None
) -> Call[Workshop, Page[Workshop]]:
    """A page of the acting person's workshops (their own and those shared with them as a
    member), newest first; keyset pagination as :func:`skilldb.list_skills_with_relations`.

    SQL: ``queries/workshops/workshops.sql`` ``list_workshops_for_user``.

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param status: only workshops in this status (``draft``, ``active``, ``paused``,
        ``completed``), or ``None`` for all.
    :param limit: workshops per page, 1 to 500.
    :param after: ``next_cursor`` of the previous page, ``None`` for the first.
    :return: a :class:`~skilldb.Page` of :class:`Workshop`.
    :raises InvalidInput: unknown status, ``limit`` out of range, a malformed cursor.
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    if limit > MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}, got {limit!r}")
    after_key, after_id = _cursor.newest_first_after(CURSOR_KIND, after, "list_workshops_for_user")
    params = {"status": status, "after_key": after_key, "after_id": after_id, "limit": limit + 1}
    return Call(
        "workshops.list_workshops_for_user", params, class_row(Workshop), _cursor.newest_first_page(CURSOR_KIND, limit)
    )


@workshop_operation
def set_visibility(workshop_id: str, visibility: str) -> Call[dict[str, Any], Workshop]:
    """Share the workshop by token, or make it private again; owners only.

    ``"shared"`` issues a new random token (256 bits, url-safe) in ``share_token``,
    replacing any earlier one, which then opens nothing; ``"private"`` clears it.

    SQL: ``queries/workshops/workshops.sql`` ``set_workshop_visibility``.

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param workshop_id: the workshop's id.
    :param visibility: ``"shared"`` or ``"private"``.
    :return: the updated :class:`Workshop`.
    :raises InvalidInput: another ``visibility``.
    :raises NotFound: the workshop is absent or not visible to the person.
    :raises PermissionDenied: the person is not an owner.
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """
    if visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility must be one of {', '.join(VISIBILITIES)}; got {visibility!r}")
    token = secrets.token_urlsafe(32) if visibility == "shared" else None

    def finish(rows: Sequence[dict[str, Any]], rowcount: int) -> Workshop:
        return Workshop(**fields(acting_row(rows, f"workshop {workshop_id!r}", ("owner",)), Workshop))

    params = {"workshop_id": workshop_id, "visibility": visibility, "share_token": token}
    return Call("workshops.set_workshop_visibility", params, dict_row, finish)


@workshop_operation
def delete_workshop(workshop_id: str) -> Call[dict[str, Any], None]:
    """Delete the workshop with its members, steps, sessions and build packs; owners only.

    SQL: ``queries/workshops/workshops.sql`` ``delete_workshop``.

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param workshop_id: the workshop's id.
    :return: ``None``.
    :raises NotFound: the workshop is absent or not visible to the person.
    :raises PermissionDenied: the person is not an owner.
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """

    def finish(rows: Sequence[dict[str, Any]], rowcount: int) -> None:
        acting_row(rows, f"workshop {workshop_id!r}", ("owner",))

    return Call("workshops.delete_workshop", {"workshop_id": workshop_id}, dict_row, finish)


@workshop_operation
def add_member(workshop_id: str, clerk_user_id: str, role: str = "viewer") -> Call[WorkshopMember, WorkshopMember]:
    """Add a person to the workshop with ``role``; owners only.

    SQL: ``queries/workshops/workshops.sql`` ``add_workshop_member``.

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param workshop_id: the workshop's id.
    :param clerk_user_id: the person to add (the auth provider's user id).
    :param role: ``"owner"``, ``"editor"`` or ``"viewer"`` (roles are extensible text:
        any 1-128 character key is stored, and only these three grant anything today).
    :return: the new :class:`WorkshopMember`.
    :raises AlreadyExists: the person is already a member.
    :raises RowSecurityViolation: the acting person is not an owner (or the workshop is
        not visible to them).
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """
    params = {"workshop_id": workshop_id, "member_id": new_id(), "clerk_user_id": clerk_user_id, "role": role}
    return Call("workshops.add_workshop_member", params, class_row(WorkshopMember), single)


@workshop_operation
def remove_member(workshop_id: str, clerk_user_id: str) -> Call[dict[str, Any], None]:
    """Remove a person from the workshop; owners only, and never its last owner.

    SQL: ``queries/workshops/workshops.sql`` ``remove_workshop_member`` (a trigger of
    migration 0020 keeps the last owner against concurrent removals and psql too).

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param workshop_id: the workshop's id.
    :param clerk_user_id: the member to remove.
    :return: ``None``.
    :raises InvalidInput: the member is the workshop's last owner (nothing is changed,
        and the block stays usable).
    :raises NotFound: the workshop is not visible, or the person is not a member.
    :raises PermissionDenied: the acting person is not an owner.
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """

    def finish(rows: Sequence[dict[str, Any]], rowcount: int) -> None:
        row = acting_row(rows, f"workshop {workshop_id!r}", ("owner",))
        if row["changed"]:
            return
        if row["member_role"] is None:
            raise NotFound(f"workshop {workshop_id!r} has no member {clerk_user_id!r}")
        raise InvalidInput(f"{clerk_user_id!r} is the last owner of workshop {workshop_id!r}: add another owner first")

    params = {"workshop_id": workshop_id, "clerk_user_id": clerk_user_id}
    return Call("workshops.remove_workshop_member", params, dict_row, finish)
