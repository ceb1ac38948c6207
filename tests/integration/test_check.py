"""``skilldb check`` and edited-migration detection, tried as a DBA would break things.

Queries are broken on purpose in a temporary copy of ``queries/``; each report must
name the file, the line and what PostgreSQL (or the static checks) said.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest
from yoyo import get_backend, read_migrations

import skilldb
from skilldb import history
from skilldb.check import check, read_queries
from skilldb.migrate import yoyo_url
from tests.plugin import Database, Server


@pytest.fixture
def queries(tmp_path: Path) -> Path:
    copy = tmp_path / "queries"
    shutil.copytree(skilldb.QUERIES_DIR, copy)
    return copy


def edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` (once) in ``path``; return the 1-based line where it was."""
    text = path.read_text()
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1))
    return line


def test_an_unchanged_tree_is_clean(pg_server: Server) -> None:
    report = check(pg_server.conninfo(pg_server.maintenance_dbname))
    assert report.problems == []
    assert report.queries == len(read_queries()) > 40
    assert report.summary().startswith(f"skilldb check: {report.queries} queries, all clean")


def test_each_broken_query_is_reported_at_its_file_and_line(pg_server: Server, queries: Path) -> None:
    column = edit(queries / "skills.sql", "    AND slug = :slug;", "    AND slugg = :slug;")
    syntax = edit(
        queries / "users.sql",
        "FROM users\nWHERE tenant_id = :tenant_id\n    AND id = :user_id",
        "FROM users\nWHERE WHERE",
    )
    unused = edit(queries / "tenants.sql", "-- name: get_tenant(tenant_id)^", "-- name: get_tenant(tenant_id, extra)^")
    undeclared = edit(queries / "ratings.sql", "AND id = :rating_id;", "AND id = :rating_id AND user_id = :who;")
    percent = edit(queries / "skill_versions.sql", "FROM skill_versions", "FROM skill_versions /* 100% */")
    name = edit(queries / "tenants.sql", "-- name: create_tenant(", "-- name: tenantCreate(")
    star = edit(
        queries / "skill_messages.sql",
        "    message, status, created_at, read_at\nFROM skill_messages\n"
        "WHERE tenant_id = :tenant_id\n    AND to_user_id",
        "    message, status, created_at, read_at, (SELECT * FROM skills LIMIT 1)\nFROM skill_messages\n"
        "WHERE tenant_id = :tenant_id\n    AND to_user_id",
    )
    report = check(pg_server.conninfo(pg_server.maintenance_dbname), queries_dir=queries)
    lines = [str(p) for p in report.problems]
    expected = [
        f'queries/skills.sql:{column}: get_skill_by_slug: column "slugg" does not exist (hint: Perhaps you meant',
        f'queries/users.sql:{syntax + 1}: get_user: syntax error at or near "WHERE"',
        f"queries/tenants.sql:{unused}: get_tenant: parameter 'extra' is declared but never used",
        f"queries/ratings.sql:{undeclared}: delete_rating: parameter :who is used but not declared",
        f"queries/skill_versions.sql:{percent}: ",
        f"queries/tenants.sql:{name}: tenantCreate: name breaks the convention",
        f"queries/skill_messages.sql:{star}: list_messages_for_user: SELECT *",
    ]
    shown = [line.replace(str(queries.parent) + "/", "") for line in lines]
    for want in expected:
        assert any(line.startswith(want) for line in shown), f"{want!r} not in:\n" + "\n".join(shown)
    assert any("a literal % must be written %%" in line for line in shown)
    assert not report.ok and "problem(s)" in report.summary()


def test_an_edited_migration_is_reported_and_migrate_refuses(
    empty_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(skilldb.MIGRATIONS_DIR, migrations)
    monkeypatch.setattr("skilldb.migrate.MIGRATIONS_DIR", migrations)
    skilldb.apply_migrations(empty_db.admin_url)
    with psycopg.connect(empty_db.admin_url) as conn:
        assert history.edited_migrations(conn, migrations) == []
    target = migrations / "0002_create_skills.sql"
    target.write_text(target.read_text() + "\n-- an afterthought\n")
    with psycopg.connect(empty_db.admin_url) as conn:
        edited = history.edited_migrations(conn, migrations)
    assert [e.migration_id for e in edited] == ["0002_create_skills"]
    assert "0002_create_skills.sql was edited after it was applied" in str(edited[0])
    assert edited[0].applied_at is not None
    with pytest.raises(skilldb.errors.MigrationEdited, match=r"0002_create_skills\.sql"):
        skilldb.apply_migrations(empty_db.admin_url)
    assert skilldb.apply_migrations(empty_db.admin_url, allow_edited=True) == []
    report = check(empty_db.admin_url, migrations_dir=migrations)
    assert any("0002_create_skills.sql was edited" in str(p) for p in report.problems)
    # rolled back, it may change freely; applied again, its new text is recorded
    skilldb.rollback_migrations(empty_db.admin_url, "all")
    skilldb.apply_migrations(empty_db.admin_url)
    with psycopg.connect(empty_db.admin_url) as conn:
        assert history.edited_migrations(conn, migrations) == []


def test_migrations_applied_by_plain_yoyo_are_recorded_on_the_next_apply(empty_db: Database) -> None:
    backend = get_backend(yoyo_url(empty_db.admin_url))
    try:
        with backend.lock():
            backend.apply_migrations(backend.to_apply(read_migrations(str(skilldb.MIGRATIONS_DIR))))
    finally:
        backend.connection.close()
    with psycopg.connect(empty_db.admin_url) as conn:
        assert conn.execute(f"SELECT to_regclass('{history.TABLE}')").fetchone() == (None,)
    skilldb.apply_migrations(empty_db.admin_url)
    with psycopg.connect(empty_db.admin_url) as conn:
        count: Any = conn.execute(f"SELECT count(*) FROM {history.TABLE}").fetchone()
    assert count == (len(skilldb.migrate.list_migrations()),)


def test_the_cli_prints_one_line_per_problem_and_exits_1(db: Database) -> None:
    from click.testing import CliRunner

    from skilldb.cli import main

    clean = CliRunner().invoke(main, ["check", "--database", db.admin_url])
    assert clean.exit_code == 0, clean.output
    assert clean.output.splitlines()[-1].startswith("skilldb check: ") and "all clean" in clean.output
    with psycopg.connect(db.admin_url) as conn:
        conn.execute(
            f"UPDATE {history.TABLE} SET checksum = 'tampered' WHERE migration_id = %s",
            ("0003_create_skill_versions_and_ratings",),
        )
    broken = CliRunner().invoke(main, ["check", "--database", db.admin_url])
    assert broken.exit_code == 1
    first = broken.output.splitlines()[0]
    assert first.startswith("migrations/0003_create_skill_versions_and_ratings.sql:1: ")
    assert "was edited after it was applied" in first and "1 problem(s)" in broken.output
