"""Sample rows for every table, generated from the catalog: no table or column is named here but in OVERRIDES.

The break-in tests need rows of two tenants in every tenant table, including tables a
later migration adds. :class:`Schema` reads the tables, columns, foreign keys and
unique keys from pg_catalog (``tests.catalog``); :func:`generate` then inserts, as the
superuser with the tenant bound (some triggers number or check rows under their own
tenant's binding), for each tenant:

* the tables in foreign-key order (a key with a NOT NULL column must point at a row
  inserted before); keys with a nullable column that point at a table inserted later
  (``skills.published_version_id`` -> ``skill_versions``) are filled by an UPDATE once
  every table has its rows;
* ``ROWS_PER_TENANT`` rows per table (one when the tenant column alone is unique, as in
  ``tenants``), so that two keys to the same table can name different rows (a message
  from one user to another); a table without tenant that a tenant table references
  (reference data) keeps the rows it has, and gets rows only when it has none;
* the tenant column set to the tenant; every foreign key, nullable ones included,
  pointing at a row of the same tenant (the first row, from a rotating start, that
  agrees with the columns the row already has); NOT NULL columns without a default and
  the columns of unique keys filled by type (text and ``key_text`` get a fresh token
  that is also a valid slug, integers the row's ordinal, jsonb ``{}``, times ``now``,
  booleans false, enums their first label, a column under ``CHECK (col IN (...))`` the
  first value listed, ...); ``OVERRIDES`` for columns whose CHECK constraint a generic
  value cannot satisfy.

Values travel as text in both directions (``col::text`` out, ``%s::<type>`` in), so
any type round-trips. A table the generator cannot fill raises :class:`SampleError`
naming the table and the column to add to ``OVERRIDES``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

import skilldb
from tests import catalog

#: A row as column -> value as text (``None`` is NULL), as read back with ``col::text``.
Row = dict[str, str | None]

#: Values for columns whose CHECK constraint no generic value satisfies, by ``"table.column"``:
#: a function of a fresh unique token, or ``None`` to leave the column to the database.
OVERRIDES: dict[str, Callable[[str], str] | None] = {
    "users.email": lambda token: f"{token}@example.test",
    "skill_versions.content_hash": lambda token: hashlib.sha256(token.encode()).hexdigest(),
    "skill_versions.content_type": lambda token: "text/markdown",
    # numbered by the table's BEFORE INSERT trigger (0007); a given number must be the next one
    "skill_versions.version": None,
}

#: Rows per tenant and table (one where the tenant column alone is unique).
ROWS_PER_TENANT = 2

#: The first integer of a "fresh" key value: far above any ordinal a sample row has.
FRESH_NUMBER = 900_000


class SampleError(AssertionError):
    """The generator cannot fill a table: the message names the table and what to add to OVERRIDES."""


@dataclass(frozen=True)
class Table:
    """One table of the schema, as the generator and the break-in tests see it."""

    name: str
    columns: dict[str, catalog.Column]
    foreign_keys: tuple[catalog.ForeignKey, ...]
    unique_keys: tuple[catalog.UniqueKey, ...]
    tenant: bool

    @property
    def owner(self) -> str | None:
        """The column naming the row's tenant (``tenant_id``; ``id`` for ``tenants``), if any."""
        if "tenant_id" in self.columns:
            return "tenant_id"
        return "id" if self.tenant else None

    @property
    def identity(self) -> tuple[str, ...]:
        """Columns that single out one row: the primary key, else every column."""
        for key in self.unique_keys:
            if key.primary:
                return tuple(c for c in self.columns if c in key.columns)
        return tuple(self.columns)

    @property
    def rows_per_tenant(self) -> int:
        owner_alone = any(key.columns == {self.owner} and key.predicate is None for key in self.unique_keys)
        return 1 if owner_alone else ROWS_PER_TENANT

    def fk_columns(self) -> set[str]:
        return {c for fk in self.foreign_keys for c in fk.columns}

    def required(self, fk: catalog.ForeignKey) -> bool:
        """Whether the key always applies (MATCH SIMPLE skips a key with any NULL column)."""
        nullable = [not self.columns[c].not_null for c in fk.columns]
        return not all(nullable) if fk.match_full else not any(nullable)

    def cast(self, column: str) -> sql.Composable:
        """``%s::<type>`` for a value of ``column`` given as text."""
        return sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(self.columns[column].type))

    def where(self, row: Row, columns: Iterable[str] | None = None) -> tuple[sql.Composable, list[str | None]]:
        """``c1 IS NOT DISTINCT FROM %s::t1 AND ...`` matching ``row`` on ``columns`` (default: identity)."""
        cols = list(columns if columns is not None else self.identity)
        clause = sql.SQL(" AND ").join(
            sql.SQL("{} IS NOT DISTINCT FROM {}").format(sql.Identifier(c), self.cast(c)) for c in cols
        )
        return clause, [row[c] for c in cols]

    def text_columns(self) -> sql.Composable:
        """Every column as text, in order: ``c1::text, c2::text, ...``."""
        return sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in self.columns)

    def all_columns(self) -> sql.Composable:
        """Every column, in order, for a ``RETURNING`` read as text by :func:`_run` (Citus
        refuses a ``RETURNING`` with a cast that depends on settings, as ``timestamptz::text``)."""
        return sql.SQL(", ").join(map(sql.Identifier, self.columns))

    def insert(
        self, values: Row, *, on_conflict: sql.Composable | None = None, returning: Sequence[str] = ()
    ) -> tuple[sql.Composed, list[str | None]]:
        """``INSERT INTO t (...) VALUES (%s::type, ...) [ON CONFLICT ...] [RETURNING c::text, ...]``."""
        body: sql.Composable
        if values:
            body = sql.SQL("({}) VALUES ({})").format(
                sql.SQL(", ").join(map(sql.Identifier, values)), sql.SQL(", ").join(map(self.cast, values))
            )
        else:
            body = sql.SQL("DEFAULT VALUES")
        query = sql.SQL("INSERT INTO {} {}").format(sql.Identifier(self.name), body)
        if on_conflict is not None:
            query = sql.SQL("{} {}").format(query, on_conflict)
        if returning:
            query = sql.SQL("{} RETURNING {}").format(
                query, sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in returning)
            )
        return query, list(values.values())


@dataclass(frozen=True)
class Schema:
    """The public tables, which of them hold tenant data, and the order to fill them in."""

    tables: dict[str, Table]
    tenant_tables: tuple[str, ...]
    order: tuple[str, ...]
    constraints: dict[tuple[str, str], tuple[str, ...]]
    choices: dict[tuple[str, str], str]  # a column's first allowed value under CHECK (column IN (...))

    @classmethod
    def load(cls, conn: psycopg.Connection[Any]) -> Schema:
        tenant = set(catalog.tenant_relations(conn))
        columns = catalog.table_columns(conn)
        fks = catalog.foreign_keys(conn)
        keys = catalog.unique_keys(conn)
        tables = {
            name: Table(
                name,
                {c.name: c for c in columns[name]},
                tuple(fk for fk in fks if fk.table == name),
                tuple(k for k in keys if k.table == name),
                name in tenant,
            )
            for name in catalog.public_tables(conn)
        }
        needed: set[str] = set()
        todo = sorted(tenant)
        while todo:
            name = todo.pop()
            if name not in needed:
                needed.add(name)
                todo.extend(fk.parent for fk in tables[name].foreign_keys if fk.parent in tables)
        return cls(
            tables,
            tuple(sorted(tenant)),
            _fill_order(tables, needed),
            catalog.constraint_columns(conn),
            catalog.check_choices(conn),
        )


def _fill_order(tables: dict[str, Table], needed: set[str]) -> tuple[str, ...]:
    """The needed tables, parents first; a cycle is broken at a nullable foreign key."""
    parents = {name: {fk.parent for fk in tables[name].foreign_keys if fk.parent != name} for name in needed}
    required = {
        name: {fk.parent for fk in tables[name].foreign_keys if fk.parent != name and tables[name].required(fk)}
        for name in needed
    }
    order: list[str] = []
    while len(order) < len(needed):
        placed = set(order)
        ready = sorted(n for n in needed if n not in placed and parents[n] <= placed)
        if not ready:  # a cycle: place one table whose NOT NULL keys are satisfied, fill the rest later
            ready = sorted(n for n in needed if n not in placed and required[n] <= placed)[:1]
        if not ready:
            stuck = sorted(n for n in needed if n not in placed)
            raise SampleError(
                f"the tables {stuck} reference each other through NOT NULL foreign keys: "
                "the sample generator cannot order them"
            )
        order.extend(ready)
    return tuple(order)


@dataclass
class Samples:
    """The rows :func:`generate` inserted: ``rows[tenant][table]`` (``tenant`` None: tables without one)."""

    schema: Schema
    tenants: tuple[str, ...]
    rows: dict[str | None, dict[str, list[Row]]] = field(default_factory=dict)

    def of(self, tenant: str, table: str) -> list[Row]:
        """The sample rows of ``table`` for ``tenant`` (the shared rows, for a table without tenant)."""
        key = tenant if self.schema.tables[table].tenant else None
        return self.rows.get(key, {}).get(table, [])


class Generator:
    """Values for columns, fresh on every call: tokens, ordinals, OVERRIDES."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.serial = itertools.count(1)

    def token(self) -> str:
        """A fresh value that is a valid key, name and slug: ``k12x0f3a9c21b7``."""
        return f"k{next(self.serial)}x{uuid.uuid4().hex[:10]}"

    def value(self, table: str, column: str, ordinal: int) -> str | None:
        """A value for a new row's ``column`` (``ordinal``: its row's number, from 1); None: leave it."""
        key = f"{table}.{column}"
        if key in OVERRIDES:
            override = OVERRIDES[key]
            return None if override is None else override(self.token())
        return self.generic(table, column, str(ordinal))

    def fresh(self, table: str, column: str) -> str:
        """A value of ``column`` no row has, even one OVERRIDES leaves to the database: for probes."""
        override = OVERRIDES.get(f"{table}.{column}")
        if override is not None:
            return override(self.token())
        return self.generic(table, column, str(FRESH_NUMBER + next(self.serial)))

    def generic(self, table: str, column: str, number: str) -> str:
        col = self.schema.tables[table].columns[column]
        base, category = col.base_type, col.category
        if col.enum_labels:
            return col.enum_labels[0]
        if (table, column) in self.schema.choices:
            return self.schema.choices[table, column]
        if category == "S":
            return self.token()
        if category == "N":
            return number
        if base in ("json", "jsonb"):
            return "{}"
        if base == "uuid":
            return str(uuid.uuid4())
        if base == "bytea":
            return "\\x" + uuid.uuid4().hex
        by_category = {"B": "false", "D": "now", "T": "1 hour", "A": "{}", "I": "192.0.2.1"}
        if category in by_category:
            return by_category[category]
        raise SampleError(
            f"no generic value for {table}.{column} of type {col.type}: "
            f"add '{table}.{column}' to OVERRIDES in tests/sample.py"
        )


def needs_value(col: catalog.Column) -> bool:
    """A column an INSERT must give: NOT NULL, no default, not generated."""
    return col.not_null and col.default is None and not col.generated


def point(fk: catalog.ForeignKey, values: Row, parents: Sequence[Row], start: int) -> bool:
    """Set ``fk``'s columns in ``values`` to a parent row's, trying from ``parents[start]`` on.

    The parent must agree with the columns ``values`` already has (the tenant, and the
    row's own id when the key includes it); False when none does.
    """
    for i in range(len(parents)):
        parent = parents[(start + i) % len(parents)]
        proposal = {c: parent[p] for c, p in zip(fk.columns, fk.parent_columns, strict=True)}
        if any(v is None for v in proposal.values()):
            continue
        if all(values.get(c) in (None, v) for c, v in proposal.items()):
            values.update(proposal)
            return True
    return False


def new_row(
    samples: Samples,
    gen: Generator,
    tenant: str | None,
    table: str,
    *,
    ordinal: int = 1,
    allowed: set[str] | None = None,
    start: dict[str, int] | None = None,
    fresh_keys: bool = False,
) -> tuple[Row, list[catalog.ForeignKey]]:
    """A new row of ``table`` for ``tenant`` pointing at its sample rows, and the keys left unfilled.

    :param allowed: the columns the row may set (those the writer may insert); None: all.
    :param start: per foreign key name, the parent row to try first (default: ordinal - 1
        plus the key's rank among the table's keys to the same parent).
    :param fresh_keys: give the columns of unique keys values no sample row has (a new row
        beside the samples), rather than the ordinal's.
    """
    t = samples.schema.tables[table]
    ok = (lambda c: True) if allowed is None else allowed.__contains__
    values: Row = {}
    if t.owner is not None and tenant is not None:
        values[t.owner] = tenant
    deferred: list[catalog.ForeignKey] = []
    rank: Counter[str] = Counter()
    for fk in sorted(t.foreign_keys, key=lambda k: k.name):
        k = rank[fk.parent]
        rank[fk.parent] += 1
        if not all(ok(c) or c == t.owner for c in fk.columns):
            continue
        parents = samples.of(tenant, fk.parent) if tenant is not None else samples.rows.get(None, {}).get(fk.parent)
        if not parents and fk.parent == table:
            _point_at_itself(gen, t, fk, values, ordinal)
            continue
        if not parents:
            if t.required(fk):
                raise SampleError(f"{table}: foreign key {fk.name} needs a row of {fk.parent}, which has none")
            deferred.append(fk)
            continue
        first = (start or {}).get(fk.name, ordinal - 1 + k)
        if not point(fk, values, parents, first):
            if t.required(fk):
                raise SampleError(
                    f"{table}: no sample row of {fk.parent} agrees with the row's other columns for "
                    f"foreign key {fk.name} {fk.columns}"
                )
            deferred.append(fk)
    for col in t.columns.values():
        if col.name not in values and needs_value(col):
            value = gen.value(table, col.name, ordinal)
            if value is not None:
                values[col.name] = value
    fk_cols = t.fk_columns()
    for key in t.unique_keys:
        for name in sorted(key.columns):
            col = t.columns[name]
            if name in values or col.generated or not ok(name):
                continue
            if name in fk_cols and name not in t.identity:
                continue  # a reference: left to its foreign key
            if f"{table}.{name}" in OVERRIDES and OVERRIDES[f"{table}.{name}"] is None:
                continue  # left to the database
            value = gen.fresh(table, name) if fresh_keys else gen.value(table, name, ordinal)
            if value is not None:
                values[name] = value
    return values, deferred


def _point_at_itself(gen: Generator, t: Table, fk: catalog.ForeignKey, values: Row, ordinal: int) -> None:
    """The first row of a table with a key to itself references itself."""
    for c, p in zip(fk.columns, fk.parent_columns, strict=True):
        if values.get(p) is None:
            values[p] = gen.value(t.name, p, ordinal)
        if values[p] is None or values.get(c) not in (None, values[p]):
            raise SampleError(
                f"{t.name}: its first row cannot reference itself through {fk.name}: "
                f"add '{t.name}.{p}' to OVERRIDES in tests/sample.py"
            )
        values[c] = values[p]


def generate(conn: psycopg.Connection[Any], schema: Schema, tenants: Sequence[str]) -> Samples:
    """Insert sample rows for each of ``tenants`` into every table they need, as ``conn`` (a superuser)."""
    samples = Samples(schema, tuple(tenants))
    gen = Generator(schema)
    for tenant in tenants:
        mine: dict[str, list[Row]] = {}
        samples.rows[tenant] = mine
        shared = samples.rows.setdefault(None, {})
        later: list[tuple[str, int, list[catalog.ForeignKey]]] = []
        with conn.transaction():
            conn.execute(skilldb.tenancy.bind_tenant_sql(tenant))
            for table in schema.order:
                t = schema.tables[table]
                if not t.tenant and table in shared:
                    continue
                if not t.tenant:  # reference data a migration may have filled already: use its rows
                    query = sql.SQL("SELECT {} FROM {} LIMIT {}").format(
                        t.text_columns(), sql.Identifier(table), ROWS_PER_TENANT
                    )
                    cur = conn.execute(query)
                    names = [d.name for d in cur.description or []]
                    shared[table] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
                    if shared[table]:
                        continue
                target = mine if t.tenant else shared
                target[table] = []
                for i in range(t.rows_per_tenant):
                    values, deferred = new_row(samples, gen, tenant if t.tenant else None, table, ordinal=i + 1)
                    query, params = t.insert(values)
                    query = sql.SQL("{} RETURNING {}").format(query, t.all_columns())
                    target[table].append(_run(conn, schema, table, values, query, params))
                    if deferred and t.tenant:
                        later.append((table, i, deferred))
            for table, i, deferred in later:
                _fill_deferred(conn, samples, tenant, table, i, deferred)
    return samples


def _fill_deferred(
    conn: psycopg.Connection[Any],
    samples: Samples,
    tenant: str,
    table: str,
    i: int,
    deferred: list[catalog.ForeignKey],
) -> None:
    """Point the row's nullable keys at tables filled after it, with one UPDATE."""
    t = samples.schema.tables[table]
    row = samples.rows[tenant][table][i]
    values: Row = {c: v for c, v in row.items() if v is not None}
    rank: Counter[str] = Counter()
    ranks = {}
    for fk in sorted(t.foreign_keys, key=lambda k: k.name):
        ranks[fk.name] = rank[fk.parent]
        rank[fk.parent] += 1
    for fk in deferred:
        if not point(fk, values, samples.of(tenant, fk.parent), i + ranks[fk.name]):
            raise SampleError(
                f"{table}: no sample row of {fk.parent} agrees with the row's other columns for "
                f"foreign key {fk.name} {fk.columns}"
            )
    changed = {c: v for c, v in values.items() if row.get(c) is None}
    if not changed:
        return
    where, params = t.where(row)
    query = sql.SQL("UPDATE {} SET {} WHERE {} RETURNING {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(c), t.cast(c)) for c in changed),
        where,
        t.all_columns(),
    )
    samples.rows[tenant][table][i] = _run(conn, samples.schema, table, changed, query, [*changed.values(), *params])


def _run(
    conn: psycopg.Connection[Any], schema: Schema, table: str, values: Row, query: sql.Composed, params: list[Any]
) -> Row:
    """Run an INSERT or UPDATE ... RETURNING of a sample row; explain a failure as a SampleError.

    The row comes back as the server's text of each value (what ``::text`` gives), read
    from the result as it is, before psycopg turns it into Python values.
    """
    try:
        with conn.transaction():
            cur = conn.execute(query, params)
            names = [d.name for d in cur.description or []]
            result = cur.pgresult
    except psycopg.Error as exc:
        raise SampleError(explain(schema, table, values, exc)) from exc
    assert result is not None and result.ntuples == 1
    raw = [result.get_value(0, i) for i in range(result.nfields)]
    return {name: None if value is None else bytes(value).decode() for name, value in zip(names, raw, strict=True)}


def explain(schema: Schema, table: str, values: Row, exc: psycopg.Error) -> str:
    """Which columns of ``table`` a failed sample insert needs an OVERRIDES entry for."""
    diag = exc.diag
    columns: tuple[str, ...] = ()
    if diag.column_name:
        columns = (diag.column_name,)
    elif diag.constraint_name and (table, diag.constraint_name) in schema.constraints:
        columns = schema.constraints[table, diag.constraint_name]
    elif diag.datatype_name:
        cols = schema.tables[table].columns
        columns = tuple(c for c in values if cols[c].type.split("(")[0] == diag.datatype_name)
    if not columns and diag.constraint_name:
        # a unique index that is no constraint, or a trigger naming its own CONSTRAINT
        key = next((k for k in schema.tables[table].unique_keys if k.name == diag.constraint_name), None)
        columns = tuple(sorted(key.columns)) if key else ()
    if not columns:
        words = set(re.findall(r"\w+", f"{diag.message_primary} {diag.constraint_name}"))
        columns = tuple(c for c in values if c in words)
    named = ", ".join(f"'{table}.{c}'" for c in columns) or f"the columns of {table} it names"
    return (
        f"cannot generate a sample row of table {table}: {diag.message_primary}"
        f"{f' ({diag.constraint_name})' if diag.constraint_name else ''}; values {values}; "
        f"add {named} to OVERRIDES in tests/sample.py"
    )
