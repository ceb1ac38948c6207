"""A Mermaid ``erDiagram`` of the schema as it is in a database (``skilldb erd``).

Read from PostgreSQL's catalog, not from the migration files, so it shows what the
migrations actually built: every table of one schema (``public`` by default) except the
migration bookkeeping (yoyo's tables and skilldb's migration checksums), with

- each column's type, its keys (``PK``, ``FK``, ``UK`` for a single-column unique key)
  and a comment: ``not null`` or ``nullable``, and ``unique (a, b)`` on the last column
  of a multi-column unique key;
- the entity's label ``name (RLS forced)`` when row-level security is enabled and
  forced on it (``name (RLS)`` when enabled only);
- one relationship per foreign key, labelled with its columns. The referenced side is
  ``||`` (exactly one) when every referencing column is ``NOT NULL``, else ``|o``; the
  referencing side is ``o|`` (at most one) when the referencing columns hold a unique
  key of their table, else ``o{``; the line is identifying (``--``) when they all belong
  to the referencing table's primary key, else ``..``.

The output is deterministic: tables and relationships sorted by name, columns in
table order. Types are PostgreSQL's names, shortened (``varchar(36)``, ``timestamptz``)
and with characters Mermaid refuses in a type replaced by ``_`` (``numeric(10_2)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import pq

__all__ = ["BOOKKEEPING_TABLES", "REGENERATE", "document", "erd"]

#: Tables left out: yoyo's own, and the checksums skilldb records beside them.
BOOKKEEPING_TABLES = frozenset(
    {"_yoyo_log", "_yoyo_migration", "_yoyo_version", "yoyo_lock", "skilldb_migration_checksums"}
)

#: The command that rewrites ``docs/schema.md`` (from the repository root).
REGENERATE = "python -m uv run skilldb migrate && python -m uv run skilldb erd --markdown > docs/schema.md"

_SHORT_TYPES = (
    ("timestamp with time zone", "timestamptz"),
    ("timestamp without time zone", "timestamp"),
    ("time with time zone", "timetz"),
    ("time without time zone", "time"),
    ("character varying", "varchar"),
    ("double precision", "float8"),
    ("bit varying", "varbit"),
    ("character", "char"),
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_NOT_IN_TYPE = re.compile(r"[^A-Za-z0-9_\-\[\]()]+")


@dataclass
class _Table:
    oid: int
    name: str
    rls: bool
    forced: bool
    columns: list[tuple[int, str, str, bool]] = field(default_factory=list)  # attnum, name, type, not null
    primary: tuple[int, ...] = ()
    unique: list[tuple[int, ...]] = field(default_factory=list)
    foreign: set[int] = field(default_factory=set)


def _type(pg_type: str) -> str:
    for long, short in _SHORT_TYPES:
        pg_type = re.sub(rf"\b{long}\b", short, pg_type)
    pg_type = re.sub(r"^(timestamp|time)(\(\d+\)) with time zone", r"\1tz\2", pg_type)
    pg_type = re.sub(r"^(timestamp|time)(\(\d+\)) without time zone", r"\1\2", pg_type)
    return _NOT_IN_TYPE.sub("_", pg_type).strip("_") or "unknown"


def _entity(name: str) -> str:
    return name if _WORD.fullmatch(name) else '"' + re.sub(r'["%\\]', "_", name) + '"'


def _attribute(name: str) -> str:
    return name if _WORD.fullmatch(name) else _NOT_IN_TYPE.sub("_", name)


def _tables(conn: psycopg.Connection[Any], schema: str) -> dict[int, _Table]:
    rows = conn.execute(
        """SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition""",
        (schema,),
    ).fetchall()
    tables = {
        oid: _Table(oid, name, rls, forced)
        for oid, name, rls, forced in rows
        if name not in BOOKKEEPING_TABLES and not name.startswith("yoyo_tmp_")
    }
    oids = list(tables)
    for relid, attnum, name, pg_type, not_null in conn.execute(
        """SELECT attrelid, attnum, attname, format_type(atttypid, atttypmod), attnotnull
           FROM pg_attribute WHERE attrelid = ANY(%s::oid[]) AND attnum > 0 AND NOT attisdropped
           ORDER BY attrelid, attnum""",
        (oids,),
    ).fetchall():
        tables[relid].columns.append((attnum, name, _type(pg_type), not_null))
    for relid, keys, primary in conn.execute(
        """SELECT indrelid, indkey::int2[], indisprimary FROM pg_index
           WHERE indrelid = ANY(%s::oid[]) AND indisunique AND indpred IS NULL AND indexprs IS NULL""",
        (oids,),
    ).fetchall():
        if primary:
            tables[relid].primary = tuple(keys)
        elif tuple(keys) not in tables[relid].unique:
            tables[relid].unique.append(tuple(keys))
    return tables


def _foreign_keys(conn: psycopg.Connection[Any], tables: dict[int, _Table]) -> list[tuple[int, int, tuple[int, ...]]]:
    rows = conn.execute(
        """SELECT conrelid, confrelid, conkey FROM pg_constraint
           WHERE contype = 'f' AND conrelid = ANY(%s::oid[])""",
        (list(tables),),
    ).fetchall()
    return [(child, parent, tuple(keys)) for child, parent, keys in rows]


def _parent_name(conn: psycopg.Connection[Any], oid: int, tables: dict[int, _Table]) -> str:
    if oid in tables:
        return tables[oid].name
    row = conn.execute("SELECT %s::oid::regclass::text", (oid,)).fetchone()
    return str(row[0]) if row else str(oid)


def erd(conn: psycopg.Connection[Any], *, schema: str = "public") -> str:
    """The Mermaid ``erDiagram`` of ``schema`` as it is in the database of ``conn``.

    :param conn: any connection that may read the catalog (a superuser's, the owner's,
        or the application login's: the catalog is not subject to row-level security).
        When it was idle, it is left idle (the reading transaction is rolled back).
    :param schema: the schema to draw (``public``).
    :return: the diagram's text, starting with ``erDiagram`` and ending with a newline;
        the same schema gives the same text.
    :raises psycopg.Error: the catalog cannot be read.
    """
    idle = conn.info.transaction_status == pq.TransactionStatus.IDLE
    try:
        tables = _tables(conn, schema)
        foreign_keys = _foreign_keys(conn, tables)
        parents = {parent: _parent_name(conn, parent, tables) for _, parent, _ in foreign_keys}
    finally:
        if idle and not conn.autocommit:
            conn.rollback()

    for child, _, keys in foreign_keys:
        tables[child].foreign.update(keys)

    lines = ["erDiagram"]
    for table in sorted(tables.values(), key=lambda t: t.name):
        label = " (RLS forced)" if table.rls and table.forced else " (RLS)" if table.rls else ""
        shown = re.sub(r'["%\\]', "_", table.name)
        head = f'{_entity(table.name)}["{shown}{label}"]' if label else _entity(table.name)
        lines.append(f"    {head} {{")
        names = {attnum: name for attnum, name, _, _ in table.columns}
        closing = {key[-1]: key for key in table.unique if len(key) > 1}
        for attnum, name, pg_type, not_null in table.columns:
            markers = [
                k
                for k, on in (
                    ("PK", attnum in table.primary),
                    ("FK", attnum in table.foreign),
                    ("UK", (attnum,) in table.unique),
                )
                if on
            ]
            comment = "not null" if not_null else "nullable"
            if attnum in closing:
                comment += ", unique (" + ", ".join(names[k] for k in closing[attnum]) + ")"
            key_text = f" {', '.join(markers)}" if markers else ""
            lines.append(f'        {pg_type} {_attribute(name)}{key_text} "{comment}"')
        lines.append("    }")

    relationships = []
    for child, parent, keys in foreign_keys:
        table = tables[child]
        columns = {attnum: (name, not_null) for attnum, name, _, not_null in table.columns}
        required = all(columns[k][1] for k in keys)
        at_most_one = any(set(key) <= set(keys) for key in [table.primary, *table.unique] if key)
        identifying = bool(table.primary) and set(keys) <= set(table.primary)
        label = ", ".join(columns[k][0] for k in keys)
        relationships.append(
            (
                table.name,
                parents[parent],
                label,
                f"    {_entity(parents[parent])} {'||' if required else '|o'}"
                f"{'--' if identifying else '..'}{'o|' if at_most_one else 'o{'} "
                f'{_entity(table.name)} : "{label}"',
            )
        )
    lines.extend(line for *_, line in sorted(relationships))
    return "\n".join(lines) + "\n"


def document(diagram: str) -> str:
    """The text of ``docs/schema.md``: one header line, then ``diagram`` in a ``mermaid`` block.

    :param diagram: what :func:`erd` returned.
    :return: the Markdown text, ending with a newline.
    """
    header = (
        "Generated by `skilldb erd --markdown` from a database with every migration applied; "
        f"do not edit: regenerate with `{REGENERATE}`."
    )
    return f"{header}\n\n```mermaid\n{diagram.rstrip()}\n```\n"
