"""Apply and roll back the migrations in ``migrations/`` through yoyo's own API.

The same files serve ``yoyo apply`` from a shell (see ``yoyo.ini``); yoyo records
what it applied in its ``_yoyo_migration`` table, so both routes agree.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations
from yoyo.exceptions import LockTimeout

from skilldb import history
from skilldb._sql import MIGRATIONS_DIR
from skilldb.errors import InvalidInput, InvalidType, MigrationEdited, MigrationLocked, PermissionDenied

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "LockHolder",
    "MigrationProgress",
    "MigrationState",
    "apply_migrations",
    "break_lock",
    "list_migrations",
    "lock_holder",
    "migration_status",
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


#: Seconds :func:`apply_migrations` and :func:`rollback_migrations` wait for yoyo's lock by default.
DEFAULT_LOCK_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class LockHolder:
    """The row of yoyo's ``yoyo_lock`` table: the process that holds the migration lock.

    :param pid: the process id yoyo recorded (on whichever machine took the lock; yoyo
        does not check that it still runs, so a crashed deployer's row stays).
    :param since: when the lock was taken (UTC, timezone-aware), if recorded.
    """

    pid: int
    since: datetime | None

    def __str__(self) -> str:
        return f"process {self.pid}" + (f" since {self.since:%Y-%m-%d %H:%M:%S} UTC" if self.since else "")


@dataclass(frozen=True, slots=True)
class MigrationState:
    """One migration as the database records it (yoyo's ``_yoyo_migration`` table).

    :param migration_id: yoyo's id (the file name without ``.sql``).
    :param applied_at: when yoyo applied it (UTC, timezone-aware); ``None`` while pending.
    :param shipped: ``False`` for a migration the database has but this package does not
        ship (applied by a newer version of skilldb).
    :param edited: applied, and its file changed since (see :mod:`skilldb.history`).
    """

    migration_id: str
    applied_at: datetime | None
    shipped: bool = True
    edited: bool = False

    @property
    def applied(self) -> bool:
        """Whether the database has it applied."""
        return self.applied_at is not None


class MigrationProgress(Protocol):
    """What :func:`apply_migrations` and :func:`rollback_migrations` report while they run."""

    def waiting(self, holder: LockHolder) -> None:
        """The lock is held by ``holder``: waiting for it (at most the lock timeout)."""

    def started(self, migration_id: str) -> None:
        """Applying (or rolling back) ``migration_id`` begins, under the lock."""

    def finished(self, migration_id: str, seconds: float) -> None:
        """``migration_id`` was applied (or rolled back) and committed, in ``seconds``."""


def _utc(value: datetime | None) -> datetime | None:
    """yoyo stores naive UTC timestamps; make them timezone-aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _read_lock(conn: Any) -> LockHolder | None:
    """The ``yoyo_lock`` row, read on a psycopg connection in autocommit mode."""
    if conn.execute("SELECT to_regclass('yoyo_lock') IS NOT NULL").fetchone() != (True,):
        return None
    row = conn.execute("SELECT pid, ctime FROM yoyo_lock ORDER BY ctime NULLS LAST LIMIT 1").fetchone()
    return LockHolder(int(row[0]), _utc(row[1])) if row else None


def _check_lock_timeout(lock_timeout: float) -> None:
    if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, int | float):
        raise InvalidType(f"lock_timeout must be a number of seconds, got {lock_timeout!r}")
    if not lock_timeout > 0:  # yoyo reads 0 as "forever", polling without a pause
        raise InvalidInput(f"lock_timeout must be above 0 seconds, got {lock_timeout!r}")


def _take_lock(stack: ExitStack, backend: Any, lock_timeout: float, progress: MigrationProgress | None) -> None:
    """Enter yoyo's ``backend.lock(timeout)`` on ``stack``; :class:`MigrationLocked` when it times out."""
    holder = _read_lock(backend.connection)
    if holder is not None and progress is not None:
        progress.waiting(holder)
    started = time.monotonic()
    try:
        stack.enter_context(backend.lock(timeout=lock_timeout))
    except LockTimeout as exc:
        raise MigrationLocked(_read_lock(backend.connection), time.monotonic() - started) from exc


def apply_migrations(
    conninfo: str,
    *,
    allow_edited: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    progress: MigrationProgress | None = None,
) -> list[str]:
    """Apply every pending migration, under yoyo's lock, each in its own transaction.

    Refuses first when an applied migration's file was edited since (see
    :mod:`skilldb.history`). The pending set is read under yoyo's lock, so of two
    deployers at once one applies and the other, once the lock is free, finds nothing
    left. Each migration commits on its own; the checksum of every applied migration is
    recorded under the lock too.

    :param conninfo: a libpq connection string or URI of a role allowed to create tables
        in schema ``public`` (and, the first time on a cluster, roles).
    :param lock_timeout: seconds to wait for the lock (above 0).
    :param progress: told when waiting for the lock and as each migration starts and ends.
    :param allow_edited: apply even when applied migrations were edited since (they are not
        run again: yoyo knows migrations by file name only).
    :return: ids of the migrations applied now, in order (empty when up to date).
    :raises InvalidType: ``conninfo`` is not a ``str``, or ``lock_timeout`` not a number.
    :raises InvalidInput: ``lock_timeout`` is not above 0.
    :raises PermissionDenied: the role may not create tables in schema ``public``.
    :raises MigrationEdited: an applied migration's file was edited (unless ``allow_edited``).
    :raises MigrationLocked: the lock stayed held for ``lock_timeout`` seconds.
    :raises psycopg.Error: a migration failed; it was rolled back, the earlier ones stay.
    """
    _check_lock_timeout(lock_timeout)
    url = yoyo_url(conninfo)
    _check_can_create(conninfo)
    with psycopg.connect(conninfo) as conn:
        edited = history.edited_migrations(conn, MIGRATIONS_DIR)
    if edited and not allow_edited:
        raise MigrationEdited(
            "applied migrations were edited afterwards, nothing was applied (restore the files, or put "
            "the change in a new migration; --allow-edited applies anyway): " + "; ".join(map(str, edited))
        )
    backend = get_backend(url)
    applied: list[str] = []
    try:
        with ExitStack() as stack:
            _take_lock(stack, backend, lock_timeout, progress)
            done = False
            try:
                todo = backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))
                for migration in todo:
                    if progress is not None:
                        progress.started(migration.id)
                    started = time.perf_counter()
                    backend.apply_one(migration)
                    applied.append(migration.id)
                    if progress is not None:
                        progress.finished(migration.id, time.perf_counter() - started)
                backend.run_post_apply(todo)
                done = True
            finally:
                try:
                    with psycopg.connect(conninfo) as conn:
                        history.record_checksums(conn, MIGRATIONS_DIR)
                except psycopg.Error:
                    if done:
                        raise  # else the migration's own error is the one to report
        return applied
    finally:
        backend.connection.close()


def rollback_migrations(
    conninfo: str,
    count: int | Literal["all"] = 1,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    progress: MigrationProgress | None = None,
) -> list[str]:
    """Roll back the newest ``count`` applied migrations, newest first (as ``yoyo rollback``).

    :param conninfo: a libpq connection string or URI.
    :param count: how many: a positive ``int`` (default 1, the newest), or ``"all"``.
    :param lock_timeout: seconds to wait for yoyo's lock (above 0).
    :param progress: told when waiting for the lock and as each rollback starts and ends.
    :return: ids rolled back, newest first (fewer than ``count`` when fewer are applied).
    :raises InvalidType: ``count`` is neither an ``int`` nor ``"all"``, or ``lock_timeout`` no number.
    :raises InvalidInput: ``count`` is below 1, or ``lock_timeout`` not above 0.
    :raises MigrationLocked: the lock stayed held for ``lock_timeout`` seconds.
    :raises psycopg.Error: a rollback failed; it was undone, the ones before it stay rolled back.
    """
    if count != "all":
        if isinstance(count, bool) or not isinstance(count, int):
            raise InvalidType(f'count must be a positive int or "all", got {count!r}')
        if count < 1:
            raise InvalidInput(f'count must be a positive int or "all", got {count!r}')
    _check_lock_timeout(lock_timeout)
    backend = get_backend(yoyo_url(conninfo))
    rolled_back: list[str] = []
    try:
        with ExitStack() as stack:
            _take_lock(stack, backend, lock_timeout, progress)
            try:
                todo = list(backend.to_rollback(read_migrations(str(MIGRATIONS_DIR))))
                for migration in todo if count == "all" else todo[:count]:
                    if progress is not None:
                        progress.started(migration.id)
                    started = time.perf_counter()
                    backend.rollback_one(migration)
                    rolled_back.append(migration.id)
                    if progress is not None:
                        progress.finished(migration.id, time.perf_counter() - started)
            finally:
                if rolled_back:
                    with psycopg.connect(conninfo) as conn:
                        history.forget(conn, rolled_back)
        return rolled_back
    finally:
        backend.connection.close()


def migration_status(conninfo: str) -> list[MigrationState]:
    """Every migration this package ships, applied or pending, then any the database has beyond them.

    Read only: it reads yoyo's ``_yoyo_migration`` table (nothing is created, no lock is
    taken), so a read-only role may run it.

    :param conninfo: a libpq connection string or URI.
    :return: the shipped migrations in the order they apply, then applied ones this
        package does not ship (oldest first).
    :raises psycopg.Error: the database cannot be read.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        applied: dict[str, datetime] = {}
        if conn.execute("SELECT to_regclass('_yoyo_migration') IS NOT NULL").fetchone() == (True,):
            for migration_id, applied_at in conn.execute(
                "SELECT migration_id, applied_at_utc FROM _yoyo_migration"
            ).fetchall():
                applied[migration_id] = _utc(applied_at) or datetime.min.replace(tzinfo=UTC)
        edited = {e.migration_id for e in history.edited_migrations(conn, MIGRATIONS_DIR)}
    shipped = list_migrations()
    states = [MigrationState(m, applied.get(m), True, m in edited) for m in shipped]
    extra = sorted((when, m) for m, when in applied.items() if m not in shipped)
    return states + [MigrationState(m, when, False, m in edited) for when, m in extra]


def lock_holder(conninfo: str) -> LockHolder | None:
    """Who holds yoyo's migration lock now (read only); ``None`` when nobody does.

    :raises psycopg.Error: the database cannot be read.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return _read_lock(conn)


def break_lock(conninfo: str) -> LockHolder | None:
    """Remove yoyo's migration lock through yoyo's API (what ``yoyo break-lock`` does).

    Only for a lock a crashed deployer left behind: breaking the lock of a deployer that
    still runs lets a second one apply the same migrations at the same time.

    :param conninfo: a libpq connection string or URI.
    :return: the lock that was removed, ``None`` when none was held.
    :raises psycopg.Error: the database cannot be reached or written.
    """
    backend = get_backend(yoyo_url(conninfo))
    try:
        holder = _read_lock(backend.connection)
        backend.break_lock()
        return holder
    finally:
        backend.connection.close()
