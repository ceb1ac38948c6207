"""Applied migrations that were edited afterwards: checksums recorded when skilldb applies them.

yoyo identifies a migration by its file name only, so an edit to an applied migration
is applied by nobody and reported by nobody. skilldb records the SHA-256 of each
migration file it sees applied in a table of its own beside yoyo's,
``skilldb_migration_checksums`` (like yoyo's tables, it is made on first use, not by a
migration), and compares the files with it: ``skilldb check``, ``skilldb status`` and
``skilldb migrate`` report every applied migration whose file no longer matches, and
``skilldb migrate`` refuses to run then unless told ``--allow-edited`` (as Flyway does).

Migrations applied with plain ``yoyo apply`` get their checksums recorded the next time
skilldb applies, rolls back or checks the database: an edit made before that moment is
not noticed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from skilldb._sql import MIGRATIONS_DIR

__all__ = ["TABLE", "EditedMigration", "checksum", "edited_migrations", "forget", "record_checksums"]

TABLE = "skilldb_migration_checksums"

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    migration_id text PRIMARY KEY,
    checksum text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True, slots=True)
class EditedMigration:
    """An applied migration whose file differs from the one applied.

    :param migration_id: yoyo's id (the file name without ``.sql``).
    :param path: the migration file (it may be missing: ``exists`` is then false).
    :param applied_at: when yoyo applied it (UTC), if known.
    :param recorded: the checksum recorded then; ``current`` the file's now (``None`` if missing).
    """

    migration_id: str
    path: Path
    applied_at: datetime | None
    recorded: str
    current: str | None

    def __str__(self) -> str:
        when = f"applied {self.applied_at:%Y-%m-%d %H:%M:%S} UTC" if self.applied_at else "applied"
        change = "was edited after it was" if self.current else "was deleted after it was"
        return f"{self.path.name} {change} {when} (recorded sha256 {self.recorded[:12]}, now {str(self.current)[:12]})"


def checksum(path: Path) -> str:
    """SHA-256 (hex) of a migration file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _applied(conn: psycopg.Connection[Any]) -> dict[str, datetime | None]:
    exists = conn.execute("SELECT to_regclass('_yoyo_migration') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT migration_id, applied_at_utc FROM _yoyo_migration").fetchall()
    return {r[0]: r[1] for r in rows}


def record_checksums(conn: psycopg.Connection[Any], migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Record the checksum of every applied migration that has none yet; return their ids.

    :param conn: a connection of a role that may create and write the table (the
        migrating role); the changes are committed.
    """
    applied = _applied(conn)
    if not applied:
        return []
    conn.execute(_CREATE)
    known = {r[0] for r in conn.execute(f"SELECT migration_id FROM {TABLE}").fetchall()}
    added = []
    for migration_id in sorted(set(applied) - known):
        path = migrations_dir / f"{migration_id}.sql"
        if path.exists():
            conn.execute(
                f"INSERT INTO {TABLE} (migration_id, checksum) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (migration_id, checksum(path)),
            )
            added.append(migration_id)
    conn.commit()
    return added


def forget(conn: psycopg.Connection[Any], migration_ids: list[str]) -> None:
    """Drop the records of migrations that were rolled back (their files may change freely again)."""
    if conn.execute(f"SELECT to_regclass('{TABLE}') IS NOT NULL").fetchone() == (True,):
        conn.execute(f"DELETE FROM {TABLE} WHERE migration_id = ANY(%s)", (migration_ids,))
    conn.commit()


def edited_migrations(conn: psycopg.Connection[Any], migrations_dir: Path = MIGRATIONS_DIR) -> list[EditedMigration]:
    """Every applied migration whose file no longer matches the checksum recorded for it.

    :param conn: any connection to the database (read only).
    :return: the edited (or deleted) migrations, in id order; empty when none, or when
        skilldb never recorded checksums there.
    """
    if conn.execute(f"SELECT to_regclass('{TABLE}') IS NOT NULL").fetchone() != (True,):
        return []
    applied = _applied(conn)
    found = []
    for migration_id, recorded in conn.execute(f"SELECT migration_id, checksum FROM {TABLE} ORDER BY 1").fetchall():
        if migration_id not in applied:
            continue
        path = migrations_dir / f"{migration_id}.sql"
        current = checksum(path) if path.exists() else None
        if current != recorded:
            found.append(EditedMigration(migration_id, path, applied[migration_id], recorded, current))
    return found
