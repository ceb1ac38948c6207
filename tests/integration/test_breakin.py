"""Break-in matrix: the application login, bound to tenant A, goes after tenant B's rows in every tenant table.

Nothing here names a table. The tables come from pg_catalog (``tenants`` and every
table or partitioned table with a ``tenant_id`` column), their columns, foreign keys
and unique keys too, and ``tests/sample.py`` generates sample rows for two tenants, A
and B, in all of them; so a table a later migration adds is attacked without editing
this file, and a table the generator cannot fill fails every test here with a message
naming the column to add to ``tests.sample.OVERRIDES``.

The module shares one database and one set of sample rows (the ``world`` fixture):
every probe either changes nothing or runs in a savepoint that is rolled back, and
the tests that let their statements commit compare the superuser's snapshot of every
tenant table before and after. Each test is one operation, looped over every table,
and collects its failures into one assertion naming table, column or key, and
statement. As the application login (a member of ``skilldb_app`` only), with A bound:

* reads: ``SELECT`` and ``count(*)`` return A's rows only, nothing by B's keys;
* inserts of a row for B are refused (``RowSecurityViolation``);
* ``UPDATE`` of every column (a no-op assignment) and ``DELETE`` of B's rows change 0
  rows, moving A's row to B is refused, ``TRUNCATE`` (which row-level security does
  not cover) is denied, and B's data is unchanged;
* references: through every foreign key, A's row pointing at B's row fails with
  ``UnknownReference``, with the same type, SQLSTATE, constraint and message (values
  masked) as a reference to an id nobody has, so B's ids cannot be told from unknown
  ones;
* ``INSERT ... ON CONFLICT DO NOTHING`` / ``DO UPDATE`` on every unique key, with B's
  key values, behaves exactly as with key values nobody has (same outcome, rows,
  error and masked message), and never returns a row of B;
* with no tenant bound (never set, and '' after a tenant transaction), nothing is
  readable or writable.

Where the application lacks the privilege for an operation (no DELETE on a table, no
UPDATE on most columns), the test expects ``PermissionDenied`` instead.

The catalog guards below fail when a later migration adds a view over tenant tables
that does not run as the invoker, a SECURITY DEFINER function without a fixed (and
safe) search_path, a tenant table without forced row-level security under the
``tenant_isolation`` policy, a TRUNCATE grant, or a role that bypasses row-level
security through ``skilldb_app``. Each has a check function, and its test also creates
the offending object in a rolled-back transaction and asserts the check reports it.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import sql

import skilldb
from skilldb import errors
from tests import catalog
from tests.plugin import Clones, Database, Server, citus_mode
from tests.sample import Generator, Row, SampleError, Samples, Schema, Table, generate, new_row

# -- the world: one database, sample rows of two tenants, what the application may do ----------


@dataclass(frozen=True)
class Grants:
    """What the application login may do to one table (has_*_privilege as that login)."""

    select: bool
    delete: bool
    truncate: bool
    insert: frozenset[str]
    update: frozenset[str]


@dataclass
class World:
    """The shared database, its sample rows, and the application's privileges."""

    db: Database
    admin: psycopg.Connection[Any]
    app: psycopg.Connection[Any]
    a: str
    b: str
    schema: Schema | None = None
    samples: Samples | None = None
    gen: Generator | None = None
    grants: dict[str, Grants] = field(default_factory=dict)
    #: per table, where a new row of A (as the application) points its foreign keys
    plans: dict[str, dict[str, int]] = field(default_factory=dict)
    #: per table the application may insert into but no new row of A could be made for: why
    plan_errors: dict[str, str] = field(default_factory=dict)
    problem: str | None = None

    def ready(self) -> tuple[Schema, Samples, Generator]:
        """The sample rows, or fail the test with the generator's message."""
        if self.problem is not None:
            pytest.fail(self.problem)
        assert self.schema is not None and self.samples is not None and self.gen is not None
        return self.schema, self.samples, self.gen

    def table(self, name: str) -> Table:
        assert self.schema is not None
        return self.schema.tables[name]

    def tenant_tables(self) -> tuple[str, ...]:
        assert self.schema is not None
        return self.schema.tenant_tables

    def row(self, table: str, tenant: str | None = None) -> Row:
        """A new row of ``table`` for ``tenant`` (default A): fresh keys, references to its sample rows."""
        _, samples, gen = self.ready()
        values, _ = new_row(
            samples,
            gen,
            tenant or self.a,
            table,
            allowed=set(self.grants[table].insert),
            start=self.plans.get(table),
            fresh_keys=True,
        )
        return values

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every tenant table, as the superuser sees it."""
        out = {}
        for name in self.tenant_tables():
            t = self.table(name)
            rows = self.admin.execute(
                sql.SQL("SELECT {} FROM {}").format(t.text_columns(), sql.Identifier(name))
            ).fetchall()
            out[name] = sorted(rows, key=repr)
        return out


def load_grants(app: psycopg.Connection[Any]) -> dict[str, Grants]:
    """The application login's privileges on every public table."""
    with app.transaction():
        rows = app.execute(
            """SELECT c.relname, has_any_column_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'DELETE'),
                      has_table_privilege(c.oid, 'TRUNCATE'),
                      array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                            AND NOT a.attisdropped AND has_column_privilege(c.oid, a.attnum, 'INSERT')),
                      array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                            AND NOT a.attisdropped AND has_column_privilege(c.oid, a.attnum, 'UPDATE'))
               FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')"""
        ).fetchall()
    return {r[0]: Grants(r[1], r[2], r[3], frozenset(r[4]), frozenset(r[5])) for r in rows}


def single_row(t: Table) -> bool:
    """A table with one row per tenant at most (its tenant column alone is unique): ``tenants``."""
    return t.rows_per_tenant == 1


def find_plans(world: World) -> None:
    """For each tenant table, references with which the application can insert a new row of A.

    Tries the combinations of sample parent rows (a rating needs a skill and user pair
    A has not rated yet) until one inserts, in a rolled-back savepoint.
    """
    _, samples, gen = world.ready()
    with skilldb.tenant(world.app, world.a):
        for name in world.tenant_tables():
            t = world.table(name)
            if single_row(t):
                continue
            fks = sorted(t.foreign_keys, key=lambda k: k.name)
            choices = [range(max(1, len(samples.of(world.a, fk.parent)))) for fk in fks]
            last: Outcome | None = None
            for combo in itertools.islice(itertools.product(*choices), 64):
                start = {fk.name: i for fk, i in zip(fks, combo, strict=True)}
                values, _ = new_row(
                    samples, gen, world.a, name, allowed=set(world.grants[name].insert), start=start, fresh_keys=True
                )
                last = attempt(world.app, *t.insert(values))
                if last.error is None or last.error == "PermissionDenied":
                    world.plans[name] = start
                    break
            else:
                world.plan_errors[name] = f"{last}"


@pytest.fixture(scope="module")
def world(pg_server: Server, clones: Clones) -> Iterator[World]:
    """One cloned database for the module, with sample rows of tenants A and B in every tenant table."""
    name = clones.take()
    db = Database(pg_server, name)
    try:
        with psycopg.connect(db.admin_url, autocommit=True) as admin, psycopg.connect(db.app_url) as app:
            suffix = uuid.uuid4().hex[:8]
            w = World(db, admin, app, f"tenant-a-{suffix}", f"tenant-b-{suffix}")
            w.grants = load_grants(app)
            try:
                w.schema = Schema.load(admin)
                w.samples = generate(admin, w.schema, [w.a, w.b])
                w.gen = Generator(w.schema)
                find_plans(w)
            except SampleError as exc:
                w.problem = str(exc)
            yield w
    finally:
        clones.drop(name)


# -- running one probe -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a statement did, comparable across probes once the probed values are masked."""

    error: str | None  # the skilldb error's class name (or psycopg's, untranslated); None: it ran
    rowcount: int
    values: tuple[str | None, ...]  # the first column of the rows it returned
    text: str  # the error message, and the database's message, detail and hint
    sqlstate: str | None
    constraint: str | None

    def __str__(self) -> str:
        if self.error is None:
            return f"ran: {self.rowcount} row(s) {list(self.values)}"
        return f"{self.error} [{self.sqlstate} {self.constraint}]: {self.text}"


def mask(text: str, masks: Mapping[str, str]) -> str:
    """``text`` with each probed value replaced by its placeholder (whole words only, longest first)."""
    for value in sorted(masks, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", masks[value], text)
    return text


def attempt(
    conn: psycopg.Connection[Any],
    query: sql.Composed | sql.SQL,
    params: Sequence[Any] = (),
    *,
    keep: bool = False,
    masks: Mapping[str, str] | None = None,
) -> Outcome:
    """Run ``query`` in a savepoint (a transaction when none is open), rolled back unless ``keep``."""
    try:
        with conn.transaction(force_rollback=not keep), errors.translate_errors():
            cur = conn.execute(query, params)
            rows = cur.fetchall() if cur.description else []
            values = tuple(None if r[0] is None else str(r[0]) for r in rows)
            return Outcome(None, cur.rowcount, values, "", None, None)
    except (errors.SkillDBError, psycopg.Error) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, psycopg.Error) else exc
        diag = cause.diag if isinstance(cause, psycopg.Error) else None
        parts = [str(exc)]
        if diag is not None:
            parts += [diag.message_primary or "", diag.message_detail or "", diag.message_hint or ""]
        return Outcome(
            type(exc).__name__,
            -1,
            (),
            # a worker names the shard a row would go to, which follows from the tenant id alone
            mask(errors.without_shard_ids(" | ".join(parts)), masks or {}),
            diag.sqlstate if diag else None,
            diag.constraint_name if diag else None,
        )


def expected_denial(columns: Sequence[str], granted: frozenset[str], rls: str) -> str:
    """``rls`` when the application may write every one of ``columns``, else PermissionDenied."""
    return rls if set(columns) <= granted else "PermissionDenied"


def on_conflict(t: Table, key: catalog.UniqueKey, action: sql.Composable) -> sql.Composable:
    """``ON CONFLICT (<key's columns and expressions>) [WHERE <predicate>] <action>``."""
    target = sql.SQL(", ").join(sql.SQL(e) for e in key.elements)
    where = sql.SQL(" WHERE {}").format(sql.SQL(key.predicate)) if key.predicate else sql.SQL("")
    return sql.SQL("ON CONFLICT ({}){} {}").format(target, where, action)


def owner_default_requires_tenant(t: Table) -> bool:
    """Whether leaving the tenant column out raises TenantRequired (its default is current_tenant_id())."""
    assert t.owner is not None
    return "current_tenant_id()" in (t.columns[t.owner].default or "")


def report(problems: list[str]) -> str:
    return f"{len(problems)} break-in probe(s) failed:\n  " + "\n  ".join(problems)


# -- the matrix --------------------------------------------------------------------------------


def test_the_samples_fill_every_tenant_table_and_every_reference(world: World) -> None:
    schema, samples, _ = world.ready()
    problems = []
    assert set(catalog.tenant_tables(world.admin)) <= set(schema.tenant_tables)
    assert "tenants" in schema.tenant_tables and len(schema.tenant_tables) >= 7
    for name in schema.tenant_tables:
        t = world.table(name)
        for tenant in (world.a, world.b):
            rows = samples.of(tenant, name)
            if not rows:
                problems.append(f"{name}: no sample row for {tenant}")
            for row in rows:
                assert t.owner is not None and row[t.owner] == tenant, (name, row)
                for fk in t.foreign_keys:
                    if any(row[c] is None for c in fk.columns):
                        problems.append(f"{name}: foreign key {fk.name} {fk.columns} left NULL in {row}")
        if name in world.plan_errors:
            problems.append(
                f"{name}: the application cannot insert a new row of its own tenant ({world.plan_errors[name]}); "
                "give the failing column a value in tests.sample.OVERRIDES"
            )
    assert not problems, report(problems)


def test_reads_show_none_of_the_other_tenants_rows(world: World) -> None:
    _, samples, _ = world.ready()
    problems = []
    with skilldb.tenant(world.app, world.a):
        for name in world.tenant_tables():
            t, g = world.table(name), world.grants[name]
            assert t.owner is not None
            ident, owner = sql.Identifier(name), sql.Identifier(t.owner)
            mine = len(samples.of(world.a, name))
            if not g.select:
                got = attempt(world.app, sql.SQL("SELECT count(*) FROM {}").format(ident))
                if got.error != "PermissionDenied":
                    problems.append(f"{name}: SELECT without the privilege: {got}")
                continue
            owners = attempt(world.app, sql.SQL("SELECT {}::text FROM {}").format(owner, ident))
            if sorted(map(str, owners.values)) != [world.a] * mine:
                problems.append(f"{name}: SELECT {t.owner} returned {owners}, expected {mine} row(s) of A")
            count = attempt(world.app, sql.SQL("SELECT count(*) FROM {}").format(ident))
            if count.values != (str(mine),):
                problems.append(f"{name}: count(*) is {count}, A has {mine}")
            theirs = attempt(
                world.app,
                sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(ident, owner),
                [world.b],
            )
            if theirs.values != ("0",):
                problems.append(f"{name}: count(*) WHERE {t.owner} = B is {theirs}")
            for row in samples.of(world.b, name):
                where, params = t.where(row)
                got = attempt(
                    world.app, sql.SQL("SELECT {}::text FROM {} WHERE {}").format(owner, ident, where), params
                )
                if got.rowcount != 0:
                    problems.append(f"{name}: SELECT by B's key {t.identity} found {got}")
    assert not problems, report(problems)


def test_inserting_a_row_for_the_other_tenant_is_refused(world: World) -> None:
    world.ready()
    before = world.snapshot()
    problems = []
    with skilldb.tenant(world.app, world.a):
        for name in world.tenant_tables():
            t, g = world.table(name), world.grants[name]
            assert t.owner is not None
            theirs = world.row(name, world.b)  # a row of B, pointing at B's rows
            mine_moved = {**world.row(name), t.owner: world.b}  # a row of A, its tenant column set to B
            for label, row in (("a row of B", theirs), ("a row of A with tenant B", mine_moved)):
                expected = expected_denial(list(row), g.insert, "RowSecurityViolation")
                got = attempt(world.app, *t.insert(row))  # no RETURNING: its SELECT policy would refuse first
                if got.error != expected:
                    problems.append(f"{name}: INSERT of {label} {row}: {got}; expected {expected}")
    assert not problems, report(problems)
    assert world.snapshot() == before, "an insert for tenant B changed data"


def test_updates_and_deletes_of_the_other_tenants_rows_change_nothing(world: World) -> None:
    _, samples, _ = world.ready()
    before = world.snapshot()
    problems = []
    with skilldb.tenant(world.app, world.a):
        for name in world.tenant_tables():
            t, g = world.table(name), world.grants[name]
            assert t.owner is not None
            ident = sql.Identifier(name)
            for row in samples.of(world.b, name):
                where, params = t.where(row)
                for col in t.columns.values():
                    if col.generated:
                        continue  # only DEFAULT may be assigned, by anyone
                    c = sql.Identifier(col.name)
                    # a no-op assignment: row-level security must still hide the row (0 rows), and it commits
                    statement = sql.SQL("UPDATE {} SET {} = {} WHERE {}").format(ident, c, c, where)
                    got = attempt(world.app, statement, params, keep=True)
                    if col.name in g.update and (got.error is not None or got.rowcount != 0):
                        problems.append(f"{name}.{col.name}: UPDATE of B's row {t.identity}: {got}; expected 0 rows")
                    if col.name not in g.update and got.error != "PermissionDenied":
                        problems.append(f"{name}.{col.name}: UPDATE without the privilege: {got}")
                got = attempt(world.app, sql.SQL("DELETE FROM {} WHERE {}").format(ident, where), params, keep=True)
                if g.delete and (got.error is not None or got.rowcount != 0):
                    problems.append(f"{name}: DELETE of B's row: {got}; expected 0 rows")
                if not g.delete and got.error != "PermissionDenied":
                    problems.append(f"{name}: DELETE without the privilege: {got}")
            for column in sorted(g.update - {t.owner}):
                c = sql.Identifier(column)
                statement = sql.SQL("UPDATE {} SET {} = {} WHERE {} = %s").format(ident, c, c, sql.Identifier(t.owner))
                got = attempt(world.app, statement, [world.b], keep=True)
                if got.error is not None or got.rowcount != 0:
                    problems.append(f"{name}.{column}: UPDATE ... WHERE {t.owner} = B: {got}; expected 0 rows")
            # moving A's own row to B
            where, params = t.where(samples.of(world.a, name)[0])
            statement = sql.SQL("UPDATE {} SET {} = %s WHERE {}").format(ident, sql.Identifier(t.owner), where)
            got = attempt(world.app, statement, [world.b, *params])
            expected = expected_denial([t.owner], g.update, "RowSecurityViolation")
            if citus_mode():  # Citus refuses to change a distribution column at all, for anyone
                expected = "FeatureNotSupported"
            if got.error != expected:
                problems.append(f"{name}: moving A's row to B: {got}; expected {expected}")
            # row-level security does not apply to TRUNCATE: the privilege must not be there
            got = attempt(world.app, sql.SQL("TRUNCATE {}").format(ident))
            if got.error != "PermissionDenied":
                problems.append(f"{name}: TRUNCATE by the application: {got}; expected PermissionDenied")
    assert not problems, report(problems)
    assert world.snapshot() == before, "an update, delete or truncate reached data it must not see"


def test_a_reference_to_the_other_tenants_row_looks_like_a_reference_to_nothing(world: World) -> None:
    _, samples, gen = world.ready()
    before = world.snapshot()
    problems = []
    covered = 0
    with skilldb.tenant(world.app, world.a):
        for name in world.tenant_tables():
            t, g = world.table(name), world.grants[name]
            for fk in t.foreign_keys:
                parent = world.table(fk.parent)
                columns = [c for c in fk.columns if c != t.owner]
                if not parent.tenant or not columns:
                    continue  # the tenant column itself: see the insert test
                covered += 1
                their_row = samples.of(world.b, fk.parent)[0]
                pairs = dict(zip(fk.columns, fk.parent_columns, strict=True))
                theirs: Row = {c: their_row[pairs[c]] for c in columns}
                nothing: Row = {c: gen.fresh(name, c) for c in columns}
                masks = {str(v): f"<{c}>" for c in columns for v in (theirs[c], nothing[c])}
                what = f"{name}.{fk.name} {fk.columns} -> {fk.parent}"
                row = world.row(name)
                if set(row) | set(columns) <= g.insert:
                    probe, control = (
                        attempt(world.app, *t.insert({**row, **values}), masks=masks) for values in (theirs, nothing)
                    )
                elif set(columns) & g.update:
                    settable = sorted(set(columns) & g.update)
                    where, params = t.where(samples.of(world.a, name)[0])
                    statement = sql.SQL("UPDATE {} SET {} WHERE {}").format(
                        sql.Identifier(name),
                        sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(c), t.cast(c)) for c in settable),
                        where,
                    )
                    probe, control = (
                        attempt(world.app, statement, [*(v[c] for c in settable), *params], masks=masks)
                        for v in (theirs, nothing)
                    )
                else:
                    got = attempt(world.app, *t.insert({**row, **theirs}))
                    if got.error != "PermissionDenied":
                        problems.append(f"{what}: the application may not write it, yet: {got}")
                    continue
                if probe.error != "UnknownReference":
                    problems.append(f"{what}: pointing at B's row gave {probe}; expected UnknownReference")
                elif probe != control:
                    problems.append(f"{what}: B's row gives {probe}\n    but an id nobody has gives {control}")
    assert covered >= 13, f"only {covered} foreign keys between tenant tables were probed (0001-0005 have 13)"
    assert not problems, report(problems)
    assert world.snapshot() == before


def test_on_conflict_probes_reveal_nothing_of_the_other_tenants_keys(world: World) -> None:
    _, samples, gen = world.ready()
    before = world.snapshot()
    problems = []
    nobody = f"tenant-nobody-{uuid.uuid4().hex[:8]}"
    with skilldb.tenant(world.app, world.a):
        for name in world.tenant_tables():
            t, g = world.table(name), world.grants[name]
            assert t.owner is not None
            base = world.row(name)
            their_row = samples.of(world.b, name)[0]
            fk_columns = t.fk_columns()
            for key in t.unique_keys:
                columns = sorted(key.columns - {t.owner})
                variants: list[tuple[str, Row, Row]] = []
                if columns:
                    variants.append(
                        (
                            "tenant A with B's key",
                            {t.owner: world.a, **{c: their_row[c] for c in columns}},
                            {t.owner: world.a, **{c: gen.fresh(name, c) for c in columns}},
                        )
                    )
                if t.owner in key.columns:
                    variants.append(
                        (
                            "B's whole key",
                            {t.owner: world.b, **{c: their_row[c] for c in columns}},
                            {t.owner: nobody, **{c: gen.fresh(name, c) for c in columns}},
                        )
                    )
                settable = [c for c in sorted(g.update) if c not in key.columns and c != t.owner]
                assigned = (settable or sorted(g.update) or [c for c in t.columns if not t.columns[c].generated])[0]
                updates = sql.SQL("DO UPDATE SET {} = EXCLUDED.{}").format(
                    sql.Identifier(assigned), sql.Identifier(assigned)
                )
                actions = (("DO NOTHING", sql.SQL("DO NOTHING")), ("DO UPDATE", updates))
                # with RETURNING and without: RETURNING adds the SELECT policy, which could hide the insert's outcome
                for (action_name, action), returning, (label, probe_key, control_key) in itertools.product(
                    actions, ([t.owner], []), variants
                ):
                    masks = {
                        str(v): f"<{c}>"
                        for c in probe_key
                        for v in (probe_key[c], control_key[c])
                        if v is not None and v != world.a
                    }
                    clause = on_conflict(t, key, action)
                    probe, control = (
                        attempt(
                            world.app,
                            *t.insert({**base, **k}, on_conflict=clause, returning=returning),
                            masks=masks,
                        )
                        for k in (probe_key, control_key)
                    )
                    shape = f"{action_name}{' RETURNING' if returning else ''}"
                    what = f"{name} ON CONFLICT ({', '.join(key.elements)}) {shape}, {label}"
                    if probe != control:
                        problems.append(f"{what}: B's key gives {probe}\n    but a key nobody has gives {control}")
                    if any(v != world.a for v in probe.values):
                        problems.append(f"{what}: returned a row of another tenant: {probe}")
                    if label == "B's whole key" and probe.error not in ("RowSecurityViolation", "PermissionDenied"):
                        problems.append(f"{what}: a row for B was not refused: {probe}")
                    meaningful = name in world.plans and set(base) <= g.insert and not set(columns) & fk_columns
                    if meaningful and label != "B's whole key" and action_name == "DO NOTHING" and control.error:
                        problems.append(f"{what}: a new row of A with a fresh key was refused: {control}")
    assert not problems, report(problems)
    assert world.snapshot() == before


def test_without_a_bound_tenant_nothing_is_readable_or_writable(world: World) -> None:
    _, samples, _ = world.ready()
    before = world.snapshot()
    problems = []
    with psycopg.connect(world.db.app_url) as conn:
        for state, setting in (("never set", None), ("after a tenant transaction", "")):
            if setting == "":
                with skilldb.tenant(conn, world.a):
                    pass
            with conn.transaction():
                row = conn.execute("SELECT current_setting('app.current_tenant_id', true)").fetchone()
            assert row == (setting,), state
            for name in world.tenant_tables():
                t, g = world.table(name), world.grants[name]
                assert t.owner is not None
                ident = sql.Identifier(name)
                what = f"{name} ({state})"
                count = attempt(conn, sql.SQL("SELECT count(*) FROM {}").format(ident))
                if count.values != ("0",) and not (not g.select and count.error == "PermissionDenied"):
                    problems.append(f"{what}: count(*) is {count}")
                row_of_a = world.row(name)
                without = {c: v for c, v in row_of_a.items() if c != t.owner}
                expected = "TenantRequired" if owner_default_requires_tenant(t) else "RowSecurityViolation"
                expected = expected_denial(list(without), g.insert, expected)
                got = attempt(conn, *t.insert(without))
                if got.error != expected:
                    problems.append(f"{what}: INSERT without {t.owner}: {got}; expected {expected}")
                expected = expected_denial(list(row_of_a), g.insert, "RowSecurityViolation")
                got = attempt(conn, *t.insert(row_of_a))
                if got.error != expected:
                    problems.append(f"{what}: INSERT with {t.owner} = A: {got}; expected {expected}")
                for mine in samples.of(world.a, name):
                    where, params = t.where(mine)
                    for col in sorted(g.update):
                        c = sql.Identifier(col)
                        statement = sql.SQL("UPDATE {} SET {} = {} WHERE {}").format(ident, c, c, where)
                        got = attempt(conn, statement, params, keep=True)
                        if got.error is not None or got.rowcount != 0:
                            problems.append(f"{what}.{col}: UPDATE of A's row: {got}; expected 0 rows")
                    got = attempt(conn, sql.SQL("DELETE FROM {} WHERE {}").format(ident, where), params, keep=True)
                    if (got.error, got.rowcount) != ((None, 0) if g.delete else ("PermissionDenied", -1)):
                        problems.append(f"{what}: DELETE of A's row: {got}")
    assert not problems, report(problems)
    assert world.snapshot() == before


# -- catalog guards ----------------------------------------------------------------------------

TENANT_RELATIONS = """
    SELECT c.oid FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
      AND (c.relname = 'tenants' OR EXISTS (
          SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
"""

USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%'"


def views_without_security_invoker(conn: psycopg.Connection[Any]) -> list[str]:
    """Views reading a tenant table (directly or through other views) that run as their owner.

    A view runs with its owner's rights unless ``security_invoker``: an owner that
    bypasses row-level security (a superuser, the usual migrating role) then shows every
    tenant's rows. Materialized views are always reported: they store what their
    owner saw.
    """
    rows = conn.execute(
        f"""WITH RECURSIVE tenant AS ({TENANT_RELATIONS}),
            reads(view, rel) AS (
                SELECT r.ev_class, d.refobjid FROM pg_rewrite r
                JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                    AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
                UNION
                SELECT reads.view, d.refobjid FROM reads
                JOIN pg_rewrite r ON r.ev_class = reads.rel
                JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                    AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class)
            SELECT DISTINCT v.oid::regclass::text
            FROM pg_class v JOIN reads ON reads.view = v.oid JOIN tenant ON tenant.oid = reads.rel
            WHERE v.relkind = 'm' OR (v.relkind = 'v' AND NOT coalesce(
                (SELECT o.option_value FROM pg_options_to_table(v.reloptions) o
                 WHERE o.option_name = 'security_invoker'), 'false')::boolean)
            ORDER BY 1"""
    ).fetchall()
    return sorted(r[0] for r in rows)


def security_definer_functions_without_search_path(conn: psycopg.Connection[Any]) -> list[str]:
    """SECURITY DEFINER functions outside the system schemas that do not SET search_path."""
    rows = conn.execute(
        f"""SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.prosecdef AND {USER_SCHEMAS}
              AND NOT EXISTS (SELECT FROM unnest(coalesce(p.proconfig, '{{}}')) cfg WHERE cfg LIKE 'search_path=%%')
            ORDER BY 1"""
    ).fetchall()
    return sorted(r[0] for r in rows)


def security_definer_functions_with_an_unsafe_search_path(conn: psycopg.Connection[Any]) -> list[str]:
    """SECURITY DEFINER functions whose search_path lets the caller's objects in.

    PostgreSQL searches the session's temporary schema first for tables, views and
    types unless ``pg_temp`` is listed in search_path: a caller who creates a
    temporary table named like one the function reads or writes gets it used instead,
    with the caller's own triggers on it running as the function's owner. The safe
    form lists ``pg_temp`` last; and no schema in the path may be one ``skilldb_app``
    can create objects in. A body in standard SQL (``RETURN ...``, ``BEGIN ATOMIC``) is
    parsed when the function is created, its names resolved then: exempt.
    """
    rows = conn.execute(
        f"""SELECT p.oid::regprocedure::text, substr(cfg, length('search_path=') + 1)
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, unnest(p.proconfig) cfg
            WHERE p.prosecdef AND p.prosqlbody IS NULL AND {USER_SCHEMAS} AND cfg LIKE 'search_path=%%'
            ORDER BY 1"""
    ).fetchall()
    problems = []
    for function, path in rows:
        schemas = [s.strip().strip('"') for s in path.split(",") if s.strip()]
        if not schemas or schemas[-1] != "pg_temp":
            problems.append(f"{function}: search_path {path!r} does not list pg_temp last")
        for schema in schemas:
            if schema in ("pg_temp", "$user"):
                continue
            writable = conn.execute(
                "SELECT to_regnamespace(%s) IS NOT NULL AND has_schema_privilege('skilldb_app', %s, 'CREATE')",
                (schema, schema),
            ).fetchone()
            if writable == (True,):
                problems.append(f"{function}: skilldb_app may create objects in {schema}, on its search_path")
    return problems


def tenant_relations_without_isolation(conn: psycopg.Connection[Any]) -> list[str]:
    """Tenant tables (partitioned ones and partitions included) that row-level security does not isolate.

    tests/integration/test_schema.py checks the policy's exact expression on plain tables;
    this also covers partitioned tables, policies that do not apply to the application
    role, and permissive policies that widen ``tenant_isolation``.
    """
    rows = conn.execute(
        f"""SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   array(SELECT p.policyname || ' ' || p.permissive || ' ' || p.cmd || ' ' || p.roles::text
                         FROM pg_policies p WHERE p.schemaname = 'public' AND p.tablename = c.relname ORDER BY 1)
            FROM pg_class c WHERE c.oid IN ({TENANT_RELATIONS}) ORDER BY 1"""
    ).fetchall()
    problems = []
    for table, enabled, forced, policies in rows:
        if not enabled:
            problems.append(f"{table}: row-level security is not enabled")
        if not forced:
            problems.append(f"{table}: row-level security is not forced (the owner bypasses it)")
        if not any(p.startswith("tenant_isolation PERMISSIVE ALL ") for p in policies):
            problems.append(f"{table}: no permissive tenant_isolation policy FOR ALL")
        for p in policies:
            name, permissive, _, roles = p.split(" ", 3)
            if name == "tenant_isolation" and not ({"public", "skilldb_app"} & set(roles.strip("{}").split(","))):
                problems.append(f"{table}: tenant_isolation does not apply to skilldb_app ({roles})")
            if name != "tenant_isolation" and permissive == "PERMISSIVE":
                problems.append(f"{table}: permissive policy {name} widens tenant_isolation")
    return problems


def truncate_grants(conn: psycopg.Connection[Any]) -> list[str]:
    """TRUNCATE (which row-level security does not cover) granted to anyone but a table's owner."""
    rows = conn.execute(
        """SELECT c.oid::regclass::text || ' to ' || CASE WHEN acl.grantee = 0 THEN 'PUBLIC'
                                                          ELSE acl.grantee::regrole::text END
           FROM pg_class c, aclexplode(c.relacl) acl
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
             AND acl.privilege_type = 'TRUNCATE' AND acl.grantee <> c.relowner
           UNION ALL
           SELECT 'future tables of ' || d.defaclrole::regrole::text || ' to '
                  || CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE acl.grantee::regrole::text END
           FROM pg_default_acl d, aclexplode(d.defaclacl) acl
           WHERE d.defaclobjtype = 'r' AND acl.privilege_type = 'TRUNCATE' AND acl.grantee <> d.defaclrole
             AND d.defaclnamespace IN (0, 'public'::regnamespace)
           ORDER BY 1"""
    ).fetchall()
    return sorted(r[0] for r in rows)


def roles_bypassing_rls_through_the_application_role(conn: psycopg.Connection[Any]) -> list[str]:
    """Roles that make a connection of ``skilldb_app`` bypass row-level security.

    A member of ``skilldb_app`` (directly or through other roles) that is a superuser or
    has BYPASSRLS; a role ``skilldb_app`` or one of its members can act as (SET ROLE)
    that is one; and a role ``skilldb_app`` can act as that owns public tables (owners
    may disable row-level security, and truncate).
    """
    rows = conn.execute(
        """WITH RECURSIVE
           members(oid) AS (
               SELECT m.member FROM pg_auth_members m WHERE m.roleid = 'skilldb_app'::regrole
               UNION SELECT m.member FROM pg_auth_members m JOIN members ON m.roleid = members.oid),
           reachable(member, role) AS (
               SELECT 'skilldb_app'::regrole::oid, 'skilldb_app'::regrole::oid
               UNION SELECT oid, oid FROM members
               UNION SELECT r.member, m.roleid FROM reachable r JOIN pg_auth_members m ON m.member = r.role)
           SELECT DISTINCT CASE WHEN r.member = r.role THEN x.rolname || ', a member of skilldb_app'
                                ELSE r.member::regrole::text || ' can act as ' || x.rolname END
                  || CASE WHEN x.rolsuper THEN ': superuser'
                          WHEN x.rolbypassrls THEN ': bypasses row-level security'
                          ELSE ': owns public tables' END
           FROM reachable r JOIN pg_roles x ON x.oid = r.role
           WHERE x.rolsuper OR x.rolbypassrls
              OR (r.member = 'skilldb_app'::regrole AND EXISTS (
                  SELECT FROM pg_class c WHERE c.relowner = x.oid AND c.relnamespace = 'public'::regnamespace))
           ORDER BY 1"""
    ).fetchall()
    return sorted(r[0] for r in rows)


def test_views_over_tenant_tables_run_as_the_invoker(world: World) -> None:
    conn = world.admin
    assert views_without_security_invoker(conn) == []
    with conn.transaction(force_rollback=True):
        if citus_mode():  # DDL after a parallel read of a distributed table needs one connection per node
            conn.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
        conn.execute("CREATE VIEW guard_definer AS SELECT id, name FROM skills")
        conn.execute("CREATE VIEW guard_invoker WITH (security_invoker = on) AS SELECT id FROM users")
        conn.execute("CREATE VIEW guard_outer AS SELECT id FROM guard_invoker")  # an owner's view over an invoker's
        conn.execute("CREATE VIEW guard_unrelated AS SELECT 1 AS one")
        conn.execute("CREATE MATERIALIZED VIEW guard_stored AS SELECT tenant_id FROM ratings")
        conn.execute("CREATE SCHEMA guard_reports")
        conn.execute("CREATE VIEW guard_reports.everything AS SELECT count(*) FROM usage_events")
        assert views_without_security_invoker(conn) == [
            "guard_definer",
            "guard_outer",
            "guard_reports.everything",
            "guard_stored",
        ]
        conn.execute("ALTER VIEW guard_definer SET (security_invoker = true)")
        assert "guard_definer" not in views_without_security_invoker(conn)


def test_security_definer_functions_fix_their_search_path(world: World) -> None:
    conn = world.admin
    assert security_definer_functions_without_search_path(conn) == []
    with conn.transaction(force_rollback=True):
        body = "LANGUAGE sql AS $$ SELECT count(*) FROM public.skills $$"
        conn.execute(f"CREATE FUNCTION guard_open() RETURNS bigint SECURITY DEFINER {body}")
        conn.execute(
            f"CREATE FUNCTION guard_fixed() RETURNS bigint SECURITY DEFINER SET search_path = pg_catalog {body}"
        )
        conn.execute(f"CREATE FUNCTION guard_invoker() RETURNS bigint {body}")
        assert security_definer_functions_without_search_path(conn) == ["guard_open()"]


def test_security_definer_functions_search_pg_temp_last(world: World) -> None:
    conn = world.admin
    problems = security_definer_functions_with_an_unsafe_search_path(conn)
    with conn.transaction(force_rollback=True):
        body = "LANGUAGE sql AS $$ SELECT 1 $$"
        conn.execute(f"CREATE FUNCTION guard_temp_first() RETURNS int SECURITY DEFINER SET search_path = public {body}")
        conn.execute(
            f"CREATE FUNCTION guard_safe() RETURNS int SECURITY DEFINER SET search_path = public, pg_temp {body}"
        )
        conn.execute(  # parsed at creation: its names are resolved already
            "CREATE FUNCTION guard_parsed() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = public "
            "RETURN (SELECT count(*) FROM skills)"
        )
        conn.execute("CREATE SCHEMA guard_open AUTHORIZATION skilldb_app")
        conn.execute(
            "CREATE FUNCTION guard_writable() RETURNS int SECURITY DEFINER "
            f"SET search_path = guard_open, pg_temp {body}"
        )
        found = security_definer_functions_with_an_unsafe_search_path(conn)
        assert [p for p in found if p not in problems] == [
            "guard_temp_first(): search_path 'public' does not list pg_temp last",
            "guard_writable(): skilldb_app may create objects in guard_open, on its search_path",
        ]
    assert problems == [], report(problems)


def test_a_temporary_table_cannot_hijack_a_security_definer_trigger(world: World) -> None:
    """The application shadows ``skills`` with a temporary table whose trigger records who runs it.

    Inserting a usage event fires a statement trigger (0010) that runs as its owner and
    updates ``skills``; if it finds the temporary table, the application's trigger runs
    as that owner (a superuser here) and sees every tenant's rows.
    """
    _, samples, _ = world.ready()
    skill = samples.of(world.a, "skills")[0]["id"]
    with psycopg.connect(world.db.app_url) as conn:
        with conn.transaction():
            conn.execute(
                """CREATE TEMPORARY TABLE loot (who text, tenants_seen bigint);
                   CREATE TEMPORARY TABLE skills (tenant_id text, id text, total_uses integer);
                   CREATE FUNCTION pg_temp.note_caller() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN
                       INSERT INTO pg_temp.loot
                       SELECT current_user, count(DISTINCT tenant_id) FROM public.skills;
                       RETURN NEW;
                   END $$;
                   CREATE TRIGGER note_caller BEFORE UPDATE ON pg_temp.skills
                       FOR EACH ROW EXECUTE FUNCTION pg_temp.note_caller()"""
            )
            conn.execute("INSERT INTO pg_temp.skills VALUES (%s, %s, 0)", (world.a, skill))
        with skilldb.tenant(conn, world.a), conn.transaction(force_rollback=True):
            conn.execute("INSERT INTO public.usage_events (skill_id) VALUES (%s)", (skill,))
            loot = conn.execute("SELECT who, tenants_seen FROM pg_temp.loot").fetchall()
    assert loot == [], (
        f"a SECURITY DEFINER trigger function ran the application's own trigger as {loot[0][0]}, "
        f"which saw {loot[0][1]} tenants' skills: its search_path must list pg_temp last"
    )


def test_tenant_tables_force_row_level_security_under_tenant_isolation(world: World) -> None:
    conn = world.admin
    assert tenant_relations_without_isolation(conn) == []
    with conn.transaction(force_rollback=True):
        policy = (
            "CREATE POLICY tenant_isolation ON {} USING (tenant_id = current_setting('app.current_tenant_id', true)) "
            "WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true))"
        )
        conn.execute("CREATE TABLE guard_plain (tenant_id key_text NOT NULL, id key_text NOT NULL)")
        conn.execute(
            "CREATE TABLE guard_parted (tenant_id key_text NOT NULL, id key_text) PARTITION BY HASH (tenant_id)"
        )
        conn.execute("CREATE TABLE guard_part PARTITION OF guard_parted FOR VALUES WITH (MODULUS 1, REMAINDER 0)")
        assert tenant_relations_without_isolation(conn) == [
            f"{t}: {problem}"
            for t in ("guard_part", "guard_parted", "guard_plain")
            for problem in (
                "row-level security is not enabled",
                "row-level security is not forced (the owner bypasses it)",
                "no permissive tenant_isolation policy FOR ALL",
            )
        ]
        for t in ("guard_plain", "guard_parted", "guard_part"):
            conn.execute(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY")
            conn.execute(policy.format(t))
        assert tenant_relations_without_isolation(conn) == []
        conn.execute("CREATE POLICY guard_everyone ON guard_plain FOR SELECT USING (true)")
        conn.execute("ALTER TABLE guard_part NO FORCE ROW LEVEL SECURITY")
        assert tenant_relations_without_isolation(conn) == [
            "guard_part: row-level security is not forced (the owner bypasses it)",
            "guard_plain: permissive policy guard_everyone widens tenant_isolation",
        ]


def test_truncate_is_granted_to_no_one_but_the_owner(world: World) -> None:
    conn = world.admin
    assert truncate_grants(conn) == []
    with conn.transaction(force_rollback=True):
        conn.execute("GRANT TRUNCATE ON users TO skilldb_app")
        conn.execute("GRANT ALL ON ratings TO PUBLIC")
        conn.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT TRUNCATE ON TABLES TO skilldb_app")
        owner = conn.execute("SELECT current_user").fetchone()
        assert owner is not None
        assert truncate_grants(conn) == [
            f"future tables of {owner[0]} to skilldb_app",
            "ratings to PUBLIC",
            "users to skilldb_app",
        ]


def test_no_role_bypasses_row_level_security_through_the_application_role(world: World) -> None:
    conn = world.admin
    assert roles_bypassing_rls_through_the_application_role(conn) == []
    with conn.transaction(force_rollback=True):  # roles are cluster-wide: none of this is committed
        suffix = uuid.uuid4().hex[:8]
        conn.execute(f"CREATE ROLE guard_mid_{suffix} NOLOGIN IN ROLE skilldb_app")
        conn.execute(f"CREATE ROLE guard_deep_{suffix} NOLOGIN BYPASSRLS IN ROLE guard_mid_{suffix}")
        conn.execute(f"CREATE ROLE guard_admin_{suffix} NOLOGIN SUPERUSER")
        conn.execute(f"CREATE ROLE guard_login_{suffix} NOLOGIN IN ROLE skilldb_app, guard_admin_{suffix}")
        conn.execute(f"CREATE ROLE guard_owner_{suffix} NOLOGIN")
        conn.execute("CREATE TABLE guard_owned (id int)")
        conn.execute(f"ALTER TABLE guard_owned OWNER TO guard_owner_{suffix}")
        conn.execute(f"GRANT guard_owner_{suffix} TO skilldb_app")
        assert roles_bypassing_rls_through_the_application_role(conn) == sorted(
            [
                f"guard_deep_{suffix}, a member of skilldb_app: bypasses row-level security",
                f"guard_login_{suffix} can act as guard_admin_{suffix}: superuser",
                f"skilldb_app can act as guard_owner_{suffix}: owns public tables",
            ]
        )
