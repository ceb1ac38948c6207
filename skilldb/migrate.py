"""Apply and roll back the migrations in ``migrations/`` through yoyo's own API.

The same files serve ``yoyo apply`` from a shell (see ``yoyo.ini``); yoyo records
what it applied in its ``_yoyo_migration`` table, so both routes agree.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

from skilldb import history
from skilldb._sql import MIGRATIONS_DIR
from skilldb.errors import InvalidInput, InvalidType, MigrationEdited, PermissionDenied

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
    :raises InvalidType: ``conninfo`` is not a ``str``.
    :raises InvalidInput: ``conninfo`` does not parse as a libpq connection string.
    """
    if not isinstance(conninfo, str):
        raise InvalidType(f"conninfo must be a libpq connection string (str), got {type(conninfo).__name__}")
    try:
        parsed = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise InvalidInput(f"conninfo is not a valid libpq connection string: {exc}") from None
    params = {k: str(v) for k, v in parsed.items() if v is not None}
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


def _check_can_create(conninfo: str) -> None:
    """Refuse early, and say why, when the role may not create yoyo's tables in ``public``.

    Without this, yoyo's first statement fails and it reports a later, misleading
    ``relation "yoyo_lock" does not exist``.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SELECT current_user, has_schema_privilege(current_user, 'public', 'CREATE')").fetchone()
    if row is not None and not row[1]:
        raise PermissionDenied(
            f"role {row[0]!r} may not create tables in schema public (the default since PostgreSQL 15), "
            "so it cannot apply migrations: run them as the database owner, or "
            f"GRANT CREATE ON SCHEMA public TO {row[0]}"
        )


def apply_migrations(conninfo: str, *, allow_edited: bool = False) -> list[str]:
    """Apply every pending migration, under yoyo's lock, each in its own transaction.

    Refuses first when an applied migration's file was edited since (see
    :mod:`skilldb.history`), and records the checksum of every applied migration after.

    :param conninfo: a libpq connection string or URI of a role allowed to create
        tables in schema ``public`` and, the first time on a cluster, roles (the
        migrations create ``skilldb_app`` if absent).
    :param allow_edited: apply even when applied migrations were edited (they are not
        run again; yoyo knows migrations by file name only).
    :return: ids of the migrations applied now (empty when up to date).
    :raises InvalidType: ``conninfo`` is not a ``str``.
    :raises PermissionDenied: the role may not create tables in schema ``public``.
    :raises MigrationEdited: an applied migration's file was edited (unless ``allow_edited``).
    :raises psycopg.Error: a migration failed; it was rolled back, earlier ones stay.
    """
    url = yoyo_url(conninfo)
    _check_can_create(conninfo)
    with psycopg.connect(conninfo) as conn:
        edited = history.edited_migrations(conn, MIGRATIONS_DIR)
    if edited and not allow_edited:
        raise MigrationEdited(
            "applied migrations were edited afterwards; nothing was applied (restore the files, "
            "or put the change in a new migration; --allow-edited applies anyway):\n  "
            + "\n  ".join(map(str, edited))
        )
    backend = get_backend(url)
    try:
        with backend.lock():
            todo = backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))
            backend.apply_migrations(todo)
        return [m.id for m in todo]
    finally:
        backend.connection.close()
        with psycopg.connect(conninfo) as conn:
            history.record_checksums(conn, MIGRATIONS_DIR)


def rollback_migrations(conninfo: str, count: int | Literal["all"] = 1) -> list[str]:
    """Roll back the newest ``count`` applied migrations, newest first (as ``yoyo rollback``).

    :param conninfo: a libpq connection string or URI.
    :param count: how many: a positive ``int`` (default 1, the newest), or ``"all"``.
    :return: ids of the migrations rolled back (fewer than ``count`` when fewer are applied).
    :raises InvalidType: ``count`` is neither an ``int`` nor ``"all"`` (``True`` is no count).
    :raises InvalidInput: ``count`` is below 1.
    """
    if count != "all":
        if isinstance(count, bool) or not isinstance(count, int):
            raise InvalidType(f'count must be a positive int or "all", got {count!r}')
        if count < 1:
            raise InvalidInput(f'count must be a positive int or "all", got {count!r}')
    backend = get_backend(yoyo_url(conninfo))
    try:
        with backend.lock():
            todo: Any = backend.to_rollback(read_migrations(str(MIGRATIONS_DIR)))
            if count != "all":
                todo = todo[:count]
            backend.rollback_migrations(todo)
        with psycopg.connect(conninfo) as conn:
            history.forget(conn, [m.id for m in todo])
        return [m.id for m in todo]
    finally:
        backend.connection.close()
