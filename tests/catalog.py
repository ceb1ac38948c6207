"""Catalog queries the schema tests share: a comparable snapshot of the public schema, and the table model
the sample rows of tests/sample.py are generated from (columns, foreign keys, unique keys)."""

from __future__ import annotations

import re
from dataclasses import dataclass
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
    """Everything the migrations define, as sorted rows per kind of object (not the
    bookkeeping skilldb keeps beside yoyo's, ``skilldb_migration_checksums``)."""
    return {
        kind: [row for row in conn.execute(query).fetchall() if row[0] != "skilldb_migration_checksums"]
        for kind, query in SNAPSHOT_QUERIES.items()
    }


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


# -- the table model the sample rows and break-in tests are generated from ---------------------


@dataclass(frozen=True)
class Column:
    """One column of a table, its type resolved through domains to the base type."""

    name: str
    type: str  # as format_type() spells it, domains included: a cast target
    base_type: str  # pg_type.typname of the base type (domains resolved)
    category: str  # pg_type.typcategory of the base type: 'S' string, 'N' numeric, ...
    enum_labels: tuple[str, ...]
    not_null: bool
    default: str | None
    generated: bool  # GENERATED ALWAYS AS (...) STORED, or an identity column
    ordinal: int


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key: ``columns`` of ``table`` reference ``parent_columns`` of ``parent``, in order."""

    name: str
    table: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    match_full: bool


@dataclass(frozen=True)
class UniqueKey:
    """A unique index (primary key and unique constraints included), as an ON CONFLICT target."""

    name: str
    table: str
    elements: tuple[str, ...]  # each a quoted column or a parenthesized expression
    columns: frozenset[str]  # every column the key (or its predicate) reads
    predicate: str | None
    primary: bool


def public_tables(conn: psycopg.Connection[Any]) -> list[str]:
    """Every table and partitioned table in schema public except yoyo's bookkeeping."""
    rows = conn.execute(
        """SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')
             AND relname NOT LIKE '%%yoyo%%' ORDER BY 1"""
    ).fetchall()
    return [r[0] for r in rows]


def tenant_relations(conn: psycopg.Connection[Any]) -> list[str]:
    """Like :func:`tenant_tables`, with partitioned tables (relkind 'p') too."""
    rows = conn.execute(
        """SELECT c.relname FROM pg_class c
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
             AND (c.relname = 'tenants' OR EXISTS (
                 SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                 AND NOT a.attisdropped))
           ORDER BY 1"""
    ).fetchall()
    return [r[0] for r in rows]


def table_columns(conn: psycopg.Connection[Any]) -> dict[str, list[Column]]:
    """The columns of every public table, in order."""
    rows = conn.execute(
        """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), bt.typname, bt.typcategory,
                  array(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = bt.oid ORDER BY e.enumsortorder),
                  a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attgenerated <> '' OR a.attidentity <> '',
                  a.attnum
           FROM pg_class c
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
           CROSS JOIN LATERAL (
               WITH RECURSIVE chain(oid, depth) AS (
                   SELECT a.atttypid, 0
                   UNION ALL
                   SELECT t.typbasetype, chain.depth + 1 FROM chain JOIN pg_type t ON t.oid = chain.oid
                   WHERE t.typtype = 'd')
               SELECT t.oid, t.typname::text AS typname, t.typcategory::text AS typcategory
               FROM chain JOIN pg_type t ON t.oid = chain.oid ORDER BY chain.depth DESC LIMIT 1
           ) AS bt
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
           ORDER BY c.relname, a.attnum"""
    ).fetchall()
    out: dict[str, list[Column]] = {}
    for table, name, typ, base, category, labels, not_null, default, generated, ordinal in rows:
        out.setdefault(table, []).append(
            Column(name, typ, base, category, tuple(labels), not_null, default, generated, ordinal)
        )
    return out


def foreign_keys(conn: psycopg.Connection[Any]) -> list[ForeignKey]:
    """Every foreign key between public tables, by table and name."""
    rows = conn.execute(
        """SELECT con.conname, con.conrelid::regclass::text, con.confrelid::regclass::text,
                  array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
                  array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i),
                  con.confmatchtype = 'f'
           FROM pg_constraint con
           WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace
           ORDER BY 2, 1"""
    ).fetchall()
    return [
        ForeignKey(name, table, tuple(cols), parent, tuple(pcols), full)
        for name, table, parent, cols, pcols, full in rows
    ]


def unique_keys(conn: psycopg.Connection[Any]) -> list[UniqueKey]:
    """Every valid unique index of a public table: primary keys, unique constraints, unique indexes."""
    rows = conn.execute(
        """SELECT ic.relname, t.relname,
                  array(SELECT CASE WHEN i.indkey[k - 1] <> 0 THEN quote_ident(a.attname)
                                    ELSE '(' || pg_get_indexdef(i.indexrelid, k, true) || ')' END
                        FROM generate_series(1, i.indnkeyatts) k
                        LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1]
                        ORDER BY k),
                  array(SELECT a.attname::text FROM pg_attribute a
                        WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
                        UNION
                        SELECT a.attname::text FROM pg_depend d
                        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                          AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid AND d.refobjsubid > 0),
                  pg_get_expr(i.indpred, i.indrelid), i.indisprimary
           FROM pg_index i
           JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_class ic ON ic.oid = i.indexrelid
           WHERE i.indisunique AND i.indisvalid AND t.relnamespace = 'public'::regnamespace
             AND t.relname NOT LIKE '%%yoyo%%'
           ORDER BY 2, 1"""
    ).fetchall()
    return [
        UniqueKey(name, table, tuple(elements), frozenset(cols), predicate, primary)
        for name, table, elements, cols, predicate, primary in rows
    ]


def constraint_columns(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], tuple[str, ...]]:
    """The columns of every table constraint in schema public, by (table, constraint name)."""
    rows = conn.execute(
        """SELECT con.conrelid::regclass::text, con.conname,
                  array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i)
           FROM pg_constraint con
           WHERE con.connamespace = 'public'::regnamespace AND con.conrelid <> 0"""
    ).fetchall()
    return {(table, name): tuple(cols) for table, name, cols in rows}


def check_choices(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], str]:
    """For columns with a ``CHECK (column IN ('a', 'b', ...))``: the first value allowed, by (table, column)."""
    rows = conn.execute(
        """SELECT con.conrelid::regclass::text, a.attname::text, pg_get_constraintdef(con.oid)
           FROM pg_constraint con
           JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
           WHERE con.contype = 'c' AND con.connamespace = 'public'::regnamespace AND cardinality(con.conkey) = 1"""
    ).fetchall()
    out = {}
    for table, column, definition in rows:
        m = re.search(r"= ANY \(\(?ARRAY\['((?:[^']|'')*)'", definition)
        if m:
            out[table, column] = m.group(1).replace("''", "'")
    return out
