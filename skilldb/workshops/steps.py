"""Typed face of ``queries/workshops/workshop_steps.sql``: a workshop's progress through its steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from skilldb._sql import Call, workshop_operation
from skilldb.errors import InvalidInput
from skilldb.workshops._common import WRITERS, acting_row, fields
from skilldb.workshops.models import WorkshopStep

__all__ = ["complete_step", "start_step"]


def _step(workshop_id: str, step_id: str, what: str) -> Any:
    def finish(rows: Sequence[dict[str, Any]], rowcount: int) -> WorkshopStep:
        row = acting_row(rows, f"step {step_id!r} of workshop {workshop_id!r}", WRITERS)
        if row["id"] is None:
            raise InvalidInput(f"step {step_id!r} of workshop {workshop_id!r} is {row['previous_status']}: {what}")
        return WorkshopStep(**fields(row, WorkshopStep))

    return finish


@workshop_operation
def start_step(workshop_id: str, step_id: str) -> Call[dict[str, Any], WorkshopStep]:
    """Start a step: status ``in_progress``, ``started_at`` set the first time; owners and editors.

    Starting a step in progress again changes nothing and returns it.

    SQL: ``queries/workshops/workshop_steps.sql`` ``start_workshop_step``.

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param workshop_id: the workshop's id.
    :param step_id: the step definition's id (``"empathize"``, ...).
    :return: the :class:`WorkshopStep` after the change.
    :raises InvalidInput: the step is already complete (nothing changes; the block stays usable).
    :raises NotFound: no such step, or the workshop is not visible to the person.
    :raises PermissionDenied: the person is a viewer (or holds only a share token).
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """
    params = {"workshop_id": workshop_id, "step_id": step_id}
    return Call(
        "workshops.start_workshop_step",
        params,
        dict_row,
        _step(workshop_id, step_id, "a complete step is not restarted"),
    )


@workshop_operation
def complete_step(workshop_id: str, step_id: str, output: dict[str, Any]) -> Call[dict[str, Any], WorkshopStep]:
    """Complete a step with its ``output``; owners and editors.

    Sets status ``complete``, ``started_at`` and ``completed_at`` (each only if unset)
    and ``output``. Completing a complete step again replaces its output and keeps its
    ``completed_at``.

    SQL: ``queries/workshops/workshop_steps.sql`` ``complete_workshop_step``.

    :param conn: a connection inside a ``skilldb.workshops.acting_as`` block.
    :param workshop_id: the workshop's id.
    :param step_id: the step definition's id.
    :param output: a json object (``dict``), at most 32 levels deep and 1 MiB.
    :return: the :class:`WorkshopStep` after the change.
    :raises InvalidInput: ``output`` is not a json object.
    :raises NotFound: no such step, or the workshop is not visible to the person.
    :raises PermissionDenied: the person is a viewer (or holds only a share token).
    :raises PersonRequired: no ``acting_as`` block is open on ``conn``.
    """
    params = {"workshop_id": workshop_id, "step_id": step_id, "output": Jsonb(output)}
    return Call("workshops.complete_workshop_step", params, dict_row, _step(workshop_id, step_id, "not completed"))
