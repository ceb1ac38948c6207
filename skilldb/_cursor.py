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
from datetime import datetime
from typing import Any

from skilldb import _validate
from skilldb.errors import InvalidInput


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
