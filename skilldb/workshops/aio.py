"""Async twins of :mod:`skilldb.workshops`, for ``psycopg.AsyncConnection``.

Each ``skilldb.aio.workshops.<name>`` is the ``aio`` face of the one definition behind
``skilldb.workshops.<name>``; ``acting_as`` is an async context manager.
"""

from __future__ import annotations

from skilldb import workshops as _w
from skilldb.tenancy import aacting_as as acting_as

__all__ = [
    "acting_as",
    "add_member",
    "complete_step",
    "create_workshop",
    "delete_workshop",
    "end_session",
    "generate_build_pack",
    "get_workshop",
    "get_workshop_by_share_token",
    "get_workshop_with_relations",
    "list_workshops_for_user",
    "remove_member",
    "set_visibility",
    "start_session",
    "start_step",
]

add_member = _w.add_member.aio
complete_step = _w.complete_step.aio
create_workshop = _w.create_workshop.aio
delete_workshop = _w.delete_workshop.aio
end_session = _w.end_session.aio
generate_build_pack = _w.generate_build_pack.aio
get_workshop = _w.get_workshop.aio
get_workshop_by_share_token = _w.get_workshop_by_share_token.aio
get_workshop_with_relations = _w.get_workshop_with_relations.aio
list_workshops_for_user = _w.list_workshops_for_user.aio
remove_member = _w.remove_member.aio
set_visibility = _w.set_visibility.aio
start_session = _w.start_session.aio
start_step = _w.start_step.aio
