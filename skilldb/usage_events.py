"""Typed face of ``queries/usage_events.sql``: uses of skills."""

from __future__ import annotations

from skilldb._sql import Call, first, operation
from skilldb.models import UsageEventWithRelations

__all__ = ["get_usage_event_with_relations"]


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
