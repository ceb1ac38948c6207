"""Typed rows: one frozen, keyword-only dataclass per row shape.

Timestamps are timezone-aware :class:`~datetime.datetime`; ``jsonb`` columns are
``dict``; nullable columns are ``X | None``. ``average_rating`` is stars x 100
(4.5 stars is 450).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Skill", "Tenant", "User"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Tenant:
    """A row of ``tenants``: an organisation using the marketplace."""

    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class User:
    """A row of ``users``: a person in one tenant (email unique per tenant, case-insensitively)."""

    id: str
    tenant_id: str
    email: str
    name: str | None
    created_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class Skill:
    """A row of ``skills``.

    ``total_uses`` counts usage events; ``average_rating`` is the mean rating in
    stars x 100 (450 is 4.5 stars), ``None`` while unrated. ``published_version_id``
    and ``draft_version_id`` name versions of this same skill, or are ``None``.
    """

    id: str
    tenant_id: str
    author_id: str | None
    name: str
    slug: str
    description: str | None
    category: str | None
    published_version_id: str | None
    draft_version_id: str | None
    total_uses: int
    average_rating: int | None
    created_at: datetime
    updated_at: datetime
