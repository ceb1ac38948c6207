"""Opaque keyset-pagination cursors: ``[list, sort key, id]`` as url-safe base64 json.

A list operation returns ``next_cursor`` made by :func:`encode` from its last item; the
caller passes it back as ``after=``, and :func:`decode` checks that it was made for the
same list before the operation checks its key. A cursor is not a secret and not signed:
it only names a position, and every query still filters on the bound tenant.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from skilldb import _validate
from skilldb.errors import InvalidInput
from skilldb.models import Page

#: A key after every ``moment`` (they end before 9999-12-30): where a newest-first list starts.
FIRST_MOMENT = datetime.max.replace(tzinfo=UTC)


class Dated(Protocol):
    """A row listed newest first: by ``created_at``, ties by ``id``."""

    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


D = TypeVar("D", bound=Dated)


def encode(kind: str, key: Any, item_id: str) -> str:
    """The cursor after the item ``item_id`` whose sort key is ``key`` in list ``kind``.

    :param kind: the list, e.g. ``"created_at"`` or ``"messages"``.
    :param key: a json value (a datetime is written in ISO 8601).
    :param item_id: the item's id, the tie breaker.
    """
    if isinstance(key, datetime):
        key = key.isoformat()
    raw = json.dumps([kind, key, item_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(kind: str, cursor: str, operation: str) -> tuple[Any, str]:
    """The (key, id) ``cursor`` holds, checked to be a cursor of list ``kind``.

    :param kind: the list the caller asked for.
    :param cursor: the ``after=`` argument.
    :param operation: the operation's name, for messages.
    :return: the raw json key (the caller checks its type) and the id.
    :raises InvalidInput: not a cursor, or one made for another list.
    """
    bad = f"after is not a cursor returned by {operation}: {cursor[:80]!r}"
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_kind, key, after_id = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidInput(bad) from None
    if cursor_kind != kind:
        raise InvalidInput(f"after is a cursor for {cursor_kind!r}, not for {kind!r}")
    try:
        _validate.key("after id", after_id)
    except InvalidInput:
        raise InvalidInput(bad) from None
    return key, after_id


def moment(key: Any, cursor: str, operation: str) -> datetime:
    """A cursor's key that must be an ISO 8601 timestamp with a time zone.

    :raises InvalidInput: it is not one.
    """
    try:
        value = datetime.fromisoformat(key)
        if value.tzinfo is None:
            raise ValueError(key)
    except (ValueError, TypeError):
        raise InvalidInput(f"after is not a cursor returned by {operation}: {cursor[:80]!r}") from None
    return value


def newest_first_after(kind: str, after: str | None, operation: str) -> tuple[datetime, str]:
    """The ``(after_key, after_id)`` a newest-first list query starts after: the first page's,
    or the position ``after`` (a cursor of list ``kind``) names.

    :raises InvalidInput: ``after`` is not a cursor of list ``kind``.
    """
    if after is None:
        return FIRST_MOMENT, ""
    key, after_id = decode(kind, after, operation)
    return moment(key, after, operation), after_id


def newest_first_page(kind: str, limit: int) -> Callable[[Sequence[D], int], Page[D]]:
    """``finish`` of a newest-first list query that fetched ``limit + 1`` rows: the first
    ``limit`` as a :class:`~skilldb.Page`, with a cursor when one more row came back."""

    def finish(rows: Sequence[D], rowcount: int) -> Page[D]:
        items = list(rows[:limit])
        last = items[-1] if len(rows) > limit else None
        return Page(items=items, next_cursor=encode(kind, last.created_at, last.id) if last else None)

    return finish
