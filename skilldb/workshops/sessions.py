"""Typed face of ``queries/workshops/sessions.sql``: a workshop's working sessions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.rows import class_row, dict_row

from skilldb._sql import Call, single, workshop_operation
from skilldb.errors import InvalidInput
from skilldb.workshops._common import WRITERS, acting_row, fields, new_id
from skilldb.workshops.models import Session

__all__ = ["end_session", "start_session"]


@workshop_operation
def start_session(workshop_id: str) -> Call[Session, Session]:
    """Start a working session of the workshop now; owners and editors.

    SQL: ``queries/workshops/sessions.sql`` ``start_workshop_session``.

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param workshop_id: the workshop's id.
    :return: the new :class:`Session` (``ended_at`` ``None``).
    :raises RowSecurityViolation: the person is not an owner or editor of a workshop they can see.
    :raises UnknownReference: no such workshop.
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """
    params = {"workshop_id": workshop_id, "session_id": new_id()}
    return Call("workshops.start_workshop_session", params, class_row(Session), single)


@workshop_operation
def end_session(session_id: str) -> Call[dict[str, Any], Session]:
    """End a running session now, once; owners and editors.

    SQL: ``queries/workshops/sessions.sql`` ``end_workshop_session`` (a trigger of
    migration 0018 refuses any second change, from psql too).

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param session_id: the session's id.
    :return: the ended :class:`Session`.
    :raises InvalidInput: the session already ended (nothing changes; the block stays usable).
    :raises NotFound: no such session, or its workshop is not visible to the person.
    :raises PermissionDenied: the person is a viewer.
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """

    def finish(rows: Sequence[dict[str, Any]], rowcount: int) -> Session:
        row = acting_row(rows, f"session {session_id!r}", WRITERS)
        if row["id"] is None:
            raise InvalidInput(f"session {session_id!r} already ended at {row['previous_ended_at']}")
        return Session(**fields(row, Session))

    return Call("workshops.end_workshop_session", {"session_id": session_id}, dict_row, finish)
