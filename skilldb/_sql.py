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
from typing import Any, Generic, TypeVar

import aiosql
import psycopg
from psycopg.rows import BaseRowFactory, kwargs_row

from skilldb.errors import translate_errors

T = TypeVar("T")
R = TypeVar("R")

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
    """

    query: str
    params: Mapping[str, Any]
    row_factory: BaseRowFactory[R]
    finish: Callable[[Sequence[R], int], T]


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
        cur.execute(sql, call.params, prepare=_prepare(conn))
        rows = cur.fetchall() if cur.description is not None else []
        return call.finish(rows, cur.rowcount)


async def arun(conn: psycopg.AsyncConnection[Any], call: Call[R, T]) -> T:
    """Execute ``call`` on an async connection and shape its result (errors translated)."""
    sql = sql_of(call.query)
    with translate_errors(call.params):
        async with conn.cursor(row_factory=call.row_factory) as cur:
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


def model_row(cls: Callable[..., T]) -> BaseRowFactory[T]:
    """Row factory building ``cls.from_row(row_as_dict)`` (nested json relations included)."""
    from_row: Callable[[Mapping[str, Any]], T] = cls.from_row  # type: ignore[attr-defined]
    return kwargs_row(lambda **row: from_row(row))
