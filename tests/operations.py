"""The public operations, found by name: ``skilldb.<name>`` and ``skilldb.workshops.<name>``."""

from __future__ import annotations

from functools import reduce
from typing import Any

import skilldb


def _operations(module: Any, prefix: str) -> list[str]:
    return [
        prefix + name
        for name in module.__all__
        if callable(getattr(module, name)) and callable(getattr(getattr(module, name), "aio", None))
    ]


#: Every public operation, by dotted name under ``skilldb`` (``get_skill``, ``workshops.get_workshop``).
OPERATIONS = sorted(_operations(skilldb, "") + _operations(skilldb.workshops, "workshops."))


def resolve(root: Any, name: str) -> Any:
    """``root.<name>`` for a dotted ``name``."""
    return reduce(getattr, name.split("."), root)


def is_workshop(name: str) -> bool:
    """Whether the operation belongs to the workshops domain (it runs inside ``acting_as``)."""
    return name.startswith("workshops.")
