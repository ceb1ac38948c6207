"""`skilldb demo` and `skilldb migrate` against the test server (DATABASE_URL set)."""

from __future__ import annotations

from typing import Any

import psycopg
from click.testing import CliRunner

from skilldb.cli import main
from skilldb.migrate import list_migrations


def test_migrate_then_demo_writes_and_reads_back_a_tenant(empty_db: Any) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": empty_db.admin_url}
    migrated = runner.invoke(main, ["migrate"], env=env)
    assert migrated.exit_code == 0, migrated.output
    assert f"applied {len(list_migrations())} migration(s)" in migrated.output

    for run in range(2):  # a second run adds a second demo tenant beside the first
        result = runner.invoke(main, ["demo"], env=env)
        assert result.exit_code == 0, result.output
        assert "as role skilldb_app" in result.output
        assert "Tenant Demo tenant: 3 skills" in result.output
        assert "code-review      Code review" in result.output and "v2 of 2" in result.output
        assert "Skills visible with no tenant bound: 0" in result.output
        with psycopg.connect(empty_db.admin_url) as conn:
            assert conn.execute("SELECT count(*) FROM tenants").fetchone() == (run + 1,)
            assert conn.execute("SELECT count(*) FROM skill_versions").fetchone() == (3 * (run + 1),)
