"""Typed face of ``queries/usage_events.sql``: uses of skills."""

from __future__ import annotations

from typing import Any

import psycopg

from skilldb import _validate
from skilldb._sql import Call, first, run
from skilldb.models import UsageEventWithRelations

__all__ = ["get_usage_event_with_relations"]


def _get_usage_event_with_relations(
    event_id: str,
) -> Call[UsageEventWithRelations, UsageEventWithRelations | None]:
    params = {"event_id": _validate.text("event_id", event_id)}
    return Call.nested("get_usage_event_with_relations", params, UsageEventWithRelations, first)


def get_usage_event_with_relations(conn: psycopg.Connection[Any], event_id: str) -> UsageEventWithRelations | None:
    """The usage event with its ``skill`` and ``user`` (``None`` once deleted); ``None`` if absent.

    SQL: ``queries/usage_events.sql`` ``get_usage_event_with_relations`` (one statement).

    :raises InvalidInput: ``event_id`` is blank.
    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _get_usage_event_with_relations(event_id))
