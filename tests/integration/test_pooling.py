"""Tenant isolation under connection pooling: a psycopg pool, and a real PgBouncer in transaction mode.

``skilldb.tenant`` binds the tenant with ``SET LOCAL``, so the binding lives exactly as
long as the block's transaction. A storm of requests from 8 threads for 4 tenants at
once, some of them failing on purpose (a Python exception, a failing statement that
propagates, a failing statement caught inside the block), runs through

* a ``psycopg_pool.ConnectionPool`` of 4 connections as the application login, so each
  server session serves every tenant in turn;
* a PgBouncer in transaction pooling mode with 2 server connections for 8 clients,
  so consecutive transactions of one client run on different server sessions and one
  server session serves many clients: a binding that outlived its transaction, or was
  made outside it, would show up here as another tenant's rows.

Every request checks, with a raw ``SELECT`` that only row-level security filters and
with the public operations, that it sees its own tenant's rows and nothing else;
afterwards the superuser checks that exactly the successful requests' rows were
committed. PgBouncer before 1.21 (or with ``max_prepared_statements = 0``) does not
support protocol-level prepared statements, which skilldb uses by default: a test
shows how that fails, and that ``prepare_threshold=None`` avoids it.

PgBouncer comes from the system (see ``tests/pgbouncer.py``): its tests are skipped
when it is missing, unless ``SKILLDB_REQUIRE_PGBOUNCER=1``.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

import skilldb
from skilldb import errors
from tests import pgbouncer as pgb
from tests.plugin import APP_LOGIN, APP_PASSWORD, Database, Server

THREADS = 8
TENANTS = 4
SEED_SKILLS = 3
#: What a request does: read, write and commit, or write and then fail in one of three ways.
KINDS = ("read", "commit", "python_error", "sql_error", "caught_sql_error")

#: Only row-level security filters this: the tenant the transaction is bound to, the
#: server session running it, and every tenant id visible in three tenant tables.
PROBE = """
SELECT current_setting('app.current_tenant_id'), pg_backend_pid(),
       ARRAY(SELECT tenant_id FROM skills UNION SELECT tenant_id FROM users UNION SELECT id FROM tenants)::text[]
"""


class Boom(Exception):
    """The Python error a request raises inside its block on purpose."""


@dataclass(frozen=True)
class TenantData:
    """A tenant of the storm: its id, the marker its slugs and emails carry, its seed rows."""

    id: str
    marker: str
    user_id: str
    skill_ids: tuple[str, ...]
    slugs: frozenset[str]
    emails: frozenset[str]


@dataclass
class Seen:
    """What a storm did and saw."""

    #: server backend pid -> tenants whose transactions it ran
    tenants_by_server: defaultdict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: server backend pid -> client connections (``id()``) whose transactions it ran
    clients_by_server: defaultdict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    #: (tenant id, kind) -> requests completed as expected
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: tenant id -> slugs and emails of requests that committed
    committed: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: tenant id -> slugs and emails of requests that failed, so must not exist
    rolled_back: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def merge(self, other: Seen) -> None:
        """Add ``other`` (one thread's observations) to this."""
        for pid, tenants in other.tenants_by_server.items():
            self.tenants_by_server[pid] |= tenants
        for pid, clients in other.clients_by_server.items():
            self.clients_by_server[pid] |= clients
        self.outcomes.update(other.outcomes)
        for key, values in other.committed.items():
            self.committed[key] |= values
        for key, values in other.rolled_back.items():
            self.rolled_back[key] |= values


def make_tenants(conn: psycopg.Connection[Any], count: int = TENANTS) -> list[TenantData]:
    """``count`` tenants, each with a user and ``SEED_SKILLS`` skills, created through the package."""
    tenants = []
    for n in range(count):
        tenant_id, marker = str(uuid.uuid4()), f"t{n}"
        with skilldb.tenant(conn, tenant_id):
            skilldb.create_tenant(conn, name=f"Tenant {marker}")
            user = skilldb.create_user(conn, email=f"seed@{marker}.test", name=f"Seed {marker}")
            skills = [
                skilldb.create_skill(conn, author_id=user.id, name=f"Seed {j}", slug=f"{marker}-seed-{j}")
                for j in range(SEED_SKILLS)
            ]
        tenants.append(
            TenantData(
                id=tenant_id,
                marker=marker,
                user_id=user.id,
                skill_ids=tuple(s.id for s in skills),
                slugs=frozenset(s.slug for s in skills),
                emails=frozenset({user.email}),
            )
        )
    return tenants


@pytest.fixture
def tenants(db: Database) -> list[TenantData]:
    """The storm's tenants, written as the application login over a direct connection."""
    with psycopg.connect(db.app_url) as conn:
        return make_tenants(conn)


def write(conn: psycopg.Connection[Any], me: TenantData, tag: str) -> tuple[str, str]:
    """Create a user and a skill of that user; return the skill's slug and the user's email."""
    user = skilldb.create_user(conn, email=f"{tag}@{me.marker}.test")
    skill = skilldb.create_skill(conn, author_id=user.id, name=f"Skill {tag}", slug=f"{me.marker}-{tag}")
    assert skill.tenant_id == me.id and user.tenant_id == me.id
    return skill.slug, user.email


def request(conn: psycopg.Connection[Any], me: TenantData, other: TenantData, kind: str, tag: str, seen: Seen) -> None:
    """One request of the storm for tenant ``me``, checking it sees ``me``'s rows only."""
    written: tuple[str, str] = ("", "")

    def probe() -> None:
        row = conn.execute(PROBE).fetchone()
        assert row is not None
        setting, pid, owners = row
        assert setting == me.id, f"transaction of {me.marker} bound to {setting!r}"
        assert owners == [me.id], f"{me.marker} sees rows of {owners}"
        seen.tenants_by_server[pid].add(me.id)
        seen.clients_by_server[pid].add(id(conn))

    if kind == "read":
        with skilldb.tenant(conn, me.id):
            probe()
            skills = skilldb.list_skills(conn, limit=1000)
            assert {s.tenant_id for s in skills} == {me.id}
            assert all(s.slug.startswith(f"{me.marker}-") for s in skills)
            assert set(me.skill_ids) <= {s.id for s in skills}
            own = skilldb.get_skill(conn, me.skill_ids[0])
            assert own is not None and own.tenant_id == me.id
            assert skilldb.get_skill(conn, other.skill_ids[0]) is None
            assert skilldb.get_skill_by_slug(conn, min(other.slugs)) is None
            assert skilldb.get_user(conn, other.user_id) is None
    elif kind == "commit":
        with skilldb.tenant(conn, me.id):
            probe()
            written = write(conn, me, tag)
        seen.committed[me.id].update(written)
    elif kind == "python_error":
        with pytest.raises(Boom), skilldb.tenant(conn, me.id):
            probe()
            written = write(conn, me, tag)
            raise Boom(tag)
    elif kind == "sql_error":
        # a unique violation, translated by skilldb, propagates out of the block
        with pytest.raises(errors.AlreadyExists), skilldb.tenant(conn, me.id):
            probe()
            written = write(conn, me, tag)
            skilldb.create_skill(conn, author_id=None, name="Duplicate", slug=min(me.slugs))
    elif kind == "caught_sql_error":
        # the failure is caught inside the block: PostgreSQL aborted the transaction anyway
        with pytest.raises(errors.TransactionAborted), skilldb.tenant(conn, me.id):
            probe()
            written = write(conn, me, tag)
            with pytest.raises(psycopg.errors.DivisionByZero):
                conn.execute("SELECT 1 / 0")
    else:  # pragma: no cover - KINDS lists them all
        raise AssertionError(kind)
    if kind not in ("read", "commit"):
        seen.rolled_back[me.id].update(written)
    seen.outcomes[me.id, kind] += 1


def storm(pool: ConnectionPool[Any], tenants: list[TenantData], per_thread: int) -> Seen:
    """``THREADS`` threads run ``per_thread`` requests each, cycling over tenants and kinds.

    Thread ``w``'s request ``k`` is for tenant ``(w + k) % TENANTS`` and of kind
    ``KINDS[k % 5]``, so the threads serve all tenants at once, and every tenant gets
    every kind of request.
    """
    barrier = threading.Barrier(THREADS)

    def worker(w: int) -> Seen:
        seen = Seen()
        barrier.wait(timeout=30)
        for k in range(per_thread):
            me = tenants[(w + k) % len(tenants)]
            other = tenants[(w + k + 1 + k % (len(tenants) - 1)) % len(tenants)]
            with pool.connection() as conn:
                request(conn, me, other, KINDS[k % len(KINDS)], f"w{w}-k{k}", seen)
        return seen

    total = Seen()
    with ThreadPoolExecutor(THREADS) as executor:
        for future in [executor.submit(worker, w) for w in range(THREADS)]:
            total.merge(future.result())
    return total


def check_storm(admin_conn: psycopg.Connection[Any], tenants: list[TenantData], seen: Seen, per_thread: int) -> None:
    """Every request completed as expected, and exactly the committed requests' rows exist, in their tenant."""
    assert seen.outcomes.total() == THREADS * per_thread
    assert set(seen.outcomes) == {(t.id, kind) for t in tenants for kind in KINDS}
    for t in tenants:
        assert seen.rolled_back[t.id], "no failing request wrote anything: the check below would prove nothing"
        slugs = {r[0] for r in admin_conn.execute("SELECT slug FROM skills WHERE tenant_id = %s", (t.id,))}
        emails = {r[0] for r in admin_conn.execute("SELECT email FROM users WHERE tenant_id = %s", (t.id,))}
        assert not (slugs | emails) & seen.rolled_back[t.id], "rows of failed requests were committed"
        assert slugs | emails == t.slugs | t.emails | seen.committed[t.id]
    # no row landed in another tenant than the one its request was bound to
    markers = {t.marker: t.id for t in tenants}
    rows = admin_conn.execute(
        "SELECT tenant_id, split_part(slug, '-', 1) FROM skills "
        "UNION ALL SELECT tenant_id, split_part(split_part(email, '@', 2), '.', 1) FROM users"
    ).fetchall()
    assert rows and all(markers[marker] == tenant_id for tenant_id, marker in rows)


def test_pool_storm_keeps_tenants_apart(db: Database, tenants: list[TenantData]) -> None:
    """8 threads, 4 tenants, 1200 requests over a pool of 4 connections: each sees only its own tenant."""
    per_thread = 150
    with ConnectionPool(db.app_url, min_size=4, max_size=4, open=True) as pool:
        pool.wait()
        seen = storm(pool, tenants, per_thread)
    # every pooled session ran transactions of several tenants, one after another
    assert len(seen.tenants_by_server) <= 4
    assert max(len(t) for t in seen.tenants_by_server.values()) == TENANTS
    with psycopg.connect(db.admin_url, autocommit=True) as admin:
        check_storm(admin, tenants, seen, per_thread)


# --- through PgBouncer -------------------------------------------------------------------


@pytest.fixture(scope="module")
def pgbouncer(pg_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[pgb.PgBouncer]:
    """A PgBouncer in transaction mode in front of the test server: 2 server connections per database."""
    try:
        binary = pgb.find_binary()
    except pgb.PgBouncerError as exc:
        pytest.fail(str(exc))
    if binary is None:
        if pgb.required():
            pytest.fail(f"{pgb.REQUIRE_ENV} is set, but: {pgb.INSTALL_HINT}")
        pytest.skip(pgb.INSTALL_HINT)
    bouncer = pgb.start_pgbouncer(
        binary,
        tmp_path_factory.mktemp("pgbouncer"),
        server_host=pg_server.host,
        server_port=pg_server.port,
        users={APP_LOGIN: APP_PASSWORD},
        stats_user=APP_LOGIN,
        pool_size=2,
    )
    try:
        yield bouncer
    finally:
        bouncer.stop()


def via(bouncer: pgb.PgBouncer, db: Database) -> str:
    """Connection string of the application login to ``db`` through PgBouncer."""
    return bouncer.conninfo(db.name, APP_LOGIN, APP_PASSWORD)


def backend_pid(conn: psycopg.Connection[Any]) -> int:
    """The server session running ``conn``'s current transaction (``conn.info.backend_pid`` is PgBouncer's)."""
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def test_prepared_statements_fail_behind_transaction_pooling(
    pgbouncer: pgb.PgBouncer, db: Database, tenants: list[TenantData]
) -> None:
    """With psycopg's defaults, skilldb prepares its named queries; PgBouncer then mixes them up.

    A prepared statement belongs to the server session, while PgBouncer hands each
    transaction to whichever server session is free: another client's transaction
    finds the statement's name taken there, and the preparing client's next
    transaction, on another session, finds it missing. skilldb does not translate
    these errors. (A name may also stand for another client's statement on a session:
    psycopg names them ``_pg3_0``, ``_pg3_1``, ... per connection.)
    """
    me = tenants[0].id
    with psycopg.connect(via(pgbouncer, db)) as c1, psycopg.connect(via(pgbouncer, db)) as c2:
        assert c1.prepare_threshold is not None  # psycopg's default

        # c1's first list_skills is prepared at once, on the only server session yet
        with skilldb.tenant(c1, me):
            first = backend_pid(c1)
            assert sorted(s.id for s in skilldb.list_skills(c1)) == sorted(tenants[0].skill_ids)
            row = c1.execute("SELECT array_agg(name) FROM pg_prepared_statements").fetchone()
            assert row is not None and row[0] is not None and len(row[0]) == 1, row
            name = re.escape(row[0][0])  # "_pg3_0"

        # c2 runs on that same session and prepares its first statement under the same name
        with (
            pytest.raises(
                psycopg.errors.DuplicatePreparedStatement, match=f'^prepared statement "{name}" already exists$'
            ),
            skilldb.tenant(c2, me),
        ):
            assert backend_pid(c2) == first
            skilldb.list_skills(c2)

        # while c2 holds that session, c1's transaction runs on a second one, without the statement
        with c2.transaction():
            assert backend_pid(c2) == first
            with (
                pytest.raises(
                    psycopg.errors.InvalidSqlStatementName, match=f'^prepared statement "{name}" does not exist$'
                ),
                skilldb.tenant(c1, me),
            ):
                assert backend_pid(c1) != first
                skilldb.list_skills(c1)


def test_without_prepared_statements_transactions_move_between_server_sessions(
    pgbouncer: pgb.PgBouncer, db: Database, tenants: list[TenantData]
) -> None:
    """The same sequence with ``prepare_threshold=None`` works, and each transaction carries its own binding."""
    me, them = tenants[0], tenants[1]
    url = via(pgbouncer, db)
    with (
        psycopg.connect(url, prepare_threshold=None) as c1,
        psycopg.connect(url, prepare_threshold=None) as c2,
    ):
        with skilldb.tenant(c1, me.id):
            first = backend_pid(c1)
            assert sorted(s.id for s in skilldb.list_skills(c1)) == sorted(me.skill_ids)
            assert c1.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)

        with skilldb.tenant(c2, them.id):  # the same server session, another tenant
            assert backend_pid(c2) == first
            assert sorted(s.id for s in skilldb.list_skills(c2)) == sorted(them.skill_ids)

        with c2.transaction():
            assert backend_pid(c2) == first
            with skilldb.tenant(c1, me.id):  # another server session: the binding came along
                assert backend_pid(c1) != first
                assert sorted(s.id for s in skilldb.list_skills(c1)) == sorted(me.skill_ids)

        # outside a block, c1's next transaction sees no tenant, whichever session runs it
        assert c1.execute("SELECT count(*) FROM skills").fetchone() == (0,)
        c1.rollback()


def test_one_operation_blocks_run_through_pgbouncer(
    pgbouncer: pgb.PgBouncer, db: Database, tenants: list[TenantData]
) -> None:
    """``tenant(...).run`` sends BEGIN, the binding, the statement and COMMIT in one pipeline:
    through PgBouncer (no prepared statements) each such transaction gets a server session of
    its own with its binding, and a failed write leaves nothing behind."""
    me, them = tenants[0], tenants[1]
    url = via(pgbouncer, db)
    with (
        psycopg.connect(url, prepare_threshold=None) as c1,
        psycopg.connect(url, prepare_threshold=None) as c2,
        psycopg.connect(db.admin_url) as admin,
    ):
        with c2.transaction():  # c2 holds one server session: c1's blocks run on the other
            held = backend_pid(c2)
            for _ in range(3):
                mine = skilldb.tenant(c1, me.id).run(skilldb.list_skills)
                assert {s.tenant_id for s in mine} == {me.id} and {s.id for s in mine} >= set(me.skill_ids)
                made = skilldb.tenant(c1, me.id).run(
                    skilldb.create_skill, author_id=None, name="Bounced", slug=f"{me.marker}-bounced-{_}"
                )
                assert made.tenant_id == me.id
            with pytest.raises(errors.AlreadyExists):
                skilldb.tenant(c1, me.id).run(skilldb.create_skill, author_id=None, name="Again", slug=made.slug)
            assert backend_pid(c2) == held
        theirs = skilldb.tenant(c2, them.id).run(skilldb.list_skills)
        assert sorted(s.id for s in theirs) == sorted(them.skill_ids)
        rows = admin.execute(
            "SELECT tenant_id, count(*) FROM skills WHERE slug LIKE %s GROUP BY 1", (f"{me.marker}-bounced-%",)
        )
        assert rows.fetchall() == [(me.id, 3)]


def test_pgbouncer_storm_keeps_tenants_apart(pgbouncer: pgb.PgBouncer, db: Database, tenants: list[TenantData]) -> None:
    """8 client connections share 2 server sessions through PgBouncer: 800 requests, no row crosses tenants."""
    per_thread = 100
    with ConnectionPool(
        via(pgbouncer, db), min_size=THREADS, max_size=THREADS, kwargs={"prepare_threshold": None}, open=True
    ) as pool:
        pool.wait()
        seen = storm(pool, tenants, per_thread)
        with psycopg.connect(pgbouncer.conninfo("pgbouncer", APP_LOGIN, APP_PASSWORD), autocommit=True) as console:
            servers = console.cursor(row_factory=dict_row).execute("SHOW SERVERS").fetchall()
    # PgBouncer really multiplexed: at most 2 server sessions ran everything, each for
    # several clients and tenants (8 clients on 2 sessions: one served 4 clients at least)
    sessions = {s["remote_pid"] for s in servers if s["database"] == db.name}
    assert set(seen.clients_by_server) <= sessions
    assert len(sessions) <= pgbouncer.pool_size
    assert len(set().union(*seen.clients_by_server.values())) == THREADS
    assert max(len(c) for c in seen.clients_by_server.values()) >= THREADS // pgbouncer.pool_size
    assert max(len(t) for t in seen.tenants_by_server.values()) == TENANTS
    with psycopg.connect(db.admin_url, autocommit=True) as admin:
        check_storm(admin, tenants, seen, per_thread)
