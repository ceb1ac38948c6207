"""Typed face of ``queries/ratings.sql``: 1-5 star ratings of skills."""

from __future__ import annotations

from typing import Any

import psycopg

from skilldb import _validate
from skilldb._sql import Call, first, run
from skilldb.models import RatingWithRelations

__all__ = ["get_rating_with_relations"]


def _get_rating_with_relations(rating_id: str) -> Call[RatingWithRelations, RatingWithRelations | None]:
    params = {"rating_id": _validate.text("rating_id", rating_id)}
    return Call.nested("get_rating_with_relations", params, RatingWithRelations, first)


def get_rating_with_relations(conn: psycopg.Connection[Any], rating_id: str) -> RatingWithRelations | None:
    """The rating with its ``skill`` and ``user``, in one statement; ``None`` if absent.

    SQL: ``queries/ratings.sql`` ``get_rating_with_relations``.

    :raises InvalidInput: ``rating_id`` is blank.
    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _get_rating_with_relations(rating_id))
