"""Fuzzing every public operation, sync and async, with hostile arguments.

The operations are found at import (every name in ``skilldb.__all__`` with an ``aio``
twin), so a new operation is fuzzed without touching this file; values are chosen by
parameter name, with a fallback for names this file does not know. Each call runs in
a fresh ``skilldb.tenant`` block and must return a result, raise a
:class:`skilldb.errors.SkillDBError`, or raise a ``TypeError`` naming the function or
a parameter; after an error no tenant table's row count may have changed.

Hypothesis draws whole calls (wrong types, blank, huge, NUL, lone-surrogate and
control-character strings, 5,000-level nested structures, and valid values so that
calls also succeed); a deterministic sweep puts every hostile value of a fixed list
into every parameter, so rare values are never left to chance.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import itertools
import json
import re
import traceback
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC
from functools import cache
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.pq import TransactionStatus

import skilldb
from skilldb import errors
from skilldb.skills import ORDERS
from tests.catalog import tenant_tables
from tests.operations import OPERATIONS as ALL_OPERATIONS
from tests.operations import resolve
from tests.plugin import Database

#: Every public operation: the names in ``skilldb.__all__`` that have an async twin.
OPERATIONS = ALL_OPERATIONS
#: Tables whose row counts must not move when an operation raises (with any other tenant table).
TABLES = ("tenants", "users", "skills", "skill_versions", "ratings", "usage_events", "skill_messages")
#: The workshop tables (no tenant_id): their row counts are watched too.
WORKSHOP_TABLES = ("workshops", "workshop_members", "workshop_steps", "sessions", "build_packs")
FACES = ("sync", "async")

FUZZ = settings(
    max_examples=25,  # per operation, sync and async together
    deadline=None,
    database=None,  # leave no .hypothesis/ example database in the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- hostile values ---------------------------------------------------------------------


class Opaque:
    """A value passed to the operation as is but shown by ``label`` in reports: the repr
    of a 5,000-level dict recurses too deep, that of a 5,000-digit int raises."""

    def __init__(self, value: Any, label: str) -> None:
        self.value = value
        self.label = label

    def __repr__(self) -> str:
        return self.label


def unwrap(value: Any) -> Any:
    return value.value if isinstance(value, Opaque) else value


def nested_dict(depth: int) -> dict[str, Any]:
    """``{"a": {"a": ... {}}}``, ``depth`` levels, built without recursion."""
    inner: dict[str, Any] = {}
    for _ in range(depth - 1):
        inner = {"a": inner}
    return inner


def nested_list(depth: int) -> list[Any]:
    """``[[...[]]]``, ``depth`` levels, built without recursion."""
    inner: list[Any] = []
    for _ in range(depth - 1):
        inner = [inner]
    return inner


DEPTH = 5_000
DEEP_DICT = Opaque(nested_dict(DEPTH), f"<dict nested {DEPTH} levels>")
DEEP_LIST = Opaque(nested_list(DEPTH), f"<list nested {DEPTH} levels>")
HUGE_INT = Opaque(10**5000, "10**5000")
HUGE_NEGATIVE_INT = Opaque(-(10**5000), "-10**5000")

#: Values put into every parameter by the sweep, and drawn often by Hypothesis.
HOSTILE: list[Any] = [
    None,
    True,
    0,
    -1,
    2**63,
    HUGE_INT,
    HUGE_NEGATIVE_INT,
    1.5,
    float("nan"),
    float("inf"),
    float("-inf"),
    b"bytes",
    bytearray(b"bytes"),
    memoryview(b"bytes"),
    [],
    ["a"],
    ("a",),
    {},
    {"a": 1},
    {1, 2},
    object(),
    DEEP_DICT,
    DEEP_LIST,
    "",
    " ",
    "\t\n\r",
    "\u2028",
    "\u3000",
    "\ufeff",
    " padded ",
    "x" * 10_000,
    "é" * 100_001,
    "\x00",
    "a\x00b",
    "a\udc80",
    "\ud800",
    "bell\x07",
    "esc\x1b[31m",
    "a\u2028b",
    "a\x7fb",
    "a\x85b",
    "'; DROP TABLE skills; --",
    "%s",
    "%(tenant_id)s",
    ":tenant_id",
]


def b64(raw: bytes) -> str:
    """``raw`` as an unpadded urlsafe base64 string, the form of pagination cursors."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_of(value: Any) -> str:
    return b64(json.dumps(value).encode())


#: Extra hostile values for the parameters whose rules look inside the value.
SPECIAL: dict[str, list[Any]] = {
    "metadata": [
        {"deep": nested_dict(33)},
        {"deep": nested_list(33)},
        {"big": "x" * (1 << 20)},
        {"n": float("nan")},
        {"n": float("inf")},
        Opaque({"n": 10**5000}, "{'n': 10**5000}"),
        {1: "non-str key"},
        {("a",): "tuple key"},
        {"set": {1, 2}},
        {"bytes": b"x"},
        {"obj": object()},
        {"s": "a\udc80"},
        {"a\udc80": 1},
        {"nul": "\x00"},
        {"k\x00": 1},
        Opaque({"a": DEEP_LIST.value}, f"{{'a': <list nested {DEPTH} levels>}}"),
        Opaque({"a": DEEP_DICT.value}, f"{{'a': <dict nested {DEPTH} levels>}}"),
    ],
    "after": [
        "!!!",
        "====",
        "a",
        b64(b"\xff\xfe"),
        b64(b"[" * 760),
        b64(b"{" * 760),
        b64(b'["created_at", "' + b"9" * 700 + b'", "x"]'),
        b64(b'["total_uses", 1' + b"0" * 700 + b', "x"]'),
        b64(b'["total_uses", 1e999, "x"]'),
        b64(b'["total_uses", NaN, "x"]'),
        cursor_of("abc"),
        cursor_of([1, 2]),
        cursor_of({"a": 1, "b": 2, "c": 3}),
        cursor_of(["created_at", "2024-01-01T00:00:00", "x"]),
        cursor_of(["created_at", "0001-01-01T00:00:00+14:00", "x"]),
        cursor_of(["created_at", "9999-12-31T23:59:59-14:00", "x"]),
        cursor_of(["created_at", 20240101, "x"]),
        cursor_of(["created_at", "2024-01-01T00:00:00+00:00", "a\udc80"]),
        cursor_of(["created_at", "2024-01-01T00:00:00+00:00", "a\x00"]),
        cursor_of(["created_at", "2024-01-01T00:00:00+00:00", ""]),
        cursor_of(["created_at", "2024-01-01T00:00:00+00:00", 7]),
        cursor_of(["total_uses", 2**31, "x"]),
        cursor_of(["total_uses", 2**70, "x"]),
        cursor_of(["average_rating", True, "x"]),
        cursor_of(["average_rating", 4.5, "x"]),
        cursor_of(["average_rating", -1, "x"]),
        cursor_of([["created_at"], 1, "x"]),
    ],
    "limit": [0, 1001, 501, -(2**31), 2**31, 1.0, "1", False],
    "order_by": ["CREATED_AT", "created_at DESC", "id", "total_uses; --"],
    "content": [b"", bytearray(), memoryview(b""), "text", [1, 2]],
    "content_type": ["Text/Markdown", "text", "text/", "/x", "text/markdown; charset=utf-8"],
    "slug": ["Bad Slug", "-a", "a--b", "a-", "é", "a" * 101, "a\n"],
    "email": ["no-at", "@x", "a@", "a b@c", "a@b\x00", "a@b\u2028", "a" * 250 + "@b.c"],
}


def label(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else f"{text[:80]}...<{len(text)} chars>"


# --- strategies -------------------------------------------------------------------------

WHITESPACE = " \t\n\r\x0b\x0c\x1c\x85\xa0\u1680\u2000\u2028\u2029\u3000\ufeff"


@cache
def adversarial() -> st.SearchStrategy[Any]:
    """Values of the wrong type, and strings no column should take as they are."""
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.sampled_from(HOSTILE),
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.binary(max_size=8),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
        st.builds(object),
        st.text(WHITESPACE, min_size=1, max_size=6),
        st.text(max_size=6).map(lambda s: f"{s}\x00{s}"),
        st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3).map(lambda s: f"a{s}"),
        st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp"]), min_size=1, max_size=6),
        st.text(max_size=40),
    )


@cache
def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=10),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=8,
    )


def cursors(ids: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Strings shaped like ``list_skills_with_relations`` cursors, mostly wrong inside."""
    keys = st.one_of(
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
        st.text(max_size=10),
        st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    )
    triples = st.tuples(st.sampled_from([*ORDERS, "nope"]), keys, st.one_of(ids, st.text(max_size=8))).map(list)
    return st.one_of(
        st.one_of(triples, json_values()).map(cursor_of),
        st.binary(max_size=64).map(b64),
        st.sampled_from(SPECIAL["after"]),
        st.text(max_size=20),
    )


@dataclass(frozen=True)
class World:
    """The rows set up once per test: a tenant with one user, one skill and one version."""

    tenant_id: str
    user_id: str
    email: str
    skill_id: str
    slug: str
    version_id: str

    def own(self, name: str) -> str | None:
        """The id of this world's row that parameter ``name`` refers to, if any."""
        return {
            "tenant_id": self.tenant_id,
            "user_id": self.user_id,
            "author_id": self.user_id,
            "created_by": self.user_id,
            "skill_id": self.skill_id,
            "version_id": self.version_id,
        }.get(name)


def is_reference(name: str) -> bool:
    return name.endswith(("_id", "_by"))


def plain_value(name: str, world: World) -> Any:
    """One valid value for parameter ``name``, for the sweep."""
    own = world.own(name)
    if own is not None:
        return own
    if is_reference(name):
        return "no-such-row"
    return {
        "slug": "sweep",
        "email": "sweep@example.com",
        "content": b"sweep",
        "content_type": "text/plain",
        "metadata": {"k": [1, 2.5, None, "v"]},
        "limit": 10,
        "order_by": ORDERS[0],
        "after": None,
    }.get(name, "Sweep")


def good_cursors() -> st.SearchStrategy[str]:
    """Cursors ``list_skills_with_relations`` would accept (made here, not returned by it)."""
    key = {
        "created_at": st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        "total_uses": st.integers(min_value=0, max_value=2**31 - 1),
        "average_rating": st.integers(min_value=0, max_value=500),
    }
    triples = [st.tuples(st.just(order), key.get(order, st.integers(0, 9)), st.just("x")) for order in ORDERS]
    return st.one_of(*triples).map(lambda t: cursor_of(list(t)))


@cache
def valid(name: str, world: World) -> st.SearchStrategy[Any]:
    """Values the rule for parameter ``name`` accepts, naming rows of ``world`` where it has one."""
    own = world.own(name)
    if own is not None:
        return st.just(own)
    if is_reference(name):
        return st.uuids().map(str)  # no such row: a lookup finds nothing
    by_name: dict[str, st.SearchStrategy[Any]] = {
        "slug": st.from_regex(r"[a-z]{3,10}(-[a-z0-9]{1,6}){0,2}", fullmatch=True),
        "email": st.from_regex(r"[a-z0-9.]{3,10}@[a-z]{1,10}\.[a-z]{2,4}", fullmatch=True),
        "content": st.one_of(st.binary(max_size=64), st.builds(bytearray, st.binary(max_size=8))),
        "content_type": st.one_of(
            st.sampled_from(["text/markdown", "application/json", "text/plain", "application/vnd.skill+zip"]),
            st.from_regex(r"[a-z]{1,8}/[a-z0-9][a-z0-9.+-]{0,10}", fullmatch=True),
        ),
        "metadata": st.dictionaries(st.text(st.characters(exclude_characters="\x00"), max_size=8), json_values()),
        "limit": st.integers(min_value=1, max_value=500),
        "order_by": st.sampled_from(ORDERS),
        "after": st.one_of(st.none(), good_cursors()),
    }
    if name in by_name:
        return by_name[name]
    words = st.from_regex(r"[A-Za-z][A-Za-z0-9 ]{0,20}", fullmatch=True).map(str.strip)
    return st.one_of(words, st.just("Écrire — 日本語"))


@cache
def plausible(name: str, world: World) -> st.SearchStrategy[Any]:
    """Values of the right type and rough shape that a rule or the database may still refuse:
    ids of the wrong kind or of no row, taken slugs and emails, edge lengths and numbers."""
    ids = st.one_of(
        st.sampled_from([world.tenant_id, world.user_id, world.skill_id, world.version_id]),
        st.uuids().map(str),
        st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True),
        st.sampled_from(["a" * 128, "a" * 129, "-", "x y", "é"]),
    )
    by_name: dict[str, st.SearchStrategy[Any]] = {
        "slug": st.one_of(st.just(world.slug), st.sampled_from(SPECIAL["slug"])),
        "email": st.one_of(st.sampled_from([world.email, world.email.upper()]), st.sampled_from(SPECIAL["email"])),
        "content": st.sampled_from(SPECIAL["content"]),
        "content_type": st.one_of(st.text(max_size=20), st.sampled_from(SPECIAL["content_type"])),
        "metadata": st.one_of(
            st.dictionaries(st.text(max_size=8), json_values(), max_size=4), st.sampled_from(SPECIAL["metadata"])
        ),
        "limit": st.one_of(st.integers(min_value=-3, max_value=1_100), st.sampled_from(SPECIAL["limit"])),
        "order_by": st.one_of(st.text(max_size=15), st.sampled_from(SPECIAL["order_by"])),
        "after": cursors(ids),
    }
    if name in by_name:
        return by_name[name]
    if is_reference(name):
        return ids
    return st.one_of(st.text(max_size=30), st.sampled_from(["tab\tand\nlines", "x" * 201, "x" * 10_000, "x" * 100_001]))


@cache
def hostile(name: str, world: World) -> st.SearchStrategy[Any]:
    """A value for parameter ``name`` that is likely wrong: plausible or adversarial."""
    return st.one_of(plausible(name, world), adversarial())


@cache
def argument(name: str, world: World) -> st.SearchStrategy[Any]:
    """Any value for parameter ``name``."""
    return st.one_of(valid(name, world), plausible(name, world), adversarial())


@dataclass
class Call:
    """The arguments one example passes to an operation (``conn`` aside)."""

    args: list[Any]
    kwargs: dict[str, Any]

    def __repr__(self) -> str:
        shown = [label(a) for a in self.args] + [f"{k}={label(v)}" for k, v in self.kwargs.items()]
        return f"({', '.join(shown)})"


@st.composite
def calls(draw: st.DrawFn, op: Any, world: World) -> Call:
    """Arguments for ``op``: required ones always, optional ones sometimes, positional or
    by keyword. All of them valid-looking, or one hostile, or any of them hostile and now
    and then an unknown keyword, one positional too many or one missing."""
    params = list(inspect.signature(op).parameters.values())[1:]
    mode = draw(st.sampled_from(["valid", "one hostile", "any"]))
    target = draw(st.sampled_from(params)).name if mode == "one hostile" and params else None
    call = Call([], {})
    positional = True
    for p in params:
        if p.default is not inspect.Parameter.empty and p.name != target and draw(st.booleans()):
            positional = False  # the positional-or-keyword ones after it must go by keyword
            continue
        if mode == "any":
            value = draw(argument(p.name, world))
        else:
            value = draw(hostile(p.name, world) if p.name == target else valid(p.name, world))
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and positional and draw(st.booleans()):
            call.args.append(value)
        else:
            positional = False
            call.kwargs[p.name] = value
    mangle = draw(st.sampled_from(["none"] * 5 + ["unknown keyword", "extra positional", "missing"]))
    if mode != "any" or mangle == "none":
        pass
    elif mangle == "unknown keyword":
        call.kwargs["no_such_parameter"] = draw(adversarial())
    elif mangle == "extra positional":
        call.args.append(draw(adversarial()))
    elif call.kwargs:
        del call.kwargs[draw(st.sampled_from(sorted(call.kwargs)))]
    elif call.args:
        call.args.pop()
    return call


# --- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def world(app_conn: psycopg.Connection[Any], tenant_a: str) -> World:
    """One user, one skill and one version of ``tenant_a``, created through the package."""
    with skilldb.tenant(app_conn, tenant_a):
        user = skilldb.create_user(app_conn, email="fuzz@example.com", name="Fuzz")
        skill = skilldb.create_skill(app_conn, author_id=user.id, name="Fuzz", slug="fuzz")
        version = skilldb.create_skill_version(
            app_conn, skill.id, content=b"v1", content_url="k/v1", content_type="text/markdown", created_by=user.id
        )
    return World(tenant_a, user.id, user.email, skill.id, skill.slug, version.id)


class Caller:
    """Calls an operation in a fresh tenant block, sync on ``app_conn`` or async on a
    connection of an event loop of its own (``@given`` cannot drive an async test)."""

    def __init__(self, app_conn: psycopg.Connection[Any], url: str) -> None:
        self.app_conn = app_conn
        self.url = url
        self.loop: asyncio.AbstractEventLoop | None = None
        self.aconn: psycopg.AsyncConnection[Any] | None = None

    def __call__(self, face: str, op: Any, tenant_id: str, call: Call) -> Any:
        args = [unwrap(a) for a in call.args]
        kwargs = {k: unwrap(v) for k, v in call.kwargs.items()}
        # a workshop operation runs acting as a person: the tenant's id serves as one
        workshop = op.__module__ == "skilldb.workshops"
        if face == "sync":
            block = skilldb.workshops.acting_as if workshop else skilldb.tenant
            with block(self.app_conn, tenant_id):
                return op(self.app_conn, *args, **kwargs)
        return self._run(self._acall(op.aio, workshop, tenant_id, args, kwargs))

    async def _acall(self, fn: Any, workshop: bool, tenant_id: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if self.aconn is None:
            self.aconn = await psycopg.AsyncConnection.connect(self.url)
        block = skilldb.aio.workshops.acting_as if workshop else skilldb.aio.tenant
        async with block(self.aconn, tenant_id):
            return await fn(self.aconn, *args, **kwargs)

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        if self.loop is None:
            self.loop = asyncio.new_event_loop()
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        if self.loop is None:
            return
        try:
            if self.aconn is not None:
                self.loop.run_until_complete(self.aconn.close())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()


@pytest.fixture
def caller(app_conn: psycopg.Connection[Any], db: Database) -> Iterator[Caller]:
    c = Caller(app_conn, db.app_url)
    yield c
    c.close()


class RowCounts:
    """Row counts of every tenant and workshop table, read as the superuser (no row-level security)."""

    def __init__(self, admin_conn: psycopg.Connection[Any]) -> None:
        self.conn = admin_conn
        self.tables = sorted(set(TABLES) | set(WORKSHOP_TABLES) | set(tenant_tables(admin_conn)))
        self.query = sql.SQL("SELECT {}").format(
            sql.SQL(", ").join(sql.SQL("(SELECT count(*) FROM {})").format(sql.Identifier(t)) for t in self.tables)
        )
        self.last = self.read()

    def read(self) -> dict[str, int]:
        row = self.conn.execute(self.query).fetchone()
        assert row is not None
        return dict(zip(self.tables, row, strict=True))

    def refresh(self) -> None:
        """After a call that succeeded (and may have written)."""
        self.last = self.read()

    def changes(self) -> dict[str, tuple[int, int]]:
        """Tables whose count moved since the last refresh: ``{table: (before, after)}``."""
        before, self.last = self.last, self.read()
        return {t: (before[t], n) for t, n in self.last.items() if before[t] != n}


@pytest.fixture
def rows(admin_conn: psycopg.Connection[Any]) -> RowCounts:
    return RowCounts(admin_conn)


def problem(exc: BaseException, op: Any) -> str | None:
    """Why ``exc`` is not an error ``op`` may raise, or ``None`` when it is."""
    if isinstance(exc, TypeError):
        # the function (``skilldb.get_skill(): ...``), or a parameter: the subject of the
        # message (``skill_id must be a str``) or quoted (``missing ... argument: 'slug'``)
        message = str(exc)
        params = "|".join(map(re.escape, inspect.signature(op).parameters))
        if re.search(rf"\b{op.__name__}\b", message) or re.match(rf"(?:{params})\b|.*'(?:{params})'", message):
            return None
        return f"TypeError names neither {op.__name__} nor a parameter: {message[:200]!r}"
    if isinstance(exc, errors.SkillDBError):
        return None
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__}: {str(exc)[:200]!r} (at {where.filename}:{where.lineno} in {where.name})"


# --- tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPERATIONS)
@FUZZ
@given(data=st.data())
def test_operation_survives_arbitrary_arguments(
    name: str, data: st.DataObject, caller: Caller, world: World, rows: RowCounts
) -> None:
    op = resolve(skilldb, name)
    face = data.draw(st.sampled_from(FACES), label="face")
    call = data.draw(calls(op, world), label="call")
    fresh = data.draw(st.sampled_from([False] * 4 + [True]), label="unknown tenant")
    tenant_id = str(data.draw(st.uuids(), label="tenant")) if fresh else world.tenant_id
    try:
        caller(face, op, tenant_id, call)
    except Exception as exc:
        event(f"{face} raised {type(exc).__name__}")  # see pytest --hypothesis-show-statistics
        why = problem(exc, op)
        if why is not None:
            raise AssertionError(f"{face} {name}{call!r}: {why}") from exc
        changed = rows.changes()
        assert not changed, f"{face} {name}{call!r} raised {type(exc).__name__} yet rows changed: {changed}"
    else:
        event(f"{face} returned")
        rows.refresh()


def test_every_parameter_refuses_every_hostile_value(caller: Caller, world: World, rows: RowCounts) -> None:
    failures: list[str] = []
    for face, name in itertools.product(FACES, OPERATIONS):
        op = resolve(skilldb, name)
        params = list(inspect.signature(op).parameters.values())[1:]
        required = {p.name: plain_value(p.name, world) for p in params if p.default is inspect.Parameter.empty}
        for p in params:
            for value in HOSTILE + SPECIAL.get(p.name, []):
                call = Call([], {**required, p.name: value})
                try:
                    caller(face, op, world.tenant_id, call)
                except Exception as exc:
                    changed = rows.changes()
                    why = problem(exc, op) or (changed and f"raised {type(exc).__name__} yet rows changed: {changed}")
                    if why:
                        failures.append(f"{face} {name}({p.name}={label(value)}): {why}")
                else:
                    rows.refresh()
    if failures:
        pytest.fail(f"{len(failures)} calls raised what they may not:\n" + "\n".join(failures), pytrace=False)


@pytest.mark.asyncio
async def test_operations_refuse_the_wrong_kind_of_connection(
    app_conn: psycopg.Connection[Any], aapp_conn: psycopg.AsyncConnection[Any]
) -> None:
    assert OPERATIONS, "no operations found in skilldb.__all__"
    for name in OPERATIONS:
        op = resolve(skilldb, name)
        for wrong in (aapp_conn, None, uuid.uuid4()):
            with pytest.raises(TypeError, match=r"\bconn\b"):
                op(wrong)
        for also_wrong in (app_conn, None, uuid.uuid4()):
            with pytest.raises(TypeError, match=r"\bconn\b"):
                await op.aio(also_wrong)
    assert app_conn.info.transaction_status == TransactionStatus.IDLE
    assert aapp_conn.info.transaction_status == TransactionStatus.IDLE
