"""``skilldb stubs``: the typed stub of the raw aiosql functions is current, follows the SQL,
says what the functions really return, and lets mypy catch a misspelled parameter.

The generated stub is also valid Python: the runtime checks execute it and read each
method's annotations, so the types compared with real results are the stub's own.
"""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
import types
import uuid
from collections.abc import AsyncGenerator, Generator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import aiosql
import psycopg
import pytest
from click.testing import CliRunner

import skilldb
from skilldb import stubs
from skilldb.check import read_queries
from skilldb.cli import main
from tests.plugin import Database, Server, new_tenant

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "tests" / "typing" / "raw_queries.py"


def server(pg_server: Server) -> str:
    return pg_server.conninfo(pg_server.maintenance_dbname)


def stub_namespace(text: str) -> dict[str, Any]:
    """The stub executed as Python: its row aliases and Protocol classes."""
    namespace: dict[str, Any] = {}
    exec(compile(text, stubs.STUB_PATH.name, "exec", dont_inherit=True), namespace)  # no postponed annotations
    return namespace


def returns(namespace: dict[str, Any], dotted: str, asynchronous: bool = False) -> Any:
    """The declared return type of the stub's method for query ``dotted``."""
    cls = namespace["AsyncQueries" if asynchronous else "SyncQueries"]
    *spaces, name = dotted.split(".")
    for space in spaces:
        cls = get_type_hints(cls)[space]
    return get_type_hints(getattr(cls, name))["return"]


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the (evaluated) annotation ``hint``."""
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if origin is tuple:
        if args in ((), ((),)):
            return value == ()
        return (
            isinstance(value, tuple)
            and len(value) == len(args)
            and all(conforms(v, a) for v, a in zip(value, args, strict=True))
        )
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
    if isinstance(hint, type):
        return isinstance(value, hint) and not (hint is int and isinstance(value, bool))
    raise AssertionError(f"no runtime check for {hint!r}")


def rows_of(result: Any, hint: Any) -> list[Any]:
    """A sync select's result: a generator, as the stub says; its rows checked against the hint."""
    assert get_origin(hint) is Generator and isinstance(result, types.GeneratorType)
    rows = list(result)
    assert all(conforms(row, get_args(hint)[0]) for row in rows), (rows, hint)
    return rows


async def arows_of(result: Any, hint: Any) -> list[Any]:
    assert get_origin(hint) is AsyncGenerator and inspect.isasyncgen(result)
    rows = [row async for row in result]
    assert all(conforms(row, get_args(hint)[0]) for row in rows), (rows, hint)
    return rows


def test_the_committed_stub_is_current_and_the_command_writes_and_checks_it(
    pg_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    args = ["stubs", "--check", "--database", server(pg_server)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output  # stale: run `skilldb stubs` and commit the stub
    assert "_raw_queries.pyi is up to date" in result.output

    committed = stubs.STUB_PATH.read_text()
    elsewhere = tmp_path / "_raw_queries.pyi"
    monkeypatch.setattr(stubs, "STUB_PATH", elsewhere)
    assert runner.invoke(main, args).output.startswith("_raw_queries.pyi is missing")
    written = runner.invoke(main, ["stubs", "--database", server(pg_server)])
    assert written.exit_code == 0 and elsewhere.read_text() == committed, written.output
    elsewhere.write_text(committed.replace("    str | None,  # author_id\n", "    str,  # author_id\n", 1))
    stale = runner.invoke(main, args)
    assert stale.exit_code == 1
    assert stale.output.startswith("_raw_queries.pyi is stale (2 line(s) differ): run skilldb stubs")
    assert "-    str,  # author_id\n+    str | None,  # author_id\n" in stale.output


def test_renaming_a_column_changes_the_stub(pg_server: Server, tmp_path: Path) -> None:
    queries = tmp_path / "queries"
    shutil.copytree(skilldb.QUERIES_DIR, queries)
    before = stubs.generate(server(pg_server), queries_dir=queries)
    assert before == stubs.STUB_PATH.read_text()
    path = queries / "tenants.sql"
    path.write_text(path.read_text().replace("SELECT id, name, created_at\n", "SELECT id, name AS title, created_at\n"))
    after = stubs.generate(server(pg_server), queries_dir=queries)
    diff = stubs.stub_diff(before, after)
    assert diff.startswith("_raw_queries.pyi is stale (2 line(s) differ)")
    assert "-    str,  # name\n+    str,  # title\n" in diff
    assert "\n GetTenantRow = tuple[\n" in diff  # context: the alias it is in


def test_the_stub_declares_every_raw_function_and_its_parameters() -> None:
    namespace = stub_namespace(stubs.STUB_PATH.read_text())
    for face, loaded in (("SyncQueries", skilldb.queries), ("AsyncQueries", skilldb.aio.queries)):
        declared: list[str] = []
        for block in read_queries():
            cls, fn = namespace[face], loaded
            *spaces, name = block.name.split(".")
            for space in spaces:
                cls, fn = get_type_hints(cls)[space], getattr(fn, space)
            declared += [block.name, f"{block.name}_cursor"] if hasattr(fn, f"{name}_cursor") else [block.name]
            method, fn = getattr(cls, name), getattr(fn, name)
            params = inspect.signature(method).parameters
            assert list(params)[:2] == ["self", "conn"]
            keywords = [p for p in params.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
            assert [p.name for p in keywords] == fn.parameters, block.name
            assert inspect.iscoroutinefunction(method) == (face == "AsyncQueries" and fn.operation.name != "SELECT")
        assert sorted(declared) == loaded.available_queries


def test_declared_shapes_match_what_the_raw_functions_return(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    ns = stub_namespace(stubs.STUB_PATH.read_text())
    q = skilldb.queries
    with skilldb.tenant(app_conn, tenant_a):
        skill = skilldb.create_skill(app_conn, author_id=None, name="Raw", slug="raw", category="tools")
        tenant = q.get_tenant(app_conn, tenant_id=tenant_a)
        assert conforms(tenant, returns(ns, "get_tenant")) and tenant is not None
        row = q.get_skill(app_conn, tenant_id=tenant_a, skill_id=skill.id)
        assert conforms(row, returns(ns, "get_skill")) and row is not None and row[4] == "raw"
        assert q.get_skill(app_conn, tenant_id=tenant_a, skill_id="nope") is None
        [listed] = rows_of(
            q.list_skills(app_conn, tenant_id=tenant_a, category=None, limit=5), returns(ns, "list_skills")
        )
        assert listed == row
        with q.list_skills_cursor(app_conn, tenant_id=tenant_a, category="tools", limit=5) as cur:
            assert isinstance(cur, psycopg.Cursor) and cur.fetchall() == [row]
        assert get_origin(returns(ns, "list_skills_cursor")) is AbstractContextManager
        uses = q.increment_skill_uses(app_conn, tenant_id=tenant_a, skill_id=skill.id)
        assert conforms(uses, returns(ns, "increment_skill_uses")) and uses == 1
        user = skilldb.create_user(app_conn, email="raw@example.com", name=None)
        unread = q.count_unread_messages_for_user(app_conn, tenant_id=tenant_a, to_user_id=user.id)
        assert conforms(unread, returns(ns, "count_unread_messages_for_user")) and unread == 0
        deleted = q.delete_rating(app_conn, tenant_id=tenant_a, rating_id="nope")
        assert returns(ns, "delete_rating") is int and deleted == 0
        published = q.publish_version(app_conn, tenant_id=tenant_a, skill_id=skill.id, version_id="nope")
        assert published is not None and published[2] is None  # the outer join's nulls
        assert conforms(published, returns(ns, "publish_version"))
        with pytest.raises(ValueError, match="positional"):
            q.get_tenant(app_conn, tenant_a)


@pytest.mark.asyncio
async def test_declared_shapes_match_what_the_async_raw_functions_return(db: Database) -> None:
    ns = stub_namespace(stubs.STUB_PATH.read_text())
    with psycopg.connect(db.app_url) as conn:
        tenant_id = new_tenant(conn)
        with skilldb.tenant(conn, tenant_id):
            skill = skilldb.create_skill(conn, author_id=None, name="Raw", slug="raw")
    q = skilldb.aio.queries
    async with await psycopg.AsyncConnection.connect(db.app_url) as aconn, skilldb.aio.tenant(aconn, tenant_id):
        row = await q.get_skill(aconn, tenant_id=tenant_id, skill_id=skill.id)
        assert conforms(row, returns(ns, "get_skill", True)) and row is not None
        hint = returns(ns, "list_skills", True)
        assert await arows_of(q.list_skills(aconn, tenant_id=tenant_id, category=None, limit=5), hint) == [row]
        async with q.list_skills_cursor(aconn, tenant_id=tenant_id, category=None, limit=5) as cur:
            assert isinstance(cur, psycopg.AsyncCursor)
        assert get_origin(returns(ns, "list_skills_cursor", True)) is AbstractAsyncContextManager
        assert await q.delete_rating(aconn, tenant_id=tenant_id, rating_id="nope") == 0


EXTRA = """\
-- name: create_tenant_name(tenant_id, name)<!
INSERT INTO tenants (id, name) VALUES (:tenant_id, :name) RETURNING name;

-- name: create_tenant_row(tenant_id, name)<!
INSERT INTO tenants (id, name) VALUES (:tenant_id, :name) RETURNING id, name, created_at;

-- name: create_tenants(tenant_id, name)*!
INSERT INTO tenants (id, name) VALUES (:tenant_id, :name);

-- name: set_timeout#
SET LOCAL statement_timeout = '5s';
"""


@pytest.mark.asyncio
async def test_the_other_operators_return_what_the_stub_says(db: Database, tmp_path: Path) -> None:
    """``<!``, ``*!`` and ``#`` (no project query uses them): sync and async differ."""
    (tmp_path / "extra.sql").write_text(EXTRA)
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        ns = stub_namespace(stubs.render(stubs.describe_queries(conn, tmp_path)))
    sync, asynchronous = aiosql.from_path(tmp_path, "psycopg"), aiosql.from_path(tmp_path, "apsycopg")
    ids = [str(uuid.uuid4()) for _ in range(6)]
    with psycopg.connect(db.admin_url) as conn:
        name = sync.create_tenant_name(conn, tenant_id=ids[0], name="One")
        assert name == "One" and conforms(name, returns(ns, "create_tenant_name"))
        row = sync.create_tenant_row(conn, tenant_id=ids[1], name="Two")
        assert conforms(row, returns(ns, "create_tenant_row")) and row[:2] == (ids[1], "Two")
        count = sync.create_tenants(conn, [{"tenant_id": i, "name": "Many"} for i in ids[2:4]])
        assert count == 2 and returns(ns, "create_tenants") is int
        status = sync.set_timeout(conn)
        assert status == "SET" and conforms(status, returns(ns, "set_timeout"))
        conn.rollback()
    async with await psycopg.AsyncConnection.connect(db.admin_url) as aconn:
        one = await asynchronous.create_tenant_name(aconn, tenant_id=ids[4], name="One")
        assert one == ("One",) and conforms(one, returns(ns, "create_tenant_name", True))
        many = await asynchronous.create_tenants(aconn, [{"tenant_id": ids[5], "name": "Many"}])
        assert many is None and returns(ns, "create_tenants", True) is type(None)
        assert await asynchronous.set_timeout(aconn) == "SET"
        await aconn.rollback()


def mypy(*paths: str | Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.stdout + result.stderr


def test_mypy_knows_each_raw_functions_parameters_and_rows(tmp_path: Path) -> None:
    source = CONSUMER.read_text()
    call = "skilldb.queries.get_skill(conn, tenant_id=tenant_id, skill_id=skill_id)"
    assert source.count(call) == 1
    misspelled = tmp_path / "misspelled.py"
    misspelled.write_text(source.replace(call, call.replace("skill_id=", "skil_id=")))
    line = source[: source.index(call)].count("\n") + 1
    wrong = tmp_path / "wrong_uses.py"
    wrong.write_text(
        "from typing import Any\nimport psycopg\nfrom psycopg.rows import DictRow\nimport skilldb\n"
        "def f(conn: psycopg.Connection[tuple[Any, ...]], d: psycopg.Connection[DictRow]) -> None:\n"
        "    skilldb.queries.list_skills(conn, tenant_id='t', category=None, limit='5')\n"  # 6: limit is int
        "    skilldb.queries.get_tenant(conn, 't')\n"  # 7: keyword-only
        "    n: int = skilldb.queries.get_tenant(conn, tenant_id='t')\n"  # 8: a row, not an int
        "    skilldb.queries.get_tenant(d, tenant_id='t')\n"  # 9: rows are tuples
        "    skilldb.queries.workshops.get_workshop(conn, workshop=None)\n"  # 10: no such parameter
        "    skilldb.queries.get_skill_by_id(conn, tenant_id='t')\n"  # 11: no such query
    )
    out = mypy(CONSUMER, misspelled, wrong)
    assert "raw_queries.py" not in out, out  # the consumer type-checks
    assert f'misspelled.py:{line}: error: Unexpected keyword argument "skil_id"' in out, out
    for number in range(6, 12):
        assert f"wrong_uses.py:{number}: error" in out, out
