"""Where the SQL lives, the aiosql query sets, and the one call path behind every operation.

The ``.sql`` files are read from the repository's top-level ``queries/`` and
``migrations/`` when the package runs from a checkout (so a DBA's edit is picked up
on the next import), and from the copies shipped inside the wheel otherwise.

An operation is written once, as a *plan*: a function that takes the operation's
arguments (already validated by :mod:`skilldb._validate`, by parameter name) and
returns a :class:`Call` (query name, parameters, row type, result shaping).
:func:`operation` turns a plan into the sync function ``skilldb.<name>`` and, as its
``aio`` attribute, the async one ``skilldb.aio.<name>``: same signature (with the
connection first), same docstring, same validation; only the ``await`` differs.
Both refuse to run outside a ``skilldb.tenant`` block on that connection, pass the
block's tenant to the SQL as ``:tenant_id``, and translate psycopg errors.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, cast, get_args, get_type_hints

import aiosql
import msgspec
import psycopg
from psycopg import pq
from psycopg.adapt import Loader
from psycopg.postgres import types as pg_types
from psycopg.rows import BaseRowFactory
from psycopg.types.string import ByteaBinaryLoader

from skilldb import _validate, tenancy
from skilldb.errors import SkillDBError, translate

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
R = TypeVar("R")
P = ParamSpec("P")

#: Type oid of ``json`` (relations of nested fetches are json; ``jsonb`` columns stay dicts).
JSON_OID = pg_types["json"].oid

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    shipped = _PACKAGE / "_data" / name
    if shipped.is_dir():
        return shipped
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    raise RuntimeError(f"skilldb: cannot find its {name}/ directory (looked in {shipped}, {checkout})")


#: Directory holding the named SQL statements (one file per table).
QUERIES_DIR = _data_dir("queries")
#: Directory holding the yoyo migrations.
MIGRATIONS_DIR = _data_dir("migrations")


#: The query files the operations run: ``QUERIES_DIR``, or another tree while
#: :func:`queries_from` is active (``skilldb check`` on a copy of ``queries/``).
_active_queries: ContextVar[Path] = ContextVar("skilldb_queries_dir", default=QUERIES_DIR)


@contextmanager
def queries_from(queries_dir: Path) -> Iterator[None]:
    """Run the operations on the query files of ``queries_dir`` inside the block (this
    thread or task only), as ``skilldb check`` does to hold a copy of ``queries/`` to
    the package's types."""
    token = _active_queries.set(queries_dir)
    try:
        yield
    finally:
        _active_queries.reset(token)


def load_queries(adapter: str = "psycopg") -> Any:
    """The named queries of ``QUERIES_DIR`` for an aiosql adapter, loaded on first use.

    Loading is deferred so that ``import skilldb`` (and ``skilldb check``, which reports
    a broken query by file and line) works while a query file is being edited.

    :param adapter: ``"psycopg"`` (``psycopg.Connection``) or ``"apsycopg"`` (async).
    :raises aiosql.SQLParseException: a query file does not load.
    """
    return _load(_active_queries.get(), adapter)


@cache
def _load(queries_dir: Path, adapter: str) -> Any:
    return aiosql.from_path(queries_dir, adapter)


def __getattr__(name: str) -> Any:
    # ``queries`` (sync) and ``aio_queries`` (async): the aiosql query sets, loaded lazily
    if name == "queries":
        return load_queries("psycopg")
    if name == "aio_queries":
        return load_queries("apsycopg")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sql_of(name: str) -> str:
    """The psycopg-ready SQL text of query ``name`` (``"skills.get_skill"`` or ``"get_skill"``)."""
    return _sql_of(_active_queries.get(), name)


@cache
def _sql_of(queries_dir: Path, name: str) -> str:
    fn: Any = _load(queries_dir, "psycopg")
    for part in name.split("."):
        fn = getattr(fn, part)
    return str(fn.sql)


@dataclass(frozen=True, slots=True)
class Call(Generic[R, T]):
    """One named statement to run, with its parameters, row type and result shaping.

    :param query: aiosql query name, used to look up its SQL.
    :param params: the parameters the query declares, except ``tenant_id``, which the
        call path fills in from the ``skilldb.tenant`` block.
    :param row_factory: psycopg row factory producing ``R`` values.
    :param finish: turns ``(rows, rowcount)`` into the function's result ``T``.
    :param json_as_bytes: load ``json`` columns as bytes, for :func:`model_row`.
    :param setup: statements run first in the same transaction (never prepared), such
        as a ``SET LOCAL`` composed with :func:`skilldb.tenancy.bind_sql`.
    """

    query: str
    params: Mapping[str, Any]
    row_factory: BaseRowFactory[R]
    finish: Callable[[Sequence[R], int], T]
    json_as_bytes: bool = False
    setup: tuple[psycopg.sql.Composed, ...] = ()

    @classmethod
    def nested(
        cls,
        query: str,
        params: Mapping[str, Any],
        model: type[R],
        finish: Callable[[Sequence[R], int], T],
        setup: tuple[psycopg.sql.Composed, ...] = (),
    ) -> Call[R, T]:
        """A call whose rows become ``model`` with their json relations decoded (see :func:`model_row`)."""
        return cls(query, params, model_row(model), finish, json_as_bytes=True, setup=setup)


class Operation(Protocol[P, T_co]):
    """A public operation: call it with a ``psycopg.Connection``; ``.aio`` is its async twin."""

    __name__: str
    __doc__: str | None

    def __call__(self, conn: psycopg.Connection[Any], /, *args: P.args, **kwargs: P.kwargs) -> T_co: ...

    @property
    def aio(self) -> Callable[Concatenate[psycopg.AsyncConnection[Any], P], Coroutine[Any, Any, T_co]]:
        """The same operation for ``psycopg.AsyncConnection``."""
        ...


def _public_signature(plan: Callable[..., Any], conn_type: str, returns: Any) -> inspect.Signature:
    """``plan``'s signature with the connection first and the operation's result type."""
    sig = inspect.signature(plan)
    conn = inspect.Parameter("conn", inspect.Parameter.POSITIONAL_ONLY, annotation=conn_type)
    return sig.replace(parameters=[conn, *sig.parameters.values()], return_annotation=returns)


def operation(plan: Callable[P, Call[Any, T]]) -> Operation[P, T]:
    """Make the sync and async faces of the operation whose plan is ``plan``.

    Every parameter of ``plan`` is checked by the rule :mod:`skilldb._validate` keeps
    for its name (``None`` passes where the annotation allows it), so a new operation
    cannot forget a check; a parameter with no rule fails at import. The operation runs
    inside a ``skilldb.tenant`` block, whose tenant its SQL receives as ``:tenant_id``.
    """
    return _make_operation(plan, "tenant_id", "")


def workshop_operation(plan: Callable[P, Call[Any, T]]) -> Operation[P, T]:
    """:func:`operation` for the workshops domain: ``skilldb.workshops.<name>`` runs inside a
    ``skilldb.workshops.acting_as`` block, whose person its SQL receives as ``:acting_user_id``."""
    return _make_operation(plan, "acting_user_id", "workshops.")


@dataclass(frozen=True, slots=True)
class Registered:
    """An operation as :func:`operation` made it: its public name, its plan and the kind
    of block it runs in (``tenant_id`` or ``acting_user_id``); read by ``skilldb check``."""

    public: str
    plan: Callable[..., Call[Any, Any]]
    scope: str


#: Every operation made so far, by public name (``skilldb.get_skill``, ``skilldb.workshops.add_member``).
REGISTRY: dict[str, Registered] = {}


@dataclass(frozen=True, slots=True)
class Face:
    """One face of an operation (``skilldb.<name>`` or ``skilldb.aio.<name>``), for
    ``Block.run``: its public name, its twin's, how it makes its :class:`Call` from the
    caller's arguments (validated), the kind of block it runs in, and whether it is async."""

    public: str
    twin: str
    prepare: Callable[[tuple[Any, ...], dict[str, Any]], Call[Any, Any]]
    scope: str
    is_async: bool


#: Every face of every operation made so far, by the function itself.
FACES: dict[Callable[..., Any], Face] = {}


def face_of(operation: object) -> Face | None:
    """The :class:`Face` ``operation`` is, or ``None`` for any other callable (hashable or not)."""
    try:
        return FACES.get(cast(Callable[..., Any], operation))
    except TypeError:  # unhashable: no operation
        return None


def _make_operation(plan: Callable[P, Call[Any, T]], scope: str, namespace: str) -> Operation[P, T]:
    hints = get_type_hints(plan)
    returns = get_args(hints.pop("return"))[1]
    sig = inspect.signature(plan)
    checks = {name: _validate.rule(name, hints[name]) for name in sig.parameters}
    public = f"skilldb.{namespace}{plan.__name__}"
    public_aio = f"skilldb.aio.{namespace}{plan.__name__}"
    REGISTRY[public] = Registered(public, plan, scope)

    bind = _binder(sig, checks)
    make_call = cast(Callable[..., Call[Any, T]], plan)

    def prepare(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call[Any, T]:
        arguments = bind(args, kwargs)
        if arguments is None:  # a call the fast path does not take: inspect says what is wrong
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"{public}(): {exc}") from None
            bound.apply_defaults()
            arguments = {name: checks[name](value) for name, value in bound.arguments.items()}
        return make_call(**arguments)

    # the first error of a block is kept on its binding for the block's later messages
    # (tenancy.recording, written out: a generator context manager costs more than the call)
    def sync(conn: psycopg.Connection[Any], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if not isinstance(conn, psycopg.Connection):
            raise _wrong_connection(public, conn, psycopg.Connection, public_aio)
        call = prepare(args, kwargs)
        binding = tenancy.bound(conn, public, scope)
        try:
            return run(conn, binding, call)
        except (SkillDBError, psycopg.Error) as exc:
            if binding.failure is None:
                binding.failure = exc
            raise

    async def asynchronous(conn: psycopg.AsyncConnection[Any], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if not isinstance(conn, psycopg.AsyncConnection):
            raise _wrong_connection(public_aio, conn, psycopg.AsyncConnection, public)
        call = prepare(args, kwargs)
        binding = tenancy.bound(conn, public_aio, scope)
        try:
            return await arun(conn, binding, call)
        except (SkillDBError, psycopg.Error) as exc:
            if binding.failure is None:
                binding.failure = exc
            raise

    faces: tuple[tuple[Any, str, str], ...] = (
        (sync, f"skilldb.{namespace}".rstrip("."), "psycopg.Connection[Any]"),
        (asynchronous, f"skilldb.aio.{namespace}".rstrip("."), "psycopg.AsyncConnection[Any]"),
    )
    for face, module, conn_type in faces:
        face.__name__ = face.__qualname__ = plan.__name__
        face.__module__ = module
        face.__doc__ = plan.__doc__
        face.__signature__ = _public_signature(plan, conn_type, returns)
        face.__wrapped__ = plan
    sync.aio = asynchronous  # type: ignore[attr-defined]
    FACES[sync] = Face(public, public_aio, prepare, scope, is_async=False)
    FACES[asynchronous] = Face(public_aio, public, prepare, scope, is_async=True)
    return cast(Operation[P, T], sync)


def _binder(
    sig: inspect.Signature, checks: Mapping[str, Callable[[Any], Any]]
) -> Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any] | None]:
    """The arguments of a call by parameter name, defaults filled in and each checked by its
    rule, in the signature's order (as ``sig.bind`` and ``apply_defaults`` give them); ``None``
    for a call that ``sig.bind`` would refuse (too many or unknown arguments, one given
    twice, one missing), so that the caller lets ``sig.bind`` word the error."""
    params = list(sig.parameters.values())
    kinds = {inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY}
    if any(p.kind not in kinds for p in params):
        return lambda args, kwargs: None
    positional = tuple(p.name for p in params if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = frozenset(p.name for p in params)
    order = tuple((p.name, p.default is inspect.Parameter.empty, p.default, checks[p.name]) for p in params)

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
        if len(args) > len(positional):
            return None
        given = dict(zip(positional, args, strict=False))
        if kwargs:
            if not kwargs.keys().isdisjoint(given) or not kwargs.keys() <= names:
                return None
            given.update(kwargs)
        for name, required, _, _ in order:
            if required and name not in given:
                return None
        # every argument is there: check them, in the signature's order
        return {name: check(given[name] if name in given else default) for name, _, default, check in order}

    return bind


def _wrong_connection(name: str, conn: Any, expected: type, twin: str) -> TypeError:
    return TypeError(
        f"{name}(): conn must be a {expected.__module__}.{expected.__name__}, got {type(conn).__name__}"
        + (f" (use {twin} for it)" if isinstance(conn, psycopg.Connection | psycopg.AsyncConnection) else "")
    )


def _prepare(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool | None:
    """Prepare named queries on their first call, unless the connection turned preparation off.

    ``prepare_threshold = None`` (as for PgBouncer before 1.21) disables prepared
    statements; psycopg then ignores ``prepare=True`` too.
    """
    return None if conn.prepare_threshold is None else True


def _in_pipeline(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    return conn.pgconn.pipeline_status != pq.PipelineStatus.OFF


def _has_rows(cur: psycopg.Cursor[Any] | psycopg.AsyncCursor[Any]) -> bool:
    """Whether the statement returned rows (cheaper than building ``cur.description``)."""
    result = cur.pgresult
    return result is not None and result.status == pq.ExecStatus.TUPLES_OK


def run(
    conn: psycopg.Connection[Any],
    binding: tenancy.Binding,
    call: Call[R, T],
    opening: Sequence[bytes] = (),
    read_only: bool = False,
) -> T:
    """Execute ``call`` under ``binding`` on a sync connection and shape its result (errors translated).

    The bound value reaches the SQL as the binding's parameter (``:tenant_id`` or
    ``:acting_user_id``). Results are read in binary format, so they do not depend on
    the session's ``DateStyle``. Inside ``conn.pipeline()`` the statement's result is
    synced before it is shaped, so pipeline mode gives the same results as normal mode.

    With ``opening`` (``BEGIN`` and the binding, for ``Block.run``) the call is the whole
    transaction, sent in one pipeline: a statement that ``read_only`` says only reads is
    followed by ``COMMIT`` and one ``Sync`` (one round trip; ``opening`` began ``READ
    ONLY``); one that may write is synced, leaving pipeline mode, shaped, then committed
    (two round trips), so that a result that raises leaves it uncommitted. The caller
    rolls back what a failure left open.
    """
    sql = sql_of(call.query)
    params = {binding.param: binding.value, **call.params}
    try:
        with conn.cursor(row_factory=call.row_factory, binary=True) as cur:
            if call.json_as_bytes:
                cur.adapters.register_loader(JSON_OID, _JsonBytesLoader)
            if opening or _in_pipeline(conn):
                with conn.pipeline():
                    for statement in opening:
                        conn.execute(statement, prepare=False)
                    for setup in call.setup:
                        cur.execute(setup, prepare=False)
                    cur.execute(sql, params, prepare=_prepare(conn))
                    if opening and read_only:
                        conn.execute(b"COMMIT", prepare=False)
            else:
                for setup in call.setup:
                    cur.execute(setup, prepare=False)
                cur.execute(sql, params, prepare=_prepare(conn))
            result = call.finish(_rows(cur), cur.rowcount)
            if opening and not read_only:
                conn.commit()
            return result
    except psycopg.Error as exc:  # translate_errors(params), written out
        err = translate(exc, params)
        if err is None:
            raise
        raise err from exc


async def arun(
    conn: psycopg.AsyncConnection[Any],
    binding: tenancy.Binding,
    call: Call[R, T],
    opening: Sequence[bytes] = (),
    read_only: bool = False,
) -> T:
    """Execute ``call`` under ``binding`` on an async connection: :func:`run` with ``await``."""
    sql = sql_of(call.query)
    params = {binding.param: binding.value, **call.params}
    try:
        async with conn.cursor(row_factory=call.row_factory, binary=True) as cur:
            if call.json_as_bytes:
                cur.adapters.register_loader(JSON_OID, _JsonBytesLoader)
            if opening or _in_pipeline(conn):
                async with conn.pipeline():
                    for statement in opening:
                        await conn.execute(statement, prepare=False)
                    for setup in call.setup:
                        await cur.execute(setup, prepare=False)
                    await cur.execute(sql, params, prepare=_prepare(conn))
                    if opening and read_only:
                        await conn.execute(b"COMMIT", prepare=False)
            else:
                for setup in call.setup:
                    await cur.execute(setup, prepare=False)
                await cur.execute(sql, params, prepare=_prepare(conn))
            result = call.finish(await _arows(cur), cur.rowcount)
            if opening and not read_only:
                await conn.commit()
            return result
    except psycopg.Error as exc:
        err = translate(exc, params)
        if err is None:
            raise
        raise err from exc


def _rows(cur: psycopg.Cursor[R]) -> list[R]:
    return cur.fetchall() if _has_rows(cur) else []


async def _arows(cur: psycopg.AsyncCursor[R]) -> list[R]:
    return await cur.fetchall() if _has_rows(cur) else []


#: Functions of PostgreSQL itself that the named queries call and that write nothing. A
#: statement calling any other (``increment_skill_uses``, a function a DBA adds) is taken
#: as one that may write: slower by a round trip in ``Block.run``, never wrong.
_READING_FUNCTIONS = frozenset(
    {
        "array_agg", "avg", "bool_and", "bool_or", "clock_timestamp", "count", "format",
        "json_agg", "json_build_array", "json_build_object", "jsonb_agg", "jsonb_build_array",
        "jsonb_build_object", "jsonb_each", "jsonb_typeof", "json_typeof", "lag", "lead",
        "length", "lower", "max", "min", "now", "regexp_replace", "row_number", "row_to_json",
        "string_agg", "sum", "to_json", "to_jsonb", "unnest", "upper",
    }
)  # fmt: skip
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def reads_only(call: Call[Any, Any]) -> bool:
    """Whether ``call``'s statement only reads: one ``SELECT`` (no data-modifying ``WITH``,
    no ``FOR UPDATE``/``SHARE``) calling only the functions of :data:`_READING_FUNCTIONS`,
    as ``pglast`` parses it. What cannot be parsed is taken as a write. Only the text is
    read: a writing function reached through a view, a policy, an operator or attribute
    notation (``s.fn``) is not seen, and ``Block.run``'s ``READ ONLY`` transaction then
    makes the call fail rather than write."""
    return _reads_only(sql_of(call.query))


@cache
def _reads_only(text: str) -> bool:
    from pglast import ast, parse_sql, visitors  # a C extension: loaded when first needed
    from pglast.parser import ParseError

    try:
        (raw,) = parse_sql(_PLACEHOLDER.sub(r"$1", text).replace("%%", "%"))
    except (ParseError, ValueError):
        return False
    statement = raw.stmt
    if not isinstance(statement, ast.SelectStmt) or statement.intoClause is not None:  # SELECT INTO creates
        return False
    writes: list[ast.Node] = []

    class Writes(visitors.Visitor):
        def visit_LockingClause(self, ancestors: Any, node: ast.LockingClause) -> None:
            writes.append(node)

        def visit_CommonTableExpr(self, ancestors: Any, node: ast.CommonTableExpr) -> None:
            if not isinstance(node.ctequery, ast.SelectStmt):
                writes.append(node)

        def visit_FuncCall(self, ancestors: Any, node: ast.FuncCall) -> None:
            name = [part.sval for part in node.funcname or ()]
            if name[-1] not in _READING_FUNCTIONS or name[:-1] not in ([], ["pg_catalog"]):
                writes.append(node)

    Writes()(statement)
    return not writes


def single(rows: Sequence[R], rowcount: int) -> R:
    """``finish`` for ``INSERT ... RETURNING`` of one row, which returns it or raises."""
    return rows[0]


def first(rows: Sequence[R], rowcount: int) -> R | None:
    """``finish`` for single-row queries: the row, or ``None`` when nothing matched."""
    return rows[0] if rows else None


def every(rows: Sequence[R], rowcount: int) -> list[R]:
    """``finish`` for list queries: all rows, in the query's order."""
    return list(rows)


def one_or(error: Callable[[], Exception]) -> Callable[[Sequence[R], int], R]:
    """``finish`` for queries that must return a row: raise ``error()`` when none came back."""

    def finish(rows: Sequence[R], rowcount: int) -> R:
        if not rows:
            raise error()
        return rows[0]

    return finish


#: Hands ``json`` values over undecoded, for msgspec to decode into their typed shape.
#: In the binary format a ``json`` value is its text as is, so psycopg's own binary
#: ``bytea`` loader (``bytes(data)``, in C with psycopg's C extension) is the loader.
_JsonBytesLoader: type[Loader] = ByteaBinaryLoader


_DECODERS: dict[type[Any], dict[str, msgspec.json.Decoder[Any]]] = {}


def _json_decoders(cls: type[Any]) -> dict[str, msgspec.json.Decoder[Any]]:
    """A msgspec decoder for each field of ``cls``, by its type annotation (built once per class)."""
    if cls not in _DECODERS:
        _DECODERS[cls] = {name: msgspec.json.Decoder(hint) for name, hint in get_type_hints(cls).items()}
    return _DECODERS[cls]


def _fails(decode: Callable[[Any], Any], value: Any) -> bool:
    try:
        decode(value)
    except msgspec.ValidationError:
        return True
    return False


#: One row factory per model (each keeps what it learnt of the results it saw).
_ROW_FACTORIES: dict[type[Any], BaseRowFactory[Any]] = {}


def model_row(cls: type[T]) -> BaseRowFactory[T]:
    """Row factory for ``...WithRelations`` shapes: plain columns as psycopg loads them, and
    each ``json`` column decoded by msgspec straight into its field's type (dataclasses,
    lists, datetimes), without an intermediate dict. Used through :meth:`Call.nested`.

    The columns are read from the result's own names and type oids, and what they give (a
    name, and a decoder for a json column) is kept per shape of result.
    """
    if cls in _ROW_FACTORIES:
        return cast(BaseRowFactory[T], _ROW_FACTORIES[cls])
    decoders = _json_decoders(cls)
    shapes: dict[tuple[Any, ...], tuple[tuple[str, ...], tuple[tuple[int, Any], ...]]] = {}

    def factory(cursor: Any) -> Callable[[Sequence[Any]], T]:
        result = cursor.pgresult
        n = result.nfields if result is not None else 0
        shape = tuple((result.fname(i), result.ftype(i)) for i in range(n))
        known = shapes.get(shape)
        if known is None:
            names = tuple(c.name for c in cursor.description or ())
            json_columns = tuple((i, decoders[names[i]].decode) for i, (_, oid) in enumerate(shape) if oid == JSON_OID)
            known = shapes[shape] = (names, json_columns)
        names, json_columns = known

        def make(values: Sequence[Any]) -> T:
            try:
                if json_columns:
                    row = list(values)
                    for i, decode in json_columns:
                        if row[i] is not None:
                            row[i] = decode(row[i])
                    values = row
                return cls(**dict(zip(names, values)))  # as many names as the result has columns
            except msgspec.ValidationError as exc:  # say which column: the message only has the path in it
                bad = next(names[i] for i, d in json_columns if values[i] is not None and _fails(d, values[i]))
                raise msgspec.ValidationError(f"column {bad}: {exc}") from exc

        return make

    _ROW_FACTORIES[cls] = factory
    return factory
