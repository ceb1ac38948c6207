"""Invariants the database keeps against psql sessions, and migrations that lose nothing.

Keys scoped to the tenant, columns the application may not write, history that
cannot be truncated, finite timestamps, and the application role's memberships
surviving a rollback.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

import skilldb
from skilldb import errors
from skilldb.migrate import list_migrations
from tests.catalog import tenant_tables
from tests.plugin import Database, Server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def skill(app_conn: psycopg.Connection[Any], tenant_a: str) -> skilldb.Skill:
    with skilldb.tenant(app_conn, tenant_a):
        user = skilldb.create_user(app_conn, email="h@example.com")
        skill = skilldb.create_skill(app_conn, author_id=user.id, name="H", slug="h")
        skilldb.create_skill_version(
            app_conn, skill.id, content=b"1", content_url="k", content_type="text/plain", created_by=user.id
        )
        return skill


# -- 5. keys scoped to the tenant -----------------------------------------------------------


def test_every_tenant_tables_primary_key_starts_with_the_tenant(admin_conn: psycopg.Connection[Any]) -> None:
    keys = dict(
        admin_conn.execute(
            """SELECT c.conrelid::regclass::text,
                      array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i)
               FROM pg_constraint c WHERE c.contype = 'p' AND c.connamespace = 'public'::regnamespace"""
        ).fetchall()
    )
    for table in tenant_tables(admin_conn):
        assert keys[table] == (["id"] if table == "tenants" else ["tenant_id", "id"]), table


def test_unique_keys_of_tenant_tables_contain_the_tenant(admin_conn: psycopg.Connection[Any]) -> None:
    rows = admin_conn.execute(
        """SELECT i.indexrelid::regclass::text FROM pg_index i
           JOIN pg_class t ON t.oid = i.indrelid AND t.relnamespace = 'public'::regnamespace
           WHERE i.indisunique AND t.relname <> 'tenants' AND t.relname NOT LIKE '%yoyo%'
             AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'tenant_id')
             AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = t.oid
                             AND a.attname = 'tenant_id' AND a.attnum = ANY(i.indkey::int2[]))"""
    ).fetchall()
    assert rows == []


def test_an_upsert_cannot_probe_whether_another_tenants_id_exists(
    app_conn: psycopg.Connection[Any], tenant_a: str, tenant_b: str
) -> None:
    with skilldb.tenant(app_conn, tenant_b):
        theirs = skilldb.create_skill(app_conn, author_id=None, name="B", slug="b").id
    probe = (
        "INSERT INTO skills (tenant_id, id, name, slug) VALUES (%s, %s, 'p', %s) "
        "ON CONFLICT (tenant_id, id) DO NOTHING RETURNING id"
    )
    with skilldb.tenant(app_conn, tenant_a):
        # B's id and a random one answer alike: a new row of A
        assert app_conn.execute(probe, (tenant_a, theirs, "p1")).fetchone() == (theirs,)
        fresh = str(uuid.uuid4())
        assert app_conn.execute(probe, (tenant_a, fresh, "p2")).fetchone() == (fresh,)
    with (
        pytest.raises(psycopg.errors.InvalidColumnReference),
        skilldb.tenant(app_conn, tenant_a),
    ):
        app_conn.execute(
            "INSERT INTO skills (id, name, slug) VALUES (%s, 'p', 'p3') ON CONFLICT (id) DO NOTHING", (theirs,)
        )


# -- 3. columns the application may not write ----------------------------------------------


ASSIGNMENTS = [
    "latest_version = 0",
    "latest_version = 1000",
    "total_uses = 5",
    "average_rating = 500",
    "updated_at = now()",
    "tenant_id = tenant_id",
    "id = id",
]


def test_the_application_cannot_write_counters_kept_by_the_database(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], skill: skilldb.Skill
) -> None:
    before = admin_conn.execute("SELECT * FROM skills").fetchall()
    for assignment in ASSIGNMENTS:
        with (
            pytest.raises(errors.PermissionDenied, match="permission denied"),
            skilldb.tenant(app_conn, skill.tenant_id),
            errors.translate_errors(),
        ):
            app_conn.execute(f"UPDATE skills SET {assignment} WHERE id = %s", (skill.id,))
    assert admin_conn.execute("SELECT * FROM skills").fetchall() == before


def test_the_application_cannot_insert_a_skill_with_its_counters_set(
    app_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    for column in ("latest_version", "total_uses", "average_rating", "updated_at"):
        with (
            pytest.raises(errors.PermissionDenied),
            skilldb.tenant(app_conn, tenant_a),
            errors.translate_errors(),
        ):
            app_conn.execute(f"INSERT INTO skills (name, slug, {column}) VALUES ('x', 'x', DEFAULT)")


def test_versions_are_still_numbered_for_the_application(
    app_conn: psycopg.Connection[Any], skill: skilldb.Skill
) -> None:
    with skilldb.tenant(app_conn, skill.tenant_id):
        user = skilldb.get_user_by_email(app_conn, "h@example.com")
        assert user is not None
        v = skilldb.create_skill_version(
            app_conn, skill.id, content=b"2", content_url="k2", content_type="text/plain", created_by=user.id
        )
        assert v.version == 2
        after = skilldb.get_skill(app_conn, skill.id)
        assert after is not None and after.latest_version == 2


def test_version_numbering_neither_touches_nor_reveals_another_tenants_skill(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], skill: skilldb.Skill, tenant_b: str
) -> None:
    """The numbering trigger runs as its owner: it must act only under the row's own tenant."""
    with (
        pytest.raises(errors.RowSecurityViolation) as info,
        skilldb.tenant(app_conn, tenant_b),
        errors.translate_errors(),
    ):
        app_conn.execute(
            "INSERT INTO skill_versions (tenant_id, skill_id, version, content_url, content_hash, content_type,"
            " name, created_by) VALUES (%s, %s, 99, 'k', %s, 'text/plain', 'n', 'u')",
            (skill.tenant_id, skill.id, "0" * 64),
        )
    assert "takes version" not in str(info.value)
    assert admin_conn.execute("SELECT latest_version FROM skills WHERE id = %s", (skill.id,)).fetchone() == (1,)


# -- 3. immutable history cannot be truncated ----------------------------------------------


@pytest.mark.parametrize(
    "statement", ["TRUNCATE skill_versions CASCADE", "TRUNCATE skills CASCADE", "TRUNCATE tenants CASCADE"]
)
def test_truncating_the_version_history_is_refused_even_to_the_owner(
    admin_conn: psycopg.Connection[Any], skill: skilldb.Skill, statement: str
) -> None:
    with pytest.raises(psycopg.DatabaseError, match="immutable") as info:
        admin_conn.execute(statement)
    assert info.value.sqlstate == "SK002"
    for table in ("skill_versions", "skills", "tenants"):
        row = admin_conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
        assert row is not None and row[0] >= 1, table


# -- 4. timestamps stay finite and in range -------------------------------------------------


def test_timestamps_written_through_psql_stay_finite_and_in_range(
    admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    for value in ("infinity", "-infinity", "10000-01-01", "9999-12-31", "1800-01-01"):
        with pytest.raises(psycopg.errors.CheckViolation, match="moment_in_range"), admin_conn.transaction():
            admin_conn.execute(skilldb.tenancy.bind_tenant_sql(tenant_a))
            admin_conn.execute(
                "INSERT INTO skills (name, slug, created_at) VALUES ('x', 'x', %s::timestamptz)", (value,)
            )


def test_keys_and_names_have_maximum_lengths_in_the_database(
    admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    too_long = {"slug": "a" * 101, "name": "n" * 201, "category": "c" * 101, "id": "i" * 129, "author_id": "u" * 129}
    for column, value in too_long.items():
        row = {"name": "n", "slug": "s", column: value}
        with pytest.raises(psycopg.errors.CheckViolation), admin_conn.transaction():
            admin_conn.execute(skilldb.tenancy.bind_tenant_sql(tenant_a))
            admin_conn.execute(
                sql.SQL("INSERT INTO skills ({}) VALUES ({})").format(
                    sql.SQL(", ").join(map(sql.Identifier, row)), sql.SQL(", ").join(sql.Placeholder() * len(row))
                ),
                list(row.values()),
            )


# -- 3. migrations: rollback counts, and the role's members survive -------------------------


def test_rollback_counts_are_validated_before_anything_is_rolled_back(
    db: Database, admin_conn: psycopg.Connection[Any]
) -> None:
    cases: list[tuple[Any, type[Exception]]] = [
        (-1, errors.InvalidInput),
        (0, errors.InvalidInput),
        (True, TypeError),
        ("1", TypeError),
        (None, TypeError),
        (1.0, TypeError),
        ("every", TypeError),
    ]
    for count, error in cases:
        with pytest.raises(error, match="count"):
            skilldb.rollback_migrations(db.admin_url, count=count)
    assert admin_conn.execute("SELECT count(*) FROM _yoyo_migration").fetchone() == (len(list_migrations()),)


def test_rolling_back_everything_keeps_the_application_role_and_its_members(
    empty_db: Database, pg_server: Server
) -> None:
    url = empty_db.admin_url
    skilldb.apply_migrations(url)
    assert skilldb.rollback_migrations(url, count="all") == list(reversed(list_migrations()))
    with psycopg.connect(url) as conn:
        member = conn.execute("SELECT pg_has_role('skilldb_test_app', 'skilldb_app', 'MEMBER')").fetchone()
    assert member == (True,)
    skilldb.apply_migrations(url)
    tenant_id = str(uuid.uuid4())
    with psycopg.connect(empty_db.app_url) as conn, skilldb.tenant(conn, tenant_id):
        assert skilldb.create_tenant(conn, name="After rollback").id == tenant_id


def test_migrating_without_create_on_public_names_the_real_cause(empty_db: Database) -> None:
    with psycopg.connect(empty_db.admin_url, autocommit=True) as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    with pytest.raises(errors.PermissionDenied, match="may not create tables in schema public"):
        skilldb.apply_migrations(empty_db.app_url)
    result = subprocess.run(
        [sys.executable, "-m", "skilldb.cli", "migrate", "--database", empty_db.app_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "GRANT CREATE ON SCHEMA public" in result.stderr and "Traceback" not in result.stderr
    assert "yoyo_lock" not in result.stderr


@pytest.mark.parametrize("conninfo", [None, 5, b"host=x"])
def test_apply_migrations_names_a_bad_conninfo(conninfo: Any) -> None:
    with pytest.raises(TypeError, match="conninfo"):
        skilldb.apply_migrations(conninfo)
