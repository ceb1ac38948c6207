"""Input checks run before any SQL, so bad input fails fast with a clear message.

They mirror the CHECK constraints in ``migrations/``, which stay the last word
for anyone writing through psql.
"""

from __future__ import annotations

import json
import re
from typing import Any

from skilldb.errors import InvalidInput

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def text(field: str, value: Any) -> str:
    """A required, non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a non-empty string, got {value!r}")
    return value


def optional_text(field: str, value: Any) -> str | None:
    """``None`` or a non-blank string."""
    return None if value is None else text(field, value)


def slug(value: Any) -> str:
    """Lowercase ASCII words joined by single hyphens (``code-review``)."""
    if not isinstance(value, str) or not SLUG.fullmatch(value):
        raise InvalidInput(
            f"slug must be lowercase letters and digits in words joined by single hyphens, got {value!r}"
        )
    return value


def email(value: Any) -> str:
    """Something shaped like ``local@domain``."""
    if not isinstance(value, str) or not EMAIL.fullmatch(value):
        raise InvalidInput(f"email must look like name@domain, got {value!r}")
    return value


def positive_int(field: str, value: Any, *, maximum: int | None = None) -> int:
    """An ``int`` (not ``bool``) >= 1, and <= ``maximum`` when given."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{field} must be a positive integer, got {value!r}")
    if maximum is not None and value > maximum:
        raise InvalidInput(f"{field} must be at most {maximum}, got {value!r}")
    return value


MIME_TYPE = re.compile(r"[a-z]+/[a-z0-9][a-z0-9.+-]*")


def content_type(value: Any) -> str:
    """A lowercase MIME type such as ``text/markdown`` or ``application/json``."""
    if not isinstance(value, str) or not MIME_TYPE.fullmatch(value):
        raise InvalidInput(f"content_type must be a lowercase MIME type like text/markdown, got {value!r}")
    return value


def content(value: Any) -> bytes:
    """Bytes (``bytes``, ``bytearray`` or ``memoryview``)."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidInput(f"content must be bytes, got {type(value).__name__}")
    return bytes(value)


def json_object(field: str, value: Any) -> dict[str, Any] | None:
    """``None`` or a dict that serialises to json."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(f"{field} must be a dict, got {type(value).__name__}")
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{field} must be json-serialisable: {exc}") from exc
    return value
