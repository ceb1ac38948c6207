"""Migrations through the yoyo command line, as an operator runs them, and their round trip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

import skilldb
from skilldb.migrate import list_migrations, pending_migrations, yoyo_url
from tests.catalog import snapshot

ROOT = Path(__file__).resolve().parents[2]
YOYO = str(Path(sys.executable).parent / "yoyo")


def yoyo(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    """Run ``yoyo`` from the repo root, where yoyo.ini supplies the sources and batch mode."""
    result = subprocess.run(
        [YOYO, *args, "--database", yoyo_url(url)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def applied(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT migration_id FROM _yoyo_migration ORDER BY applied_at_utc")]


def test_yoyo_cli_applies_rolls_back_and_reapplies_to_the_same_schema(empty_db: Any, db: Any) -> None:
    url = empty_db.admin_url
    yoyo("apply", url=url)
    assert applied(url) == list_migrations()
    with psycopg.connect(url) as conn:
        first = snapshot(conn)
    assert first["policies"] and first["grants"]

    yoyo("rollback", "--all", url=url)
    assert applied(url) == []
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind = 'r' AND relname NOT LIKE '%yoyo%'"
        ).fetchall()
        functions = conn.execute("SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace")
        assert tables == [] and functions.fetchall() == []

    yoyo("apply", url=url)
    with psycopg.connect(url) as conn:
        assert snapshot(conn) == first

    # the package's own API sees the same state as the command line, and agrees with the template
    assert pending_migrations(url) == []
    with psycopg.connect(db.admin_url) as conn:
        assert snapshot(conn) == first


def test_rollback_one_step_at_a_time_through_the_api(empty_db: Any) -> None:
    url = empty_db.admin_url
    assert skilldb.apply_migrations(url) == list_migrations()
    assert skilldb.apply_migrations(url) == []
    for expected in reversed(list_migrations()):
        assert skilldb.rollback_migrations(url, count=1) == [expected]
    assert pending_migrations(url) == list_migrations()
