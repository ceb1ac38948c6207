"""Row-level security, tried as an attacker would: as the application login, bound to tenant A.

Sample rows for two tenants are written as the superuser; then, for every tenant
table (read from the catalog, so a new table without a sample row fails), the
application tries to read, write, move and reference tenant B's data.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import ConnectionPool

import skilldb
from skilldb import errors
from tests.catalog import tenant_tables


def sample_rows(tenant: str, n: int = 0) -> dict[str, dict[str, Any]]:
    """One row per tenant table for ``tenant``; ``n`` makes ids and unique values distinct."""
    p = f"{tenant}-{n}"
    return {
        "tenants": {"id": tenant if n == 0 else p, "name": f"Tenant {p}"},
        "users": {"id": f"{p}-u1", "tenant_id": tenant, "email": f"u1-{p}@example.com"},
        "skills": {
            "id": f"{p}-s",
            "tenant_id": tenant,
            "author_id": f"{tenant}-0-u1",
            "name": "Skill",
            "slug": f"skill-{n}",
        },
        "skill_versions": {
            "id": f"{p}-v",
            "tenant_id": tenant,
            "skill_id": f"{tenant}-0-s",
            "content_url": f"s3://{p}",
            "content_hash": hashlib.sha256(p.encode()).hexdigest(),
            "content_type": "text/markdown",
            "name": "Skill",
            "created_by": f"{tenant}-0-u1",
        },
        "ratings": {
            "id": f"{p}-r",
            "tenant_id": tenant,
            "skill_id": f"{tenant}-0-s",
            "user_id": f"{tenant}-0-u1" if n == 0 else f"{p}-u1",
            "rating": 4,
        },
        "usage_events": {
            "id": f"{p}-e",
            "tenant_id": tenant,
            "skill_id": f"{tenant}-0-s",
            "user_id": f"{tenant}-0-u1",
            "tool_name": "cli",
        },
        "skill_messages": {
            "id": f"{p}-m",
            "tenant_id": tenant,
            "from_user_id": f"{tenant}-0-u1",
            "to_user_id": f"{tenant}-0-u2",
            "subject_skill_id": f"{tenant}-0-s",
            "message": "hello",
        },
    }


def insert(conn: psycopg.Connection[Any], table: str, row: dict[str, Any]) -> int:
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder() * len(row)),
    )
    return conn.execute(query, list(row.values())).rowcount


def owner_column(table: str) -> str:
    return "id" if table == "tenants" else "tenant_id"


@pytest.fixture
def two_tenants(admin_conn: psycopg.Connection[Any]) -> tuple[str, str]:
    """Tenants A and B, each with one row in every tenant table (written as superuser)."""
    a, b = (f"{x}-{uuid.uuid4().hex[:8]}" for x in "ab")
    for tenant in (a, b):
        # a DBA binds the tenant too: versions are numbered under their tenant's binding
        with admin_conn.transaction():
            admin_conn.execute(skilldb.tenancy.bind_tenant_sql(tenant))
            for table, row in sample_rows(tenant).items():
                if table == "skill_messages":  # a message goes to another user
                    second = {"id": f"{tenant}-0-u2", "tenant_id": tenant, "email": "u2@example.com"}
                    insert(admin_conn, "users", second)
                insert(admin_conn, table, row)
    return a, b


def count_rows(admin_conn: psycopg.Connection[Any], table: str, tenant: str) -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(
        sql.Identifier(table), sql.Identifier(owner_column(table))
    )
    row = admin_conn.execute(query, (tenant,)).fetchone()
    return int(row[0]) if row else -1


def test_the_application_login_is_unprivileged(app_conn: psycopg.Connection[Any]) -> None:
    row = app_conn.execute(
        "SELECT rolsuper, rolbypassrls, pg_has_role(current_user, 'skilldb_app', 'MEMBER') "
        "FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    assert row == (False, False, True)


def test_every_tenant_table_has_sample_rows(admin_conn: psycopg.Connection[Any]) -> None:
    assert set(tenant_tables(admin_conn)) == set(sample_rows("x"))


@pytest.mark.parametrize("table", list(sample_rows("x")))
class TestIsolation:
    def test_other_tenant_rows_are_invisible(
        self, table: str, two_tenants: tuple[str, str], app_conn: psycopg.Connection[Any]
    ) -> None:
        a, _ = two_tenants
        with skilldb.tenant(app_conn, a):
            owners = app_conn.execute(
                sql.SQL("SELECT {} FROM {}").format(sql.Identifier(owner_column(table)), sql.Identifier(table))
            ).fetchall()
        assert set(owners) == {(a,)}

    def test_inserting_a_row_of_another_tenant_is_rejected(
        self,
        table: str,
        two_tenants: tuple[str, str],
        app_conn: psycopg.Connection[Any],
        admin_conn: psycopg.Connection[Any],
    ) -> None:
        a, b = two_tenants
        row = sample_rows(b, n=1)[table]
        if table == "tenants":
            row["id"] = b + "-other"
        before = count_rows(admin_conn, table, row[owner_column(table)])
        with (
            pytest.raises(errors.RowSecurityViolation),
            skilldb.tenant(app_conn, a),
            errors.translate_errors(),
        ):
            insert(app_conn, table, row)
        assert count_rows(admin_conn, table, row[owner_column(table)]) == before

    def test_updating_or_deleting_other_tenant_rows_changes_nothing(
        self,
        table: str,
        two_tenants: tuple[str, str],
        app_conn: psycopg.Connection[Any],
        admin_conn: psycopg.Connection[Any],
    ) -> None:
        a, b = two_tenants
        ident = sql.Identifier(table)
        before = admin_conn.execute(sql.SQL("SELECT * FROM {} ORDER BY id").format(ident)).fetchall()
        target = sample_rows(b)[table]["id"]
        updatable = admin_conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND is_generated = 'NEVER' "
            "AND has_column_privilege('skilldb_app', table_name, column_name, 'UPDATE') ORDER BY 1",
            (table,),
        ).fetchall()
        statements = [sql.SQL("DELETE FROM {} WHERE id = %s").format(ident)]
        statements += [
            # a no-op assignment: row-level security must still hide the row, so 0 rows change
            sql.SQL("UPDATE {} SET {} = {} WHERE id = %s").format(ident, sql.Identifier(c), sql.Identifier(c))
            for (c,) in updatable
        ]
        may_delete = admin_conn.execute(
            "SELECT has_table_privilege('skilldb_app', %s, 'DELETE')", (table,)
        ).fetchone() == (True,)
        for i, statement in enumerate(statements):
            if i == 0 and not may_delete:
                with (
                    pytest.raises(psycopg.errors.InsufficientPrivilege),
                    skilldb.tenant(app_conn, a),
                ):
                    app_conn.execute(statement, (target,))
                continue
            with skilldb.tenant(app_conn, a):
                assert app_conn.execute(statement, (target,)).rowcount == 0
        after = admin_conn.execute(sql.SQL("SELECT * FROM {} ORDER BY id").format(ident)).fetchall()
        assert after == before

    def test_moving_own_row_to_another_tenant_is_rejected(
        self,
        table: str,
        two_tenants: tuple[str, str],
        app_conn: psycopg.Connection[Any],
    ) -> None:
        a, b = two_tenants
        column = sql.Identifier(owner_column(table))
        with (
            pytest.raises((errors.RowSecurityViolation, errors.PermissionDenied, errors.InvalidInput)),
            skilldb.tenant(app_conn, a),
            errors.translate_errors(),
        ):
            app_conn.execute(
                sql.SQL("UPDATE {} SET {} = %s WHERE id = %s").format(sql.Identifier(table), column),
                (b, sample_rows(a)[table]["id"]),
            )

    def test_rows_without_a_bound_tenant_are_invisible_and_cannot_be_inserted(
        self,
        table: str,
        two_tenants: tuple[str, str],
        app_conn: psycopg.Connection[Any],
        admin_conn: psycopg.Connection[Any],
    ) -> None:
        a, _ = two_tenants
        count = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        setting = "SELECT current_setting('app.current_tenant_id', true)"
        # never set in this session
        assert app_conn.execute(setting).fetchone() == (None,)
        assert app_conn.execute(count).fetchone() == (0,)
        app_conn.rollback()
        with skilldb.tenant(app_conn, a):
            assert app_conn.execute(count).fetchone() == (count_rows(admin_conn, table, a),)
        # after a tenant transaction ended the setting reads '' rather than NULL
        assert app_conn.execute(setting).fetchone() == ("",)
        assert app_conn.execute(count).fetchone() == (0,)
        app_conn.rollback()
        row = dict(sample_rows(a, n=2)[table])
        row.pop("tenant_id", None)
        expected = errors.RowSecurityViolation if table == "tenants" else errors.TenantRequired
        before = admin_conn.execute(count).fetchone()
        for _ in range(2):  # once with the setting '' and once after a fresh rollback
            with pytest.raises(expected), app_conn.transaction(), errors.translate_errors():
                insert(app_conn, table, row)
        assert admin_conn.execute(count).fetchone() == before


@pytest.mark.parametrize(
    ("table", "column", "target"),
    [
        ("skills", "author_id", "users"),
        ("skill_versions", "skill_id", "skills"),
        ("skill_versions", "created_by", "users"),
        ("ratings", "skill_id", "skills"),
        ("ratings", "user_id", "users"),
        ("usage_events", "skill_id", "skills"),
        ("usage_events", "user_id", "users"),
        ("skill_messages", "from_user_id", "users"),
        ("skill_messages", "to_user_id", "users"),
        ("skill_messages", "subject_skill_id", "skills"),
        ("skill_messages", "proposed_parent_skill_id", "skills"),
    ],
)
def test_a_row_cannot_reference_another_tenants_row(
    table: str,
    column: str,
    target: str,
    two_tenants: tuple[str, str],
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
) -> None:
    a, b = two_tenants
    row = sample_rows(a, n=3)[table]
    row[column] = sample_rows(b)[target]["id"]
    before = count_rows(admin_conn, table, a)
    with (
        pytest.raises(errors.UnknownReference) as info,
        skilldb.tenant(app_conn, a),
        errors.translate_errors(),
    ):
        insert(app_conn, table, row)
    assert info.value.table_name == table
    assert count_rows(admin_conn, table, a) == before


def test_foreign_keys_of_tenant_tables_cover_the_reference_cases(
    admin_conn: psycopg.Connection[Any],
) -> None:
    """The parametrized list above names every composite foreign key, so none goes untested."""
    fks = admin_conn.execute(
        """SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text
           FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
           WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND a.attname <> 'tenant_id'
             AND c.conrelid <> c.confrelid AND c.confrelid <> 'skill_versions'::regclass"""
    ).fetchall()
    marks = test_a_row_cannot_reference_another_tenants_row.pytestmark  # type: ignore[attr-defined]
    cases = {tuple(p) for m in marks if m.name == "parametrize" for p in m.args[1]}
    assert set(fks) == cases


def test_a_session_sees_only_its_own_tenant(app_conn: psycopg.Connection[Any], tenant_a: str, tenant_b: str) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        rows = app_conn.execute("SELECT id FROM tenants").fetchall()
        assert rows == [(tenant_a,)]
        assert skilldb.get_tenant(app_conn) == skilldb.get_tenant(app_conn)
        tenant = skilldb.get_tenant(app_conn)
        assert tenant is not None and tenant.id == tenant_a and tenant.name == "Tenant A"


def test_pooled_connection_carries_no_tenant_into_the_next_checkout(db: Any) -> None:
    with ConnectionPool(db.app_url, min_size=1, max_size=1, open=True) as pool:
        with pool.connection() as conn:
            tenant_id = str(uuid.uuid4())
            with skilldb.tenant(conn, tenant_id):
                skilldb.create_tenant(conn, name="Pooled")
                skilldb.create_skill(conn, author_id=None, name="Pooled skill", slug="pooled")
                pid = conn.info.backend_pid
        with pool.connection() as conn:
            assert conn.info.backend_pid == pid  # the very same server session
            assert conn.execute("SELECT current_setting('app.current_tenant_id', true)").fetchone() == ("",)
            assert conn.execute("SELECT count(*) FROM skills").fetchone() == (0,)
            conn.rollback()
            for call in (
                lambda: skilldb.list_skills(conn),
                lambda: skilldb.get_tenant(conn),
                lambda: skilldb.create_skill(conn, author_id=None, name="Orphan", slug="orphan"),
            ):
                with pytest.raises(errors.TenantRequired):
                    call()
                conn.rollback()
