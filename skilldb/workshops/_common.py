"""Helpers shared by the workshop operations: ids and the reading of "what changed" rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cuid2 import create_id

from skilldb.errors import NotFound, PermissionDenied

#: Roles that may change a workshop's content (steps, sessions, build packs, the workshop row).
WRITERS = ("owner", "editor")


def new_id() -> str:
    """A new row id: a 24-character cuid2 string."""
    return create_id()


def acting_row(rows: Sequence[dict[str, Any]], what: str, allowed: Sequence[str]) -> dict[str, Any]:
    """The one row a "what changed" statement returns (see ``queries/workshops/``), once
    the acting person's role in it (``acting_role``) is checked.

    :raises NotFound: no row: the person may not see ``what``.
    :raises PermissionDenied: the person's role is not in ``allowed``.
    """
    if not rows:
        raise NotFound(f"{what}: not found, or not visible to the acting person")
    row = rows[0]
    if row["acting_role"] not in allowed:
        raise PermissionDenied(
            f"{what}: the acting person's role ({row['acting_role'] or 'none'}) may not do this; "
            f"it takes one of: {', '.join(allowed)}"
        )
    return row


def fields(row: dict[str, Any], cls: type[Any]) -> dict[str, Any]:
    """The columns of ``row`` that are fields of the dataclass ``cls``."""
    return {name: row[name] for name in cls.__dataclass_fields__}
