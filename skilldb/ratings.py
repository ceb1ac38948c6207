"""Typed face of ``queries/ratings.sql``: 1-5 star ratings of skills."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.rows import class_row, tuple_row

from skilldb._sql import Call, first, operation, single
from skilldb.errors import NotFound
from skilldb.models import Rating, RatingWithRelations

__all__ = ["delete_rating", "get_rating_with_relations", "rate_skill"]


@operation
def rate_skill(
    *,
    skill_id: str,
    user_id: str,
    rating: int,
    comment: str | None = None,
    hours_saved_estimate: int | None = None,
) -> Call[Rating, Rating]:
    """Record ``user_id``'s rating of ``skill_id``, replacing their earlier one; return it.

    One statement: an upsert on (skill, user) whose trigger moves the skill's rating
    count, sum and ``average_rating`` relative to the row, so concurrent ratings of one
    skill are never lost (migration 0010).

    SQL: ``queries/ratings.sql`` ``rate_skill``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param skill_id: a skill of the bound tenant.
    :param user_id: a user of the bound tenant.
    :param rating: whole stars, an ``int`` from 1 to 5 (``True`` and ``4.5`` are refused).
    :param comment: free text (at most 10,000 characters), or ``None``.
    :param hours_saved_estimate: the rater's estimate of hours saved, an ``int`` >= 0, or ``None``.
    :return: the stored :class:`Rating` (``created_at`` of the first rating when replaced).
    :raises InvalidInput: a rating outside 1..5, a non-int rating, negative hours, ...
    :raises UnknownReference: no such skill or user in the bound tenant.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    params = {
        "skill_id": skill_id,
        "user_id": user_id,
        "rating": rating,
        "comment": comment,
        "hours_saved_estimate": hours_saved_estimate,
    }
    return Call("rate_skill", params, class_row(Rating), single)


@operation
def delete_rating(rating_id: str) -> Call[tuple[Any, ...], None]:
    """Delete a rating; its skill's ``average_rating`` is rolled up again in the same statement.

    SQL: ``queries/ratings.sql`` ``delete_rating``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param rating_id: the rating's id.
    :return: ``None``.
    :raises NotFound: the bound tenant has no such rating.
    :raises InvalidInput: ``rating_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """

    def finish(rows: Sequence[tuple[Any, ...]], rowcount: int) -> None:
        if rowcount != 1:
            raise NotFound(f"ratings: no rating {rating_id!r} in the bound tenant")

    return Call("delete_rating", {"rating_id": rating_id}, tuple_row, finish)


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
