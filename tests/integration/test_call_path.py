"""The one call path every operation shares, tried as a careless and a hostile caller would.

All run as the application login (only a member of ``skilldb_app``): tenant binding
that cannot be bypassed, fails closed across threads and tasks, loses no write
without an error, works in pipeline mode and whatever the session's DateStyle.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import ConnectionPool

import skilldb
from skilldb import aio, errors
from tests.plugin import APP_LOGIN, Database


def count(admin_conn: psycopg.Connection[Any], table: str, tenant_id: str) -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(sql.Identifier(table))
    row = admin_conn.execute(query, (tenant_id,)).fetchone()
    return int(row[0]) if row else -1


def make_skill(conn: psycopg.Connection[Any], slug: str) -> skilldb.Skill:
    return skilldb.create_skill(conn, author_id=None, name=slug.title(), slug=slug)


# -- 2. binding ---------------------------------------------------------------------------


def test_a_session_level_setting_is_no_binding(
    db: Database, admin_conn: psycopg.Connection[Any], tenant_a: str, tenant_b: str
) -> None:
    """``SET app.current_tenant_id`` (no LOCAL) on a pooled connection must not act as a binding."""
    with ConnectionPool(db.app_url, min_size=1, max_size=1, open=True) as pool:
        with pool.connection() as conn, skilldb.tenant(conn, tenant_b):
            make_skill(conn, "b-secret")
        with pool.connection() as conn:
            conn.execute(sql.SQL("SET app.current_tenant_id = {}").format(sql.Literal(tenant_b)))
            conn.commit()
        with pool.connection() as conn:  # the same session, still carrying B at session level
            assert conn.execute("SELECT current_setting('app.current_tenant_id')").fetchone() == (tenant_b,)
            conn.rollback()
            for call in (skilldb.list_skills, skilldb.get_tenant):
                with pytest.raises(errors.TenantRequired, match=r"skilldb\.tenant"):
                    call(conn)
            with pytest.raises(errors.TenantRequired):
                make_skill(conn, "orphan")
            # inside a block for A, the SET LOCAL binding wins over the session's B
            with skilldb.tenant(conn, tenant_a):
                assert skilldb.list_skills(conn) == []
                tenant = skilldb.get_tenant(conn)
                assert tenant is not None and tenant.id == tenant_a
    assert count(admin_conn, "skills", tenant_a) == 0


def test_a_role_level_setting_is_no_binding(db: Database, admin_conn: psycopg.Connection[Any], tenant_b: str) -> None:
    admin_conn.execute(
        sql.SQL("ALTER ROLE {} IN DATABASE {} SET app.current_tenant_id = {}").format(
            sql.Identifier(APP_LOGIN), sql.Identifier(db.name), sql.Literal(tenant_b)
        )
    )
    try:
        with psycopg.connect(db.app_url) as conn:
            assert conn.execute("SELECT current_setting('app.current_tenant_id')").fetchone() == (tenant_b,)
            conn.rollback()
            with pytest.raises(errors.TenantRequired):
                skilldb.get_tenant(conn)
    finally:
        admin_conn.execute(
            sql.SQL("ALTER ROLE {} IN DATABASE {} RESET app.current_tenant_id").format(
                sql.Identifier(APP_LOGIN), sql.Identifier(db.name)
            )
        )


def test_the_binding_is_a_set_local_statement(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    """Citus propagates SET LOCAL to its workers, never set_config(): the block must send SET LOCAL,
    together with its BEGIN in one simple-protocol query (one round trip)."""
    pid = app_conn.info.backend_pid
    with skilldb.tenant(app_conn, tenant_a):
        row = admin_conn.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        assert row is not None and row[0] == f"BEGIN; SET LOCAL app.current_tenant_id = '{tenant_a}'"
        assert app_conn.execute("SELECT current_setting('app.current_tenant_id')").fetchone() == (tenant_a,)
    assert app_conn.execute("SELECT current_setting('app.current_tenant_id', true)").fetchone() == ("",)


def test_a_quote_in_a_tenant_id_is_quoted_not_executed(app_conn: psycopg.Connection[Any]) -> None:
    tricky = "o'brien; RESET ROLE; --"
    with skilldb.tenant(app_conn, tricky):
        skilldb.create_tenant(app_conn, name="Quoted")
        assert app_conn.execute("SELECT current_setting('app.current_tenant_id'), current_user").fetchone() == (
            tricky,
            APP_LOGIN,
        )


def test_one_connection_shared_by_threads_fails_closed(db: Database, tenant_a: str, tenant_b: str) -> None:
    """Six threads binding A or B on ONE connection: each block either gets in alone and
    sees its own tenant, or is refused; never another block's tenant."""
    outcomes: Counter[str] = Counter()
    wrong: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    with psycopg.connect(db.app_url) as conn:

        def worker(n: int) -> None:
            mine = (tenant_a, tenant_b)[n % 2]
            start.wait()
            for _ in range(150):
                try:
                    with skilldb.tenant(conn, mine):
                        tenant = skilldb.get_tenant(conn)
                        got = tenant.id if tenant else None
                        if got != mine:
                            with lock:
                                wrong.append(f"bound {mine} but got {got}")
                    result = "ok"
                except (errors.TransactionInProgress, errors.TenantRequired) as exc:
                    result = type(exc).__name__
                with lock:
                    outcomes[result] += 1

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert wrong == []
    assert outcomes["ok"] > 0 and outcomes["TransactionInProgress"] > 0, outcomes


def test_an_operation_from_another_thread_cannot_use_the_block(
    app_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    seen: list[BaseException] = []
    with skilldb.tenant(app_conn, tenant_a):

        def intruder() -> None:
            try:
                skilldb.get_tenant(app_conn)
            except BaseException as exc:
                seen.append(exc)

        t = threading.Thread(target=intruder)
        t.start()
        t.join()
        assert skilldb.get_tenant(app_conn) is not None
    assert len(seen) == 1 and isinstance(seen[0], errors.TenantRequired), seen


@pytest.mark.asyncio
async def test_an_async_block_belongs_to_its_task(aapp_conn: psycopg.AsyncConnection[Any], tenant_a: str) -> None:
    async with aio.tenant(aapp_conn, tenant_a):
        with pytest.raises(errors.TenantRequired, match="another thread or task"):
            await asyncio.create_task(aio.get_tenant(aapp_conn))
        with pytest.raises(errors.TransactionInProgress):
            async with aio.tenant(aapp_conn, tenant_a):
                pass
        assert await aio.get_tenant(aapp_conn) is not None


BAD_TENANT_IDS = ["A\n", " A", "A ", "\tA", "A\x00", "A\x1f", "A\u2028", "a\udc80", "", "x" * 129, 5, None, b"A"]


def test_tenant_ids_with_whitespace_or_control_characters_are_refused(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any]
) -> None:
    before = admin_conn.execute("SELECT count(*) FROM tenants").fetchone()
    for bad in BAD_TENANT_IDS:
        with pytest.raises(errors.InvalidInput, match="tenant_id"), skilldb.tenant(app_conn, bad):
            skilldb.create_tenant(app_conn, name="Ghost")
        assert app_conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE, bad
    assert admin_conn.execute("SELECT count(*) FROM tenants").fetchone() == before


def test_the_database_refuses_such_tenant_ids_too(admin_conn: psycopg.Connection[Any]) -> None:
    for bad in ("A\n", " A", "A\u00a0", "\u3000A", "A\u2028", "A\x0b", "x" * 129, ""):
        with pytest.raises(psycopg.errors.CheckViolation, match="key_text_valid"):
            admin_conn.execute("INSERT INTO tenants (id, name) VALUES (%s, 'x')", (bad,))
    for good in ("v", "tenant-v", "nrtfbv", "Ünïcode 租户", "a b"):
        assert admin_conn.execute("SELECT %s::key_text", (good,)).fetchone() == (good,)


def test_a_closed_connection_and_a_wrong_connection_get_clear_errors(db: Database, tenant_a: str) -> None:
    conn = psycopg.connect(db.app_url)
    conn.close()
    with pytest.raises(errors.ConnectionClosed), skilldb.tenant(conn, tenant_a):
        pass
    with pytest.raises(TypeError, match=r"conn must be a psycopg\.Connection"), skilldb.tenant(object(), tenant_a):  # type: ignore[arg-type]
        pass


@pytest.mark.asyncio
async def test_sync_and_async_connections_are_not_mixed(
    app_conn: psycopg.Connection[Any], aapp_conn: psycopg.AsyncConnection[Any], tenant_a: str
) -> None:
    with pytest.raises(TypeError, match=r"conn must be a psycopg.Connection.*skilldb.aio.get_tenant"):
        skilldb.get_tenant(aapp_conn)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"conn must be a psycopg.AsyncConnection.*skilldb.get_tenant"):
        await aio.get_tenant(app_conn)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="AsyncConnection"):
        async with aio.tenant(app_conn, tenant_a):  # type: ignore[arg-type]
            pass


# -- 3. nothing lost without an error -------------------------------------------------------


def test_a_caught_error_makes_the_block_raise_instead_of_silently_losing_writes(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    with pytest.raises(errors.TransactionAborted, match="nothing in the block is committed") as info:
        with skilldb.tenant(app_conn, tenant_a):
            make_skill(app_conn, "first")
            with pytest.raises(errors.AlreadyExists):
                make_skill(app_conn, "first")
            # the next call says so too, instead of a raw InFailedSqlTransaction
            with pytest.raises(errors.TransactionAborted, match="already exists"):
                skilldb.list_skills(app_conn)
    assert "already exists" in str(info.value)
    assert count(admin_conn, "skills", tenant_a) == 0
    with skilldb.tenant(app_conn, tenant_a):  # the connection is usable again
        make_skill(app_conn, "second")
    assert count(admin_conn, "skills", tenant_a) == 1


def test_a_savepoint_keeps_earlier_writes_when_an_error_is_caught(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    """The documented way to catch an error and go on: a nested conn.transaction() (a savepoint)."""
    with skilldb.tenant(app_conn, tenant_a):
        make_skill(app_conn, "kept")
        with pytest.raises(errors.AlreadyExists), app_conn.transaction():
            make_skill(app_conn, "kept")
        make_skill(app_conn, "also-kept")
    slugs = {r[0] for r in admin_conn.execute("SELECT slug FROM skills WHERE tenant_id = %s", (tenant_a,))}
    assert slugs == {"kept", "also-kept"}


def test_a_caught_raw_error_makes_the_block_raise_too(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    with pytest.raises(errors.TransactionAborted), skilldb.tenant(app_conn, tenant_a):
        make_skill(app_conn, "kept-or-not")
        with pytest.raises(psycopg.errors.DivisionByZero):
            app_conn.execute("SELECT 1 / 0")
    assert count(admin_conn, "skills", tenant_a) == 0


@pytest.mark.asyncio
async def test_a_caught_error_makes_the_async_block_raise(
    aapp_conn: psycopg.AsyncConnection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    with pytest.raises(errors.TransactionAborted):
        async with aio.tenant(aapp_conn, tenant_a):
            await aio.create_skill(aapp_conn, author_id=None, name="A", slug="a")
            with pytest.raises(errors.AlreadyExists):
                await aio.create_skill(aapp_conn, author_id=None, name="A", slug="a")
    assert count(admin_conn, "skills", tenant_a) == 0


@pytest.mark.parametrize("command", ["COMMIT", "ROLLBACK"])
def test_a_raw_commit_or_rollback_inside_a_block_is_detected(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str, command: str
) -> None:
    with pytest.raises(errors.TransactionEnded, match="raw COMMIT or ROLLBACK"), skilldb.tenant(app_conn, tenant_a):
        make_skill(app_conn, "before")
        app_conn.execute(command)
        make_skill(app_conn, "after")  # must not run unbound, nor in a new transaction
    with pytest.raises(errors.TransactionEnded), skilldb.tenant(app_conn, tenant_a):
        make_skill(app_conn, "alone")
        app_conn.execute(command)  # and at the block's exit
    slugs = {r[0] for r in admin_conn.execute("SELECT slug FROM skills WHERE tenant_id = %s", (tenant_a,))}
    assert slugs == ({"before", "alone"} if command == "COMMIT" else set())


@pytest.mark.asyncio
async def test_a_raw_commit_inside_an_async_block_is_detected(
    aapp_conn: psycopg.AsyncConnection[Any], tenant_a: str
) -> None:
    with pytest.raises(errors.TransactionEnded):
        async with aio.tenant(aapp_conn, tenant_a):
            await aapp_conn.execute("COMMIT")
            await aio.get_tenant(aapp_conn)


# -- 4. isolation levels and session settings ---------------------------------------------


@pytest.mark.parametrize("level", [psycopg.IsolationLevel.REPEATABLE_READ, psycopg.IsolationLevel.SERIALIZABLE])
def test_concurrent_versions_under_stricter_isolation_give_a_retryable_error(
    db: Database, tenant_a: str, level: psycopg.IsolationLevel
) -> None:
    with psycopg.connect(db.app_url) as conn, skilldb.tenant(conn, tenant_a):
        user = skilldb.create_user(conn, email="iso@example.com")
        skill = make_skill(conn, "iso")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def worker() -> None:
        with psycopg.connect(db.app_url) as conn:
            conn.isolation_level = level
            for _ in range(5):
                barrier.wait()
                try:
                    with skilldb.tenant(conn, tenant_a):
                        skilldb.get_skill(conn, skill.id)  # take the snapshot before the others commit
                        barrier.wait()
                        skilldb.create_skill_version(
                            conn,
                            skill.id,
                            content=b"x",
                            content_url="k",
                            content_type="text/plain",
                            created_by=user.id,
                        )
                    outcomes.append("ok")
                except errors.SerializationFailure as exc:
                    assert exc.retryable and "run the skilldb.tenant block again" in str(exc)
                    outcomes.append("retry")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 20 and "retry" in outcomes and "ok" in outcomes, outcomes
    with psycopg.connect(db.app_url) as conn, skilldb.tenant(conn, tenant_a):
        numbers = [v.version for v in skilldb.list_skill_versions(conn, skill.id)]
    assert numbers == list(range(outcomes.count("ok"), 0, -1))


@pytest.mark.parametrize("datestyle", ["German", "SQL, DMY", "Postgres, MDY"])
def test_reads_do_not_depend_on_the_sessions_datestyle(
    app_conn: psycopg.Connection[Any], tenant_a: str, datestyle: str
) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        skill = make_skill(app_conn, "dated")
    app_conn.execute(sql.SQL("SET DateStyle = {}").format(sql.Literal(datestyle)))
    app_conn.commit()
    with skilldb.tenant(app_conn, tenant_a):
        assert skilldb.get_skill(app_conn, skill.id) == skill
        assert skilldb.list_skills(app_conn) == [skill]
        full = skilldb.get_skill_with_relations(app_conn, skill.id)
        assert full is not None and full.created_at == skill.created_at
        tenant = skilldb.get_tenant(app_conn)
        assert tenant is not None and tenant.created_at.tzinfo is not None


# -- 6. pipeline mode -----------------------------------------------------------------------


def test_operations_inside_a_pipeline_return_what_they_return_outside(
    app_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        skill = make_skill(app_conn, "outside")
        expected = (skilldb.get_tenant(app_conn), skilldb.get_skill(app_conn, skill.id), skilldb.list_skills(app_conn))
    with app_conn.pipeline(), skilldb.tenant(app_conn, tenant_a):
        got = (skilldb.get_tenant(app_conn), skilldb.get_skill(app_conn, skill.id), skilldb.list_skills(app_conn))
        assert got == expected and got[0] is not None
        assert make_skill(app_conn, "inside").slug == "inside"
    with pytest.raises(errors.TransactionAborted), app_conn.pipeline(), skilldb.tenant(app_conn, tenant_a):
        make_skill(app_conn, "lost")
        with pytest.raises(errors.AlreadyExists):
            make_skill(app_conn, "inside")
    with skilldb.tenant(app_conn, tenant_a):
        assert sorted(s.slug for s in skilldb.list_skills(app_conn)) == ["inside", "outside"]


@pytest.mark.asyncio
async def test_async_operations_inside_a_pipeline(aapp_conn: psycopg.AsyncConnection[Any], tenant_a: str) -> None:
    async with aapp_conn.pipeline(), aio.tenant(aapp_conn, tenant_a):
        skill = await aio.create_skill(aapp_conn, author_id=None, name="P", slug="p")
        assert await aio.get_skill(aapp_conn, skill.id) == skill
        assert await aio.list_skills(aapp_conn) == [skill]


def test_a_new_tenant_per_thread_on_separate_connections_never_mixes(db: Database) -> None:
    """The ordinary way: one connection per thread; each sees only what it wrote."""
    errors_seen: list[str] = []

    def worker() -> None:
        tenant_id = str(uuid.uuid4())
        with psycopg.connect(db.app_url) as conn:
            with skilldb.tenant(conn, tenant_id):
                skilldb.create_tenant(conn, name=tenant_id)
            for i in range(10):
                with skilldb.tenant(conn, tenant_id):
                    make_skill(conn, f"s-{i}")
                    if {s.tenant_id for s in skilldb.list_skills(conn)} != {tenant_id}:
                        errors_seen.append(tenant_id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors_seen == []


@pytest.mark.parametrize("autocommit", [False, True])
def test_the_block_keeps_the_connections_settings(
    app_conn: psycopg.Connection[Any], tenant_a: str, autocommit: bool
) -> None:
    """The block opens its own BEGIN (with the connection's isolation level and access mode)
    in the same round trip as the binding, and leaves autocommit as it found it."""
    app_conn.autocommit = autocommit
    app_conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
    app_conn.read_only = True
    with skilldb.tenant(app_conn, tenant_a):
        settings = app_conn.execute(
            "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')"
        ).fetchone()
        assert settings == ("serializable", "on")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), app_conn.transaction():
            app_conn.execute("INSERT INTO users (email) VALUES ('ro@example.com')")
    assert app_conn.autocommit is autocommit
    assert app_conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with pytest.raises(ZeroDivisionError), skilldb.tenant(app_conn, tenant_a):
        1 / 0
    assert app_conn.autocommit is autocommit
    assert app_conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
