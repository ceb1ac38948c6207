"""Typed rows: one frozen, keyword-only dataclass per row shape.

Timestamps are timezone-aware :class:`~datetime.datetime`; ``jsonb`` columns are
``dict``; nullable columns are ``X | None``. ``average_rating`` is stars x 100
(4.5 stars is 450). ``...WithRelations`` shapes carry every column of their row plus
the named relations: ``None`` for a missing one-relation, ``[]`` for an empty list.
Nested relations arrive from PostgreSQL as json and are decoded straight into these
types (msgspec), timestamps included.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Generic, TypeVar

from skilldb.errors import InvalidInput, InvalidType

__all__ = [
    "NewRating",
    "NewSkillMessage",
    "NewSkillVersion",
    "NewUsageEvent",
    "Page",
    "Rating",
    "RatingWithRelations",
    "RatingWithUser",
    "Skill",
    "SkillListItem",
    "SkillMessage",
    "SkillMessageWithRelations",
    "SkillUsage",
    "SkillVersion",
    "SkillVersionWithRelations",
    "SkillWithRelations",
    "Tenant",
    "UsageEvent",
    "UsageEventWithRelations",
    "User",
    "UserWithRelations",
    "format_rating",
    "sha256_hex",
    "verify_content",
]

T = TypeVar("T")


def sha256_hex(content: bytes) -> str:
    """SHA-256 of ``content`` as 64 lowercase hex digits (``skill_versions.content_hash``)."""
    return hashlib.sha256(content).hexdigest()


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
    ``latest_version`` is the highest version number taken (0: no versions yet).
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
    latest_version: int
    total_uses: int
    average_rating: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class SkillVersion:
    """A row of ``skill_versions``: an immutable snapshot of a skill's content.

    ``version`` counts 1, 2, 3 ... per skill. ``content_url`` is the object-store key,
    ``content_hash`` the SHA-256 of the content (64 lowercase hex digits),
    ``content_type`` its MIME type; ``name`` and ``description`` are the skill's at
    creation; ``metadata`` is a json object.
    """

    id: str
    tenant_id: str
    skill_id: str
    version: int
    content_url: str
    content_hash: str
    content_type: str
    name: str
    description: str | None
    metadata: dict[str, Any]
    created_by: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class NewSkillVersion:
    """What :func:`skilldb.create_skill_version` takes: content and where it is stored.

    ``content`` is hashed (SHA-256) and not stored; ``name`` and ``description``
    default to the skill's current ones; ``metadata`` to ``{}``.
    """

    content: bytes
    content_url: str
    content_type: str
    created_by: str
    name: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None

    @property
    def content_hash(self) -> str:
        """SHA-256 of ``content``, 64 lowercase hex digits."""
        return sha256_hex(self.content)


@dataclass(frozen=True, kw_only=True, slots=True)
class Rating:
    """A row of ``ratings``: one user's 1-5 star rating of a skill.

    ``hours_saved_estimate`` is the rater's estimate of hours saved (>= 0), or ``None``.
    """

    id: str
    tenant_id: str
    skill_id: str
    user_id: str
    rating: int
    comment: str | None
    hours_saved_estimate: int | None
    created_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class NewRating:
    """A rating to record: ``rating`` 1-5 stars, ``hours_saved_estimate`` >= 0 or ``None``."""

    skill_id: str
    user_id: str
    rating: int
    comment: str | None = None
    hours_saved_estimate: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class UsageEvent:
    """A row of ``usage_events``: one use of a skill; ``skill_id``/``user_id`` ``None`` once deleted."""

    id: str
    tenant_id: str
    skill_id: str | None
    user_id: str | None
    tool_name: str | None
    metadata: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class NewUsageEvent:
    """A use of a skill to record with :func:`skilldb.record_usage_events`.

    ``skill_id`` names a skill of the bound tenant, ``user_id`` a user of it or ``None``;
    ``tool_name`` is the tool the skill was used through (at most 200 characters);
    ``metadata`` a json object, ``{}`` when ``None``.
    """

    skill_id: str
    tool_name: str
    user_id: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SkillMessage:
    """A row of ``skill_messages``: one author's message to another about a skill.

    ``proposed_parent_skill_id`` is the skill the sender proposes as the subject's parent
    (``None`` when none, or once that skill was deleted); ``status`` is ``"pending"``,
    ``"accepted"`` or ``"declined"``; ``read_at`` is ``None`` while unread.
    """

    id: str
    tenant_id: str
    from_user_id: str
    to_user_id: str
    subject_skill_id: str
    proposed_parent_skill_id: str | None
    message: str
    status: str
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class NewSkillMessage:
    """A message to send with :func:`skilldb.send_skill_message` (``send_skill_message(conn,
    **dataclasses.asdict(new))``): sender and recipient are distinct users of the bound
    tenant, the proposed parent (or ``None``) differs from the subject skill, and
    ``message`` is non-blank text of at most 10,000 characters."""

    from_user_id: str
    to_user_id: str
    subject_skill_id: str
    message: str
    proposed_parent_skill_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SkillUsage:
    """How much a skill is used: ``total_uses`` (the skill's counter) and the newest event's time."""

    total_uses: int
    last_used_at: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class RatingWithUser(Rating):
    """A :class:`Rating` with the ``user`` who gave it."""

    user: User | None


@dataclass(frozen=True, kw_only=True, slots=True)
class SkillWithRelations(Skill):
    """A :class:`Skill` with ``author``, ``versions`` (newest first), ``published_version``,
    ``draft_version``, ``ratings`` (newest first, each with its user) and ``usage``."""

    author: User | None
    versions: list[SkillVersion]
    published_version: SkillVersion | None
    draft_version: SkillVersion | None
    ratings: list[RatingWithUser]
    usage: SkillUsage


@dataclass(frozen=True, kw_only=True, slots=True)
class SkillListItem(Skill):
    """A :class:`Skill` as listed: with its ``author`` and ``published_version``."""

    author: User | None
    published_version: SkillVersion | None


@dataclass(frozen=True, kw_only=True, slots=True)
class SkillVersionWithRelations(SkillVersion):
    """A :class:`SkillVersion` with its ``skill`` and its ``created_by_user``."""

    skill: Skill | None
    created_by_user: User | None


@dataclass(frozen=True, kw_only=True, slots=True)
class RatingWithRelations(Rating):
    """A :class:`Rating` with its ``skill`` and its ``user``."""

    skill: Skill | None
    user: User | None


@dataclass(frozen=True, kw_only=True, slots=True)
class UsageEventWithRelations(UsageEvent):
    """A :class:`UsageEvent` with its ``skill`` and its ``user`` (``None`` once deleted)."""

    skill: Skill | None
    user: User | None


@dataclass(frozen=True, kw_only=True, slots=True)
class UserWithRelations(User):
    """A :class:`User` with the ``skills`` they author, the ``skill_versions`` they created,
    their ``ratings`` (each newest first) and their newest 50 ``usage_events``."""

    skills: list[Skill]
    skill_versions: list[SkillVersion]
    ratings: list[Rating]
    usage_events: list[UsageEvent]


@dataclass(frozen=True, kw_only=True, slots=True)
class SkillMessageWithRelations(SkillMessage):
    """A :class:`SkillMessage` with its ``from_user``, ``to_user``, ``subject_skill`` and
    ``proposed_parent_skill`` (``None`` when unset or deleted)."""

    from_user: User | None
    to_user: User | None
    subject_skill: Skill | None
    proposed_parent_skill: Skill | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list.

    ``items`` in the list's order; ``next_cursor`` is passed as ``after=`` to get the
    next page, ``None`` on the last page.
    """

    items: list[T]
    next_cursor: str | None


def verify_content(version: SkillVersion, content: bytes) -> bool:
    """Whether ``content`` is what ``version`` recorded: its SHA-256 equals ``content_hash``.

    :param version: a stored version.
    :param content: the bytes fetched from ``version.content_url`` (``bytes``,
        ``bytearray`` or ``memoryview``).
    :return: ``True`` when the hashes match (compared in constant time).
    :raises TypeError: ``version`` is no :class:`SkillVersion` or ``content`` is not bytes.
    """
    if not isinstance(version, SkillVersion):
        raise TypeError(f"verify_content(): version must be a SkillVersion, got {type(version).__name__}")
    if not isinstance(content, bytes | bytearray | memoryview):
        raise TypeError(f"verify_content(): content must be bytes, got {type(content).__name__}")
    return hmac.compare_digest(sha256_hex(bytes(content)), version.content_hash)


def format_rating(stored: int | None) -> str | None:
    """A stored ``average_rating`` (stars x 100) as stars with one decimal: 450 -> ``"4.5"``.

    Rounds half up on the exact decimal value, with no float arithmetic: 425 -> ``"4.3"``,
    435 -> ``"4.4"``, 449 -> ``"4.5"``, 100 -> ``"1.0"``; ``None`` (unrated) -> ``None``.

    :param stored: an ``int`` from 100 to 500, or ``None``.
    :return: the formatted rating, or ``None``.
    :raises InvalidType: ``stored`` is not an ``int`` (``True`` is not one) or ``None``.
    :raises InvalidInput: ``stored`` is outside 100..500.
    """
    if stored is None:
        return None
    if isinstance(stored, bool) or not isinstance(stored, int):
        raise InvalidType(f"format_rating(): stored must be an int or None, got {type(stored).__name__}")
    if not 100 <= stored <= 500:
        raise InvalidInput(f"format_rating(): stored must be from 100 to 500 (stars x 100), got {stored!r}")
    return str((Decimal(stored) / 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
