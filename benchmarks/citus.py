"""Benchmark skilldb on Citus beside plain PostgreSQL, in one run, on the same server binaries.

Starts a Citus cluster (``tests/citus.py``: a coordinator and two workers on loopback, from
the system PostgreSQL that has Citus installed) and two databases on it:

* ``bench_plain``: no citus extension, so plain PostgreSQL on the coordinator's server;
* ``bench_citus``: the extension installed in it on every node and the workers registered.

Both get migrations 0001-0022 and the same small set (``benchmarks/_data.py``, COPY), then
the remaining migrations: 0023 distributes ``bench_citus``'s tables with their rows, as an
operator moving a populated database to Citus would, and does nothing on ``bench_plain``.

Then three requests, each as the application login (a member of ``skilldb_app`` only), the
databases interleaved block by block on the same ids:

* the nested fetch: ``with skilldb.tenant(conn, t): skilldb.get_skill_with_relations(conn, id)``;
* a list page: ``skilldb.list_skills_with_relations(conn, limit=50, after=...)`` in a block;
* a write: ``skilldb.create_skill_version(...)`` and ``skilldb.publish_version(...)`` in one block.

It prints the median and p95 latency of each, and the Citus plan (EXPLAIN) of each statement:
the router plan (``Task Count: 1``) and the node it runs on.

Run it from the repository root::

    python -m uv run python benchmarks/citus.py                # 5,000 skills, 1,000 jobs a request
    python -m uv run python benchmarks/citus.py --skills 20000 --jobs 2000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg
from _data import Stats, build_small_set, check_load, create_app_login, log, table
from yoyo import get_backend, read_migrations

import skilldb
from skilldb._sql import MIGRATIONS_DIR, sql_of
from skilldb.migrate import yoyo_url
from skilldb.tenancy import bind_tenant_sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.citus import start_cluster  # the test suite's cluster (the repository root is on the path)

TENANT = "bench-citus"
DISTRIBUTING = "0023_distribute_on_citus"


def apply_before_distribution(conninfo: str) -> None:
    """Apply every migration before 0023, with yoyo's API (under its lock)."""
    backend = get_backend(yoyo_url(conninfo))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    earlier = migrations.filter(lambda m: m.id < DISTRIBUTING)
    try:
        with backend.lock():
            backend.apply_migrations(backend.to_apply(earlier))
    finally:
        backend.connection.close()


def counters(conninfo: str) -> dict[str, int]:
    """The sums of the counters the triggers keep, over the tenant's skills."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT sum(total_uses), sum(rating_count), sum(rating_sum), sum(latest_version),"
            " sum(coalesce(average_rating, 0)) FROM skills WHERE tenant_id = %s",
            (TENANT,),
        ).fetchone()
    assert row is not None
    return dict(zip(("total_uses", "rating_count", "rating_sum", "latest_version", "average_rating"), map(int, row)))


def prepare(conninfo: str, args: argparse.Namespace) -> tuple[list[str], str, float]:
    """Migrate up to 0022, load the small set, then apply the rest; return the skill ids,
    the loader's summary, and the seconds the remaining migrations (0023) took."""
    apply_before_distribution(conninfo)
    data, summary = build_small_set(conninfo, args.seed, args.skills, args.users, TENANT)
    loaded = {**check_load(conninfo, TENANT), **counters(conninfo)}
    t0 = time.perf_counter()
    skilldb.apply_migrations(conninfo)
    took = time.perf_counter() - t0
    after = {**check_load(conninfo, TENANT), **counters(conninfo)}  # rows, numbers, counters as they were
    if after != loaded:
        raise SystemExit(f"the migrations changed the data: {loaded} before, {after} after")
    return [row[0] for row in data.skills], summary, took


class Path_:
    """One request on one database: its connection, its job, its timings."""

    def __init__(self, name: str, conn: psycopg.Connection[Any], job: Callable[[Any], Any]) -> None:
        self.name, self.conn, self.job = name, conn, job
        self.times: list[int] = []

    def run(self, items: Sequence[Any], record: bool) -> None:
        for item in items:
            t0 = time.perf_counter_ns()
            self.job(item)
            if record:
                self.times.append(time.perf_counter_ns() - t0)


def request_paths(label: str, conninfo: str, ids: list[str], user_id: str) -> dict[str, Path_]:
    fetch_conn, page_conn, write_conn = (psycopg.connect(conninfo) for _ in range(3))
    cursors: dict[str, str | None] = {}

    def fetch(sid: str) -> Any:
        with skilldb.tenant(fetch_conn, TENANT):
            return skilldb.get_skill_with_relations(fetch_conn, sid)

    def page(sid: str) -> Any:
        with skilldb.tenant(page_conn, TENANT):
            result = skilldb.list_skills_with_relations(page_conn, limit=50, after=cursors.get(sid))
        cursors[sid] = result.next_cursor
        return result

    def write(sid: str) -> Any:
        with skilldb.tenant(write_conn, TENANT):
            version = skilldb.create_skill_version(
                write_conn,
                sid,
                content=f"{label} {time.perf_counter_ns()}".encode(),
                content_url="https://example.com/bench",
                content_type="text/markdown",
                created_by=user_id,
            )
            return skilldb.publish_version(write_conn, sid, version.id)

    return {
        "nested fetch": Path_(f"{label} nested fetch", fetch_conn, fetch),
        "list page of 50": Path_(f"{label} list page of 50", page_conn, page),
        "write (version + publish)": Path_(f"{label} write (version + publish)", write_conn, write),
    }


def plans(conninfo: str, ids: list[str], user_id: str) -> str:
    """EXPLAIN (COSTS OFF) of each request's statements, as the application runs them."""
    out = []
    with psycopg.connect(conninfo) as conn:
        conn.execute(bind_tenant_sql(TENANT))
        statements = [
            ("get_skill_with_relations", {"tenant_id": TENANT, "skill_id": ids[0]}),
            (
                "list_skills_with_relations_by_created_at",
                {"tenant_id": TENANT, "after_key": "infinity", "after_id": "", "limit": 51},
            ),
            (
                "create_skill_version",
                {
                    "tenant_id": TENANT,
                    "skill_id": ids[0],
                    "version_id": "bench-version",
                    "content_url": "https://example.com/bench",
                    "content_hash": "0" * 64,
                    "content_type": "text/markdown",
                    "name": None,
                    "description": None,
                    "metadata": None,
                    "created_by": user_id,
                },
            ),
            ("publish_version", {"tenant_id": TENANT, "skill_id": ids[0], "version_id": "none"}),
        ]
        for name, params in statements:
            # values bound client-side: Citus cannot EXPLAIN an INSERT ... SELECT with parameters
            rows = psycopg.ClientCursor(conn).execute("EXPLAIN (COSTS OFF) " + sql_of(name), params).fetchall()
            shown = [r[0] for r in rows]
            out.append(f"-- {name}\n" + "\n".join(shown[:8]) + ("\n   ..." if len(shown) > 8 else ""))
        conn.rollback()
    return "\n\n".join(out)


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--skills", type=int, default=5_000, help="skills (x 5 versions x 10 ratings; default 5000)")
    p.add_argument("--users", type=int, default=500, help="users (default 500)")
    p.add_argument("--jobs", type=int, default=1_000, help="timed jobs per request and database (default 1000)")
    p.add_argument("--block", type=int, default=100, help="jobs per interleaved block (default 100)")
    p.add_argument("--seed", type=int, default=17, help="random seed of the data and the ids (default 17)")
    args = p.parse_args(argv)
    started = time.perf_counter()
    cluster = start_cluster()
    try:
        log(f"Citus cluster: coordinator on port {cluster.coordinator.port}, {len(cluster.workers)} workers")
        admin = cluster.coordinator.conninfo("postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench_plain")
            version = conn.execute("SHOW server_version").fetchone()
        cluster.create_database("bench_citus")
        log(f"PostgreSQL {version[0] if version else '?'}; {args.skills} skills x 5 versions x 10 ratings per database")
        prepared = {}
        # Citus first: the role skilldb_app is created by its migrations there, so Citus creates
        # it on the workers too (a role created from a database without the extension is not)
        for label, dbname in (("citus", "bench_citus"), ("plain", "bench_plain")):
            conninfo = cluster.coordinator.conninfo(dbname)
            ids, summary, distributing = prepare(conninfo, args)
            log(f"{label}: {summary}; the remaining migrations took {distributing:.1f} s")
            prepared[label] = (create_app_login(conninfo), ids)
        rng = random.Random(args.seed)
        ids = prepared["plain"][1]
        assert ids == prepared["citus"][1]
        with psycopg.connect(cluster.coordinator.conninfo("bench_plain")) as conn:
            user_id = str((conn.execute("SELECT id FROM users ORDER BY id LIMIT 1").fetchone() or ("",))[0])
        picks = [rng.choice(ids) for _ in range(args.jobs)]
        paths = {label: request_paths(label, prepared[label][0], ids, user_id) for label in ("plain", "citus")}
        for request in paths["plain"]:
            pair = [paths["plain"][request], paths["citus"][request]]
            for path in pair:  # warm-up: prepared statements, caches, connections to the workers
                path.run(picks[: args.block], record=False)
            for i, start in enumerate(range(0, len(picks), args.block)):
                block = picks[start : start + args.block]
                for path in pair if i % 2 == 0 else reversed(pair):
                    path.run(block, record=True)
        rows = []
        for request in paths["plain"]:
            plain, citus = (Stats.of(paths[label][request].times) for label in ("plain", "citus"))
            rows.append(
                [
                    request,
                    f"{plain.median_us:.0f}",
                    f"{plain.p95_us:.0f}",
                    f"{citus.median_us:.0f}",
                    f"{citus.p95_us:.0f}",
                    f"{citus.median_us / plain.median_us:.2f}x",
                ]
            )
        headers = ["request", "plain median us", "plain p95 us", "citus median us", "citus p95 us", "citus / plain"]
        log(f"\n{args.jobs} jobs per request and database, interleaved in blocks of {args.block}:")
        log(table(headers, rows))
        log("\nCitus plans of the statements (the application login, tenant bound):\n")
        log(plans(prepared["citus"][0], ids, user_id))
        for label in paths:
            for path in paths[label].values():
                path.conn.close()
    finally:
        cluster.stop()
    log(f"\ntotal run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
