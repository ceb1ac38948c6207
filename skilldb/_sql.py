"""Where the SQL lives, the aiosql query sets, and the one executor behind every typed function.

The ``.sql`` files are read from the repository's top-level ``queries/`` and
``migrations/`` when the package runs from a checkout (so a DBA's edit is picked up
on the next import), and from the copies shipped inside the wheel otherwise.

Each typed function builds a :class:`Call` (validation and row mapping, written once)
and hands it to :func:`run` or :func:`arun`; only the ``await`` differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar, get_type_hints

import aiosql
import msgspec
import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.postgres import types as pg_types
from psycopg.rows import BaseRowFactory

from skilldb.errors import translate_errors

T = TypeVar("T")
R = TypeVar("R")

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

#: The named queries for ``psycopg.Connection`` (aiosql ``psycopg`` adapter).
queries: Any = aiosql.from_path(QUERIES_DIR, "psycopg")
#: The same queries for ``psycopg.AsyncConnection`` (aiosql ``apsycopg`` adapter).
aio_queries: Any = aiosql.from_path(QUERIES_DIR, "apsycopg")


@cache
def sql_of(name: str) -> str:
    """The psycopg-ready SQL text of query ``name`` (``"skills.get_skill"`` or ``"get_skill"``)."""
    fn: Any = queries
    for part in name.split("."):
        fn = getattr(fn, part)
    return str(fn.sql)


@dataclass(frozen=True, slots=True)
class Call(Generic[R, T]):
    """One named statement to run, with its parameters, row type and result shaping.

    :param query: aiosql query name, used to look up its SQL.
    :param params: exactly the parameters the query declares.
    :param row_factory: psycopg row factory producing ``R`` values.
    :param finish: turns ``(rows, rowcount)`` into the function's result ``T``.
    :param json_as_bytes: load ``json`` columns as bytes, for :func:`model_row`.
    """

    query: str
    params: Mapping[str, Any]
    row_factory: BaseRowFactory[R]
    finish: Callable[[Sequence[R], int], T]
    json_as_bytes: bool = False

    @classmethod
    def nested(
        cls, query: str, params: Mapping[str, Any], model: type[R], finish: Callable[[Sequence[R], int], T]
    ) -> Call[R, T]:
        """A call whose rows become ``model`` with their json relations decoded (see :func:`model_row`)."""
        return cls(query, params, model_row(model), finish, json_as_bytes=True)


def _prepare(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool | None:
    """Prepare named queries on their first call, unless the connection turned preparation off.

    ``prepare_threshold = None`` (as for PgBouncer before 1.21) disables prepared
    statements; psycopg then ignores ``prepare=True`` too.
    """
    return None if conn.prepare_threshold is None else True


def run(conn: psycopg.Connection[Any], call: Call[R, T]) -> T:
    """Execute ``call`` on a sync connection and shape its result (errors translated)."""
    sql = sql_of(call.query)
    with translate_errors(call.params), conn.cursor(row_factory=call.row_factory) as cur:
        if call.json_as_bytes:
            cur.adapters.register_loader(JSON_OID, _JsonBytesLoader)
        cur.execute(sql, call.params, prepare=_prepare(conn))
        rows = cur.fetchall() if cur.description is not None else []
        return call.finish(rows, cur.rowcount)


async def arun(conn: psycopg.AsyncConnection[Any], call: Call[R, T]) -> T:
    """Execute ``call`` on an async connection and shape its result (errors translated)."""
    sql = sql_of(call.query)
    with translate_errors(call.params):
        async with conn.cursor(row_factory=call.row_factory) as cur:
            if call.json_as_bytes:
                cur.adapters.register_loader(JSON_OID, _JsonBytesLoader)
            await cur.execute(sql, call.params, prepare=_prepare(conn))
            rows = await cur.fetchall() if cur.description is not None else []
            return call.finish(rows, cur.rowcount)


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


class _JsonBytesLoader(Loader):
    """Hands ``json`` values over undecoded, for msgspec to decode into their typed shape."""

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


_DECODERS: dict[type[Any], dict[str, msgspec.json.Decoder[Any]]] = {}


def _json_decoders(cls: type[Any]) -> dict[str, msgspec.json.Decoder[Any]]:
    """A msgspec decoder for each field of ``cls``, by its type annotation (built once per class)."""
    if cls not in _DECODERS:
        _DECODERS[cls] = {name: msgspec.json.Decoder(hint) for name, hint in get_type_hints(cls).items()}
    return _DECODERS[cls]


def model_row(cls: type[T]) -> BaseRowFactory[T]:
    """Row factory for ``...WithRelations`` shapes: plain columns as psycopg loads them, and
    each ``json`` column decoded by msgspec straight into its field's type (dataclasses,
    lists, datetimes), without an intermediate dict. Used through :meth:`Call.nested`.
    """
    decoders = _json_decoders(cls)

    def factory(cursor: Any) -> Callable[[Sequence[Any]], T]:
        columns = [
            (c.name, decoders[c.name].decode if c.type_code == JSON_OID else None) for c in cursor.description or ()
        ]

        def make(values: Sequence[Any]) -> T:
            return cls(
                **{
                    name: value if decode is None or value is None else decode(value)
                    for (name, decode), value in zip(columns, values, strict=True)
                }
            )

        return make

    return factory
