"""``skilldb.tenant(conn, t).run(operation, ...)``: one operation as the whole block.

It must be the block form (``with skilldb.tenant(conn, t): return operation(conn, ...)``)
in fewer round trips: the same results, the same binding, nothing committed when it
raises. Round trips are counted from libpq's protocol trace: every ``Sync`` or simple
``Query`` the client sends is one wait for the server. All run as the application login
(only a member of ``skilldb_app``).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import pq

import skilldb
from skilldb import _sql, aio, errors
from skilldb import workshops as ws
from tests.plugin import Database


@contextmanager
def protocol(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any], path: Path) -> Iterator[list[str]]:
    """The frontend messages ``conn`` sends inside (``"Sync"``, ``"Query BEGIN..."``, ...)."""
    sent: list[str] = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    conn.pgconn.trace(fd)
    conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
    try:
        yield sent
    finally:
        conn.pgconn.untrace()
        os.close(fd)
        for line in path.read_text().splitlines():
            fields = line.split("\t")
            if fields[0] == "F" and len(fields) > 2:
                sent.append(" ".join(" ".join(fields[2:]).split()))


def waits(sent: Sequence[str]) -> int:
    """Round trips: messages after which the client waits for the server."""
    return sum(1 for message in sent if message == "Sync" or message.startswith("Query "))


def make_skill(conn: psycopg.Connection[Any], tenant: str, slug: str) -> skilldb.Skill:
    return skilldb.tenant(conn, tenant).run(skilldb.create_skill, author_id=None, name=slug.title(), slug=slug)


def skill_count(admin_conn: psycopg.Connection[Any], tenant: str) -> int:
    row = admin_conn.execute("SELECT count(*) FROM skills WHERE tenant_id = %s", (tenant,)).fetchone()
    return int(row[0]) if row else -1


def test_run_returns_what_the_block_returns(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    skill = make_skill(app_conn, tenant_a, "first")
    with skilldb.tenant(app_conn, tenant_a):
        author = skilldb.create_user(app_conn, email="ann@example.com", name="Ann")
        skilldb.create_skill_version(
            app_conn, skill.id, content=b"# v1", content_url="https://example.com/1", content_type="text/markdown",
            created_by=author.id,
        )  # fmt: skip
        expected = (
            skilldb.get_skill_with_relations(app_conn, skill.id),
            skilldb.list_skills_with_relations(app_conn, limit=10),
            skilldb.get_tenant(app_conn),
        )
    run = skilldb.tenant(app_conn, tenant_a).run
    got = (
        run(skilldb.get_skill_with_relations, skill.id),
        run(skilldb.list_skills_with_relations, limit=10),
        run(skilldb.get_tenant),
    )
    assert got == expected
    assert got[0] is not None and got[0].versions[0].version == 1
    assert run(skilldb.get_skill, "no-such-skill") is None


def test_a_read_is_one_round_trip_in_a_read_only_transaction_and_a_write_two(
    app_conn: psycopg.Connection[Any], tenant_a: str, tmp_path: Path
) -> None:
    skill = make_skill(app_conn, tenant_a, "traced")
    block = skilldb.tenant(app_conn, tenant_a)
    block.run(skilldb.get_skill_with_relations, skill.id)  # prepared on this first call

    with protocol(app_conn, tmp_path / "read") as read:
        assert block.run(skilldb.get_skill_with_relations, skill.id) is not None
    assert waits(read) == 1, read
    assert [m for m in read if m.startswith("Parse")][:1] == ['Parse "" "BEGIN READ ONLY" 0'], read
    assert any(m.startswith(f'Parse "" "SET LOCAL app.current_tenant_id = \'{tenant_a}\'"') for m in read), read
    assert any(m.startswith('Parse "" "COMMIT"') for m in read), read

    with protocol(app_conn, tmp_path / "write") as write:
        block.run(skilldb.create_skill, author_id=None, name="Second", slug="second")
    assert waits(write) == 2, write
    assert [m for m in write if m.startswith("Parse")][:1] == ['Parse "" "BEGIN" 0'], write

    with protocol(app_conn, tmp_path / "block") as whole:
        with skilldb.tenant(app_conn, tenant_a):
            skilldb.get_skill_with_relations(app_conn, skill.id)
    assert waits(whole) == 3, whole  # the block form, for comparison: opening, statement, COMMIT
    assert app_conn.info.transaction_status == pq.TransactionStatus.IDLE


def test_a_failed_statement_commits_nothing_and_leaves_the_connection_as_it_was(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    make_skill(app_conn, tenant_a, "taken")
    assert app_conn.autocommit is False
    with pytest.raises(errors.AlreadyExists):
        make_skill(app_conn, tenant_a, "taken")
    assert app_conn.info.transaction_status == pq.TransactionStatus.IDLE
    assert app_conn.autocommit is False
    with pytest.raises(errors.TenantRequired):
        skilldb.get_tenant(app_conn)  # the binding is gone with the block
    assert skill_count(admin_conn, tenant_a) == 1
    assert make_skill(app_conn, tenant_a, "free").slug == "free"  # and the connection serves the next one


def test_a_result_that_raises_after_a_write_commits_nothing(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The COMMIT of a statement that may write goes only once its result is shaped."""
    face = _sql.FACES[skilldb.create_skill]

    def refuse(rows: Sequence[Any], rowcount: int) -> Any:
        assert rowcount == 1  # the row was inserted
        raise errors.InvalidInput("refused after the insert")

    def prepare(args: tuple[Any, ...], kwargs: dict[str, Any]) -> _sql.Call[Any, Any]:
        return dataclasses.replace(face.prepare(args, kwargs), finish=refuse)

    monkeypatch.setitem(_sql.FACES, skilldb.create_skill, dataclasses.replace(face, prepare=prepare))
    with pytest.raises(errors.InvalidInput, match="refused after the insert"):
        make_skill(app_conn, tenant_a, "refused")
    assert app_conn.info.transaction_status == pq.TransactionStatus.IDLE
    assert skill_count(admin_conn, tenant_a) == 0


def test_a_statement_taken_for_a_read_cannot_write(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read runs in a READ ONLY transaction: a write mistaken for one fails, and writes nothing."""
    monkeypatch.setattr(_sql, "reads_only", lambda call: True)
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        make_skill(app_conn, tenant_a, "sneaky")
    assert app_conn.info.transaction_status == pq.TransactionStatus.IDLE
    assert skill_count(admin_conn, tenant_a) == 0


def test_the_statements_taken_for_reads() -> None:
    """What ``run`` sends in one round trip: SELECTs calling only PostgreSQL's own reading
    functions; never one that locks rows, writes in a WITH, or calls a function of the schema."""

    def reads(name: str) -> bool:
        return _sql._reads_only(_sql.sql_of(name))

    for name in ("get_skill_with_relations", "list_skills_with_relations_by_created_at", "get_tenant",
                 "count_unread_messages_for_user", "workshops.get_workshop_with_relations"):  # fmt: skip
        assert reads(name), name
    for name in ("increment_skill_uses", "update_skill_rating", "recompute_skill_metrics",  # SELECT fn()
                 "mark_message_read", "start_prompt_import",  # FOR UPDATE
                 "publish_version", "record_usage_events",  # WITH ... UPDATE / INSERT
                 "workshops.create_workshop", "create_skill", "delete_rating"):  # fmt: skip
        assert not reads(name), name
    assert not _sql._reads_only("SELECT (")  # what does not parse is taken as a write
    assert not _sql._reads_only("SELECT * INTO copied FROM skills")  # creates a table


def test_any_other_callable_runs_in_the_block(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    def setting(conn: psycopg.Connection[Any], suffix: str) -> str:
        row = conn.execute("SELECT current_setting('app.current_tenant_id')").fetchone()
        assert row is not None
        skilldb.create_skill(conn, author_id=None, name="Via callable", slug="via-callable")
        return str(row[0]) + suffix

    assert skilldb.tenant(app_conn, tenant_a).run(setting, "!") == tenant_a + "!"

    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self, conn: psycopg.Connection[Any]) -> str | None:
            tenant = skilldb.get_tenant(conn)
            return tenant.id if tenant else None

    assert skilldb.tenant(app_conn, tenant_a).run(Unhashable()) == tenant_a
    assert skilldb.tenant(app_conn, tenant_a).run(skilldb.get_skill_by_slug, "via-callable") is not None


def test_wrong_faces_and_bad_input_send_nothing(
    app_conn: psycopg.Connection[Any], tenant_a: str, tmp_path: Path
) -> None:
    block = skilldb.tenant(app_conn, tenant_a)
    with protocol(app_conn, tmp_path / "trace") as sent:
        with pytest.raises(TypeError, match=r"skilldb\.aio\.get_tenant is async; pass skilldb\.get_tenant"):
            block.run(aio.get_tenant)  # type: ignore[arg-type]
        with pytest.raises(errors.InvalidType):
            block.run(skilldb.get_skill, 123)  # type: ignore[arg-type]
        with pytest.raises(errors.InvalidInput):
            skilldb.tenant(app_conn, " padded ").run(skilldb.get_tenant)
        with pytest.raises(errors.InvalidInput, match="tenant_id"):  # the block's check comes first
            skilldb.tenant(app_conn, " padded ").run(skilldb.get_skill, 123)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"conn must be a psycopg\.Connection"):
            skilldb.tenant(None, tenant_a).run(skilldb.get_tenant)  # type: ignore[arg-type]
    assert sent == []
    assert app_conn.info.transaction_status == pq.TransactionStatus.IDLE

    async def not_an_operation(conn: Any) -> None:
        await conn.execute("SELECT 1")

    with protocol(app_conn, tmp_path / "async") as sent:
        with pytest.raises(TypeError, match=r"is async; use skilldb\.aio"):
            block.run(not_an_operation)
    assert sent[0].startswith('Query "BEGIN; SET LOCAL') and 'Query "ROLLBACK"' in sent, sent
    assert all(m.startswith("Query") for m in sent), sent  # the coroutine never ran
    with pytest.raises(errors.TenantRequired):
        skilldb.get_tenant(app_conn)  # nothing stayed bound


def test_a_rollback_raised_on_purpose_is_swallowed_as_by_the_with_form(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    def try_out(conn: psycopg.Connection[Any]) -> str:
        skilldb.create_skill(conn, author_id=None, name="Trial", slug="trial")
        raise psycopg.Rollback()

    assert skilldb.tenant(app_conn, tenant_a).run(try_out) is None
    assert skill_count(admin_conn, tenant_a) == 0
    assert app_conn.info.transaction_status == pq.TransactionStatus.IDLE


def test_a_read_on_a_serializable_deferrable_connection_does_not_wait_for_a_safe_snapshot(
    db: Database, tenant_a: str, tmp_path: Path
) -> None:
    """DEFERRABLE does nothing in the with form's read-write transaction; .run's READ ONLY
    read leaves it out rather than wait."""
    with psycopg.connect(db.app_url) as conn:
        conn.isolation_level, conn.deferrable = psycopg.IsolationLevel.SERIALIZABLE, True
        with protocol(conn, tmp_path / "trace") as sent:
            tenant = skilldb.tenant(conn, tenant_a).run(skilldb.get_tenant)
        assert tenant is not None and tenant.id == tenant_a
        assert sent[0] == 'Parse "" "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY" 0', sent
        conn.read_only = True  # a read-only connection keeps all it asked for
        with protocol(conn, tmp_path / "trace2") as sent:
            skilldb.tenant(conn, tenant_a).run(skilldb.get_tenant)
        assert sent[0] == 'Parse "" "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE" 0', sent


def test_an_operation_of_another_kind_of_block_is_refused(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    with pytest.raises(errors.TenantRequired):
        ws.acting_as(app_conn, "alice").run(skilldb.get_tenant)
    with pytest.raises(errors.PersonRequired):
        skilldb.tenant(app_conn, tenant_a).run(ws.list_workshops_for_user)
    assert app_conn.info.transaction_status == pq.TransactionStatus.IDLE


def test_a_workshop_read_with_its_own_setting_runs_as_one_round_trip(
    app_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    """``acting_as(...).run``: the workshops' block; a read whose call binds a setting of
    its own first (the share token) sends it in the same pipeline."""
    alice, bob = ws.acting_as(app_conn, "alice"), ws.acting_as(app_conn, "bob")
    w = alice.run(ws.create_workshop, title="Onboarding", original_idea="Fewer drop-offs")
    shared = alice.run(ws.set_visibility, w.id, "shared")
    assert shared.share_token is not None
    with ws.acting_as(app_conn, "bob"):
        expected = ws.get_workshop_by_share_token(app_conn, shared.share_token)
    assert expected is not None and expected.id == w.id
    assert bob.run(ws.get_workshop_by_share_token, shared.share_token) == expected
    with protocol(app_conn, tmp_path / "trace") as sent:
        assert bob.run(ws.get_workshop_by_share_token, shared.share_token) == expected
    assert waits(sent) == 1, sent
    assert any(m.startswith('Parse "" "SET LOCAL app.share_token') for m in sent), sent
    assert bob.run(ws.get_workshop, w.id) is None  # bob is no member: the token was this transaction's only


def test_inside_the_callers_pipeline_the_block_form_runs(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    skill = make_skill(app_conn, tenant_a, "piped")
    with app_conn.pipeline():
        got = skilldb.tenant(app_conn, tenant_a).run(skilldb.get_skill, skill.id)
    assert got == skill


def test_threads_sharing_one_connection_never_get_another_tenants_row(
    db: Database, tenant_a: str, tenant_b: str
) -> None:
    """Four threads run A's or B's reads and writes on ONE connection: each call gets in
    alone and sees its own tenant, or is refused; it never sees another call's tenant."""
    outcomes: Counter[str] = Counter()
    wrong: list[str] = []
    start = threading.Barrier(4)
    with psycopg.connect(db.app_url) as conn:

        def worker(n: int) -> None:
            mine = (tenant_a, tenant_b)[n % 2]
            start.wait()
            for k in range(60):
                try:
                    if k % 3:
                        got = skilldb.tenant(conn, mine).run(skilldb.get_tenant)
                        if got is None or got.id != mine:
                            wrong.append(f"bound {mine} but got {got}")
                    else:
                        made = skilldb.tenant(conn, mine).run(
                            skilldb.create_skill, author_id=None, name="T", slug=f"t{n}-{k}"
                        )
                        if made.tenant_id != mine:
                            wrong.append(f"bound {mine} but wrote {made}")
                    outcomes["ok"] += 1
                except errors.TransactionInProgress:
                    outcomes["refused"] += 1

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE
    assert wrong == []
    assert outcomes["ok"] > 0 and outcomes.total() == 240
    with psycopg.connect(db.admin_url) as admin:
        for n, tenant in ((0, tenant_a), (1, tenant_b)):
            rows = admin.execute("SELECT DISTINCT tenant_id FROM skills WHERE slug LIKE %s", (f"t{n}-%",)).fetchall()
            assert rows in ([], [(tenant,)])


@pytest.mark.asyncio
async def test_aio_run_matches_the_block_and_is_one_round_trip(
    aapp_conn: psycopg.AsyncConnection[Any], app_conn: psycopg.Connection[Any], tenant_a: str, tmp_path: Path
) -> None:
    skill = make_skill(app_conn, tenant_a, "async")
    async with aio.tenant(aapp_conn, tenant_a):
        expected = await aio.get_skill_with_relations(aapp_conn, skill.id)
    block = aio.tenant(aapp_conn, tenant_a)
    assert await block.run(aio.get_skill_with_relations, skill.id) == expected
    with protocol(aapp_conn, tmp_path / "read") as read:
        assert await block.run(aio.get_skill_with_relations, skill.id) == expected
    assert waits(read) == 1, read
    with pytest.raises(TypeError, match=r"skilldb\.get_tenant is sync; pass skilldb\.aio\.get_tenant"):
        await block.run(skilldb.get_tenant)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_aio_a_failed_write_commits_nothing(
    aapp_conn: psycopg.AsyncConnection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    block = aio.tenant(aapp_conn, tenant_a)
    await block.run(aio.create_skill, author_id=None, name="Once", slug="once")
    with pytest.raises(errors.AlreadyExists):
        await block.run(aio.create_skill, author_id=None, name="Twice", slug="once")
    assert aapp_conn.info.transaction_status == pq.TransactionStatus.IDLE
    assert skill_count(admin_conn, tenant_a) == 1
