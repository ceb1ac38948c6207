"""Input rules, declared once by parameter name and checked before any SQL.

:func:`skilldb._sql.operation` looks up the rule of every parameter of every
operation here (a parameter without a rule fails at import), so bad input fails
fast with a clear :class:`~skilldb.errors.InvalidInput`, or
:class:`~skilldb.errors.InvalidType` (also a ``TypeError``) naming the argument,
and nothing is written. The rules mirror the CHECK constraints and domains in
``migrations/``, which stay the last word for anyone writing through psql.

Limits (characters): ids and keys 128, slug 100, email 254, names 200, category 100,
description 100,000, comment and message 10,000, content_url 2,048, content_type 255, tool_name 200;
``rating`` an int from 1 to 5, ``hours_saved_estimate`` an int >= 0; a batch of usage
events at most 1,000,000;
``metadata``: a json object at most 32 levels deep and 1 MiB encoded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from skilldb.errors import InvalidInput, InvalidType
from skilldb.models import NewUsageEvent

Check = Callable[[str, Any], Any]

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
MIME_TYPE = re.compile(r"[a-z]+/[a-z0-9][a-z0-9.+-]*")
SHARE_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,128}")

MAX_KEY = 128
MAX_EVENTS = 1_000_000
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 1 << 20
#: Integers in ``metadata`` up to 300 decimal digits (Python refuses to print ints past 4,300).
MAX_JSON_INT_BITS = 996


def _string(field: str, value: Any, maximum: int) -> str:
    """A ``str`` of at most ``maximum`` characters that PostgreSQL can store (UTF-8, no NUL)."""
    if not isinstance(value, str):
        raise InvalidType(f"{field} must be a str, got {type(value).__name__}")
    if len(value) > maximum:
        raise InvalidInput(f"{field} must be at most {maximum} characters, got {len(value)}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInput(f"{field} is not valid Unicode (lone surrogate at {exc.start})") from None
    if "\x00" in value:
        raise InvalidInput(f"{field} must not contain NUL characters")
    return value


def key(field: str, value: Any) -> str:
    """An id or key: 1-128 printable characters, no surrounding whitespace."""
    s = _string(field, value, MAX_KEY)
    if not s or not s.isprintable() or s != s.strip():
        raise InvalidInput(
            f"{field} must be 1-{MAX_KEY} printable characters with no surrounding whitespace, got {s!r}"
        )
    return s


def text(maximum: int, *, multiline: bool = False) -> Check:
    """A non-blank string of at most ``maximum`` characters; control characters only
    (tab, newline, carriage return) when ``multiline``."""

    allowed = "\t\n\r" if multiline else ""

    def check(field: str, value: Any) -> str:
        s = _string(field, value, maximum)
        if not s.strip():
            raise InvalidInput(f"{field} must be a non-empty string, got {s!r}")
        if not s.isprintable() and any(c not in allowed and (ord(c) < 32 or 127 <= ord(c) < 160) for c in s):
            raise InvalidInput(f"{field} must not contain control characters, got {s[:80]!r}")
        return s

    return check


def slug(field: str, value: Any) -> str:
    """Lowercase ASCII words joined by single hyphens (``code-review``), at most 100 characters."""
    s = _string(field, value, 100)
    if not SLUG.fullmatch(s):
        raise InvalidInput(f"{field} must be lowercase letters and digits in words joined by single hyphens, got {s!r}")
    return s


def email(field: str, value: Any) -> str:
    """Something shaped like ``local@domain``, at most 254 characters."""
    s = _string(field, value, 254)
    if not EMAIL.fullmatch(s) or not s.isprintable():
        raise InvalidInput(f"{field} must look like name@domain, got {s!r}")
    return s


def content_type(field: str, value: Any) -> str:
    """A lowercase MIME type such as ``text/markdown`` or ``application/json``."""
    s = _string(field, value, 255)
    if not MIME_TYPE.fullmatch(s):
        raise InvalidInput(f"{field} must be a lowercase MIME type like text/markdown, got {s!r}")
    return s


def content(field: str, value: Any) -> bytes:
    """Bytes (``bytes``, ``bytearray`` or ``memoryview``)."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidType(f"{field} must be bytes, got {type(value).__name__}")
    return bytes(value)


def int_range(minimum: int, maximum: int) -> Check:
    """An ``int`` (not ``bool``, not ``float``) from ``minimum`` to ``maximum``."""

    def check(field: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidType(f"{field} must be an int, got {type(value).__name__}")
        if not minimum <= value <= maximum:
            shown = repr(value) if value.bit_length() < 64 else f"an int of {value.bit_length()} bits"
            raise InvalidInput(f"{field} must be from {minimum} to {maximum}, got {shown}")
        return value

    return check


def usage_events(field: str, value: Any) -> list[NewUsageEvent]:
    """An iterable (not a str, bytes or mapping) of :class:`~skilldb.NewUsageEvent`, each
    field checked by its rule; errors name the event's position (``events[3].skill_id``).
    At most 1,000,000 events."""
    if isinstance(value, str | bytes | bytearray | dict) or not isinstance(value, Iterable):
        raise InvalidType(f"{field} must be an iterable of NewUsageEvent, got {type(value).__name__}")
    checked: list[NewUsageEvent] = []
    for position, event in enumerate(value):
        if not isinstance(event, NewUsageEvent):
            raise InvalidType(f"{field}[{position}] must be a NewUsageEvent, got {type(event).__name__}")
        if position >= MAX_EVENTS:
            raise InvalidInput(f"{field} holds more than {MAX_EVENTS} events: record them in batches")
        checked.append(
            NewUsageEvent(
                skill_id=key(f"{field}[{position}].skill_id", event.skill_id),
                tool_name=RULES["tool_name"](f"{field}[{position}].tool_name", event.tool_name),
                user_id=None if event.user_id is None else key(f"{field}[{position}].user_id", event.user_id),
                metadata=None
                if event.metadata is None
                else json_object(f"{field}[{position}].metadata", event.metadata),
            )
        )
    return checked


def prompt_revisions(field: str, value: Any) -> list[Any]:
    """A list or tuple of :class:`skilldb.prompts.PromptRevision` (as :func:`skilldb.prompts.read_prompts`
    makes them, already checked row by row); errors name the position (``revisions[3]``)."""
    from skilldb.prompts import PromptRevision  # that module's operations are checked by this one

    if not isinstance(value, list | tuple):
        raise InvalidType(f"{field} must be a list of PromptRevision, got {type(value).__name__}")
    for position, revision in enumerate(value):
        if not isinstance(revision, PromptRevision):
            raise InvalidType(f"{field}[{position}] must be a PromptRevision, got {type(revision).__name__}")
    return list(value)


def keys(field: str, value: Any) -> list[str]:
    """A list or tuple of ids, each checked as :func:`key` (errors name the position, ``skill_ids[3]``)."""
    if not isinstance(value, list | tuple):
        raise InvalidType(f"{field} must be a list of ids, got {type(value).__name__}")
    return [key(f"{field}[{position}]", item) for position, item in enumerate(value)]


def json_object(field: str, value: Any) -> dict[str, Any]:
    """A dict that is valid json for ``jsonb``: str keys; str, int, finite float, bool,
    ``None``, list and dict values; at most 32 levels deep and 1 MiB encoded.

    Walks the value without recursion, so a deeply nested one cannot exhaust the stack.
    """
    if not isinstance(value, dict):
        raise InvalidType(f"{field} must be a dict, got {type(value).__name__}")
    size = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise InvalidInput(f"{field} is nested more than {MAX_JSON_DEPTH} levels deep")
            if isinstance(item, dict):
                for k in item:
                    if not isinstance(k, str):
                        raise InvalidInput(f"{field} keys must be str, got {type(k).__name__}")
                    size += len(_string(f"{field} key", k, MAX_JSON_BYTES)) + 4
                children: list[Any] = list(item.values())
            else:
                children = item
            stack.extend((child, depth + 1) for child in children)
            size += 2
        elif isinstance(item, str):
            size += len(_string(f"{field} value", item, MAX_JSON_BYTES)) + 2
        elif item is None or isinstance(item, bool):
            size += 5
        elif isinstance(item, int):
            if item.bit_length() > MAX_JSON_INT_BITS:
                raise InvalidInput(f"{field} integers must have at most 300 digits")
            size += 1 + item.bit_length() * 3 // 10
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInput(f"{field} numbers must be finite, got {item!r}")
            size += 24
        else:
            raise InvalidInput(f"{field} must hold only json values, got {type(item).__name__}")
        if size > MAX_JSON_BYTES:
            raise InvalidInput(f"{field} is larger than {MAX_JSON_BYTES} bytes as json")
    return value


def choice(field: str, value: Any) -> str:
    """A short string naming one of an operation's options (the operation checks which)."""
    return _string(field, value, 64)


def share_token(field: str, value: Any) -> str:
    """A workshop share token: 22-128 url-safe base64 characters (``A-Z a-z 0-9 _ -``)."""
    s = _string(field, value, 128)
    if not SHARE_TOKEN.fullmatch(s):
        raise InvalidInput(f"{field} must be 22-128 url-safe characters (A-Z, a-z, 0-9, _, -)")
    return s


def cursor(field: str, value: Any) -> str:
    """An opaque pagination cursor (the operation decodes it)."""
    return _string(field, value, 1024)


#: The rule of every operation parameter, by name.
RULES: dict[str, Check] = {
    **dict.fromkeys(
        (
            "tenant_id",
            "user_id",
            "author_id",
            "created_by",
            "skill_id",
            "version_id",
            "rating_id",
            "event_id",
            "message_id",
            "from_user_id",
            "to_user_id",
            "subject_skill_id",
            "proposed_parent_skill_id",
            "acting_user_id",
            "clerk_user_id",
            "workshop_id",
            "step_id",
            "session_id",
            "org_id",
            "template_id",
            "role",
        ),
        key,
    ),
    "rating": int_range(1, 5),
    "hours_saved_estimate": int_range(0, 2**31 - 1),
    "comment": text(10_000, multiline=True),
    "message": text(10_000, multiline=True),
    "title": text(200),
    "original_idea": text(10_000, multiline=True),
    "output": json_object,
    "visibility": choice,
    "format_type": choice,
    "share_token": share_token,
    "status": choice,
    "events": usage_events,
    "revisions": prompt_revisions,
    "skill_ids": keys,
    "name": text(200),
    "category": text(100),
    "description": text(100_000, multiline=True),
    "content_url": text(2048),
    "tool_name": text(200),
    "slug": slug,
    "email": email,
    "content": content,
    "content_type": content_type,
    "metadata": json_object,
    "limit": int_range(1, 1000),
    "order_by": choice,
    "after": cursor,
}


def _allows_none(hint: Any) -> bool:
    return get_origin(hint) in (Union, UnionType) and NoneType in get_args(hint)


def rule(name: str, hint: Any) -> Callable[[Any], Any]:
    """The check for a parameter ``name`` annotated ``hint``: its rule, ``None`` passing
    only where ``hint`` includes ``None``.

    :raises LookupError: no rule is declared for ``name`` (a programming error).
    """
    try:
        check = RULES[name]
    except KeyError:
        raise LookupError(f"skilldb: no input rule for parameter {name!r}; add one to _validate.RULES") from None
    if _allows_none(hint):
        return lambda value: None if value is None else check(name, value)

    def required(value: Any) -> Any:
        if value is None:
            raise InvalidType(f"{name} is required, got None")
        return check(name, value)

    return required
