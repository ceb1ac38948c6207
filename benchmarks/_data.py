"""What the benchmarks share: the server, the database, the application login, row generation and COPY loading.

``benchmarks/nested_fetch.py`` and ``benchmarks/metrics.py`` import this module (it sits
beside them, and a script's own directory is first on ``sys.path``). Nothing here times
anything; it builds and loads data deterministically from a seeded ``random.Random``.

* server: :func:`get_server` starts an embedded PostgreSQL server in a temporary
  directory (or in a given data directory), unless a superuser URL is given (argument,
  else ``DATABASE_URL``); :func:`fresh_database` drops and recreates the benchmark
  database and applies the migrations.
* roles: :func:`app_connect` acts as ``skilldb_app`` by ``SET ROLE`` after connecting
  as the superuser; :func:`create_app_login` creates a login role that is only a
  member of ``skilldb_app`` (``CREATE ROLE ... LOGIN IN ROLE skilldb_app``, as
  applications and ``tests/plugin.py`` do) and returns its conninfo.
* rows: :func:`make_users` and :func:`make_skills` give tuples in the column order of
  ``USER_COLUMNS`` and ``SKILL_COLUMNS``; :func:`copy_rows` loads such tuples with
  ``COPY ... FROM STDIN``; :func:`insert_tenant` adds the tenant row.
* output: :func:`log`, :func:`table`, :class:`Stats` (median / p95 of nanosecond timings).
"""

from __future__ import annotations

import math
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

import skilldb
from skilldb.embedded import ensure_database, start_embedded

APP_ROLE = "skilldb_app"
#: the login role the benchmarks create (member of skilldb_app only); roles belong to the cluster
APP_LOGIN = "skilldb_bench_app"
APP_PASSWORD = "skilldb_bench_app"
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_MS = 2 * 365 * 24 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000
CATEGORIES = ("review", "testing", "docs", "refactoring", "security", "data", "ops", "design")
CONTENT_TYPES = ("text/markdown", "application/json", "text/plain")
TOOL_NAMES = ("tool-a", "tool-b", "tool-c")

SKILL_COLUMNS = (
    "id",
    "tenant_id",
    "author_id",
    "name",
    "slug",
    "description",
    "category",
    "latest_version",
    "total_uses",
    "average_rating",
    "created_at",
    "updated_at",
)
VERSION_COLUMNS = (
    "id",
    "tenant_id",
    "skill_id",
    "version",
    "content_url",
    "content_hash",
    "content_type",
    "name",
    "description",
    "metadata",
    "created_by",
    "created_at",
)
USER_COLUMNS = ("id", "tenant_id", "email", "name", "created_at")
RATING_COLUMNS = ("id", "tenant_id", "skill_id", "user_id", "rating", "comment", "hours_saved_estimate", "created_at")
EVENT_COLUMNS = ("id", "tenant_id", "skill_id", "user_id", "tool_name", "metadata", "created_at")


# --------------------------------------------------------------------------------------------
# small helpers


def log(msg: str) -> None:
    print(msg, flush=True)


def at(ms: int) -> datetime:
    """BASE_TIME plus ``ms`` milliseconds (columns are timestamptz(3): millisecond precision)."""
    return BASE_TIME + timedelta(milliseconds=ms)


def new_id(rng: random.Random) -> str:
    """A uuid4-shaped text id (like the columns' gen_random_uuid() default), drawn from ``rng``."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    return sorted_values[max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))]


@dataclass
class Stats:
    median_us: float
    p95_us: float
    ops: float
    n: int

    @classmethod
    def of(cls, ns: Sequence[int]) -> Stats:
        values = sorted(ns)
        return cls(
            median_us=statistics.median(values) / 1000,
            p95_us=percentile(values, 0.95) / 1000,
            ops=1e9 / statistics.fmean(values),
            n=len(values),
        )


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> str:
    """A plain-text table; ``align`` has one 'l' or 'r' per column (default: first left, rest right)."""
    cells = [[str(h) for h in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)

    def fmt(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align, strict=True))

    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells[1:]]
    return "\n".join(lines)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def copy_rows(cur: psycopg.Cursor[Any], table_name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY ``rows`` into ``table_name`` (text format, one write_row per row); return how many."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table_name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    n = 0
    with cur.copy(stmt) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


# --------------------------------------------------------------------------------------------
# server, database and roles


@dataclass
class Server:
    admin_conninfo: str  # superuser, maintenance database
    stop: Callable[[], None]
    description: str


def get_server(data_dir: str | None, url: str | None = None) -> Server:
    """The server to run on: ``url`` (a superuser URL), else ``DATABASE_URL``, else an embedded one.

    The embedded server runs in a temporary directory (deleted by ``stop``), or in
    ``data_dir`` when given (kept).
    """
    if url:
        return Server(url, lambda: None, "server of the given URL")
    url = os.environ.get("DATABASE_URL")
    if url:
        return Server(url, lambda: None, "DATABASE_URL")
    if data_dir is None:
        tmp = tempfile.mkdtemp(prefix="skilldb-bench-")
        srv = start_embedded(Path(tmp) / "pgdata", temporary=True)

        def stop() -> None:
            srv.stop()  # deletes pgdata
            shutil.rmtree(tmp, ignore_errors=True)

        return Server(srv.conninfo("postgres"), stop, "embedded server in a temporary directory")
    srv = start_embedded(data_dir, temporary=False)
    return Server(srv.conninfo("postgres"), srv.stop, f"embedded server in {data_dir}")


def fresh_database(admin_conninfo: str, dbname: str) -> str:
    """Drop and recreate ``dbname``, apply the migrations; return its superuser conninfo."""
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
    ensure_database(admin_conninfo, dbname)
    conninfo = make_conninfo(admin_conninfo, dbname=dbname)
    skilldb.apply_migrations(conninfo)
    return conninfo


def app_connect(conninfo: str) -> psycopg.Connection[Any]:
    """A connection acting as the unprivileged skilldb_app role (row-level security applies)."""
    conn = psycopg.connect(conninfo)
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(APP_ROLE)))
    conn.commit()
    return conn


def create_app_login(conninfo: str, login: str = APP_LOGIN, password: str = APP_PASSWORD) -> str:
    """Create (or refresh) a login role that is only a member of skilldb_app; return its conninfo.

    Run as the superuser after the migrations (which create skilldb_app). The role is
    no superuser and cannot bypass row-level security, like an application's login.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        role, secret = sql.Identifier(login), sql.Literal(password)
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone() is None:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS IN ROLE {}").format(
                    role, secret, sql.Identifier(APP_ROLE)
                )
            )
        else:
            conn.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS").format(role, secret))
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(APP_ROLE), role))
    return make_conninfo(conninfo, user=login, password=password)


def server_version(conninfo: str) -> str:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    assert row is not None
    return str(row[0])


def vacuum_analyze(conninfo: str) -> float:
    """VACUUM (ANALYZE) the loaded tables: fresh statistics, and no dead tuples left by the UPDATE."""
    t0 = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) tenants, users, skills, skill_versions, ratings, usage_events")
    return time.perf_counter() - t0


# --------------------------------------------------------------------------------------------
# rows


def insert_tenant(cur: psycopg.Cursor[Any], tenant_id: str, name: str) -> None:
    """The tenant row (as the superuser, with the tenant bound in the loading transaction)."""
    cur.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant_id, name))


def make_users(rng: random.Random, tenant_id: str, n: int, prefix: str) -> list[tuple[Any, ...]]:
    """``n`` users in USER_COLUMNS order, emails ``<prefix><i>@bench.test``."""
    return [
        (new_id(rng), tenant_id, f"{prefix}{i}@bench.test", None if i % 10 == 0 else f"User {i}", at(i * 60_000))
        for i in range(n)
    ]


def make_skills(
    rng: random.Random, tenant_id: str, n: int, prefix: str, author_ids: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """``n`` skills in SKILL_COLUMNS order, no versions, no uses and no rating yet.

    Slugs are ``<prefix>-<i>`` (``prefix`` in lowercase words joined by hyphens); the
    author is drawn from ``author_ids`` (none when empty).
    """
    rows = []
    for i in range(n):
        created = at(rng.randrange(SPAN_MS))
        rows.append(
            (
                new_id(rng),
                tenant_id,
                rng.choice(author_ids) if author_ids else None,
                f"{prefix} {i}",
                f"{prefix}-{i}",
                f"What {prefix} {i} does.",
                CATEGORIES[i % len(CATEGORIES)],
                0,  # latest_version: no version
                0,  # total_uses
                None,  # average_rating: unrated
                created,
                created,
            )
        )
    return rows
