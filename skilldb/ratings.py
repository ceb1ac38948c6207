"""Typed face of ``queries/ratings.sql``: 1-5 star ratings of skills."""

from __future__ import annotations

from skilldb._sql import Call, first, operation
from skilldb.models import RatingWithRelations

__all__ = ["get_rating_with_relations"]


@operation
def get_rating_with_relations(rating_id: str) -> Call[RatingWithRelations, RatingWithRelations | None]:
    """The rating with its ``skill`` and ``user``, in one statement.

    SQL: ``queries/ratings.sql`` ``get_rating_with_relations``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param rating_id: the rating's id.
    :return: a :class:`RatingWithRelations`, or ``None`` when absent.
    :raises InvalidInput: ``rating_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call.nested("get_rating_with_relations", {"rating_id": rating_id}, RatingWithRelations, first)
