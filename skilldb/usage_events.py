"""Typed face of ``queries/usage_events.sql``: uses of skills."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from skilldb._sql import Call, first, operation, single
from skilldb.errors import UnknownReference
from skilldb.models import NewUsageEvent, UsageEvent, UsageEventWithRelations

__all__ = ["get_usage_event_with_relations", "record_usage_event", "record_usage_events"]


@operation
def record_usage_event(
    *,
    skill_id: str,
    user_id: str | None = None,
    tool_name: str,
    metadata: dict[str, Any] | None = None,
) -> Call[UsageEvent, UsageEvent]:
    """Record one use of a skill and count it in the skill's ``total_uses``, in one statement.

    SQL: ``queries/usage_events.sql`` ``record_usage_event`` (the ``usage_events``
    statement trigger adds the event to ``total_uses``, migration 0010).

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param skill_id: a skill of the bound tenant.
    :param user_id: a user of the bound tenant, or ``None``.
    :param tool_name: the tool the skill was used through (at most 200 characters).
    :param metadata: a json object (at most 32 levels, 1 MiB); ``{}`` when ``None``.
    :return: the new :class:`UsageEvent`.
    :raises UnknownReference: no such skill or user in the bound tenant.
    :raises InvalidInput: a blank tool name, bad metadata, ...
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    params = {
        "skill_id": skill_id,
        "user_id": user_id,
        "tool_name": tool_name,
        "metadata": None if metadata is None else Jsonb(metadata),
    }
    return Call("record_usage_event", params, class_row(UsageEvent), single)


@operation
def record_usage_events(events: Iterable[NewUsageEvent]) -> Call[dict[str, Any], int]:
    """Record a batch of uses, all or nothing, in one statement; return how many were recorded.

    The batch travels as parallel arrays (one round trip, no staging table: PostgreSQL
    refuses ``COPY FROM`` into a table under row-level security, while this
    ``INSERT ... SELECT FROM unnest(...)`` stays guarded by the policy's ``WITH CHECK``).
    The skills' ``total_uses`` grow by one grouped update per skill (statement trigger).

    SQL: ``queries/usage_events.sql`` ``record_usage_events``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param events: :class:`NewUsageEvent` values (a list, a generator, ...), at most 1,000,000.
    :return: the number of events recorded (``0`` for an empty batch).
    :raises UnknownReference: an event names no skill or user of the bound tenant (the
        message gives its position, ``events[3]``); nothing is recorded.
    :raises InvalidInput: an event is malformed (its position is named); nothing is recorded.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    batch = list(events)
    params = {
        "skill_ids": [e.skill_id for e in batch],
        "user_ids": [e.user_id for e in batch],
        "tool_names": [e.tool_name for e in batch],
        "metadata": [None if e.metadata is None else Jsonb(e.metadata) for e in batch],
    }

    def finish(rows: Sequence[dict[str, Any]], rowcount: int) -> int:
        bad = rows[0]["bad_position"]
        if bad is not None:
            event = batch[bad - 1]
            raise UnknownReference(
                f"events[{bad - 1}]: skill {event.skill_id!r}"
                + ("" if event.user_id is None else f" or user {event.user_id!r}")
                + " is not in the bound tenant; nothing was recorded"
            )
        recorded: int = rows[0]["recorded"]
        return recorded

    return Call("record_usage_events", params, dict_row, finish)


@operation
def get_usage_event_with_relations(event_id: str) -> Call[UsageEventWithRelations, UsageEventWithRelations | None]:
    """The usage event with its ``skill`` and ``user`` (each ``None`` once deleted).

    SQL: ``queries/usage_events.sql`` ``get_usage_event_with_relations`` (one statement).

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param event_id: the event's id.
    :return: a :class:`UsageEventWithRelations`, or ``None`` when absent.
    :raises InvalidInput: ``event_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call.nested("get_usage_event_with_relations", {"event_id": event_id}, UsageEventWithRelations, first)
