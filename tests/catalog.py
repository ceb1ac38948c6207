"""Catalog queries the schema tests share: a comparable snapshot of the public schema."""

from __future__ import annotations

from typing import Any

import psycopg

SNAPSHOT_QUERIES = {
    "columns": """
        SELECT table_name, column_name, data_type, datetime_precision, is_nullable, column_default
        FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_yoyo_migration'
          AND table_name NOT LIKE '\\_yoyo%%' AND table_name <> 'yoyo_lock'
        ORDER BY 1, 2""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid <> 0
          AND conrelid::regclass::text NOT LIKE '%%yoyo%%'
        ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename NOT LIKE '%%yoyo%%' ORDER BY 1, 2""",
    "policies": """
        SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check
        FROM pg_policies WHERE schemaname = 'public' ORDER BY 1, 2""",
    "row_security": """
        SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname NOT LIKE '%%yoyo%%'
        ORDER BY 1""",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger
        WHERE NOT tgisinternal ORDER BY 1, 2""",
    "functions": """
        SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1""",
    "grants": """
        SELECT table_name, privilege_type FROM information_schema.role_table_grants
        WHERE grantee = 'skilldb_app' ORDER BY 1, 2""",
    "column_grants": """
        SELECT table_name, column_name, privilege_type FROM information_schema.column_privileges
        WHERE grantee = 'skilldb_app' ORDER BY 1, 2, 3""",
    "comments": """
        SELECT c.relname, d.objsubid, d.description FROM pg_description d
        JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
        WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1, 2""",
}


def snapshot(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the migrations define, as sorted rows per kind of object."""
    return {kind: conn.execute(query).fetchall() for kind, query in SNAPSHOT_QUERIES.items()}


def tenant_tables(conn: psycopg.Connection[Any]) -> list[str]:
    """Every table holding tenant data: ``tenants`` and each table with a ``tenant_id`` column."""
    rows = conn.execute(
        """SELECT c.relname FROM pg_class c
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
             AND (c.relname = 'tenants' OR EXISTS (
                 SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                 AND NOT a.attisdropped))
           ORDER BY 1"""
    ).fetchall()
    return [r[0] for r in rows]
