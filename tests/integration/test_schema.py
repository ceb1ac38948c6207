"""Catalog checks: they read pg_catalog, so a new table or key that skips the rules fails them."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.catalog import tenant_tables
from tests.plugin import citus_mode

EXPECTED_TABLES = {
    "tenants",
    "users",
    "skills",
    "skill_versions",
    "ratings",
    "usage_events",
    "skill_messages",
}


def test_the_expected_tenant_tables_exist(admin_conn: psycopg.Connection[Any]) -> None:
    assert EXPECTED_TABLES <= set(tenant_tables(admin_conn))


def test_every_foreign_key_has_a_covering_index(admin_conn: psycopg.Connection[Any]) -> None:
    rows = admin_conn.execute(
        """
        SELECT c.conname, c.conrelid::regclass::text, c.conkey
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
          AND NOT EXISTS (
            SELECT 1 FROM pg_index i
            WHERE i.indrelid = c.conrelid
              AND ((SELECT array_agg(k ORDER BY k) FROM unnest(c.conkey) k)
                    = (SELECT array_agg(k ORDER BY k)
                       FROM unnest((i.indkey::int2[])[0:cardinality(c.conkey) - 1]) k)
                /* or a unique index on some of the key's columns: one row per lookup */
                OR (i.indisunique AND i.indkey::int2[] <@ c.conkey)))
        ORDER BY 1
        """
    ).fetchall()
    assert rows == [], f"foreign keys without an index on their columns: {rows}"


def test_row_level_security_is_enabled_and_forced_on_every_tenant_table(
    admin_conn: psycopg.Connection[Any],
) -> None:
    tables = tenant_tables(admin_conn)
    flags = dict(
        (r[0], (r[1], r[2]))
        for r in admin_conn.execute(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relname = ANY(%s)",
            (tables,),
        )
    )
    assert flags == {t: (True, True) for t in tables}


def test_every_tenant_table_has_one_permissive_tenant_isolation_policy(
    admin_conn: psycopg.Connection[Any],
) -> None:
    tables = tenant_tables(admin_conn)
    policies = admin_conn.execute(
        "SELECT tablename, policyname, permissive, cmd, qual, with_check FROM pg_policies "
        "WHERE schemaname = 'public' AND tablename = ANY(%s) ORDER BY 1",
        (tables,),
    ).fetchall()
    assert sorted(p[0] for p in policies) == sorted(tables)
    for table, name, permissive, cmd, qual, with_check in policies:
        column = "id" if table == "tenants" else "tenant_id"
        # on Citus (migration 0023) the distribution column is text, not key_text: no cast
        left = column if citus_mode() else f"({column})::text"
        expected = f"({left} = current_setting('app.current_tenant_id'::text, true))"
        assert (name, permissive, cmd) == ("tenant_isolation", "PERMISSIVE", "ALL"), table
        assert qual == expected and with_check == expected, table


def test_every_foreign_key_between_tenant_tables_includes_tenant_id(
    admin_conn: psycopg.Connection[Any],
) -> None:
    rows = admin_conn.execute(
        """
        SELECT c.conname,
               (SELECT array_agg(a.attname) FROM pg_attribute a
                WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)) AS cols
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
          AND c.confrelid <> 'tenants'::regclass
          AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attname = 'tenant_id')
        """
    ).fetchall()
    assert rows
    missing = [name for name, cols in rows if "tenant_id" not in cols]
    assert missing == []


def test_application_role_is_unprivileged(admin_conn: psycopg.Connection[Any]) -> None:
    row = admin_conn.execute(
        "SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
        "FROM pg_roles WHERE rolname = 'skilldb_app'"
    ).fetchone()
    assert row == (False, False, False, False, False)
