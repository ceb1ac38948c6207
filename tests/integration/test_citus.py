"""On Citus (``SKILLDB_TEST_CITUS=1``): how migration 0023 distributed the schema, and that
every named query of a tenant is routed to one shard.

Elsewhere these tests are skipped: they need a coordinator and workers, which
``.ci/run`` starts for its second run of the suite.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest
from psycopg import sql

import skilldb
from skilldb.check import _scan, read_queries
from tests.plugin import Database, citus_mode

pytestmark = pytest.mark.skipif(not citus_mode(), reason="runs on a Citus cluster only (SKILLDB_TEST_CITUS=1)")

TENANT_TABLES = {"tenants", "users", "skills", "skill_versions", "ratings", "usage_events", "skill_messages"}
WORKSHOP_TABLES = {"workshops", "workshop_members", "step_definitions", "workshop_steps", "sessions", "build_packs"}

#: A sample value (as text) for a parameter of each type, the tenant's aside.
SAMPLE_BY_TYPE = {
    "boolean": "true",
    "integer": "1",
    "bigint": "1",
    "smallint": "1",
    "timestamp with time zone": "2026-01-01 00:00:00+00",
    "moment": "2026-01-01 00:00:00+00",
    "jsonb": "{}",
    "json": "{}",
    "bytea": "\\x00",
}


def test_tenant_tables_are_colocated_and_workshop_tables_stay_on_the_coordinator(
    admin_conn: psycopg.Connection[Any],
) -> None:
    rows = admin_conn.execute(
        "SELECT logicalrelid::text, column_to_column_name(logicalrelid, partkey), colocationid, partmethod"
        " FROM pg_dist_partition"
    ).fetchall()
    distributed = {table: (column, group, method) for table, column, group, method in rows}
    assert set(distributed) == TENANT_TABLES, "exactly the tenant tables are in Citus' metadata"
    assert {column for column, _, _ in distributed.values()} == {"tenant_id", "id"}
    assert distributed["tenants"][0] == "id"
    assert len({group for _, group, _ in distributed.values()}) == 1, "one colocation group"
    assert {method for _, _, method in distributed.values()} == {"h"}
    local = admin_conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
    ).fetchall()
    assert WORKSHOP_TABLES <= {name for (name,) in local} - set(distributed)


def test_the_binding_reaches_the_workers(app_conn: psycopg.Connection[Any]) -> None:
    setting = app_conn.execute("SHOW citus.propagate_set_commands").fetchone()
    assert setting == ("local",)
    app_conn.rollback()


def _sample(name: str, type_name: str, tenant: str) -> str:
    if name in ("tenant_id",):
        return tenant
    if type_name.endswith("[]"):
        return "{}"
    return SAMPLE_BY_TYPE.get(type_name, "sample")


def _plan(conn: psycopg.Connection[Any], text: str, names: list[str], tenant: str) -> str:
    """EXPLAIN of ``text`` executed with sample values: as a prepared statement, or, where
    Citus cannot EXPLAIN an ``INSERT ... SELECT`` prepared with parameters ("no value found
    for parameter 1"; it runs it), with the same values written into the statement."""
    conn.execute(f"PREPARE skilldb_route AS {text}")
    (types,) = conn.execute(
        "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = 'skilldb_route'"
    ).fetchone() or ([],)
    values = [
        sql.SQL("{}::{}").format(sql.Literal(_sample(name, type_name, tenant)), sql.SQL(type_name))
        for name, type_name in zip(names, types, strict=True)
    ]
    query = sql.SQL("EXPLAIN (COSTS OFF) EXECUTE skilldb_route{}").format(
        sql.SQL("({})").format(sql.SQL(", ").join(values)) if values else sql.SQL("")
    )
    try:
        with conn.transaction():
            return "\n".join(row[0] for row in conn.execute(query).fetchall())
    except psycopg.errors.UndefinedObject as exc:
        if "no value found for parameter" not in str(exc):
            raise
    inlined = text
    for n in range(len(values), 0, -1):
        inlined = inlined.replace(f"${n}", values[n - 1].as_string(conn))
    return "\n".join(row[0] for row in conn.execute(f"EXPLAIN (COSTS OFF) {inlined}").fetchall())


def _routed(plan: str, *, workshop: bool) -> bool:
    """Whether a plan reads the distributed tables on one shard only (a workshop query:
    not at all). A plan with no Citus scan reads no distributed table: it is a bare
    ``Result`` (a call of a function Citus delegates to the tenant's node) or a workshop
    query on the coordinator's own tables."""
    if workshop:
        return "Citus" not in plan
    if "Citus" not in plan:
        return re.search(r"^\s*(Result|ProjectSet)\b", plan, re.M) is not None
    counts = [int(n) for n in re.findall(r"Task Count: (\d+)", plan)]
    if "pull to coordinator" in plan and "Citus Adaptive" in plan.split("pull to coordinator", 1)[1]:
        return False  # an INSERT ... SELECT reading a distributed table through the coordinator: two hops
    if "pull to coordinator" in plan:
        return True  # rows the client sent (unnest of its arrays), evaluated on the coordinator and routed
    return bool(counts) and all(n == 1 for n in counts)


def test_a_query_that_forgets_the_tenant_is_caught(db: Database) -> None:
    """The check of the test below fails a query that reads every tenant's shards."""
    with psycopg.connect(db.app_url) as conn:
        conn.execute("SET LOCAL app.current_tenant_id = 'tenant-routed'")
        fan_out = _plan(conn, "SELECT count(*) FROM skills WHERE name = $1", ["name"], "tenant-routed")
        conn.rollback()
        conn.execute("DEALLOCATE ALL")
        conn.execute("SET LOCAL app.current_tenant_id = 'tenant-routed'")
        query = "SELECT count(*) FROM skills WHERE tenant_id = $1 AND name = $2"
        routed = _plan(conn, query, ["tenant_id", "name"], "tenant-routed")
        conn.rollback()
    assert "Task Count: 8" in fan_out
    assert not _routed(fan_out, workshop=False)
    two_hops = "Custom Scan (Citus INSERT ... SELECT)\n  INSERT/SELECT method: pull to coordinator\n"
    assert not _routed(two_hops + "  ->  Custom Scan (Citus Adaptive)\n        Task Count: 1", workshop=False)
    assert _routed(two_hops + "  ->  Function Scan on unnest", workshop=False)
    assert _routed(routed, workshop=False)
    assert not _routed(routed, workshop=True)


#: Statements that Citus runs in steps through the coordinator, every step on the tenant's one shard.
IN_STEPS = {
    "create_prompt_skills": "the set-based import of a whole prompt library: its CTEs run as subplans",
    "create_prompt_versions": "the set-based import of a whole prompt library: its CTEs run as subplans",
    "record_usage_events": "a batch of events: a CTE checks every reference before the INSERT of them all",
}


def test_every_named_query_of_a_tenant_is_routed_to_one_shard(db: Database) -> None:
    """EXPLAIN every named query with the tenant bound: a plan that reads a distributed
    table must send one task (``Task Count: 1``); a workshop query must not touch Citus."""
    tenant = "tenant-routed"
    wrong: dict[str, str] = {}
    checked = 0
    with psycopg.connect(db.app_url) as conn:
        for block in read_queries():
            prepared, _ = _scan(block)
            assert prepared is not None, block.name
            conn.execute(sql.SQL("SET LOCAL app.current_tenant_id = {}").format(sql.Literal(tenant)))
            conn.execute(sql.SQL("SET LOCAL app.clerk_user_id = {}").format(sql.Literal("user-routed")))
            try:
                plan = _plan(conn, prepared.text, list(prepared.params), tenant)
            except psycopg.Error as exc:
                wrong[block.name] = f"EXPLAIN failed: {exc}"
                continue
            finally:
                conn.rollback()
                conn.execute("DEALLOCATE ALL")  # prepared statements outlive transactions
            if block.name in IN_STEPS:
                tasks = [int(n) for n in re.findall(r"Task Count: (\d+)", plan)]
                if not tasks or any(n != 1 for n in tasks):
                    wrong[block.name] = plan
            elif not _routed(plan, workshop=block.name.startswith("workshops.")):
                wrong[block.name] = plan
            checked += 1
    assert checked >= 40, wrong
    assert not wrong, "not routed to one shard:\n\n" + "\n\n".join(f"{k}:\n{v}" for k, v in wrong.items())


def test_a_populated_database_is_distributed_with_its_rows_numbers_and_counters(empty_db: Database) -> None:
    """An operator's database moving to Citus: 0001-0022 applied and written to through the
    package on the coordinator, then 0023 distributes it. Every row, version number and
    counter is as it was (the copy to the shards runs no trigger), and the package keeps
    numbering and counting from there."""
    from yoyo import get_backend, read_migrations

    from skilldb._sql import MIGRATIONS_DIR
    from skilldb.migrate import yoyo_url

    backend = get_backend(yoyo_url(empty_db.admin_url))
    try:
        with backend.lock():
            earlier = read_migrations(str(MIGRATIONS_DIR)).filter(lambda m: m.id < "0023")
            backend.apply_migrations(backend.to_apply(earlier))
    finally:
        backend.connection.close()
    with psycopg.connect(empty_db.admin_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_dist_partition").fetchone() == (0,)
        for tenant in ("tenant-one", "tenant-two"):
            with skilldb.tenant(conn, tenant):
                skilldb.create_tenant(conn, name=tenant)
                users = [skilldb.create_user(conn, email=f"u{i}@example.com") for i in range(3)]
                for s in range(4):
                    skill = skilldb.create_skill(conn, author_id=users[0].id, name=f"S{s}", slug=f"s{s}")
                    for v in range(s + 1):
                        skilldb.create_skill_version(
                            conn,
                            skill.id,
                            content=f"{tenant} {s} {v}".encode(),
                            content_url="https://example.com/v",
                            content_type="text/plain",
                            created_by=users[v % 3].id,
                        )
                    for u in users[: s % 3 + 1]:
                        skilldb.rate_skill(conn, skill_id=skill.id, user_id=u.id, rating=s % 5 + 1)
                    skilldb.record_usage_events(
                        conn, [skilldb.NewUsageEvent(skill_id=skill.id, tool_name="cli", user_id=users[1].id)] * (s + 2)
                    )
        before = _state(conn)
    skilldb.apply_migrations(empty_db.admin_url)
    with psycopg.connect(empty_db.admin_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_dist_partition").fetchone() == (len(TENANT_TABLES),)
        assert _state(conn) == before
        with skilldb.tenant(conn, "tenant-one"):
            skill = skilldb.get_skill_by_slug(conn, "s3")
            assert skill is not None and skill.latest_version == 4
            author = skill.author_id
            assert author is not None
            version = skilldb.create_skill_version(
                conn, skill.id, content=b"after", content_url="https://example.com/v",
                content_type="text/plain", created_by=author,
            )  # fmt: skip
            assert version.version == 5
            assert skilldb.increment_skill_uses(conn, skill.id) == skill.total_uses + 1


def _state(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """Every skill's numbers and counters, and the row count of every tenant table."""
    rows = conn.execute(
        "SELECT tenant_id, slug, latest_version, total_uses, rating_count, rating_sum, average_rating"
        " FROM skills ORDER BY tenant_id, slug"
    ).fetchall()
    for table in sorted(TENANT_TABLES):
        rows += conn.execute(sql.SQL("SELECT {}, count(*) FROM {}").format(sql.Literal(table), sql.Identifier(table)))
    return rows
