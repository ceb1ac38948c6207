"""What the benchmarks share: the server, the database, the application login, row generation and COPY loading.

``benchmarks/nested_fetch.py``, ``benchmarks/request.py`` and ``benchmarks/metrics.py`` import
this module (it sits beside them, and a script's own directory is first on ``sys.path``). Nothing here times
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
* the nested-fetch set: :func:`build_small_set` generates (:func:`make_small_set`: skills
  x 5 versions x 10 ratings, 1-4 usage events each, in one tenant), loads
  (:func:`load_small_set`), VACUUMs and checks it (:func:`check_load`,
  :func:`check_version_trigger`); :class:`Expected` is what was loaded for each skill.
* output: :func:`log`, :func:`table`, :class:`Stats` (median / p95 of nanosecond timings).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

import skilldb
from skilldb.embedded import ensure_database, start_embedded
from skilldb.tenancy import bind_tenant_sql

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
VERSIONS_PER_SKILL = 5
RATINGS_PER_SKILL = 10

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


@dataclass
class Expected:
    """What the generator put in for one skill: the reference the contenders are checked against."""

    author_id: str | None
    version_ids: list[str]  # newest first
    published_id: str | None
    draft_id: str | None
    rating_ids: set[str]
    total_uses: int
    average_rating: int
    last_used_at: datetime


@dataclass
class SmallSet:
    tenant_id: str
    users: list[tuple[Any, ...]] = field(default_factory=list)
    skills: list[tuple[Any, ...]] = field(default_factory=list)
    versions: list[tuple[Any, ...]] = field(default_factory=list)
    ratings: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    pointers: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    expected: dict[str, Expected] = field(default_factory=dict)

    @property
    def skill_ids(self) -> list[str]:
        return [row[0] for row in self.skills]


def make_small_set(seed: int, n_skills: int, n_users: int, tenant_id: str) -> SmallSet:
    """``n_skills`` skills x 5 versions x 10 ratings, 1-4 usage events each, ``n_users`` users."""
    rng = random.Random(f"{seed}:small")
    data = SmallSet(tenant_id)
    data.users = make_users(rng, tenant_id, n_users, "user")
    user_ids = [u[0] for u in data.users]
    n_ratings = min(RATINGS_PER_SKILL, n_users)
    for i in range(n_skills):
        sid = new_id(rng)
        author = None if rng.random() < 0.02 else rng.choice(user_ids)
        created_ms = rng.randrange(SPAN_MS)
        description = None if i % 7 == 0 else f"What skill {i} does, in a sentence or two."
        version_ids = []
        t = created_ms
        for v in range(1, VERSIONS_PER_SKILL + 1):
            vid = new_id(rng)
            t += rng.randrange(1, 30 * DAY_MS)
            data.versions.append(
                (
                    vid,
                    tenant_id,
                    sid,
                    v,
                    f"skills/{sid}/v{v}.md",
                    hashlib.sha256(f"{sid}:{v}".encode()).hexdigest(),
                    rng.choice(CONTENT_TYPES),
                    f"Skill {i}",
                    description,
                    json.dumps({"words": rng.randrange(100, 5000), "lang": "en", "tags": ["bench", f"v{v}"]}),
                    author or rng.choice(user_ids),
                    at(t),
                )
            )
            version_ids.append(vid)
        stars = 0
        rating_ids = set()
        for uid in rng.sample(user_ids, n_ratings):
            rid = new_id(rng)
            rating = rng.randint(1, 5)
            stars += rating
            rating_ids.add(rid)
            data.ratings.append(
                (
                    rid,
                    tenant_id,
                    sid,
                    uid,
                    rating,
                    None if rng.random() < 0.5 else f"{rating} stars from {uid[:8]}",
                    None if rng.random() < 0.3 else rng.randrange(0, 40),
                    at(created_ms + rng.randrange(1, 365 * DAY_MS)),
                )
            )
        last_used = 0
        n_events = 1 + rng.randrange(4)
        for _ in range(n_events):
            used = created_ms + rng.randrange(1, 365 * DAY_MS)
            last_used = max(last_used, used)
            data.events.append(
                (new_id(rng), tenant_id, sid, rng.choice(user_ids), rng.choice(TOOL_NAMES), "{}", at(used))
            )
        average = round(stars * 100 / n_ratings)
        data.skills.append(
            (
                sid,
                tenant_id,
                author,
                f"Skill {i}",
                f"skill-{i}",
                description,
                CATEGORIES[i % len(CATEGORIES)],
                VERSIONS_PER_SKILL,  # latest_version: the highest number loaded below
                0,  # total_uses: the usage_events trigger (migration 0010) counts the events loaded below
                None,  # average_rating: the ratings trigger (0010) averages the ratings loaded below
                at(created_ms),
                at(t),
            )
        )
        # 80%: newest version published; 10%: the one before published, newest as draft; 10%: none
        roll = rng.random()
        published = version_ids[-1] if roll < 0.8 else version_ids[-2] if roll < 0.9 else None
        draft = version_ids[-1] if 0.8 <= roll < 0.9 else None
        data.pointers.append((sid, published, draft))
        data.expected[sid] = Expected(
            author_id=author,
            version_ids=version_ids[::-1],
            published_id=published,
            draft_id=draft,
            rating_ids=rating_ids,
            total_uses=n_events,
            average_rating=average,
            last_used_at=at(last_used),
        )
    return data


def load_small_set(conninfo: str, data: SmallSet) -> None:
    """COPY the small set in one transaction as the superuser, the tenant bound (``bind_tenant_sql``).

    The binding is needed even by a superuser (who bypasses row-level security): the
    version-numbering trigger of skill_versions refuses a row of any other tenant than
    the bound one (SQLSTATE 42501), and it is on again when ``check_version_trigger`` runs.
    """
    with psycopg.connect(conninfo) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute(bind_tenant_sql(data.tenant_id))
        cur.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (data.tenant_id, "Benchmark (small)"))
        copy_rows(cur, "users", USER_COLUMNS, data.users)
        copy_rows(cur, "skills", SKILL_COLUMNS, data.skills)
        load_versions(cur, data.versions)
        copy_rows(cur, "ratings", RATING_COLUMNS, data.ratings)
        copy_rows(cur, "usage_events", EVENT_COLUMNS, data.events)
        cur.execute("CREATE TEMPORARY TABLE bench_pointers (skill_id text, published text, draft text) ON COMMIT DROP")
        copy_rows(cur, "bench_pointers", ("skill_id", "published", "draft"), data.pointers)
        set_pointers(
            cur,
            "UPDATE skills s SET published_version_id = p.published, draft_version_id = p.draft "
            "FROM bench_pointers p WHERE s.tenant_id = %s AND s.id = p.skill_id",
            data.tenant_id,
        )


def load_versions(cur: psycopg.Cursor[Any], rows: Iterable[Sequence[Any]]) -> int:
    """COPY skill_versions with their ``version`` numbers given.

    skill_versions has three user triggers: skill_versions_assign_version (BEFORE INSERT,
    SECURITY DEFINER: refuses a row of another tenant than the bound one, then takes the next
    number by updating skills.latest_version row by row), skill_versions_immutable and
    skill_versions_no_truncate. For the bulk load they are disabled, the rows carry explicit
    version numbers and the skills were loaded with latest_version already equal to their
    highest number, so the numbering trigger continues correctly once re-enabled (checked by
    ``check_load`` and ``check_version_trigger``). The caller binds the tenant all the same.
    ALTER TABLE is transactional: the triggers are enabled again in this same transaction,
    and a failed load rolls the ALTER back too. Foreign keys (system triggers) stay on:
    DISABLE TRIGGER USER leaves them alone.
    """
    cur.execute("ALTER TABLE skill_versions DISABLE TRIGGER USER")
    n = copy_rows(cur, "skill_versions", VERSION_COLUMNS, rows)
    cur.execute("ALTER TABLE skill_versions ENABLE TRIGGER USER")
    return n


def set_pointers(cur: psycopg.Cursor[Any], update: str, tenant_id: str) -> None:
    """Run the one UPDATE ... FROM setting published/draft version ids.

    The skills_set_updated_at trigger is switched off around it (same transaction) so that
    updated_at keeps its generated, deterministic value. The composite foreign keys
    (tenant_id, id, published_version_id) -> skill_versions are checked as usual.
    """
    # statistics first: without them the planner takes the just-loaded tenant for empty and
    # joins the tables with nested loops over sequential scans (minutes instead of seconds)
    cur.execute("ANALYZE skills, skill_versions")
    cur.execute("ALTER TABLE skills DISABLE TRIGGER USER")
    cur.execute(update, (tenant_id,))
    cur.execute("ALTER TABLE skills ENABLE TRIGGER USER")


def check_load(conninfo: str, tenant_id: str) -> dict[str, int]:
    """Counts of the tenant's rows, and that latest_version and the pointers are consistent."""
    with psycopg.connect(conninfo) as conn:
        counts = {
            t: conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(sql.Identifier(t)), (tenant_id,)
            ).fetchone()[0]  # type: ignore[index]
            for t in ("users", "skills", "skill_versions", "ratings", "usage_events")
        }
        bad = conn.execute(
            """
            SELECT count(*) FROM skills s
            LEFT JOIN (
                SELECT skill_id, max(version) AS top, count(*) AS n FROM skill_versions
                WHERE tenant_id = %(t)s GROUP BY skill_id
            ) v ON v.skill_id = s.id
            WHERE s.tenant_id = %(t)s AND (s.latest_version <> coalesce(v.top, 0) OR coalesce(v.top, 0) <> v.n)
            """,
            {"t": tenant_id},
        ).fetchone()[0]  # type: ignore[index]
        if bad:
            raise SystemExit(f"load check: {bad} skills of {tenant_id} have latest_version out of step")
        counts["published"] = conn.execute(
            "SELECT count(*) FROM skills WHERE tenant_id = %s AND published_version_id IS NOT NULL", (tenant_id,)
        ).fetchone()[0]  # type: ignore[index]
    return counts


class RollBack(Exception):
    """Raised to leave a ``skilldb.tenant`` block by rolling its transaction back."""


def check_version_trigger(conninfo: str, tenant_id: str, skill_id: str, created_by: str) -> int:
    """As skilldb_app, create one more version through the (re-enabled) trigger, then roll back."""
    version = None
    with app_connect(conninfo) as conn:
        try:
            with skilldb.tenant(conn, tenant_id):
                version = skilldb.create_skill_version(
                    conn,
                    skill_id,
                    content=b"# trigger check\n",
                    content_url=f"skills/{skill_id}/check.md",
                    content_type="text/markdown",
                    created_by=created_by,
                )
                raise RollBack
        except RollBack:
            pass
    assert version is not None
    return version.version


def build_small_set(conninfo: str, seed: int, n_skills: int, n_users: int, tenant_id: str) -> tuple[SmallSet, str]:
    """Generate, load, VACUUM (ANALYZE) and check the small set; return it with a one-line summary.

    The check counts the rows, checks ``latest_version`` against the versions, and has the
    re-enabled numbering trigger (as skilldb_app) number one more version (rolled back).
    """
    t0 = time.perf_counter()
    data = make_small_set(seed, n_skills, n_users, tenant_id)
    generated = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_small_set(conninfo, data)
    loaded = time.perf_counter() - t0
    vacuumed = vacuum_analyze(conninfo)
    counts = check_load(conninfo, tenant_id)
    next_version = check_version_trigger(conninfo, tenant_id, data.skills[0][0], data.users[0][0])
    if next_version != VERSIONS_PER_SKILL + 1:
        raise SystemExit(f"version trigger numbered a new version {next_version}, not {VERSIONS_PER_SKILL + 1}")
    summary = (
        f"small set {tenant_id}: {counts} - generated in {generated:.1f} s, COPY {loaded:.1f} s, "
        f"VACUUM ANALYZE {vacuumed:.1f} s; the re-enabled trigger numbers the next version {next_version}"
    )
    return data, summary
