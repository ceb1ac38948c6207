"""Benchmark the whole tenant-bound request against plain psycopg with no tenant binding.

The honest unit of work is the request::

    with skilldb.tenant(conn, tenant_id):
        skilldb.get_skill_with_relations(conn, skill_id)

BEGIN, the tenant binding and COMMIT included. It is timed beside plain psycopg running one
prepared statement with no tenant binding at all, on the same data and the same ids.

Paths (each on a connection of its own)
---------------------------------------
Skill detail (``--calls`` random skill ids; sync and async paths interleaved in one run):

* ``plain psycopg`` (the baseline, 1.00x): one prepared json_agg statement (``BASELINE_FETCH_SQL``,
  the text of ``get_skill_with_relations`` as it was before any lever of this benchmark was
  pulled, frozen here so that the baseline does not move when the package's statement does)
  run by the superuser (row-level security does not apply), autocommit, no tenant binding,
  dict rows (psycopg's text format, json parsed by psycopg);
* ``plain psycopg again (A/A control)``: the baseline once more, on a connection of its own:
  how far two identical paths drift apart in one run (which backend process runs where);
* ``plain psycopg, package SQL``: the package's current statement the same way (shows what the
  statement alone is worth);
* ``skilldb fetch in a bound block``: ``skilldb.get_skill_with_relations`` alone, inside a
  ``skilldb.tenant`` block opened (and committed) outside the timing, one per block of jobs;
* ``skilldb request``: the whole request above, as the application login (a member of
  ``skilldb_app`` only, row-level security on);
* ``skilldb request, prepare_threshold=None``: the same on a connection that prepares nothing
  (PgBouncer without prepared-statement support);
* ``skilldb request as tenant(...).run``: the same request as
  ``skilldb.tenant(conn, t).run(skilldb.get_skill_with_relations, skill_id)``: BEGIN READ ONLY,
  the binding, the statement and COMMIT in one psycopg pipeline, one round trip (the ``with``
  form sends its opening on entry and confirms its COMMIT at exit, so that raw statements
  inside run bound with their results at the statement: three round trips); and the same with
  ``prepare_threshold=None``;
* ``hand-built 1-round-trip request (reference)``: that pipeline written by hand with psycopg
  (rows mapped by the package's row factory): what ``.run`` costs over it;
* ``plain psycopg async``, ``skilldb.aio request`` and ``skilldb.aio request as
  tenant(...).run``: the baseline and both request forms on ``psycopg.AsyncConnection``.

List pages (``--pages`` pages of 50, each starting after one of the same random skills, newest
first): the frozen list statement through plain psycopg (superuser, no binding, dict rows)
and ``with skilldb.tenant(conn, t): skilldb.list_skills_with_relations(conn, limit=50, after=...)``,
and the same page as ``skilldb.tenant(conn, t).run(skilldb.list_skills_with_relations, ...)``.

Writes (``--writes`` skills of their own, never read by the paths above): plain psycopg in one
transaction (``conn.transaction()``: BEGIN, ``SET LOCAL`` binding, which the version trigger
needs even for a superuser, the INSERT and the UPDATE of the package's SQL, COMMIT) and
``with skilldb.tenant(conn, t): v = skilldb.create_skill_version(...); skilldb.publish_version(conn, id, v.id)``.

Method
------
First a result check: every read path returns the same data for 50 ids (and it is what was
loaded); both write paths number the next version and publish it. Then every path is warmed up
over all its ids, then timed per job with ``time.perf_counter_ns`` in blocks of ``--block`` (100) ids, the
paths interleaved block by block (who goes first rotates), so that drift of the machine hits
all of them alike. Client CPU per job is ``time.process_time_ns`` around each job (mean).
Round trips per job are counted from libpq's protocol trace (``PGconn.trace``) of 20 more
jobs: each run of messages the client sends that is answered by the server is one round trip
(so a pipeline sent in one go counts once; psycopg sometimes reads a pipeline's first results
before it has sent the rest, which counts a little over one). Then one line per target of issue
17: MET or NOT MET, beside the A/A control's ratio, the noise of the run.

Data: ``--skills`` skills x 5 versions x 10 ratings and 1-4 usage events each, ``--users``
users, one tenant, built and loaded by ``benchmarks/_data.py`` (shared with ``nested_fetch.py``
and ``metrics.py``), then VACUUM (ANALYZE).

Run it from the repository root::

    python -m uv run python benchmarks/request.py                 # 20,000 skills, 2,000 fetches; 2-3 min
    python -m uv run python benchmarks/request.py --profile       # + cProfile of the request path, sync and async
    python -m uv run python benchmarks/request.py --explain       # + EXPLAIN (ANALYZE, BUFFERS) of both statements
    python -m uv run python benchmarks/request.py --data-dir .skilldb/bench --reuse   # keep and reuse the data

Without ``DATABASE_URL`` it starts an embedded PostgreSQL server in a temporary directory (or in
``--data-dir``); with it (a superuser URL) it (re)creates the database ``--dbname`` there.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import platform
import pstats
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import psycopg
from _data import (
    VERSIONS_PER_SKILL,
    SmallSet,
    Stats,
    build_small_set,
    chunks,
    create_app_login,
    fresh_database,
    get_server,
    log,
    make_small_set,
    table,
)
from psycopg import pq
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

import skilldb
from skilldb._sql import JSON_OID, _JsonBytesLoader, model_row, sql_of
from skilldb.skills import _encode_cursor
from skilldb.tenancy import bind_tenant_sql

TENANT = "bench-request"
#: jobs per interleaved block (and per tenant block of the fetch-alone path), by default
BLOCK = 100
PAGE_SIZE = 50
CHECK_IDS = 50
TRACE_JOBS = 20
#: skills written to during the write paths' warm-up (never timed)
WRITE_WARMUP = 100

#: ``get_skill_with_relations`` as the package sent it before this benchmark's levers: the
#: baseline's one prepared json_agg statement, frozen so that it stays the same yardstick.
BASELINE_FETCH_SQL = """
SELECT
    s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
    s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses, s.average_rating,
    s.created_at, s.updated_at,
    (
        SELECT row_to_json(a)
        FROM (
            SELECT u.id, u.tenant_id, u.email, u.name, u.created_at
            FROM users u
            WHERE u.tenant_id = %(tenant_id)s AND u.id = s.author_id
        ) AS a
    ) AS author,
    (
        SELECT coalesce(json_agg(v ORDER BY v.version DESC), '[]')
        FROM (
            SELECT
                v.id, v.tenant_id, v.skill_id, v.version, v.content_url, v.content_hash,
                v.content_type, v.name, v.description, v.metadata, v.created_by, v.created_at
            FROM skill_versions v
            WHERE v.tenant_id = %(tenant_id)s AND v.skill_id = s.id
        ) AS v
    ) AS versions,
    (
        SELECT row_to_json(v)
        FROM (
            SELECT
                v.id, v.tenant_id, v.skill_id, v.version, v.content_url, v.content_hash,
                v.content_type, v.name, v.description, v.metadata, v.created_by, v.created_at
            FROM skill_versions v
            WHERE v.tenant_id = %(tenant_id)s AND v.skill_id = s.id AND v.id = s.published_version_id
        ) AS v
    ) AS published_version,
    (
        SELECT row_to_json(v)
        FROM (
            SELECT
                v.id, v.tenant_id, v.skill_id, v.version, v.content_url, v.content_hash,
                v.content_type, v.name, v.description, v.metadata, v.created_by, v.created_at
            FROM skill_versions v
            WHERE v.tenant_id = %(tenant_id)s AND v.skill_id = s.id AND v.id = s.draft_version_id
        ) AS v
    ) AS draft_version,
    (
        SELECT coalesce(json_agg(r ORDER BY r.created_at DESC, r.id), '[]')
        FROM (
            SELECT
                r.id, r.tenant_id, r.skill_id, r.user_id, r.rating, r.comment,
                r.hours_saved_estimate, r.created_at,
                json_build_object(
                    'id', u.id, 'tenant_id', u.tenant_id, 'email', u.email,
                    'name', u.name, 'created_at', u.created_at
                ) AS "user"
            FROM ratings r
            JOIN users u ON u.tenant_id = %(tenant_id)s AND u.id = r.user_id
            WHERE r.tenant_id = %(tenant_id)s AND r.skill_id = s.id
        ) AS r
    ) AS ratings,
    json_build_object(
        'total_uses', s.total_uses,
        'last_used_at', (
            SELECT max(e.created_at) FROM usage_events e
            WHERE e.tenant_id = %(tenant_id)s AND e.skill_id = s.id
        )
    ) AS usage
FROM skills s
WHERE s.tenant_id = %(tenant_id)s AND s.id = %(skill_id)s
"""

#: ``list_skills_with_relations_by_created_at`` as the package sent it before this benchmark's levers.
BASELINE_PAGE_SQL = """
SELECT
    s.id, s.tenant_id, s.author_id, s.name, s.slug, s.description, s.category,
    s.published_version_id, s.draft_version_id, s.latest_version, s.total_uses, s.average_rating,
    s.created_at, s.updated_at,
    (
        SELECT row_to_json(a)
        FROM (
            SELECT u.id, u.tenant_id, u.email, u.name, u.created_at
            FROM users u
            WHERE u.tenant_id = %(tenant_id)s AND u.id = s.author_id
        ) AS a
    ) AS author,
    (
        SELECT row_to_json(v)
        FROM (
            SELECT
                v.id, v.tenant_id, v.skill_id, v.version, v.content_url, v.content_hash,
                v.content_type, v.name, v.description, v.metadata, v.created_by, v.created_at
            FROM skill_versions v
            WHERE v.tenant_id = %(tenant_id)s AND v.skill_id = s.id AND v.id = s.published_version_id
        ) AS v
    ) AS published_version
FROM (
    SELECT
        id, tenant_id, author_id, name, slug, description, category,
        published_version_id, draft_version_id, latest_version, total_uses, average_rating,
        created_at, updated_at
    FROM skills
    WHERE tenant_id = %(tenant_id)s
        AND (created_at, id) < (%(after_key)s::timestamptz, %(after_id)s::text)
    ORDER BY created_at DESC, id DESC
    LIMIT %(limit)s
) AS s
ORDER BY created_at DESC, s.id DESC
"""


# --------------------------------------------------------------------------------------------
# comparing results


def canon(value: Any) -> Any:
    """A comparable form of a result: dataclasses and dicts as dicts, lists as lists, and
    timestamps as datetimes (plain psycopg's json relations carry them as ISO strings)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: canon(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {
            k: datetime.fromisoformat(v) if k.endswith("_at") and isinstance(v, str) else canon(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [canon(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# round trips, from libpq's protocol trace


def round_trips(trace: str) -> int:
    """Runs of frontend messages answered by the backend: one per wait for the server."""
    n, sending = 0, False
    for line in trace.splitlines():
        if line.startswith("F\t"):
            sending = True
        elif line.startswith("B\t") and sending:
            n += 1
            sending = False
    return n


@contextmanager
def traced(pgconn: Any) -> Iterator[list[int]]:
    """Trace ``pgconn``'s protocol messages inside; the list yielded gets the round-trip count."""
    fd, path = tempfile.mkstemp(prefix="skilldb-trace-")
    counted: list[int] = []
    pgconn.trace(fd)
    pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
    try:
        yield counted
    finally:
        pgconn.untrace()  # flushes the trace
        os.close(fd)
        with open(path) as f:
            counted.append(round_trips(f.read()))
        os.unlink(path)


# --------------------------------------------------------------------------------------------
# paths


@dataclass
class Path:
    """One way of doing a job (a fetch, a page or a write) for a key (a skill id or a cursor)."""

    name: str
    #: one job; sync, or async when ``is_async``
    job: Callable[[Any], Any]
    pgconn: Any
    is_async: bool = False
    #: what a block of jobs runs inside, outside the timing (the fetch-alone path's tenant block)
    scope: Callable[[], AbstractContextManager[Any]] = nullcontext
    times: list[int] = field(default_factory=list)
    cpu: list[int] = field(default_factory=list)
    trips: float = 0.0


def timed_jobs(job: Callable[[Any], Any], keys: Sequence[Any], times: list[int], cpu: list[int]) -> None:
    clock, cpu_clock = time.perf_counter_ns, time.process_time_ns
    for key in keys:
        c0 = cpu_clock()
        t0 = clock()
        job(key)
        t1 = clock()
        cpu.append(cpu_clock() - c0)
        times.append(t1 - t0)


async def atimed_jobs(
    job: Callable[[Any], Awaitable[Any]], keys: Sequence[Any], times: list[int], cpu: list[int]
) -> None:
    clock, cpu_clock = time.perf_counter_ns, time.process_time_ns
    for key in keys:
        c0 = cpu_clock()
        t0 = clock()
        await job(key)
        t1 = clock()
        cpu.append(cpu_clock() - c0)
        times.append(t1 - t0)


def sync_path(name: str, conn: psycopg.Connection[Any], job: Callable[[Any], Any]) -> Path:
    return Path(name, job, conn.pgconn)


def async_path(name: str, conn: psycopg.AsyncConnection[Any], job: Callable[[Any], Awaitable[Any]]) -> Path:
    return Path(name, job, conn.pgconn, is_async=True)


@dataclass
class Connections:
    """Every connection the paths opened, closed at the end."""

    sync: list[psycopg.Connection[Any]] = field(default_factory=list)
    aio: list[psycopg.AsyncConnection[Any]] = field(default_factory=list)

    def connect(self, conninfo: str, **kwargs: Any) -> psycopg.Connection[Any]:
        conn = psycopg.connect(conninfo, **kwargs)
        self.sync.append(conn)
        return conn

    async def aconnect(self, conninfo: str, **kwargs: Any) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(conninfo, **kwargs)
        self.aio.append(conn)
        return conn

    async def close(self) -> None:
        for conn in self.sync:
            conn.close()
        for aconn in self.aio:
            await aconn.close()


async def fetch_paths(conns: Connections, super_info: str, app_info: str) -> list[Path]:
    t = TENANT
    paths = []

    plain = conns.connect(super_info, autocommit=True, row_factory=dict_row)

    def plain_fetch(sid: str) -> Any:
        return plain.execute(BASELINE_FETCH_SQL, {"tenant_id": t, "skill_id": sid}, prepare=True).fetchone()

    paths.append(sync_path("plain psycopg (no binding, dict rows)", plain, plain_fetch))

    again = conns.connect(super_info, autocommit=True, row_factory=dict_row)

    def plain_again(sid: str) -> Any:
        return again.execute(BASELINE_FETCH_SQL, {"tenant_id": t, "skill_id": sid}, prepare=True).fetchone()

    paths.append(sync_path("plain psycopg again (A/A control)", again, plain_again))

    package_sql = sql_of("get_skill_with_relations")
    plain_now = conns.connect(super_info, autocommit=True, row_factory=dict_row)

    def plain_package_fetch(sid: str) -> Any:
        return plain_now.execute(package_sql, {"tenant_id": t, "skill_id": sid}, prepare=True).fetchone()

    paths.append(sync_path("plain psycopg, package SQL (reference)", plain_now, plain_package_fetch))

    alone = conns.connect(app_info)
    paths.append(
        Path(
            "skilldb fetch in a bound block",
            lambda sid: skilldb.get_skill_with_relations(alone, sid),
            alone.pgconn,
            scope=lambda: skilldb.tenant(alone, t),
        )
    )

    for label, kwargs in (
        ("skilldb request", {}),
        ("skilldb request, prepare_threshold=None", {"prepare_threshold": None}),
    ):
        conn = conns.connect(app_info, **kwargs)

        def request(sid: str, conn: psycopg.Connection[Any] = conn) -> Any:
            with skilldb.tenant(conn, t):
                return skilldb.get_skill_with_relations(conn, sid)

        paths.append(sync_path(label, conn, request))

    for label, kwargs in (
        ("skilldb request as tenant(...).run", {}),
        ("skilldb tenant(...).run, prepare_threshold=None", {"prepare_threshold": None}),
    ):
        conn = conns.connect(app_info, **kwargs)

        def run(sid: str, conn: psycopg.Connection[Any] = conn) -> Any:
            return skilldb.tenant(conn, t).run(skilldb.get_skill_with_relations, sid)

        paths.append(sync_path(label, conn, run))

    piped = conns.connect(app_info, autocommit=True)
    make_row = model_row(skilldb.SkillWithRelations)
    begin, bind = "BEGIN READ ONLY", bind_tenant_sql(t)

    def one_round_trip(sid: str) -> Any:
        cur = piped.cursor(row_factory=make_row, binary=True)
        cur.adapters.register_loader(JSON_OID, _JsonBytesLoader)
        with piped.pipeline():
            piped.execute(begin)
            piped.execute(bind)
            cur.execute(package_sql, {"tenant_id": t, "skill_id": sid}, prepare=True)
            piped.execute("COMMIT")
        return cur.fetchone()

    paths.append(sync_path("hand-built 1-round-trip request (reference)", piped, one_round_trip))

    aplain = await conns.aconnect(super_info, autocommit=True, row_factory=dict_row)

    async def aplain_fetch(sid: str) -> Any:
        cur = await aplain.execute(BASELINE_FETCH_SQL, {"tenant_id": t, "skill_id": sid}, prepare=True)
        return await cur.fetchone()

    paths.append(async_path("plain psycopg async (no binding, dict rows)", aplain, aplain_fetch))

    aconn = await conns.aconnect(app_info)

    async def arequest(sid: str) -> Any:
        async with skilldb.aio.tenant(aconn, t):
            return await skilldb.aio.get_skill_with_relations(aconn, sid)

    paths.append(async_path("skilldb.aio request", aconn, arequest))

    arun_conn = await conns.aconnect(app_info)

    async def arun(sid: str) -> Any:
        return await skilldb.aio.tenant(arun_conn, t).run(skilldb.aio.get_skill_with_relations, sid)

    paths.append(async_path("skilldb.aio request as tenant(...).run", arun_conn, arun))
    return paths


def page_paths(conns: Connections, super_info: str, app_info: str) -> list[Path]:
    t = TENANT
    plain = conns.connect(super_info, autocommit=True, row_factory=dict_row)
    plan = skilldb.list_skills_with_relations.__wrapped__  # type: ignore[attr-defined]

    def plain_page(cursor: str) -> Any:
        # the parameters skilldb sends: its plan decodes the cursor and asks for one row more
        params = {"tenant_id": t, **plan(order_by="created_at", limit=PAGE_SIZE, after=cursor).params}
        return plain.execute(BASELINE_PAGE_SQL, params, prepare=True).fetchall()[:PAGE_SIZE]

    conn = conns.connect(app_info)

    def request(cursor: str) -> Any:
        with skilldb.tenant(conn, t):
            return skilldb.list_skills_with_relations(conn, order_by="created_at", limit=PAGE_SIZE, after=cursor).items

    run_conn = conns.connect(app_info)

    def run(cursor: str) -> Any:
        block = skilldb.tenant(run_conn, t)
        return block.run(skilldb.list_skills_with_relations, order_by="created_at", limit=PAGE_SIZE, after=cursor).items

    return [
        sync_path("plain psycopg page (no binding, dict rows)", plain, plain_page),
        sync_path("skilldb page request", conn, request),
        sync_path("skilldb page request as tenant(...).run", run_conn, run),
    ]


@dataclass(frozen=True)
class WriteKey:
    skill_id: str
    created_by: str


def write_paths(conns: Connections, app_info: str) -> list[Path]:
    t = TENANT
    create_sql, publish_sql = sql_of("create_skill_version"), sql_of("publish_version")
    plain = conns.connect(app_info, row_factory=dict_row)
    serial = iter(range(10**9))

    def plain_write(key: WriteKey) -> Any:
        n = next(serial)
        params = {
            "tenant_id": t,
            "skill_id": key.skill_id,
            "version_id": str(uuid.uuid4()),
            "content_url": f"skills/{key.skill_id}/plain-{n}.md",
            "content_hash": "0" * 64,
            "content_type": "text/markdown",
            "name": None,
            "description": None,
            "metadata": None,
            "created_by": key.created_by,
        }
        with plain.transaction():
            plain.execute(bind_tenant_sql(t))
            version = plain.execute(create_sql, params, prepare=True).fetchone()
            assert version is not None
            ids = {"tenant_id": t, "skill_id": key.skill_id, "version_id": version["id"]}
            skill = plain.execute(publish_sql, ids, prepare=True).fetchone()
        return version, skill

    conn = conns.connect(app_info)

    def request(key: WriteKey) -> Any:
        n = next(serial)
        with skilldb.tenant(conn, t):
            version = skilldb.create_skill_version(
                conn,
                key.skill_id,
                content=b"# bench\n",
                content_url=f"skills/{key.skill_id}/skilldb-{n}.md",
                content_type="text/markdown",
                created_by=key.created_by,
            )
            skill = skilldb.publish_version(conn, key.skill_id, version.id)
        return version, skill

    return [
        sync_path("plain psycopg write (transaction, SET LOCAL)", plain, plain_write),
        sync_path("skilldb write request", conn, request),
    ]


# --------------------------------------------------------------------------------------------
# running


async def run_block(path: Path, keys: Sequence[Any], times: list[int], cpu: list[int]) -> None:
    with path.scope():
        if path.is_async:
            await atimed_jobs(path.job, keys, times, cpu)
        else:
            timed_jobs(path.job, keys, times, cpu)


async def result_of(path: Path, key: Any) -> Any:
    with path.scope():
        return await path.job(key) if path.is_async else path.job(key)


async def interleave(paths: Sequence[Path], keys: Sequence[Any], warm_keys: Sequence[Any], size: int) -> None:
    """Warm every path up over ``warm_keys``, then time all of them over ``keys``, ``size`` jobs a block."""
    for p in paths:
        await run_block(p, warm_keys, [], [])
    for i, block in enumerate(chunks(keys, size)):
        k = i % len(paths)
        for p in [*paths[k:], *paths[:k]]:
            await run_block(p, block, p.times, p.cpu)


async def count_round_trips(paths: Sequence[Path], keys: Sequence[Any]) -> None:
    """Round trips per job, the scope of the block (opened and closed outside the timing) not counted."""
    for p in paths:
        with p.scope(), traced(p.pgconn) as counted:
            for key in keys:
                await p.job(key) if p.is_async else p.job(key)
        p.trips = counted[0] / len(keys)


async def check_reads(paths: Sequence[Path], ids: Sequence[str], data: SmallSet) -> None:
    """Every fetch path returns the same data for ``ids``, and it is what was loaded."""
    for sid in ids:
        results = {p.name: canon(await result_of(p, sid)) for p in paths}
        reference = results[paths[0].name]
        for name, got in results.items():
            if got != reference:
                raise SystemExit(
                    f"check: {name!r} disagrees with {paths[0].name!r} for skill {sid}:\n{got}\n{reference}"
                )
        exp = data.expected[sid]
        loaded = (
            reference["author_id"] == exp.author_id
            and [v["id"] for v in reference["versions"]] == exp.version_ids
            and (reference["published_version"] or {}).get("id") == exp.published_id
            and (reference["draft_version"] or {}).get("id") == exp.draft_id
            and {r["id"] for r in reference["ratings"]} == exp.rating_ids
            and reference["usage"] == {"total_uses": exp.total_uses, "last_used_at": exp.last_used_at}
            and reference["average_rating"] == exp.average_rating
        )
        if not loaded:
            raise SystemExit(f"check: skill {sid} is not what was loaded:\n{reference}\n{exp}")


async def check_pages(paths: Sequence[Path], cursors: Sequence[str]) -> None:
    for cursor in cursors:
        results = {p.name: canon(await result_of(p, cursor)) for p in paths}
        reference = results[paths[0].name]
        if not reference:
            raise SystemExit(f"check: empty page after {cursor}")
        for name, got in results.items():
            if got != reference:
                raise SystemExit(f"check: {name!r} disagrees with {paths[0].name!r} on the page after {cursor}")


async def check_writes(paths: Sequence[Path], keys: Sequence[WriteKey]) -> None:
    """Each write path numbers the skill's next version and publishes it."""
    for key in keys:
        numbers = []
        for p in paths:
            version, skill = canon(await result_of(p, key))
            if skill["published_version_id"] != version["id"] or skill["latest_version"] != version["version"]:
                raise SystemExit(f"check: {p.name!r} did not publish the version it made for {key.skill_id}")
            numbers.append(version["version"])
        if numbers != list(range(numbers[0], numbers[0] + len(paths))):
            raise SystemExit(f"check: versions of {key.skill_id} numbered {numbers}")


# --------------------------------------------------------------------------------------------
# reporting


def report(title: str, paths: Sequence[Path], baseline: Path) -> dict[str, float]:
    base = Stats.of(baseline.times)
    rows, ratios = [], {}
    for p in paths:
        st = Stats.of(p.times)
        ratios[p.name] = st.median_us / base.median_us
        rows.append(
            [
                p.name,
                f"{st.median_us:.0f}",
                f"{st.p95_us:.0f}",
                f"{st.ops:.0f}",
                f"{sum(p.cpu) / len(p.cpu) / 1000:.0f}",
                f"{p.trips:.2f}",
                f"{ratios[p.name]:.2f}x",
                f"{st.p95_us / base.p95_us:.2f}x",
            ]
        )
    log(f"\n{title} ({len(baseline.times)} jobs per path; ratios against {baseline.name!r}):")
    headers = ["path", "median us", "p95 us", "ops/s", "CPU us/job", "round trips", "x plain (med)", "x plain (p95)"]
    log(table(headers, rows))
    return ratios


def verdict(label: str, ratio: float, limit: float) -> str:
    return f"{label}: {ratio:.3f}x (target <= {limit:.2f}x)  {'MET' if ratio <= limit else 'NOT MET'}"


def profile_request(conninfo: str, ids: Sequence[str]) -> None:
    with psycopg.connect(conninfo) as conn:

        def request(sid: str) -> None:
            with skilldb.tenant(conn, TENANT):
                skilldb.get_skill_with_relations(conn, sid)

        for sid in ids:  # warm-up
            request(sid)
        profiler = cProfile.Profile()
        profiler.enable()
        for sid in ids:
            request(sid)
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
    log(f"\ncProfile of the skilldb request over {len(ids)} ids (by own time):\n{out.getvalue()}")

    async def aprofile() -> cProfile.Profile:
        async with await psycopg.AsyncConnection.connect(conninfo) as aconn:

            async def arequest(sid: str) -> None:
                async with skilldb.aio.tenant(aconn, TENANT):
                    await skilldb.aio.get_skill_with_relations(aconn, sid)

            for sid in ids:  # warm-up
                await arequest(sid)
            aprofiler = cProfile.Profile()
            aprofiler.enable()
            for sid in ids:
                await arequest(sid)
            aprofiler.disable()
            return aprofiler

    out = io.StringIO()
    pstats.Stats(asyncio.run(aprofile()), stream=out).sort_stats("tottime").print_stats(30)
    log(f"\ncProfile of the skilldb.aio request over {len(ids)} ids (by own time):\n{out.getvalue()}")


def explain(super_info: str, app_info: str, sid: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the baseline statement (superuser, no binding) and of the
    package's (the application login, tenant bound), each after a few runs."""
    params = {"tenant_id": TENANT, "skill_id": sid}
    for label, conninfo, query, bound in (
        ("baseline statement, superuser, no binding", super_info, BASELINE_FETCH_SQL, False),
        ("package statement, application login, tenant bound", app_info, sql_of("get_skill_with_relations"), True),
    ):
        with psycopg.connect(conninfo) as conn:
            if bound:
                conn.execute(bind_tenant_sql(TENANT))
            for _ in range(5):
                conn.execute(query, params).fetchall()
            plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query}", params).fetchall()
        log(f"\n-- EXPLAIN (ANALYZE, BUFFERS): {label}, skill {sid}")
        log("\n".join(r[0] for r in plan))


# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--skills", type=int, default=20_000, help="skills (x 5 versions x 10 ratings; default 20000)")
    p.add_argument("--users", type=int, default=2_000, help="users (default 2000)")
    p.add_argument("--calls", type=int, default=2_000, help="timed fetches per fetch path (default 2000)")
    p.add_argument("--pages", type=int, default=1_000, help="timed pages per page path (default 1000)")
    p.add_argument("--writes", type=int, default=1_000, help="timed writes per write path (default 1000)")
    p.add_argument("--block", type=int, default=BLOCK, help=f"jobs per interleaved block (default {BLOCK})")
    p.add_argument("--seed", type=int, default=20240601, help="random seed of the data and the ids")
    p.add_argument("--dbname", default="skilldb_bench_request", help="database to (re)create")
    p.add_argument("--data-dir", help="data directory of the embedded server (default: a temporary one)")
    p.add_argument("--reuse", action="store_true", help="reuse the database loaded by an earlier run (same sizes)")
    p.add_argument("--profile", action="store_true", help="also print a cProfile of the request path")
    p.add_argument("--explain", action="store_true", help="also print EXPLAIN (ANALYZE, BUFFERS) of both statements")
    return p.parse_args(argv)


def prepare_data(server_info: str, args: argparse.Namespace) -> tuple[str, SmallSet]:
    """The database's superuser conninfo and the data set (loaded now, or by an earlier run)."""
    conninfo = make_conninfo(server_info, dbname=args.dbname)
    if args.reuse:
        try:
            with psycopg.connect(conninfo) as conn:
                row = conn.execute("SELECT count(*) FROM skills WHERE tenant_id = %s", (TENANT,)).fetchone()
            if row is not None and row[0] == args.skills:
                log(f"\nreusing {args.dbname}: {row[0]} skills of {TENANT} loaded by an earlier run")
                return conninfo, make_small_set(args.seed, args.skills, args.users, TENANT)
        except psycopg.OperationalError:
            pass
    conninfo = fresh_database(server_info, args.dbname)
    data, summary = build_small_set(conninfo, args.seed, args.skills, args.users, TENANT)
    log(f"\n{summary}")
    return conninfo, data


async def bench(super_info: str, app_info: str, data: SmallSet, args: argparse.Namespace) -> None:
    rng = random.Random(f"{args.seed}:request")
    skill_ids = data.skill_ids
    # the last tenth of the skills (or more, for many writes) is written to, the rest only read
    n_write = min(max(len(skill_ids) // 10, args.writes + WRITE_WARMUP), len(skill_ids) // 2)
    readable, writable = skill_ids[:-n_write], skill_ids[-n_write:]
    ids = [rng.choice(readable) for _ in range(args.calls)]
    created = {row[0]: row[10] for row in data.skills}
    cursors = [
        _encode_cursor("created_at", SimpleNamespace(created_at=created[sid], id=sid))  # type: ignore[arg-type]
        for sid in (rng.choice(readable) for _ in range(args.pages))
    ]
    authors = {row[0]: row[2] or data.users[0][0] for row in data.skills}
    write_keys = [WriteKey(sid, authors[sid]) for sid in writable]

    conns = Connections()
    try:
        fetches = await fetch_paths(conns, super_info, app_info)
        pages = page_paths(conns, super_info, app_info)
        writes = write_paths(conns, app_info)

        await check_reads(fetches, ids[:CHECK_IDS], data)
        await check_pages(pages, cursors[:CHECK_IDS])
        await check_writes(writes, write_keys[:CHECK_IDS])
        log(
            f"\nresult check: the {len(fetches)} fetch paths return the same data for {CHECK_IDS} ids (what was"
            f" loaded), the {len(pages)} page paths the same {CHECK_IDS} pages, and both write paths number and"
            f" publish the next version of {CHECK_IDS} skills"
        )

        t0 = time.perf_counter()
        await interleave(fetches, ids, ids, args.block)
        await count_round_trips(fetches, ids[:TRACE_JOBS])
        log(f"\nfetches timed in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        await interleave(pages, cursors, cursors, args.block)
        await count_round_trips(pages, cursors[:TRACE_JOBS])
        log(f"pages timed in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        await interleave(writes, write_keys[: args.writes], write_keys[-WRITE_WARMUP:], args.block)
        await count_round_trips(writes, write_keys[:TRACE_JOBS])
        log(f"writes timed in {time.perf_counter() - t0:.0f} s")
    finally:
        await conns.close()

    by_name = {p.name: p for p in fetches}
    sync_ratios = report("skill detail, sync", [p for p in fetches if not p.is_async], fetches[0])
    aio_paths = [p for p in fetches if p.is_async]
    aio_ratios = report("skill detail, async", aio_paths, aio_paths[0])
    page_ratios = report("list pages of 50", pages, pages[0])
    write_ratios = report("write request (create_skill_version + publish_version)", writes, writes[0])

    log("\ntargets (medians, against plain psycopg with one prepared statement and no tenant binding):")
    control = sync_ratios["plain psycopg again (A/A control)"]
    log(f"(the A/A control, the baseline on a second connection, is at {control:.3f}x)")
    request, run = sync_ratios["skilldb request"], sync_ratios["skilldb request as tenant(...).run"]
    log(verdict("whole tenant-bound request (with skilldb.tenant(...): ...)", request, 1.10))
    log(verdict("whole tenant-bound request as skilldb.tenant(...).run(...)", run, 1.10))
    log(verdict("whole tenant-bound request, stretch, with", request, 0.90))
    log(verdict("whole tenant-bound request, stretch, as .run", run, 0.90))
    log(verdict("fetch alone inside a bound block", sync_ratios["skilldb fetch in a bound block"], 1.00))
    log(verdict("skilldb.aio request against plain psycopg async", aio_ratios["skilldb.aio request"], 1.15))
    log(
        verdict(
            "skilldb.aio request as .run against plain psycopg async",
            aio_ratios["skilldb.aio request as tenant(...).run"],
            1.15,
        )
    )
    log(
        f"reported: prepare_threshold=None request {sync_ratios['skilldb request, prepare_threshold=None']:.2f}x"
        f" ({sync_ratios['skilldb tenant(...).run, prepare_threshold=None']:.2f}x as .run);"
        f" page request {page_ratios['skilldb page request']:.2f}x ({pages[1].trips:.0f} round trips vs"
        f" {pages[0].trips:.0f}), as .run {page_ratios['skilldb page request as tenant(...).run']:.2f}x"
        f" ({pages[2].trips:.0f}); write request {write_ratios['skilldb write request']:.2f}x of plain psycopg's"
        f" transaction ({writes[1].trips:.0f} round trips vs {writes[0].trips:.0f})"
    )
    hand = by_name["hand-built 1-round-trip request (reference)"]
    package = by_name["skilldb request as tenant(...).run"]
    log(
        f"tenant(...).run against the same pipeline built by hand: {Stats.of(package.times).median_us:.0f} us vs"
        f" {Stats.of(hand.times).median_us:.0f} us"
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    server = get_server(args.data_dir)
    try:
        super_info, data = prepare_data(server.admin_conninfo, args)
        app_info = create_app_login(super_info)
        with psycopg.connect(super_info) as conn:
            settings = dict(
                conn.execute(
                    "SELECT name, setting || coalesce(unit, '') FROM pg_settings"
                    " WHERE name IN ('server_version', 'shared_buffers', 'synchronous_commit', 'fsync', 'jit')"
                ).fetchall()
            )
        log(
            f"PostgreSQL {settings.pop('server_version')} ({server.description}; {settings}); "
            f"Python {platform.python_version()}, psycopg {psycopg.__version__} ({pq.__impl__}, libpq {pq.version()}), "
            f"{os.cpu_count()} CPUs; {args.skills} skills x {VERSIONS_PER_SKILL} versions x 10 ratings"
        )
        asyncio.run(bench(super_info, app_info, data, args))
        if args.explain:
            explain(super_info, app_info, data.skill_ids[0])
        if args.profile:
            profile_request(app_info, data.skill_ids[: args.calls])
    finally:
        server.stop()
    log(f"\ntotal run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
