"""Typed rows of the workshops domain: one frozen, keyword-only dataclass per row shape.

Read shapes mirror the tables (timestamps are timezone-aware ``datetime``; ``output``
is a ``dict``); ``New...`` shapes hold what a caller supplies to create a row (ids,
the creator and timestamps are made by the package or the database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "BuildPack",
    "NewBuildPack",
    "NewSession",
    "NewStepDefinition",
    "NewWorkshop",
    "NewWorkshopMember",
    "NewWorkshopStep",
    "Session",
    "StepDefinition",
    "Workshop",
    "WorkshopMember",
    "WorkshopStep",
    "WorkshopStepWithDefinition",
    "WorkshopWithRelations",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Workshop:
    """A row of ``workshops``.

    ``clerk_user_id`` is the creator; ``status`` is ``draft``, ``active``, ``paused`` or
    ``completed``; ``visibility`` ``private`` or ``shared``; ``share_token`` the random
    token that opens a shared workshop read-only (``None`` while private).
    """

    id: str
    clerk_user_id: str
    title: str
    original_idea: str
    status: str
    org_id: str | None
    template_id: str | None
    visibility: str
    share_token: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class NewWorkshop:
    """A workshop to create with :func:`skilldb.workshops.create_workshop` (``**asdict(new)``)."""

    title: str
    original_idea: str
    org_id: str | None = None
    template_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkshopMember:
    """A row of ``workshop_members``: ``role`` is ``owner``, ``editor``, ``viewer`` (extensible)."""

    id: str
    workshop_id: str
    clerk_user_id: str
    role: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class NewWorkshopMember:
    """A membership to add with :func:`skilldb.workshops.add_member`."""

    workshop_id: str
    clerk_user_id: str
    role: str = "viewer"


@dataclass(frozen=True, kw_only=True, slots=True)
class StepDefinition:
    """A row of ``step_definitions``: a design-thinking step, with a semantic ``id`` and its ``order``."""

    id: str
    order: int
    name: str
    description: str
    prompt_template: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class NewStepDefinition:
    """A step definition as a DBA inserts it (``INSERT INTO step_definitions ...``)."""

    id: str
    order: int
    name: str
    description: str
    prompt_template: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkshopStep:
    """A row of ``workshop_steps``: ``status`` is ``not_started``, ``in_progress`` or
    ``complete``; ``started_at`` is set from ``in_progress`` on, ``completed_at`` once complete."""

    id: str
    workshop_id: str
    step_id: str
    status: str
    output: dict[str, Any] | None
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class NewWorkshopStep:
    """A workshop step row; :func:`skilldb.workshops.create_workshop` makes one per definition."""

    workshop_id: str
    step_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkshopStepWithDefinition(WorkshopStep):
    """A :class:`WorkshopStep` with its step ``definition``."""

    definition: StepDefinition


@dataclass(frozen=True, kw_only=True, slots=True)
class Session:
    """A row of ``sessions``: ``ended_at`` is ``None`` while the session runs."""

    id: str
    workshop_id: str
    started_at: datetime
    ended_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class NewSession:
    """A session to start with :func:`skilldb.workshops.start_session`."""

    workshop_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildPack:
    """A row of ``build_packs``: ``format_type`` is ``markdown``, ``pdf`` or ``json``;
    ``content`` the document (``None`` for formats made elsewhere)."""

    id: str
    workshop_id: str
    title: str
    format_type: str
    content: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class NewBuildPack:
    """A build pack to generate with :func:`skilldb.workshops.generate_build_pack`."""

    workshop_id: str
    title: str
    format_type: str = "markdown"


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkshopWithRelations(Workshop):
    """A :class:`Workshop` with its ``steps`` (in step order, each with its definition),
    ``members``, ``sessions`` and ``build_packs`` (each oldest first)."""

    steps: list[WorkshopStepWithDefinition]
    members: list[WorkshopMember]
    sessions: list[Session]
    build_packs: list[BuildPack]
