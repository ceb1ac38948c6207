"""`skilldb demo`, `skilldb seed` and `skilldb migrate` against the test server (DATABASE_URL set)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
from click.testing import CliRunner

import skilldb
from skilldb.cli import main
from skilldb.migrate import list_migrations
from skilldb.seed import TENANTS
from tests.plugin import APP_LOGIN, Database, citus_mode

VERSIONS = sum(len(s.changes) for t in TENANTS for s in t.skills)


def counts(url: str) -> tuple[int, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM users), (SELECT count(*) FROM skills),
                      (SELECT count(*) FROM skill_versions), (SELECT count(*) FROM ratings),
                      (SELECT count(*) FROM usage_events)"""
        ).fetchone()
    assert row is not None
    return tuple(row)


def expected_rating(stars: list[int]) -> str:
    if not stars:
        return "-"
    stored = int((Decimal(sum(stars) * 100) / len(stars)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return skilldb.format_rating(stored) or "-"


def acting_role(login: str) -> str:
    """The role ``skilldb seed`` and ``demo`` act as: ``skilldb_app`` (``SET ROLE``), or on
    Citus, where ``skilldb_app`` cannot log in to the workers, the login itself."""
    return login if citus_mode() else "skilldb_app"


def test_migrate_then_demo_shows_every_seed_skill_and_a_second_run_adds_nothing(empty_db: Database) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": empty_db.admin_url}
    migrated = runner.invoke(main, ["migrate"], env=env)
    assert migrated.exit_code == 0, migrated.output
    assert f"applied {len(list_migrations())} migration(s)" in migrated.output

    seen = []
    for run in range(2):  # the seed is idempotent: the second run finds everything in place
        result = runner.invoke(main, ["demo"], env=env)
        assert result.exit_code == 0, result.output
        assert f"as role {acting_role(empty_db.server.user)}" in result.output
        if run == 0:
            assert "created 2 tenants, 8 users, 15 skills, " in result.output
        else:
            assert "nothing to create: the data set is already there" in result.output
        lines = result.output.splitlines()
        for t in TENANTS:
            assert f"Tenant {t.name}: {len(t.skills)} skills" in result.output
            for spec in t.skills:
                row = next(line for line in lines if line.startswith(spec.slug + " "))
                cells = row.split("  ")
                cells = [c.strip() for c in cells if c.strip()]
                published = f"v{spec.published} of {len(spec.changes)}" if spec.published else "-"
                uses = str(sum(u.count for u in spec.uses))
                assert cells[-3:] == [published, uses, expected_rating([r.stars for r in spec.ratings])], row
        assert "slug" in lines[lines.index(f"Tenant {TENANTS[0].name}: {len(TENANTS[0].skills)} skills") + 2]
        # row-level security hides every skill from skilldb_app; a superuser (Citus) bypasses it
        visible = 15 if citus_mode() else 0
        assert f"Skills visible with no tenant bound: {visible}" in result.output
        seen.append(counts(empty_db.admin_url))
    assert seen[0] == seen[1] and seen[0][:4] == (2, 8, 15, VERSIONS)


def test_seed_twice_creates_the_data_set_once(empty_db: Database) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["seed"], env={"DATABASE_URL": empty_db.admin_url})
    assert first.exit_code == 0, first.output
    assert "Using the server in DATABASE_URL" in first.output
    assert f"{len(list_migrations())} applied" in first.output
    assert f"as role {acting_role(empty_db.server.user)}" in first.output
    assert "created 2 tenants, 8 users, 15 skills, " in first.output
    after_first = counts(empty_db.admin_url)

    second = runner.invoke(main, ["seed", "--database", empty_db.admin_url], env={"DATABASE_URL": None})
    assert second.exit_code == 0, second.output
    assert "Using the server in DATABASE_URL" not in second.output
    assert f"0 applied, {len(list_migrations())} already there" in second.output
    assert "nothing to create: the data set is already there" in second.output
    assert counts(empty_db.admin_url) == after_first


def test_seed_reports_errors_without_a_traceback(empty_db: Database) -> None:
    result = CliRunner().invoke(main, ["seed", "--database", empty_db.admin_url, "--no-migrate"])  # no tables
    assert result.exit_code == 1, result.output
    assert "Error: " in result.output and "Traceback" not in result.output


def test_seed_as_the_application_login(db: Database, admin_conn: Any) -> None:
    # the application login may not create tables, so it seeds a migrated database with --no-migrate
    for run in range(2):
        result = CliRunner().invoke(main, ["seed", "--database", db.app_url, "--no-migrate"])
        assert result.exit_code == 0, result.output
        assert "Applying migrations" not in result.output
        assert f"as role {acting_role(APP_LOGIN)}" in result.output
        assert ("created 2 tenants" if run == 0 else "nothing to create") in result.output
    assert admin_conn.execute("SELECT count(*) FROM tenants").fetchone() == (2,)
