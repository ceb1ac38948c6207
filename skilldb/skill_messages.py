"""Typed face of ``queries/skill_messages.sql``: messages between authors about skills."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.rows import class_row, dict_row, scalar_row

from skilldb import _cursor
from skilldb._sql import Call, first, operation, single
from skilldb.errors import InvalidInput, NotFound
from skilldb.models import Page, SkillMessage, SkillMessageWithRelations

__all__ = [
    "get_messages_for_user",
    "get_skill_message_with_relations",
    "get_unread_count_for_user",
    "mark_message_read",
    "send_skill_message",
    "update_message_status",
]

MESSAGE_FIELDS = tuple(f.name for f in dataclasses.fields(SkillMessage))
#: The statuses a pending message may move to.
STATUSES = ("accepted", "declined")
#: Most messages one page of :func:`get_messages_for_user` holds.
MAX_PAGE = 500
CURSOR_KIND = "messages"


def _no_message(message_id: str) -> NotFound:
    return NotFound(f"skill_messages: no message {message_id!r} in the bound tenant")


@operation
def send_skill_message(
    *,
    from_user_id: str,
    to_user_id: str,
    subject_skill_id: str,
    proposed_parent_skill_id: str | None = None,
    message: str,
) -> Call[SkillMessage, SkillMessage]:
    """Send ``message`` from one user to another about ``subject_skill_id``; return it, pending and unread.

    SQL: ``queries/skill_messages.sql`` ``send_skill_message``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param from_user_id: the sender, a user of the bound tenant.
    :param to_user_id: the recipient, another user of the bound tenant.
    :param subject_skill_id: the skill the message is about.
    :param proposed_parent_skill_id: the skill the sender proposes as the subject's
        parent, or ``None``; never the subject itself.
    :param message: non-blank text, at most 10,000 characters (newlines and tabs allowed).
    :return: the stored :class:`SkillMessage` (``status`` ``"pending"``, ``read_at`` ``None``).
    :raises InvalidInput: blank or too long ``message``, a message to oneself, a
        proposed parent equal to the subject, a malformed id.
    :raises UnknownReference: a user or skill that the bound tenant does not have (the
        same error whether it is unknown or another tenant's).
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    if from_user_id == to_user_id:
        raise InvalidInput(f"a skill message goes to another user: from_user_id and to_user_id are both {to_user_id!r}")
    if proposed_parent_skill_id == subject_skill_id:
        raise InvalidInput(f"a skill cannot be proposed as its own parent: {subject_skill_id!r}")
    params = {
        "from_user_id": from_user_id,
        "to_user_id": to_user_id,
        "subject_skill_id": subject_skill_id,
        "proposed_parent_skill_id": proposed_parent_skill_id,
        "message": message,
    }
    return Call("send_skill_message", params, class_row(SkillMessage), single)


@operation
def get_messages_for_user(
    user_id: str, *, limit: int = 50, after: str | None = None
) -> Call[SkillMessage, Page[SkillMessage]]:
    """A page of the messages sent to ``user_id``, newest first (ties by id).

    Keyset pagination (no OFFSET), as :func:`skilldb.list_skills_with_relations`: pass
    the returned ``next_cursor`` as ``after`` for the next page; every message appears
    once across pages, however many arrive meanwhile (new ones are on earlier pages).

    SQL: ``queries/skill_messages.sql`` ``list_messages_for_user`` (one backward range
    scan of ``skill_messages_inbox_idx``, migration 0011).

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param user_id: the recipient.
    :param limit: messages per page, 1 to 500.
    :param after: ``next_cursor`` of the previous page, ``None`` for the first.
    :return: a :class:`Page` of :class:`SkillMessage`; ``next_cursor`` is ``None`` on
        the last page; an empty page for a user with no messages (or no such user).
    :raises InvalidInput: ``limit`` out of range, a malformed cursor or one made by
        another list.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    if limit > MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}, got {limit!r}")
    after_key, after_id = _cursor.newest_first_after(CURSOR_KIND, after, "get_messages_for_user")
    # one row more than asked tells whether another page follows
    params = {"to_user_id": user_id, "after_key": after_key, "after_id": after_id, "limit": limit + 1}
    return Call(
        "list_messages_for_user", params, class_row(SkillMessage), _cursor.newest_first_page(CURSOR_KIND, limit)
    )


@operation
def get_unread_count_for_user(user_id: str) -> Call[int, int]:
    """The number of messages sent to ``user_id`` that are not yet read.

    SQL: ``queries/skill_messages.sql`` ``count_unread_messages_for_user`` (a ``count(*)``
    over the partial index ``skill_messages_unread_idx``, migration 0011).

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param user_id: the recipient.
    :return: the count, 0 for a user with none (or no such user).
    :raises InvalidInput: ``user_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call("count_unread_messages_for_user", {"to_user_id": user_id}, scalar_row, single)


@operation
def mark_message_read(message_id: str) -> Call[bool, bool]:
    """Record that the message was read, once: ``read_at`` keeps its first value.

    One statement that locks the message row, so of concurrent callers exactly one
    gets ``True``.

    SQL: ``queries/skill_messages.sql`` ``mark_message_read``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param message_id: the message's id.
    :return: ``True`` when this call set ``read_at``, ``False`` when it was already set.
    :raises NotFound: the bound tenant has no such message.
    :raises InvalidInput: ``message_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """

    def finish(rows: Sequence[bool], rowcount: int) -> bool:
        if not rows:
            raise _no_message(message_id)
        return rows[0]

    return Call("mark_message_read", {"message_id": message_id}, scalar_row, finish)


@operation
def update_message_status(message_id: str, status: str) -> Call[dict[str, Any], SkillMessage]:
    """Accept or decline a pending message; return it updated.

    One statement that locks the message row and changes it only while pending, so a
    message is answered once even by concurrent callers (a database trigger refuses any
    other change of status, migration 0012).

    SQL: ``queries/skill_messages.sql`` ``update_message_status``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param message_id: the message's id.
    :param status: ``"accepted"`` or ``"declined"``.
    :return: the updated :class:`SkillMessage`.
    :raises InvalidInput: another ``status``, or the message is no longer pending
        (nothing is changed, and the ``skilldb.tenant`` block stays usable).
    :raises NotFound: the bound tenant has no such message.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}; got {status!r}")

    def finish(rows: Sequence[dict[str, Any]], rowcount: int) -> SkillMessage:
        if not rows:
            raise _no_message(message_id)
        row = rows[0]
        if row["id"] is None:
            raise InvalidInput(
                f"skill message {message_id!r} is already {row['previous_status']}: "
                "only a pending message changes status"
            )
        return SkillMessage(**{name: row[name] for name in MESSAGE_FIELDS})

    return Call("update_message_status", {"message_id": message_id, "status": status}, dict_row, finish)


@operation
def get_skill_message_with_relations(
    message_id: str,
) -> Call[SkillMessageWithRelations, SkillMessageWithRelations | None]:
    """The message with its ``from_user``, ``to_user``, ``subject_skill`` and
    ``proposed_parent_skill`` (``None`` when unset or deleted), in one statement.

    SQL: ``queries/skill_messages.sql`` ``get_skill_message_with_relations``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param message_id: the message's id.
    :return: a :class:`SkillMessageWithRelations`, or ``None`` when absent.
    :raises InvalidInput: ``message_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call.nested("get_skill_message_with_relations", {"message_id": message_id}, SkillMessageWithRelations, first)
