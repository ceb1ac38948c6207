"""Benchmark skilldb's nested reads against plain psycopg, the SQLAlchemy 2 ORM and naive per-relation queries.

What it measures
----------------
1. ``skilldb.get_skill_with_relations``: one skill with its author, versions, published and
   draft versions, ratings (each with its user) and usage, fetched for the same random skill
   ids by four contenders:

   * ``skilldb``: the typed function (one statement, relations as json, frozen dataclasses);
   * ``psycopg floor``: the very same SQL text and parameters (``tenant_id`` included) run by
     plain psycopg (prepared, tuple rows, psycopg's default text format, json parsed by
     psycopg, no mapping): the cost skilldb cannot go below;
   * ``SQLAlchemy ORM``: declarative classes with eager loading and ``lazy="raise"`` (several
     combinations of joinedload/selectinload are tried on a sample, the fastest is timed),
     usage as a ``max(created_at)`` query of its own or folded into the main one as a
     correlated subquery (also tried);
   * ``naive psycopg``: one query per relation (each filtered on ``tenant_id`` too), returning
     dicts, the rating users either one query per rating (N+1) or one ``= ANY`` query.

   Every contender has one connection of its own, acts as the unprivileged role
   ``skilldb_app`` (``SET ROLE`` after connecting) with row-level security on, and binds the
   tenant per transaction of 100 calls: ``skilldb.tenant`` for skilldb (whose operations run
   only inside such a block), the very statement it sends (``skilldb.tenancy.bind_tenant_sql``:
   ``SET LOCAL app.current_tenant_id = '<id>'``) for the others, so all pay the same binding. Each
   contender is first checked to return the same data as skilldb, then warmed up over all
   ids, then timed per call with ``time.perf_counter_ns`` (batches of 100 interleaved across
   contenders, so drift of the machine hits all of them alike).

2. ``skilldb.list_skills_with_relations`` keyset pages of 50 skills for each order
   (``created_at``, ``total_uses``, ``average_rating``): the first page, pages 100-199 reached
   by following ``next_cursor`` from the top, and up to 100 pages (15 s at most) starting in
   the middle of the list, each also timed as the bare SQL run by plain psycopg; at 20,000
   skills, at 1,000,000 skills (a second tenant in the same database), and again at 20,000
   once the 1M tenant shares the table. Then ``EXPLAIN (ANALYZE, BUFFERS)``
   of a page in the middle of the 1M list, as ``skilldb_app`` with the tenant bound, both as
   a one-shot statement (custom plan) and as a prepared one forced to its generic plan (what
   a prepared skilldb call may run after five executions), checked for an index scan on
   ``skills_<order>_idx`` and no sort of the whole tenant.

The data is built deterministically (``--seed``) and loaded with ``COPY`` as the superuser,
with the tenant bound in the loading transaction (the version trigger of skill_versions
refuses rows of any other tenant than the bound one, even a superuser's):
``--skills`` skills x 5 versions x 10 ratings and 1-4 usage events each in one tenant with
2,000 users (user triggers of skill_versions disabled during the COPY, version numbers and
``latest_version`` given, version pointers set by one UPDATE ... FROM; ``total_uses`` and
``average_rating`` left to the usage_events and ratings triggers of migration 0010), then
``--large-skills`` skills with one published version and an author each
(``session_replication_role = replica``, foreign keys checked afterwards by anti-joins; see
``load_large_set``). Then VACUUM (ANALYZE).

The server start, the database, the roles, the small set (generation, loading and checks)
and the COPY loading are shared with ``benchmarks/request.py`` and ``benchmarks/metrics.py``
through ``benchmarks/_data.py``.

Run it from the repository root::

    uv run --group bench python benchmarks/nested_fetch.py
    uv run --group bench python benchmarks/nested_fetch.py --large-skills 0      # skip the 1M part
    DATABASE_URL=postgresql://postgres@localhost/postgres uv run --group bench python benchmarks/nested_fetch.py

Without ``DATABASE_URL`` it starts an embedded PostgreSQL server in a temporary directory
(or in ``--data-dir``). With it (a superuser URL), it drops and recreates the database
``--dbname`` (default ``skilldb_bench``) on that server. The default run (20k + 1M skills)
takes about 4-5 minutes on 2 cores, 2 of them loading the 1M skills.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import math
import os
import platform
import pstats
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import psycopg
from _data import (
    APP_ROLE,
    CATEGORIES,
    SKILL_COLUMNS,
    SPAN_MS,
    USER_COLUMNS,
    VERSION_COLUMNS,
    VERSIONS_PER_SKILL,
    SmallSet,
    Stats,
    app_connect,
    at,
    build_small_set,
    check_load,
    chunks,
    copy_rows,
    fresh_database,
    get_server,
    log,
    make_users,
    new_id,
    table,
    vacuum_analyze,
)
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

import skilldb
from skilldb._sql import JSON_OID, _JsonBytesLoader, model_row, sql_of
from skilldb.skills import ORDERS, _encode_cursor
from skilldb.tenancy import bind_tenant_sql

try:
    import sqlalchemy
    from sqlalchemy import DateTime, ForeignKey, bindparam, create_engine, event, func, select
    from sqlalchemy.dialects.postgresql import JSONB
    from sqlalchemy.engine import URL, Engine
    from sqlalchemy.orm import (
        DeclarativeBase,
        Mapped,
        Session,
        joinedload,
        mapped_column,
        relationship,
        selectinload,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise SystemExit(
        "this benchmark needs SQLAlchemy 2: run it with `uv run --group bench python benchmarks/nested_fetch.py`"
    ) from exc

#: calls (or pages) per tenant-bound transaction
BATCH = 100
PAGE_BATCH = 20
PAGE_SIZE = 50
#: seconds at most for the timed walk from the middle of one list (pages in batches of PAGE_BATCH)
MIDDLE_BUDGET_S = 15.0


# --------------------------------------------------------------------------------------------
# server and database (the rest is in _data)


def sqlalchemy_url(conninfo: str) -> URL:
    """``postgresql+psycopg://`` URL of a libpq conninfo (a socket directory goes in the query string)."""
    params = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v not in (None, "")}
    user = params.pop("user", None)
    password = params.pop("password", None)
    dbname = params.pop("dbname", None)
    host = params.get("host")
    port = None
    if host and not host.startswith("/") and "," not in host:
        params.pop("host")
        port = int(params.pop("port")) if "port" in params else None
    else:
        host = None
    return URL.create("postgresql+psycopg", user, password, host, port, dbname, query=params)


# --------------------------------------------------------------------------------------------
# the large set (the small one is built by _data.build_small_set)


@dataclass
class LargeSkill:
    index: int
    skill_id: str
    version_id: str
    author_id: str
    created_ms: int
    total_uses: int
    average_rating: int | None


def large_skills(seed: int, n: int, user_ids: Sequence[str]) -> Iterator[LargeSkill]:
    """The large set's skills; the same sequence on every call (replayed for the versions' COPY)."""
    rng = random.Random(f"{seed}:large")
    n_users = len(user_ids)
    for i in range(n):
        yield LargeSkill(
            index=i,
            skill_id=new_id(rng),
            version_id=new_id(rng),
            author_id=user_ids[rng.randrange(n_users)],
            created_ms=rng.randrange(SPAN_MS),
            # skewed like real usage: most skills barely used, a few used a lot
            total_uses=min(int(rng.paretovariate(1.1)) - 1, 10_000_000),
            average_rating=None if rng.random() < 0.1 else rng.randint(100, 500),
        )


def load_large_set(conninfo: str, seed: int, n: int, n_users: int, tenant_id: str) -> dict[str, float]:
    """COPY ``n`` skills, each with an author and one published version, into a second tenant.

    Bulk mode, to keep 1M rows to a minute or two: ``session_replication_role = replica``
    (superuser, this transaction only) fires no ordinary trigger, neither the user triggers
    (version numbering, immutability, updated_at) nor the foreign-key triggers. So the skills
    are copied with ``published_version_id`` already set (no 1M-row UPDATE) and latest_version
    1; every foreign key of the loaded rows is then checked with one anti-join per key.
    """
    timings: dict[str, float] = {}
    rng = random.Random(f"{seed}:large-users")
    users = make_users(rng, tenant_id, n_users, "large-user")
    user_ids = [u[0] for u in users]
    with psycopg.connect(conninfo) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute("SET LOCAL session_replication_role = replica")
        # no trigger fires in replica mode, but bind the tenant as every writer of skill_versions must
        cur.execute(bind_tenant_sql(tenant_id))
        cur.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant_id, "Benchmark (large)"))
        copy_rows(cur, "users", USER_COLUMNS, users)

        t0 = time.perf_counter()
        skill_rows = (
            (
                s.skill_id,
                tenant_id,
                s.author_id,
                f"Large skill {s.index}",
                f"large-skill-{s.index}",
                f"What large skill {s.index} does.",
                CATEGORIES[s.index % len(CATEGORIES)],
                1,  # latest_version: its one version, loaded next
                s.total_uses,
                s.average_rating,
                at(s.created_ms),
                at(s.created_ms),
                s.version_id,  # published_version_id
            )
            for s in large_skills(seed, n, user_ids)
        )
        copy_rows(cur, "skills", (*SKILL_COLUMNS, "published_version_id"), skill_rows)
        timings["copy skills"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        version_rows = (
            (
                s.version_id,
                tenant_id,
                s.skill_id,
                1,
                f"skills/{s.skill_id}/v1.md",
                hashlib.sha256(s.skill_id.encode()).hexdigest(),
                "text/markdown",
                f"Large skill {s.index}",
                None,
                "{}",
                s.author_id,
                at(s.created_ms),
            )
            for s in large_skills(seed, n, user_ids)
        )
        copy_rows(cur, "skill_versions", VERSION_COLUMNS, version_rows)
        timings["copy skill_versions"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        cur.execute("SET LOCAL session_replication_role = origin")
        cur.execute("ANALYZE users, skills, skill_versions")
        check_foreign_keys(cur, tenant_id)
        timings["foreign key checks"] = time.perf_counter() - t0
        t0 = time.perf_counter()
    timings["commit"] = time.perf_counter() - t0
    return timings


#: the foreign keys the bulk load skipped: (name, query counting the loaded rows that break it)
FOREIGN_KEY_CHECKS = (
    (
        "skills.author_id -> users",
        "SELECT count(*) FROM skills s WHERE s.tenant_id = %(t)s AND s.author_id IS NOT NULL AND NOT EXISTS "
        "(SELECT FROM users u WHERE u.tenant_id = s.tenant_id AND u.id = s.author_id)",
    ),
    (
        "skills.published_version_id -> skill_versions of the same skill",
        "SELECT count(*) FROM skills s WHERE s.tenant_id = %(t)s AND s.published_version_id IS NOT NULL AND NOT EXISTS "
        "(SELECT FROM skill_versions v WHERE v.tenant_id = s.tenant_id AND v.skill_id = s.id "
        "AND v.id = s.published_version_id)",
    ),
    (
        "skill_versions.skill_id -> skills",
        "SELECT count(*) FROM skill_versions v WHERE v.tenant_id = %(t)s AND NOT EXISTS "
        "(SELECT FROM skills s WHERE s.tenant_id = v.tenant_id AND s.id = v.skill_id)",
    ),
    (
        "skill_versions.created_by -> users",
        "SELECT count(*) FROM skill_versions v WHERE v.tenant_id = %(t)s AND NOT EXISTS "
        "(SELECT FROM users u WHERE u.tenant_id = v.tenant_id AND u.id = v.created_by)",
    ),
)


def check_foreign_keys(cur: psycopg.Cursor[Any], tenant_id: str) -> None:
    for name, query in FOREIGN_KEY_CHECKS:
        bad = cur.execute(query, {"t": tenant_id}).fetchone()[0]  # type: ignore[index]
        if bad:
            raise SystemExit(f"bulk load broke the foreign key {name} in {bad} rows")


# --------------------------------------------------------------------------------------------
# SQLAlchemy ORM model (only what get_skill_with_relations returns)


class Base(DeclarativeBase):
    pass


class OrmUser(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str]
    email: Mapped[str]
    name: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrmSkillVersion(Base):
    __tablename__ = "skill_versions"
    id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str]
    skill_id: Mapped[str] = mapped_column(ForeignKey("skills.id"))
    version: Mapped[int]
    content_url: Mapped[str]
    content_hash: Mapped[str]
    content_type: Mapped[str]
    name: Mapped[str]
    description: Mapped[str | None]
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    created_by: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrmRating(Base):
    __tablename__ = "ratings"
    id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str]
    skill_id: Mapped[str] = mapped_column(ForeignKey("skills.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    rating: Mapped[int]
    comment: Mapped[str | None]
    hours_saved_estimate: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # lazy="raise" everywhere: a relation that was not eager-loaded fails loudly instead of
    # silently issuing a query after the timer stopped
    user: Mapped[OrmUser] = relationship(lazy="raise")


class OrmUsageEvent(Base):
    __tablename__ = "usage_events"
    id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str]
    skill_id: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrmSkill(Base):
    __tablename__ = "skills"
    id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str]
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str]
    slug: Mapped[str]
    description: Mapped[str | None]
    category: Mapped[str | None]
    published_version_id: Mapped[str | None] = mapped_column(ForeignKey("skill_versions.id"))
    draft_version_id: Mapped[str | None] = mapped_column(ForeignKey("skill_versions.id"))
    latest_version: Mapped[int]
    total_uses: Mapped[int]
    average_rating: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    author: Mapped[OrmUser | None] = relationship(lazy="raise")
    versions: Mapped[list[OrmSkillVersion]] = relationship(
        foreign_keys=[OrmSkillVersion.skill_id],
        order_by=OrmSkillVersion.version.desc(),
        lazy="raise",
        viewonly=True,
    )
    published_version: Mapped[OrmSkillVersion | None] = relationship(
        foreign_keys=[published_version_id], lazy="raise", viewonly=True
    )
    draft_version: Mapped[OrmSkillVersion | None] = relationship(
        foreign_keys=[draft_version_id], lazy="raise", viewonly=True
    )
    ratings: Mapped[list[OrmRating]] = relationship(
        order_by=[OrmRating.created_at.desc(), OrmRating.id], lazy="raise", viewonly=True
    )


LAST_USED = (
    select(func.max(OrmUsageEvent.created_at))
    .where(OrmUsageEvent.skill_id == OrmSkill.id)
    .correlate(OrmSkill)
    .scalar_subquery()
    .label("last_used_at")
)

#: loader strategies tried; the fastest (median over a sample) is the one timed
SA_STRATEGIES: dict[str, tuple[list[Any], bool]] = {
    # name: (loader options, usage folded into the main query as a correlated scalar subquery)
    "joinedload m2o + selectinload collections (rating.user joined)": (
        [
            joinedload(OrmSkill.author),
            joinedload(OrmSkill.published_version),
            joinedload(OrmSkill.draft_version),
            selectinload(OrmSkill.versions),
            selectinload(OrmSkill.ratings).joinedload(OrmRating.user),
        ],
        False,
    ),
    "same + usage as scalar subquery in the main query": (
        [
            joinedload(OrmSkill.author),
            joinedload(OrmSkill.published_version),
            joinedload(OrmSkill.draft_version),
            selectinload(OrmSkill.versions),
            selectinload(OrmSkill.ratings).joinedload(OrmRating.user),
        ],
        True,
    ),
    "selectinload everything": (
        [
            selectinload(OrmSkill.author),
            selectinload(OrmSkill.published_version),
            selectinload(OrmSkill.draft_version),
            selectinload(OrmSkill.versions),
            selectinload(OrmSkill.ratings).selectinload(OrmRating.user),
        ],
        False,
    ),
    "joinedload everything (+ usage subquery)": (
        [
            joinedload(OrmSkill.author),
            joinedload(OrmSkill.published_version),
            joinedload(OrmSkill.draft_version),
            joinedload(OrmSkill.versions),
            joinedload(OrmSkill.ratings).joinedload(OrmRating.user),
        ],
        True,
    ),
}


# --------------------------------------------------------------------------------------------
# contenders of the nested fetch


@dataclass
class Canon:
    """What every contender must agree on for one skill."""

    id: str
    author_id: str | None
    author_email: str | None
    version_ids: list[str]
    version_numbers: list[int]
    version_hashes: list[str]
    published_id: str | None
    draft_id: str | None
    rating_ids: list[str]
    rating_values: list[int]
    rating_user_emails: list[str]
    total_uses: int
    average_rating: int | None
    last_used_at: datetime | None


def ts(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class Contender:
    name: str

    def batch(self, tenant_id: str) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def fetch(self, skill_id: str) -> Any:
        raise NotImplementedError

    def canon(self, result: Any) -> Canon:
        raise NotImplementedError

    def close(self) -> None:
        pass


@contextmanager
def plain_tenant(conn: psycopg.Connection[Any], tenant_id: str) -> Iterator[None]:
    """What ``skilldb.tenant`` sends, done by plain psycopg: BEGIN, the package's own
    ``SET LOCAL app.current_tenant_id = '<id>'`` (``bind_tenant_sql``), the block, COMMIT."""
    with conn.transaction():
        conn.execute(bind_tenant_sql(tenant_id))
        yield


class SkilldbContender(Contender):
    name = "skilldb"

    def __init__(self, conninfo: str) -> None:
        self.conn = app_connect(conninfo)

    def batch(self, tenant_id: str) -> AbstractContextManager[Any]:
        return skilldb.tenant(self.conn, tenant_id)

    def fetch(self, skill_id: str) -> Any:
        return skilldb.get_skill_with_relations(self.conn, skill_id)

    def canon(self, r: Any) -> Canon:
        return Canon(
            id=r.id,
            author_id=r.author.id if r.author else None,
            author_email=r.author.email if r.author else None,
            version_ids=[v.id for v in r.versions],
            version_numbers=[v.version for v in r.versions],
            version_hashes=[v.content_hash for v in r.versions],
            published_id=r.published_version.id if r.published_version else None,
            draft_id=r.draft_version.id if r.draft_version else None,
            rating_ids=[x.id for x in r.ratings],
            rating_values=[x.rating for x in r.ratings],
            rating_user_emails=[x.user.email for x in r.ratings],
            total_uses=r.usage.total_uses,
            average_rating=r.average_rating,
            last_used_at=r.usage.last_used_at,
        )

    def close(self) -> None:
        self.conn.close()


class PlainContender(SkilldbContender):
    """A plain-psycopg contender: binds the tenant itself with ``bind_tenant_sql`` (the same
    statement ``skilldb.tenant`` runs) and passes it to its queries."""

    tenant_id = ""

    @contextmanager
    def batch(self, tenant_id: str) -> Iterator[None]:
        with plain_tenant(self.conn, tenant_id):
            self.tenant_id = tenant_id
            yield


class FloorContender(PlainContender):
    """The same SQL text, plain psycopg, prepared, default tuple rows (text format, json parsed by psycopg)."""

    name = "psycopg floor (same SQL)"

    def __init__(self, conninfo: str) -> None:
        super().__init__(conninfo)
        self.sql = sql_of("get_skill_with_relations")
        self.col: dict[str, int] = {}

    def fetch(self, skill_id: str) -> Any:
        return self.conn.execute(self.sql, {"tenant_id": self.tenant_id, "skill_id": skill_id}, prepare=True).fetchone()

    def canon(self, r: Any) -> Canon:
        if not self.col:
            cur = self.conn.execute(self.sql, {"tenant_id": self.tenant_id, "skill_id": r[0]})
            self.col = {c.name: i for i, c in enumerate(cur.description or ())}
            cur.fetchall()
        c = self.col
        author, versions, ratings, usage = r[c["author"]], r[c["versions"]], r[c["ratings"]], r[c["usage"]]
        pub, draft = r[c["published_version"]], r[c["draft_version"]]
        return Canon(
            id=r[c["id"]],
            author_id=author["id"] if author else None,
            author_email=author["email"] if author else None,
            version_ids=[v["id"] for v in versions],
            version_numbers=[v["version"] for v in versions],
            version_hashes=[v["content_hash"] for v in versions],
            published_id=pub["id"] if pub else None,
            draft_id=draft["id"] if draft else None,
            rating_ids=[x["id"] for x in ratings],
            rating_values=[x["rating"] for x in ratings],
            rating_user_emails=[x["user"]["email"] for x in ratings],
            total_uses=usage["total_uses"],
            average_rating=r[c["average_rating"]],
            last_used_at=ts(usage["last_used_at"]),
        )


class NaiveContender(PlainContender):
    """One query per relation, dict rows; rating users one query each (N+1) or one ``= ANY`` query.

    Ids are unique per tenant (primary keys are (tenant_id, id)), so every query filters on
    the tenant as well, as skilldb's SQL does (row-level security would filter it anyway).
    """

    USER = "SELECT id, tenant_id, email, name, created_at FROM users WHERE tenant_id = %s AND id = %s"
    VERSION_COLS = (
        "id, tenant_id, skill_id, version, content_url, content_hash, content_type, name, description, "
        "metadata, created_by, created_at"
    )

    def __init__(self, conninfo: str, users_in_one_query: bool) -> None:
        super().__init__(conninfo)
        self.users_in_one_query = users_in_one_query
        self.name = "naive psycopg (users: 1 IN query)" if users_in_one_query else "naive psycopg (users: N+1)"
        self.cur = self.conn.cursor(row_factory=dict_row)

    def fetch(self, skill_id: str) -> Any:
        cur = self.cur
        t = self.tenant_id
        skill = cur.execute(
            "SELECT id, tenant_id, author_id, name, slug, description, category, published_version_id, "
            "draft_version_id, latest_version, total_uses, average_rating, created_at, updated_at "
            "FROM skills WHERE tenant_id = %s AND id = %s",
            (t, skill_id),
        ).fetchone()
        if skill is None:
            return None
        skill["author"] = (
            cur.execute(self.USER, (t, skill["author_id"])).fetchone() if skill["author_id"] is not None else None
        )
        skill["versions"] = cur.execute(
            f"SELECT {self.VERSION_COLS} FROM skill_versions WHERE tenant_id = %s AND skill_id = %s "
            "ORDER BY version DESC",
            (t, skill_id),
        ).fetchall()
        for key in ("published_version", "draft_version"):
            vid = skill[f"{key}_id"]
            skill[key] = (
                cur.execute(
                    f"SELECT {self.VERSION_COLS} FROM skill_versions WHERE tenant_id = %s AND id = %s", (t, vid)
                ).fetchone()
                if vid is not None
                else None
            )
        ratings = cur.execute(
            "SELECT id, tenant_id, skill_id, user_id, rating, comment, hours_saved_estimate, created_at "
            "FROM ratings WHERE tenant_id = %s AND skill_id = %s ORDER BY created_at DESC, id",
            (t, skill_id),
        ).fetchall()
        if self.users_in_one_query:
            users = cur.execute(
                "SELECT id, tenant_id, email, name, created_at FROM users WHERE tenant_id = %s AND id = ANY(%s)",
                (t, [r["user_id"] for r in ratings]),
            ).fetchall()
            by_id = {u["id"]: u for u in users}
            for r in ratings:
                r["user"] = by_id.get(r["user_id"])
        else:
            for r in ratings:
                r["user"] = cur.execute(self.USER, (t, r["user_id"])).fetchone()
        skill["ratings"] = ratings
        last = cur.execute(
            "SELECT max(created_at) AS last_used_at FROM usage_events WHERE tenant_id = %s AND skill_id = %s",
            (t, skill_id),
        )
        skill["usage"] = {"total_uses": skill["total_uses"], "last_used_at": last.fetchone()["last_used_at"]}  # type: ignore[index]
        return skill

    def canon(self, r: Any) -> Canon:
        return Canon(
            id=r["id"],
            author_id=r["author"]["id"] if r["author"] else None,
            author_email=r["author"]["email"] if r["author"] else None,
            version_ids=[v["id"] for v in r["versions"]],
            version_numbers=[v["version"] for v in r["versions"]],
            version_hashes=[v["content_hash"] for v in r["versions"]],
            published_id=r["published_version"]["id"] if r["published_version"] else None,
            draft_id=r["draft_version"]["id"] if r["draft_version"] else None,
            rating_ids=[x["id"] for x in r["ratings"]],
            rating_values=[x["rating"] for x in r["ratings"]],
            rating_user_emails=[x["user"]["email"] for x in r["ratings"]],
            total_uses=r["usage"]["total_uses"],
            average_rating=r["average_rating"],
            last_used_at=r["usage"]["last_used_at"],
        )


class SqlalchemyContender(Contender):
    """SQLAlchemy 2 ORM on one pooled connection, SET ROLE on connect, tenant bound per transaction.

    The mapping keeps ``id`` as the primary key (unique within the one tenant timed); the
    tenant is filtered by row-level security, bound by the same ``SET LOCAL`` as skilldb's.
    """

    def __init__(self, conninfo: str, strategy: str) -> None:
        self.engine: Engine = create_engine(sqlalchemy_url(conninfo), pool_size=1, max_overflow=0)

        @event.listens_for(self.engine, "connect")
        def _as_app_role(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cur:
                cur.execute(f"SET ROLE {APP_ROLE}")
            dbapi_connection.commit()

        self.session: Session | None = None
        self.last_used = select(func.max(OrmUsageEvent.created_at)).where(OrmUsageEvent.skill_id == bindparam("sid"))
        self.use(strategy)

    def use(self, strategy: str) -> None:
        options, usage_in_main = SA_STRATEGIES[strategy]
        self.strategy = strategy
        self.name = "SQLAlchemy ORM"
        self.usage_in_main = usage_in_main
        entities: list[Any] = [OrmSkill, LAST_USED] if usage_in_main else [OrmSkill]
        # built once, parameterised: SQLAlchemy's statement cache then skips recompiling
        self.stmt = select(*entities).options(*options).where(OrmSkill.id == bindparam("sid"))

    @contextmanager
    def batch(self, tenant_id: str) -> Iterator[None]:
        with Session(self.engine) as session, session.begin():
            # skilldb's binding statement, on the session's own psycopg connection and transaction
            session.connection().connection.driver_connection.execute(bind_tenant_sql(tenant_id))  # type: ignore[union-attr]
            self.session = session
            yield
        self.session = None

    def fetch(self, skill_id: str) -> Any:
        session = self.session
        assert session is not None
        params = {"sid": skill_id}
        row = session.execute(self.stmt, params).unique().one_or_none()
        if row is None:
            session.expunge_all()
            return None
        skill = row[0]
        last_used = row[1] if self.usage_in_main else session.execute(self.last_used, params).scalar()
        # touch every relation (lazy="raise" would fail here if one were not loaded)
        _ = skill.author, skill.published_version, skill.draft_version, skill.versions
        for rating in skill.ratings:
            _ = rating.user
        # a request's session ends here: no identity-map hits for the next skill's users
        session.expunge_all()
        return skill, last_used

    def canon(self, result: Any) -> Canon:
        s, last_used = result
        return Canon(
            id=s.id,
            author_id=s.author.id if s.author else None,
            author_email=s.author.email if s.author else None,
            version_ids=[v.id for v in s.versions],
            version_numbers=[v.version for v in s.versions],
            version_hashes=[v.content_hash for v in s.versions],
            published_id=s.published_version.id if s.published_version else None,
            draft_id=s.draft_version.id if s.draft_version else None,
            rating_ids=[x.id for x in s.ratings],
            rating_values=[x.rating for x in s.ratings],
            rating_user_emails=[x.user.email for x in s.ratings],
            total_uses=s.total_uses,
            average_rating=s.average_rating,
            last_used_at=last_used,
        )

    def close(self) -> None:
        self.engine.dispose()


def run_calls(contender: Contender, tenant_id: str, ids: Sequence[str]) -> list[int]:
    """Time each call; the tenant is bound once per BATCH calls (outside the timed region)."""
    times: list[int] = []
    clock = time.perf_counter_ns
    fetch = contender.fetch
    for batch in chunks(ids, BATCH):
        with contender.batch(tenant_id):
            for sid in batch:
                t0 = clock()
                result = fetch(sid)
                t1 = clock()
                times.append(t1 - t0)
                if result is None:
                    raise SystemExit(f"{contender.name}: skill {sid} not found")
    return times


def run_interleaved(contenders: Sequence[Contender], tenant_id: str, ids: Sequence[str]) -> dict[str, list[int]]:
    """All contenders over ``ids``, batch by batch, rotating who goes first."""
    times: dict[str, list[int]] = {c.name: [] for c in contenders}
    for i, batch in enumerate(chunks(ids, BATCH)):
        k = i % len(contenders)
        for c in [*contenders[k:], *contenders[:k]]:
            times[c.name] += run_calls(c, tenant_id, batch)
    return times


def verify(contenders: Sequence[Contender], tenant_id: str, ids: Sequence[str], data: SmallSet) -> None:
    """Each contender returns what skilldb returns, and skilldb returns what was loaded."""
    reference = contenders[0]
    for sid in ids:
        results = {}
        for c in contenders:
            with c.batch(tenant_id):
                results[c.name] = c.canon(c.fetch(sid))
        ref = results[reference.name]
        exp = data.expected[sid]
        loaded = Canon(
            id=sid,
            author_id=exp.author_id,
            author_email=ref.author_email,
            version_ids=exp.version_ids,
            version_numbers=list(range(VERSIONS_PER_SKILL, 0, -1)),
            version_hashes=ref.version_hashes,
            published_id=exp.published_id,
            draft_id=exp.draft_id,
            rating_ids=ref.rating_ids,
            rating_values=ref.rating_values,
            rating_user_emails=ref.rating_user_emails,
            total_uses=exp.total_uses,
            average_rating=exp.average_rating,
            last_used_at=exp.last_used_at,
        )
        if ref != loaded or set(ref.rating_ids) != exp.rating_ids:
            raise SystemExit(f"verify: skilldb returned\n  {ref}\nfor {sid}, but the load put in\n  {exp}")
        for name, got in results.items():
            if got != ref:
                raise SystemExit(f"verify: {name} disagrees with skilldb for {sid}:\n  {got}\n  {ref}")


def interesting_ids(data: SmallSet, rng: random.Random, n: int) -> list[str]:
    """A few random ids plus ones with no author, no published version, a draft."""
    picked = rng.sample(data.skill_ids, min(n, len(data.skill_ids)))
    for want in (
        lambda e: e.author_id is None,
        lambda e: e.published_id is None,
        lambda e: e.draft_id is not None,
    ):
        picked += [sid for sid, e in data.expected.items() if want(e)][:2]
    return picked


def bench_nested(conninfo: str, data: SmallSet, args: argparse.Namespace) -> None:
    rng = random.Random(f"{args.seed}:ids")
    ids = [rng.choice(data.skill_ids) for _ in range(args.calls)]
    tid = data.tenant_id
    log(f"\n== get_skill_with_relations: {len(ids)} random skill ids, each contender on its own connection ==")

    sa = SqlalchemyContender(conninfo, next(iter(SA_STRATEGIES)))
    contenders: list[Contender] = [
        SkilldbContender(conninfo),
        FloorContender(conninfo),
        sa,
        NaiveContender(conninfo, users_in_one_query=False),
        NaiveContender(conninfo, users_in_one_query=True),
    ]
    try:
        # every SQLAlchemy strategy must load the same data, then the fastest one is timed
        check_ids = interesting_ids(data, rng, 20)
        sample = ids[: min(len(ids), 400)]
        strategy_stats = {}
        for strategy in SA_STRATEGIES:
            sa.use(strategy)
            verify([contenders[0], sa], tid, check_ids, data)
            run_calls(sa, tid, sample)  # warm-up
            strategy_stats[strategy] = Stats.of(run_calls(sa, tid, sample))
        best = min(strategy_stats, key=lambda s: strategy_stats[s].median_us)
        sa.use(best)
        log(f"\nSQLAlchemy loader strategies ({len(sample)} calls each, after a warm-up; fastest is timed below):")
        log(
            table(
                ["strategy", "median us", "p95 us"],
                [
                    [("* " if s == best else "  ") + s, f"{st.median_us:.0f}", f"{st.p95_us:.0f}"]
                    for s, st in strategy_stats.items()
                ],
            )
        )

        verify(contenders, tid, check_ids, data)
        log(f"\nverified: every contender returns what skilldb returns (and what was loaded) for {len(check_ids)} ids")

        for c in contenders:  # warm-up pass: prepared statements, caches, buffers
            run_calls(c, tid, ids)
        times = run_interleaved(contenders, tid, ids)
        stats = {name: Stats.of(ns) for name, ns in times.items()}
        floor = stats[contenders[1].name]
        rows = []
        for c in contenders:
            st = stats[c.name]
            rows.append(
                [
                    c.name,
                    f"{st.median_us:.0f}",
                    f"{st.p95_us:.0f}",
                    f"{st.ops:.0f}",
                    f"{st.median_us / floor.median_us:.2f}x",
                    f"{st.p95_us / floor.p95_us:.2f}x",
                ]
            )
        log(f"\nper call, {len(ids)} calls each ({BATCH} per tenant-bound transaction, binding not timed):")
        log(table(["contender", "median us", "p95 us", "ops/s", "vs floor (med)", "vs floor (p95)"], rows))
        sk, sa_st = stats["skilldb"], stats[sa.name]
        ratio_floor = sk.median_us / floor.median_us
        ratio_sa = sa_st.median_us / sk.median_us
        log(f"SQLAlchemy strategy timed: {sa.strategy}")
        log(
            f"skilldb / psycopg floor (median): {ratio_floor:.2f}x  "
            f"[claim <= 1.15x: {'MET' if ratio_floor <= 1.15 else 'NOT MET'}]"
        )
        log(
            f"SQLAlchemy / skilldb (median): {ratio_sa:.2f}x  "
            f"(p95 {sa_st.p95_us / sk.p95_us:.2f}x)  [claim >= 3x: {'MET' if ratio_sa >= 3 else 'NOT MET'}]"
        )
        mapping_breakdown(contenders[0], tid, ids, sk, floor)
        if args.profile:
            profile_skilldb(contenders[0], tid, ids)
    finally:
        for c in contenders:
            c.close()


def mapping_breakdown(c: Contender, tenant_id: str, ids: Sequence[str], sk: Stats, floor: Stats) -> None:
    """How much of skilldb's time over the floor is turning a fetched row into SkillWithRelations
    (skilldb's row factory: json relations decoded by msgspec into the dataclasses)."""
    assert isinstance(c, SkilldbContender)
    query = sql_of("get_skill_with_relations")
    rows = []
    # binary results, as skilldb reads them (_JsonBytesLoader is a binary-format loader)
    with c.batch(tenant_id), c.conn.cursor(binary=True) as cur:
        cur.adapters.register_loader(JSON_OID, _JsonBytesLoader)
        for sid in ids:
            rows.append(cur.execute(query, {"tenant_id": tenant_id, "skill_id": sid}, prepare=True).fetchone())
        make = model_row(skilldb.SkillWithRelations)(cur)
    for row in rows:  # warm-up
        make(row)
    clock = time.perf_counter_ns
    ns = []
    for row in rows:
        t0 = clock()
        make(row)
        ns.append(clock() - t0)
    mapping = Stats.of(ns)
    log(
        f"skilldb mapping alone (row factory on a fetched row): median {mapping.median_us:.0f} us, "
        f"p95 {mapping.p95_us:.0f} us; skilldb - floor (medians): {sk.median_us - floor.median_us:.0f} us"
    )


def profile_skilldb(c: Contender, tenant_id: str, ids: Sequence[str]) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    run_calls(c, tenant_id, ids)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    log("\ncProfile of the skilldb contender (by own time):\n" + out.getvalue())


# --------------------------------------------------------------------------------------------
# keyset pages


def page_key(order: str, item: Any) -> Any:
    if order == "created_at":
        return item.created_at
    if order == "total_uses":
        return item.total_uses
    return item.average_rating or 0


def page_params(tenant_id: str, order: str, cursor: str | None) -> dict[str, Any]:
    """The exact parameters skilldb sends for this page: its plan (``__wrapped__`` of the operation:
    cursor decoding, first-page key and the one extra row that tells whether another page follows)
    plus the ``tenant_id`` its call path adds from the ``skilldb.tenant`` block."""
    plan = skilldb.list_skills_with_relations.__wrapped__  # type: ignore[attr-defined]
    return {"tenant_id": tenant_id, **plan(order_by=order, limit=PAGE_SIZE, after=cursor).params}


def cursor_at(conninfo: str, tenant_id: str, order: str, offset: int) -> str | None:
    """A cursor that starts the list after row ``offset`` (found by the superuser, once, with OFFSET)."""
    key = {"created_at": "created_at", "total_uses": "total_uses", "average_rating": "coalesce(average_rating, 0)"}
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            f"SELECT id, created_at, total_uses, average_rating FROM skills WHERE tenant_id = %s "
            f"ORDER BY {key[order]} DESC, id DESC OFFSET %s LIMIT 1",
            (tenant_id, offset),
        ).fetchone()
    if row is None:
        return None
    item = SimpleNamespace(
        id=row[0], created_at=row[1], total_uses=row[2], average_rating=row[3], rating_sort_key=row[3] or 0
    )
    # skilldb's own (internal) encoder, so the cursor is exactly what a page would return
    return _encode_cursor(order, item)  # type: ignore[arg-type]


def walk(
    conn: psycopg.Connection[Any],
    tenant_id: str,
    order: str,
    after: str | None,
    pages: int,
    budget_s: float = math.inf,
) -> tuple[list[int], list[str | None]]:
    """Follow ``pages`` pages from ``after``: per-page times and the cursor each page started from.

    Stops early once ``budget_s`` seconds are spent, so that pathologically slow pages do
    not stall the run (at least one page is timed). Checks the keyset order on the way
    (every id once, (key, id) strictly decreasing).
    """
    deadline = time.perf_counter() + budget_s
    times: list[int] = []
    cursors: list[str | None] = []
    clock = time.perf_counter_ns
    seen: set[str] = set()
    last: tuple[Any, str] | None = None
    cursor = after
    while len(times) < pages and time.perf_counter() < deadline:
        with skilldb.tenant(conn, tenant_id):
            for _ in range(min(PAGE_BATCH, pages - len(times))):
                if time.perf_counter() >= deadline:
                    break
                cursors.append(cursor)
                t0 = clock()
                page = skilldb.list_skills_with_relations(conn, order_by=order, limit=PAGE_SIZE, after=cursor)
                times.append(clock() - t0)
                for item in page.items:
                    here = (page_key(order, item), item.id)
                    if item.id in seen or (last is not None and not here < last):
                        raise SystemExit(f"pages by {order}: {here} after {last} (duplicate or out of order)")
                    seen.add(item.id)
                    last = here
                cursor = page.next_cursor
                if cursor is None:
                    return times, cursors
    return times, cursors


def sql_pages(conn: psycopg.Connection[Any], tenant_id: str, order: str, cursors: Sequence[str | None]) -> list[int]:
    """The same pages as plain psycopg running the same SQL (prepared, tuple rows): the SQL's own cost."""
    query = sql_of(f"list_skills_with_relations_by_{order}")
    params = [page_params(tenant_id, order, cursor) for cursor in cursors]
    times = []
    clock = time.perf_counter_ns
    for batch in chunks(params, PAGE_BATCH):
        with plain_tenant(conn, tenant_id):
            for p in batch:
                t0 = clock()
                conn.execute(query, p, prepare=True).fetchall()
                times.append(clock() - t0)
    return times


def first_pages(conn: psycopg.Connection[Any], tenant_id: str, order: str, reps: int) -> list[int]:
    times = []
    clock = time.perf_counter_ns
    for batch in chunks(range(reps), PAGE_BATCH):
        with skilldb.tenant(conn, tenant_id):
            for _ in batch:
                t0 = clock()
                skilldb.list_skills_with_relations(conn, order_by=order, limit=PAGE_SIZE)
                times.append(clock() - t0)
    return times


@dataclass
class PageResult:
    """skilldb page times and the bare SQL's for: page 1, pages 100-199 from the top, 100 pages from the middle."""

    first: Stats
    first_sql: Stats
    deep: Stats | None = None
    deep_sql: Stats | None = None
    middle: Stats | None = None
    middle_sql: Stats | None = None


def bench_pages(conninfo: str, tenant_id: str, n_skills: int) -> tuple[dict[str, PageResult], str]:
    """Page timings per order, and which plans the server's plan cache used for the prepared page queries.

    The walk from the middle gets a time budget (MIDDLE_BUDGET_S): if those pages are slow, fewer are timed.
    """
    results = {}
    with app_connect(conninfo) as conn:
        for order in ORDERS:
            first_pages(conn, tenant_id, order, 10)  # warm-up
            first_sql = Stats.of(sql_pages(conn, tenant_id, order, [None] * 50))
            result = PageResult(Stats.of(first_pages(conn, tenant_id, order, 50)), first_sql)
            walk(conn, tenant_id, order, None, 200)  # warm-up
            top, cursors = walk(conn, tenant_id, order, None, 200)
            if len(top) > 100:
                result.deep = Stats.of(top[100:])
                result.deep_sql = Stats.of(sql_pages(conn, tenant_id, order, cursors[100:]))
            mid_cursor = cursor_at(conninfo, tenant_id, order, n_skills // 2)
            if mid_cursor is not None:
                walk(conn, tenant_id, order, mid_cursor, 5, MIDDLE_BUDGET_S / 4)  # warm-up
                times, cursors = walk(conn, tenant_id, order, mid_cursor, 100, MIDDLE_BUDGET_S)
                result.middle = Stats.of(times)
                result.middle_sql = Stats.of(sql_pages(conn, tenant_id, order, cursors))
            results[order] = result
        counts = {order: [0, 0] for order in ORDERS}
        for statement, generic, custom in conn.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
        ):
            for order, marker in (
                ("created_at", "ORDER BY created_at DESC"),
                ("total_uses", "ORDER BY total_uses DESC"),
                ("average_rating", "ORDER BY coalesce(average_rating, 0) DESC"),
                ("average_rating", "ORDER BY rating_sort_key DESC"),
            ):
                if marker in statement:
                    counts[order][0] += custom
                    counts[order][1] += generic
        plans = [f"{order} {custom}/{generic}" for order, (custom, generic) in counts.items()]
    return results, ", ".join(plans)


def fmt_stats(st: Stats | None, sql_st: Stats | None, count: bool = False) -> list[str]:
    if st is None or sql_st is None:
        return ["-"] * (4 if count else 3)
    cells = [f"{st.median_us:.0f}", f"{st.p95_us:.0f}", f"{sql_st.median_us:.0f}"]
    return [*cells, str(st.n)] if count else cells


def print_pages(results: dict[str, dict[str, PageResult]], sizes: dict[str, int], plans: dict[str, str]) -> None:
    log(f"\n== list_skills_with_relations: pages of {PAGE_SIZE}, microseconds per page ==")
    log("first: page 1 (50 calls); deep: pages 100-199 following next_cursor from the top; middle: up to 100")
    log(f"pages following next_cursor from row n/2 (as many as fit in {MIDDLE_BUDGET_S:.0f} s: see pages).")
    log("med/p95: skilldb; sql: median of the same SQL and parameters run by plain psycopg (prepared, tuple")
    log("rows), i.e. without skilldb's mapping to dataclasses.")
    rows = []
    for label, by_order in results.items():
        for order, r in by_order.items():
            rows.append(
                [
                    f"{label} ({sizes[label]:,})",
                    order,
                    *fmt_stats(r.first, r.first_sql),
                    *fmt_stats(r.deep, r.deep_sql),
                    *fmt_stats(r.middle, r.middle_sql, count=True),
                ]
            )
    headers = ["data set (skills)", "order_by", "first med", "p95", "sql", "deep med", "p95", "sql"]
    log(table([*headers, "middle med", "p95", "sql", "pages"], rows, "ll" + "r" * 10))
    log("plans the server chose for the prepared page statements (custom / generic executions):")
    for label, text in plans.items():
        log(f"  {label}: {text}")


def print_ratios(small: dict[str, PageResult], large: dict[str, PageResult], label: str) -> None:
    rows = []
    worst = 0.0
    for order in ORDERS:
        cells = [order]
        for part in ("first", "deep", "middle"):
            a, b = getattr(small[order], part), getattr(large[order], part)
            a_sql, b_sql = getattr(small[order], f"{part}_sql"), getattr(large[order], f"{part}_sql")
            if a is None or b is None:
                cells.append("-")
                continue
            ratio = b.median_us / a.median_us
            worst = max(worst, ratio)
            cells.append(f"{ratio:.2f}x (p95 {b.p95_us / a.p95_us:.2f}x, sql {b_sql.median_us / a_sql.median_us:.2f}x)")
        rows.append(cells)
    log(f"\npage time ratio, large / {label} (skilldb median; p95 and bare-SQL median in brackets):")
    log(table(["order_by", "first", "deep", "middle"], rows))
    log(f"worst skilldb median ratio {worst:.2f}x  [claim <= 2x: {'MET' if worst <= 2 else 'NOT MET'}]")


# --------------------------------------------------------------------------------------------
# EXPLAIN of a deep page


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from plan_nodes(child)


def check_plan(plan: dict[str, Any], order: str, limit: int) -> tuple[bool, str]:
    """Index scan on skills_<order>_idx with the keyset as index condition, no big Sort, no Seq Scan."""
    nodes = list(plan_nodes(plan["Plan"]))
    index = f"skills_{order}_idx"
    scans = [n for n in nodes if n.get("Index Name") == index]
    seq = [n for n in nodes if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "skills"]
    big_sorts = [
        n
        for n in nodes
        if n["Node Type"] in ("Sort", "Incremental Sort")
        and sum(c.get("Actual Rows", 0) * c.get("Actual Loops", 1) for c in n.get("Plans", ())) > limit
    ]
    notes = []
    ok = bool(scans) and not seq and not big_sorts
    if scans:
        s = scans[0]
        cond = s.get("Index Cond", "")
        keyset_in_cond = "ROW(" in cond.upper() or "<" in cond
        read = s.get("Actual Rows", 0) + s.get("Rows Removed by Filter", 0)
        ok = ok and keyset_in_cond and read <= limit * 2
        notes.append(
            f"{s['Node Type']} using {index} (index cond: {cond}; filter: {s.get('Filter', '-')}; "
            f"rows read {read:.0f}, removed by filter {s.get('Rows Removed by Filter', 0):.0f})"
        )
        if not keyset_in_cond:
            notes.append("the keyset comparison is NOT an index condition")
    else:
        notes.append(f"no scan of {index}")
    if seq:
        notes.append("Seq Scan on skills")
    for n in big_sorts:
        notes.append(f"{n['Node Type']} of {sum(c.get('Actual Rows', 0) for c in n.get('Plans', ())):.0f} rows")
    top = plan["Plan"]
    notes.append(
        f"execution {plan.get('Execution Time', 0):.2f} ms, planning {plan.get('Planning Time', 0):.2f} ms, "
        f"shared buffers hit {top.get('Shared Hit Blocks', 0)} read {top.get('Shared Read Blocks', 0)}"
    )
    return ok, "; ".join(notes)


def explain_deep_pages(conninfo: str, tenant_id: str, n_skills: int) -> bool:
    """EXPLAIN (ANALYZE, BUFFERS) of the page after row n/2, as skilldb_app with the tenant bound."""
    log(f"\n== EXPLAIN (ANALYZE, BUFFERS) of a deep page (after row {n_skills // 2:,} of {n_skills:,}) ==")
    all_ok = True
    with app_connect(conninfo) as conn:
        for order in ORDERS:
            cursor = cursor_at(conninfo, tenant_id, order, n_skills // 2)
            assert cursor is not None
            params = page_params(tenant_id, order, cursor)
            after_key, after_id, limit = params["after_key"], params["after_id"], params["limit"]
            query = sql_of(f"list_skills_with_relations_by_{order}")
            # the same query as a server-side prepared statement ($n parameters) for the generic plan
            prepared = (
                query.replace("%(after_key)s", "$1")
                .replace("%(after_id)s", "$2")
                .replace("%(limit)s", "$3")
                .replace("%(tenant_id)s", "$4")
                .replace("%%", "%")
            )
            execute = sql.SQL("EXECUTE bench_deep_page({}, {}, {}, {})").format(
                sql.Literal(after_key), sql.Literal(after_id), sql.Literal(limit), sql.Literal(tenant_id)
            )
            for kind in ("custom plan (one-shot, parameters known)", "generic plan (prepared, plan_cache_mode)"):
                with skilldb.tenant(conn, tenant_id):
                    if kind.startswith("custom"):
                        plan_text = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query}", params).fetchall()
                        plan_json = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}", params).fetchone()
                    else:
                        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                        conn.execute(f"PREPARE bench_deep_page AS {prepared}")
                        plan_text = conn.execute(sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + execute).fetchall()
                        plan_json = conn.execute(
                            sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ") + execute
                        ).fetchone()
                        conn.execute("DEALLOCATE bench_deep_page")
                assert plan_json is not None
                ok, notes = check_plan(plan_json[0][0], order, limit)
                all_ok = all_ok and ok
                log(f"\n-- order_by={order}, {kind}, after_key={after_key!r}, after_id={after_id!r}, limit={limit}")
                log("\n".join(r[0] for r in plan_text))
                log(f"CHECK {'OK' if ok else 'FAILED'}: {notes}")
    return all_ok


# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--skills", type=int, default=20_000, help="skills of the nested-fetch tenant (default 20000)")
    p.add_argument("--users", type=int, default=2_000, help="users of each tenant (default 2000)")
    p.add_argument(
        "--large-skills", type=int, default=1_000_000, help="skills of the large tenant (default 1000000; 0 skips it)"
    )
    p.add_argument("--calls", type=int, default=2_000, help="timed get_skill_with_relations calls per contender")
    p.add_argument("--seed", type=int, default=20240601, help="random seed of the data and the ids")
    p.add_argument("--dbname", default="skilldb_bench", help="database to (re)create (default skilldb_bench)")
    p.add_argument("--data-dir", help="data directory of the embedded server (default: a temporary one)")
    p.add_argument("--profile", action="store_true", help="also print a cProfile of the skilldb contender")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    server = get_server(args.data_dir)
    try:
        conninfo = fresh_database(server.admin_conninfo, args.dbname)
        with psycopg.connect(conninfo) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        log(
            f"PostgreSQL {version} ({server.description}), database {args.dbname}; Python {platform.python_version()}, "
            f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__}), SQLAlchemy {sqlalchemy.__version__}, "
            f"{os.cpu_count()} CPUs"
        )

        small_tid, large_tid = "bench-small", "bench-large"
        data, summary = build_small_set(conninfo, args.seed, args.skills, args.users, small_tid)
        log(f"\n{summary}")

        bench_nested(conninfo, data, args)
        ids_small = data.skill_ids
        del data

        page_results, plans = {}, {}
        page_results["small alone"], plans["small alone"] = bench_pages(conninfo, small_tid, len(ids_small))
        sizes = {"small alone": len(ids_small)}
        if args.large_skills > 0:
            t0 = time.perf_counter()
            timings = load_large_set(conninfo, args.seed, args.large_skills, args.users, large_tid)
            timings["VACUUM ANALYZE"] = vacuum_analyze(conninfo)
            counts = check_load(conninfo, large_tid)
            log(
                f"\nlarge set {large_tid}: {counts} - loaded in {time.perf_counter() - t0:.1f} s ("
                + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
                + ")"
            )
            page_results["large"], plans["large"] = bench_pages(conninfo, large_tid, args.large_skills)
            page_results["small beside large"], plans["small beside large"] = bench_pages(
                conninfo, small_tid, len(ids_small)
            )
            sizes["large"] = args.large_skills
            sizes["small beside large"] = len(ids_small)
        print_pages(page_results, sizes, plans)
        if args.large_skills > 0:
            print_ratios(page_results["small alone"], page_results["large"], "small alone")
            print_ratios(page_results["small beside large"], page_results["large"], "small in the same table")
            plans_ok = explain_deep_pages(conninfo, large_tid, args.large_skills)
            verdict = "all OK" if plans_ok else "NOT all OK (see CHECK lines)"
            log(f"\ndeep-page plans at {args.large_skills:,} skills: {verdict}")
    finally:
        server.stop()
    log(f"\ntotal run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
