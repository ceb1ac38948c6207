"""Tenant binding: every operation runs inside a transaction bound to one tenant.

``skilldb.tenant(conn, tenant_id)`` opens a transaction, binds the tenant with
``SET LOCAL app.current_tenant_id = '<tenant_id>'`` (read by the row-level security
policies in ``migrations/``) and records the binding for ``conn`` in this process.
Operations run only inside such a block, and pass its tenant to their SQL as
``:tenant_id``: a session-level ``app.current_tenant_id`` (``SET`` without ``LOCAL``,
``ALTER ROLE ... SET``) is never taken for a binding.

The block fails closed:

* a second block on the same connection, from any thread or task, raises
  :class:`~skilldb.errors.TransactionInProgress` (claimed under a lock, so two
  threads cannot both get in);
* an operation called from another thread or task than the block's raises
  :class:`~skilldb.errors.TenantRequired`;
* after a failed statement (even one the caller caught), the block raises
  :class:`~skilldb.errors.TransactionAborted` at its next operation and at its exit:
  PostgreSQL rolled the transaction back, and nothing of the block is committed;
* after a raw ``COMMIT`` or ``ROLLBACK`` inside the block, the next operation and the
  exit raise :class:`~skilldb.errors.TransactionEnded`.

``SET LOCAL`` is transaction-local, so a pooled connection never carries the binding
into its next checkout; it is also the form Citus propagates to its worker nodes
(``set_config(..., true)`` is not propagated).

The block's opening is sent when it is entered, and its ``COMMIT`` is confirmed when it
exits, so raw statements inside run in the bound transaction with their results and
errors at the statement: three round trips for a block of one statement. A request of
one operation is known to hold nothing else, so ``Block.run`` sends it with its opening
and ``COMMIT`` in one pipeline: one round trip for a read, two for a write.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Concatenate, LiteralString, ParamSpec, TypeVar, cast

import psycopg
from psycopg import capabilities, generators, pq, sql
from psycopg import errors as pg_errors
from psycopg.pq import ExecStatus, TransactionStatus

from skilldb import _validate
from skilldb.errors import (
    ConnectionClosed,
    PersonRequired,
    SkillDBError,
    TenantRequired,
    TransactionAborted,
    TransactionEnded,
    TransactionInProgress,
    translate,
)

__all__ = [
    "ABlock",
    "Binding",
    "Block",
    "aacting_as",
    "acting_as",
    "atenant",
    "bind_sql",
    "bind_tenant_sql",
    "bound",
    "tenant",
]

AnyConnection = psycopg.Connection[Any] | psycopg.AsyncConnection[Any]
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(eq=False, slots=True)
class Binding:
    """What a block bound on one connection (a tenant, or a person), and who holds it.

    :param param: the SQL parameter that receives the bound value (``"tenant_id"`` for
        ``skilldb.tenant``, ``"acting_user_id"`` for ``skilldb.workshops.acting_as``).
    :param value: the bound tenant id or person id.
    :param owner: the thread id (sync) or asyncio task (async) running the block.
    :param failure: the first error an operation of the block raised, if any.
    """

    param: str
    value: str
    owner: object
    failure: BaseException | None = field(default=None)


_BINDINGS: weakref.WeakKeyDictionary[AnyConnection, Binding] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Scope:
    """A kind of block: the setting it binds and what an operation outside one raises."""

    setting: LiteralString
    block: str
    missing: type[SkillDBError]


#: The kinds of block, by the SQL parameter that receives the bound value.
SCOPES = {
    "tenant_id": Scope("app.current_tenant_id", "skilldb.tenant(conn, tenant_id)", TenantRequired),
    "acting_user_id": Scope("app.clerk_user_id", "skilldb.workshops.acting_as(conn, clerk_user_id)", PersonRequired),
}


def bind_sql(setting: LiteralString, value: str) -> sql.Composed:
    """``SET LOCAL <setting> = '<value>'``, the value quoted client-side (``setting`` is a
    constant such as ``app.current_tenant_id``, written as is).

    psycopg binds parameters on the server, where ``SET`` cannot take one, so the
    value is composed as a literal (:class:`psycopg.sql.Literal` quotes it safely).
    """
    return sql.SQL("SET LOCAL {} = {}").format(sql.SQL(setting), sql.Literal(value))


def bind_tenant_sql(tenant_id: str) -> sql.Composed:
    """``SET LOCAL app.current_tenant_id = '<tenant_id>'``, the tenant quoted client-side."""
    return bind_sql("app.current_tenant_id", tenant_id)


def _owner(conn: AnyConnection) -> object:
    if isinstance(conn, psycopg.AsyncConnection):
        task = asyncio.current_task()
        return task if task is not None else threading.get_ident()
    return threading.get_ident()


#: The check of each scope's bound value (a tenant id, a person id), made once.
_CHECKS = {param: _validate.rule(param, str) for param in SCOPES}


def _admit(conn: AnyConnection, value: Any, name: str, param: str) -> str:
    """The checked value a block of ``name`` binds on ``conn``, or raise (nothing sent)."""
    value = _CHECKS[param](value)
    expected = psycopg.AsyncConnection if name.startswith("skilldb.aio") else psycopg.Connection
    if not isinstance(conn, expected):
        raise TypeError(f"{name}(): conn must be a psycopg.{expected.__name__}, got {type(conn).__name__}")
    if conn.closed:
        raise ConnectionClosed(f"{name}(): the connection is closed")
    return str(value)


def _claim(conn: AnyConnection, value: Any, name: str, param: str) -> Binding:
    """Validate (:func:`_admit`), then register a binding for ``conn`` (until :func:`_release`)."""
    return _register(conn, _admit(conn, value, name, param), name, param)


def _register(conn: AnyConnection, value: str, name: str, param: str) -> Binding:
    """Register a binding of the admitted ``value`` for ``conn`` (until :func:`_release`)."""
    with _LOCK:
        held = _BINDINGS.get(conn)
        if held is not None:
            raise TransactionInProgress(
                f"{name}(): the connection is already bound by another block "
                "(of this or another thread or task); a connection serves one block at a time"
            )
        status = conn.pgconn.transaction_status
        if status != TransactionStatus.IDLE:
            raise TransactionInProgress(
                f"{name}() starts the transaction it binds, but the connection is already "
                f"in one ({TransactionStatus(status).name}): commit or roll back first"
            )
        binding = _BINDINGS[conn] = Binding(param, value, _owner(conn))
    return binding


def _release(conn: AnyConnection) -> None:
    with _LOCK:
        _BINDINGS.pop(conn, None)


def bound(conn: AnyConnection, name: str, param: str = "tenant_id") -> Binding:
    """The binding an operation named ``name`` may act under on ``conn``, or raise.

    :param param: the kind of block the operation needs (a key of :data:`SCOPES`).
    :raises TenantRequired: (``PersonRequired`` for ``acting_user_id``) no such block is
        open on ``conn``, or it belongs to another thread or task.
    :raises TransactionAborted: an earlier statement of the block failed.
    :raises TransactionEnded: the block's transaction was ended by a raw COMMIT or ROLLBACK.
    """
    scope = SCOPES[param]
    binding = _BINDINGS.get(conn)
    if binding is None or binding.param != param:
        raise scope.missing(
            f"{name}() runs only inside `with {scope.block}:` (a session-level {scope.setting} is not a binding)"
        )
    if binding.owner != _owner(conn):
        raise scope.missing(f"{name}(): the connection is bound by a block of another thread or task")
    check_open(conn, binding)
    return binding


def check_open(conn: AnyConnection, binding: Binding) -> None:
    """Raise if the block's transaction failed or was ended under it."""
    status = conn.pgconn.transaction_status
    if status == TransactionStatus.INERROR:
        cause = f" (first failure: {binding.failure})" if binding.failure is not None else ""
        raise TransactionAborted(
            "a statement in this block failed, so PostgreSQL rolled its transaction "
            f"back: nothing in the block is committed{cause}"
        ) from binding.failure
    if status == TransactionStatus.IDLE:
        raise TransactionEnded(
            "the block's transaction was ended inside the block by a raw COMMIT or "
            "ROLLBACK: its earlier statements may be committed or lost, and nothing is bound any more"
        )
    if status == TransactionStatus.UNKNOWN:
        raise ConnectionClosed("the connection was lost inside the block")


@contextmanager
def recording(binding: Binding) -> Iterator[None]:
    """Remember the first error raised inside, for the block's later messages."""
    try:
        yield
    except (SkillDBError, psycopg.Error) as exc:
        if binding.failure is None:
            binding.failure = exc
        raise


def _translated(exc: psycopg.Error) -> BaseException:
    return translate(exc) or exc


#: ``BEGIN`` for a connection's (isolation level, read only, deferrable), as psycopg would send it.
_BEGINS: dict[tuple[Any, Any, Any], str] = {}
#: Bound values written as a plain quoted literal (what ``sql.Literal`` gives them on any connection).
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.:@+=/-]+")


def _begin(conn: AnyConnection, read_only: bool | None = None) -> str:
    """The ``BEGIN`` psycopg would send for ``conn`` (its isolation level, read only,
    deferrable); ``read_only=True`` makes it ``READ ONLY`` on a connection that is not, and
    then leaves ``DEFERRABLE`` out: the connection's blocks are read-write, where it has no
    effect, while a ``SERIALIZABLE READ ONLY DEFERRABLE`` transaction may wait to start."""
    key: tuple[Any, Any, Any]
    if read_only and not conn.read_only:
        key = (conn.isolation_level, True, None)
    else:
        key = (conn.isolation_level, conn.read_only, conn.deferrable)
    begin = _BEGINS.get(key)
    if begin is None:
        isolation, read_only, deferrable = key
        parts = ["BEGIN"]
        if isolation is not None:
            parts.append("ISOLATION LEVEL " + psycopg.IsolationLevel(isolation).name.replace("_", " "))
        if read_only is not None:
            parts.append("READ ONLY" if read_only else "READ WRITE")
        if deferrable is not None:
            parts.append("DEFERRABLE" if deferrable else "NOT DEFERRABLE")
        begin = _BEGINS[key] = " ".join(parts)
    return begin


def _opening(
    conn: AnyConnection, binding: Binding, read_only: bool | None = None, pipelined: bool | None = None
) -> list[bytes]:
    """The statements that open the block: ``BEGIN`` and the ``SET LOCAL`` binding, as one
    simple-protocol query (one round trip), or as two inside a pipeline (which queues them
    anyway and takes one statement per query). Never prepared: one statement per bound
    value would crowd out the named queries. ``read_only=True`` begins ``READ ONLY``;
    ``pipelined`` says which form to give (default: pipeline mode's, when ``conn`` is in it).

    The value is quoted as :func:`bind_sql` quotes it; a value of only letters, digits and
    ``_.:@+=/-`` needs no escaping, and is written as is between quotes.
    """
    setting, value = SCOPES[binding.param].setting, binding.value
    if _PLAIN_VALUE.fullmatch(value):
        bind = f"SET LOCAL {setting} = '{value}'".encode()
    else:
        bind = bind_sql(setting, value).as_bytes(conn)
    begin = _begin(conn, read_only).encode()
    if _in_pipeline(conn) if pipelined is None else pipelined:
        return [begin, bind]
    return [begin + b"; " + bind]


def _in_pipeline(conn: AnyConnection) -> bool:
    return conn.pgconn.pipeline_status != pq.PipelineStatus.OFF


def _check(conn: AnyConnection, results: list[pq.abc.PGresult]) -> None:
    """Raise the error of a failed command, as psycopg does for its own ``COMMIT``."""
    for result in results:
        if result.status == ExecStatus.FATAL_ERROR:
            raise pg_errors.error_from_result(result, encoding=conn.info.encoding)


def _command(conn: psycopg.Connection[Any], command: bytes) -> None:
    """Run ``command`` (simple query protocol: no parameters, one or more statements) and
    wait for it, raising its error.

    What psycopg does for its own ``COMMIT`` (``send_query`` and its ``execute`` generator
    under the connection's lock and wait loop), without building a cursor, a query object
    and a prepared-statement lookup for a statement that has no parameters and no rows.
    """
    with conn.lock:
        conn.pgconn.send_query(command)
        results = conn.wait(generators.execute(conn.pgconn))
    _check(conn, results)


async def _acommand(conn: psycopg.AsyncConnection[Any], command: bytes) -> None:
    """Async twin of :func:`_command`."""
    async with conn.lock:
        conn.pgconn.send_query(command)
        results = await conn.wait(generators.execute(conn.pgconn))
    _check(conn, results)


def _discard(awaitable: object) -> None:
    """Close a coroutine that will never be awaited (no "never awaited" warning)."""
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()


def _closable(conn: AnyConnection) -> bool:
    return not conn.closed and conn.pgconn.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)


class Block:
    """A transaction on a connection with a value bound as one scope: what :func:`tenant`
    and :func:`acting_as` return (``with``); entering it yields the connection.

    Opens with ``BEGIN`` and the binding in one round trip: the connection is switched
    to autocommit for the block (so that psycopg sends no ``BEGIN`` of its own, and a
    statement after a raw ``COMMIT`` starts no transaction of its own) and back when it
    ends; the block commits (or rolls back) itself. Outside pipeline mode the opening and
    the ``COMMIT`` go as bare commands (:func:`_command`); inside one, through psycopg.

    A class rather than a generator context manager: it runs on every request, and a
    generator (three of them, nested) cost more than the rest of the block's Python.
    """

    __slots__ = ("_autocommit", "_binding", "_conn", "_name", "_param", "_value")

    def __init__(self, conn: psycopg.Connection[Any], value: Any, param: str, name: str) -> None:
        self._conn, self._value, self._param, self._name = conn, value, param, name
        self._autocommit = True
        self._binding: Binding | None = None

    def __enter__(self) -> psycopg.Connection[Any]:
        conn = self._conn
        binding = self._binding = _claim(conn, self._value, self._name, self._param)
        try:
            autocommit = self._autocommit = conn.autocommit
            if not autocommit:
                conn.autocommit = True
            if _in_pipeline(conn):
                for statement in _opening(conn, binding):
                    conn.execute(statement, prepare=False)
            else:
                _command(conn, _opening(conn, binding)[0])
        except BaseException:
            self._end()
            raise
        return conn

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        conn = self._conn
        try:
            if exc is None:
                try:
                    check_open(conn, cast(Binding, self._binding))
                except BaseException:
                    self._rollback()
                    raise
                try:
                    if _in_pipeline(conn):
                        conn.commit()
                    else:
                        _command(conn, b"COMMIT")
                except psycopg.Error as err:
                    raise _translated(err) from err
                return False
            self._rollback()
            # psycopg's way to roll back on purpose, as in conn.transaction(), is swallowed; the
            # result is typed ``bool | None`` (as contextlib's is) so that type checkers do
            # not take every ``return`` inside a block for one that may be skipped
            return isinstance(exc, psycopg.Rollback) and exc.transaction is None
        finally:
            self._end()

    def run(
        self, operation: Callable[Concatenate[psycopg.Connection[Any], P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``operation(conn, *args, **kwargs)`` as the whole block, and return its result.

        Equivalent to ``with block: return operation(conn, *args, **kwargs)`` (same
        binding, same errors, nothing committed when it raises), and that is what it
        runs for any other callable. A skilldb operation of this block's kind (not an
        ``aio`` one) that runs one statement is sent in fewer round trips, since nothing
        can come between its statement and the ``COMMIT``: ``BEGIN``, the binding, the
        statement and ``COMMIT`` go in one pipeline (psycopg's ``conn.pipeline()``),
        answered in one round trip when the statement only reads (it then runs in a
        ``READ ONLY`` transaction, so a statement taken for a read by mistake fails
        rather than writes), in two when it may write (the ``COMMIT`` is sent once its
        result is shaped, so a result that raises is rolled back). Inside the caller's
        own ``conn.pipeline()``, or without pipeline mode in libpq, the block form runs.

        Example: ``skilldb.tenant(conn, tenant_id).run(skilldb.get_skill_with_relations, skill_id)``.

        :param operation: ``skilldb.<name>`` (or any callable taking the connection first).
        :return: what ``operation`` returns.
        :raises TypeError: ``operation`` is an async operation (``skilldb.aio.<name>``).
        :raises SkillDBError: what the block or the operation raises.
        """
        from skilldb import _sql  # imports this module

        conn = self._conn
        value = _admit(conn, self._value, self._name, self._param)
        face = _sql.face_of(operation)
        if face is not None and face.is_async:
            raise TypeError(f"{self._name}(...).run(): {face.public} is async; pass {face.twin}")
        if face is None or face.scope != self._param or _in_pipeline(conn) or not capabilities.has_pipeline():
            with self:
                result = operation(conn, *args, **kwargs)
                if inspect.isawaitable(result):  # rolled back by the block
                    _discard(result)
                    raise TypeError(f"{self._name}(...).run(): {operation!r} is async; use skilldb.aio")
                return result
            return cast(T, None)  # the operation raised psycopg.Rollback, which the block swallowed
        call = face.prepare(args, kwargs)
        read_only = _sql.reads_only(call)
        binding = self._binding = _register(conn, value, self._name, self._param)
        try:
            autocommit = self._autocommit = conn.autocommit
            if not autocommit:
                conn.autocommit = True
            opening = _opening(conn, binding, read_only or None, pipelined=True)
            return cast(T, _sql.run(conn, binding, call, opening, read_only))
        finally:
            try:
                self._rollback()  # a failure left the transaction open: nothing of it is committed
            finally:
                self._end()

    def _rollback(self) -> None:
        if _closable(self._conn):
            try:
                self._conn.rollback()
            except psycopg.Error:
                pass  # the connection is lost: what raised in the block says more

    def _end(self) -> None:
        conn = self._conn
        self._binding = None  # the first failure's traceback is not kept past the block
        try:
            if not self._autocommit and not conn.closed and conn.pgconn.transaction_status == TransactionStatus.IDLE:
                conn.autocommit = False
        finally:
            _release(conn)


class ABlock:
    """Async twin of :class:`Block` (``async with``), what :func:`atenant` and
    :func:`aacting_as` return; entering it yields the connection."""

    __slots__ = ("_autocommit", "_binding", "_conn", "_name", "_param", "_value")

    def __init__(self, conn: psycopg.AsyncConnection[Any], value: Any, param: str, name: str) -> None:
        self._conn, self._value, self._param, self._name = conn, value, param, name
        self._autocommit = True
        self._binding: Binding | None = None

    async def __aenter__(self) -> psycopg.AsyncConnection[Any]:
        conn = self._conn
        binding = self._binding = _claim(conn, self._value, self._name, self._param)
        try:
            autocommit = self._autocommit = conn.autocommit
            if not autocommit:
                await conn.set_autocommit(True)
            if _in_pipeline(conn):
                for statement in _opening(conn, binding):
                    await conn.execute(statement, prepare=False)
            else:
                await _acommand(conn, _opening(conn, binding)[0])
        except BaseException:
            await self._end()
            raise
        return conn

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        conn = self._conn
        try:
            if exc is None:
                try:
                    check_open(conn, cast(Binding, self._binding))
                except BaseException:
                    await self._rollback()
                    raise
                try:
                    if _in_pipeline(conn):
                        await conn.commit()
                    else:
                        await _acommand(conn, b"COMMIT")
                except psycopg.Error as err:
                    raise _translated(err) from err
                return False
            await self._rollback()
            return isinstance(exc, psycopg.Rollback) and exc.transaction is None
        finally:
            await self._end()

    async def run(
        self,
        operation: Callable[Concatenate[psycopg.AsyncConnection[Any], P], Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Async twin of :meth:`Block.run`: ``await skilldb.aio.tenant(conn, t).run(skilldb.aio.<name>, ...)``.

        :raises TypeError: ``operation`` is a sync operation (``skilldb.<name>``).
        """
        from skilldb import _sql

        conn = self._conn
        value = _admit(conn, self._value, self._name, self._param)
        face = _sql.face_of(operation)
        if face is not None and not face.is_async:
            raise TypeError(f"{self._name}(...).run(): {face.public} is sync; pass {face.twin}")
        if face is None or face.scope != self._param or _in_pipeline(conn) or not capabilities.has_pipeline():
            async with self:
                return await operation(conn, *args, **kwargs)
            return cast(T, None)  # the operation raised psycopg.Rollback, which the block swallowed
        call = face.prepare(args, kwargs)
        read_only = _sql.reads_only(call)
        binding = self._binding = _register(conn, value, self._name, self._param)
        try:
            autocommit = self._autocommit = conn.autocommit
            if not autocommit:
                await conn.set_autocommit(True)
            opening = _opening(conn, binding, read_only or None, pipelined=True)
            return cast(T, await _sql.arun(conn, binding, call, opening, read_only))
        finally:
            try:
                await self._rollback()
            finally:
                await self._end()

    async def _rollback(self) -> None:
        if _closable(self._conn):
            try:
                await self._conn.rollback()
            except psycopg.Error:
                pass

    async def _end(self) -> None:
        conn = self._conn
        self._binding = None
        try:
            if not self._autocommit and not conn.closed and conn.pgconn.transaction_status == TransactionStatus.IDLE:
                await conn.set_autocommit(False)
        finally:
            _release(conn)


def block(conn: psycopg.Connection[Any], value: Any, param: str, name: str) -> Block:
    """A transaction on ``conn`` with ``value`` bound as the scope ``param`` (see :func:`tenant`);
    ``name`` is the public name its errors give."""
    return Block(conn, value, param, name)


def ablock(conn: psycopg.AsyncConnection[Any], value: Any, param: str, name: str) -> ABlock:
    """Async twin of :func:`block`."""
    return ABlock(conn, value, param, name)


def tenant(conn: psycopg.Connection[Any], tenant_id: str) -> Block:
    """Open a transaction on ``conn`` bound to ``tenant_id``; commit on success, roll back on error.

    Runs ``BEGIN`` and ``SET LOCAL app.current_tenant_id = '<tenant_id>'`` (one round
    trip), the block, then ``COMMIT``, or ``ROLLBACK`` when the block raises. Every
    skilldb operation called with ``conn`` inside acts for ``tenant_id``.

    A request of one operation can skip the ``with``:
    ``skilldb.tenant(conn, tenant_id).run(skilldb.get_skill, skill_id)`` runs it as the
    whole block, in one round trip for a read and two for a write (:meth:`Block.run`).

    A failed statement aborts the whole transaction, even when the caller catches its
    error; the block then raises :class:`~skilldb.errors.TransactionAborted` rather
    than exit as if its writes were kept. To catch an error and go on, wrap the call
    in ``with conn.transaction():`` (a savepoint): only that call is undone.

    Supported isolation levels: READ COMMITTED (PostgreSQL's default) is what the
    operations are written for. Under REPEATABLE READ or SERIALIZABLE, concurrent
    writers may get :class:`~skilldb.errors.SerializationFailure`: the block was rolled
    back, and the caller may run it again.

    :param conn: an idle ``psycopg.Connection`` (autocommit or not), used by one
        thread at a time for the block.
    :param tenant_id: the id of the tenant (``tenants.id``) every operation acts for:
        1-128 printable characters, no surrounding whitespace.
    :return: a :class:`Block`: a context manager yielding ``conn``, with :meth:`Block.run`.
    :raises InvalidInput: ``tenant_id`` is not such a string.
    :raises TypeError: ``conn`` is not a ``psycopg.Connection``.
    :raises ConnectionClosed: ``conn`` is closed.
    :raises TransactionInProgress: ``conn`` is already inside a transaction or a block.
    :raises TransactionAborted: (at exit) a statement of the block failed; nothing was committed.
    :raises TransactionEnded: (at exit) a raw COMMIT or ROLLBACK ended the transaction inside.
    :raises SerializationFailure: (at exit) the COMMIT lost to a concurrent transaction.
    """
    return Block(conn, tenant_id, "tenant_id", "skilldb.tenant")


def atenant(conn: psycopg.AsyncConnection[Any], tenant_id: str) -> ABlock:
    """Async twin of :func:`tenant` for ``psycopg.AsyncConnection`` (``async with``).

    The block belongs to the asyncio task that entered it: operations called with
    ``conn`` from another task raise :class:`~skilldb.errors.TenantRequired`. Returns an
    :class:`ABlock`; ``await skilldb.aio.tenant(conn, t).run(skilldb.aio.<name>, ...)``
    runs one operation as the whole block (:meth:`ABlock.run`).

    :raises InvalidInput: ``tenant_id`` is not a valid tenant id.
    :raises TypeError: ``conn`` is not a ``psycopg.AsyncConnection``.
    :raises ConnectionClosed: ``conn`` is closed.
    :raises TransactionInProgress: ``conn`` is already inside a transaction or a block.
    :raises TransactionAborted: (at exit) a statement of the block failed; nothing was committed.
    :raises TransactionEnded: (at exit) a raw COMMIT or ROLLBACK ended the transaction inside.
    :raises SerializationFailure: (at exit) the COMMIT lost to a concurrent transaction.
    """
    return ABlock(conn, tenant_id, "tenant_id", "skilldb.aio.tenant")


def acting_as(conn: psycopg.Connection[Any], clerk_user_id: str) -> Block:
    """Open a transaction on ``conn`` acting as one person; commit on success, roll back on error.

    The workshops domain's :func:`tenant`: runs ``BEGIN``, ``SET LOCAL app.clerk_user_id
    = '<clerk_user_id>'`` (read by the row-level security of the workshop tables,
    migration 0020), the block, then ``COMMIT``. Every ``skilldb.workshops`` operation
    called with ``conn`` inside acts as that person; outside such a block they raise
    :class:`~skilldb.errors.PersonRequired`. It fails closed exactly as :func:`tenant`.

    :param conn: an idle ``psycopg.Connection``.
    :param clerk_user_id: the auth provider's id of the person (1-128 printable characters).
    :return: a context manager yielding ``conn``.
    :raises InvalidInput: ``clerk_user_id`` is not such a string.
    :raises TypeError: ``conn`` is not a ``psycopg.Connection``.
    :raises ConnectionClosed: ``conn`` is closed.
    :raises TransactionInProgress: ``conn`` is already inside a transaction or a block.
    :raises TransactionAborted: (at exit) a statement of the block failed; nothing was committed.
    :raises TransactionEnded: (at exit) a raw COMMIT or ROLLBACK ended the transaction inside.
    """
    return Block(conn, clerk_user_id, "acting_user_id", "skilldb.workshops.acting_as")


def aacting_as(conn: psycopg.AsyncConnection[Any], clerk_user_id: str) -> ABlock:
    """Async twin of :func:`acting_as` for ``psycopg.AsyncConnection`` (``async with``).

    :raises InvalidInput: ``clerk_user_id`` is not a valid id.
    :raises TypeError: ``conn`` is not a ``psycopg.AsyncConnection``.
    :raises ConnectionClosed: ``conn`` is closed.
    :raises TransactionInProgress: ``conn`` is already inside a transaction or a block.
    :raises TransactionAborted: (at exit) a statement of the block failed; nothing was committed.
    :raises TransactionEnded: (at exit) a raw COMMIT or ROLLBACK ended the transaction inside.
    """
    return ABlock(conn, clerk_user_id, "acting_user_id", "skilldb.aio.workshops.acting_as")
