"""Apply and roll back the migrations in ``migrations/`` through yoyo's own API.

The same files serve ``yoyo apply`` from a shell (see ``yoyo.ini``); yoyo records
what it applied in its ``_yoyo_migration`` table, so both routes agree.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

from skilldb._sql import MIGRATIONS_DIR

__all__ = [
    "apply_migrations",
    "list_migrations",
    "pending_migrations",
    "rollback_migrations",
    "yoyo_url",
]


def yoyo_url(conninfo: str) -> str:
    """Turn a libpq connection string or URI into the ``postgresql+psycopg://`` URL yoyo needs.

    Unix-socket hosts and other libpq parameters travel as query arguments, which
    yoyo hands to ``psycopg.connect``.

    :param conninfo: ``postgresql://user@host/db``, ``host=/tmp dbname=x``, ...
    :return: e.g. ``postgresql+psycopg://user@host:5432/db?sslmode=require``.
    """
    params = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    user = params.pop("user", None)
    password = params.pop("password", None)
    dbname = params.pop("dbname", "")
    netloc = ""
    if user:
        netloc = quote(user, safe="") + (":" + quote(password, safe="") if password else "") + "@"
    host = params.get("host", "")
    if host and not host.startswith("/") and "," not in host:
        # a single TCP host goes in the URL; socket directories stay query arguments
        netloc += params.pop("host") + (f":{params.pop('port')}" if "port" in params else "")
    query = f"?{urlencode(params)}" if params else ""
    return f"postgresql+psycopg://{netloc}/{quote(dbname, safe='')}{query}"


def list_migrations() -> list[str]:
    """Ids of every migration shipped with the package, in the order they apply."""
    return [m.id for m in read_migrations(str(MIGRATIONS_DIR))]


def pending_migrations(conninfo: str) -> list[str]:
    """Ids of the migrations not yet applied to the database at ``conninfo``."""
    backend = get_backend(yoyo_url(conninfo))
    try:
        return [m.id for m in backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))]
    finally:
        backend.connection.close()


def apply_migrations(conninfo: str) -> list[str]:
    """Apply every pending migration, under yoyo's lock, each in its own transaction.

    :param conninfo: a libpq connection string or URI of a role allowed to create
        tables and roles (the migrations create ``skilldb_app`` if absent).
    :return: ids of the migrations applied now (empty when up to date).
    :raises psycopg.Error: a migration failed; it was rolled back, earlier ones stay.
    """
    backend = get_backend(yoyo_url(conninfo))
    try:
        with backend.lock():
            todo = backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))
            backend.apply_migrations(todo)
        return [m.id for m in todo]
    finally:
        backend.connection.close()


def rollback_migrations(conninfo: str, count: int | None = None) -> list[str]:
    """Roll back the newest ``count`` applied migrations (all when ``None``), newest first.

    :return: ids of the migrations rolled back.
    """
    backend = get_backend(yoyo_url(conninfo))
    try:
        with backend.lock():
            todo = backend.to_rollback(read_migrations(str(MIGRATIONS_DIR)))
            if count is not None:
                todo = todo[:count]
            backend.rollback_migrations(todo)
        return [m.id for m in todo]
    finally:
        backend.connection.close()
