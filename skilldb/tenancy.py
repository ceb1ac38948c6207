"""Tenant binding: every statement runs inside a transaction bound to one tenant.

The binding is the transaction-local setting ``app.current_tenant_id``, read by the
row-level security policies (``migrations/``). Being transaction-local,
it ends with the transaction, so a pooled connection never carries it into its next
checkout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from skilldb._sql import _prepare
from skilldb.errors import InvalidInput, TransactionInProgress, translate_errors

__all__ = ["BIND_TENANT_SQL", "atenant", "tenant"]

#: The statement that binds a tenant for the rest of the current transaction.
BIND_TENANT_SQL = "SELECT set_config('app.current_tenant_id', %s, true)"


def _check(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any], tenant_id: str) -> None:
    if not isinstance(tenant_id, str) or not tenant_id.strip():
        raise InvalidInput(f"tenant_id must be a non-empty string, got {tenant_id!r}")
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise TransactionInProgress(
            "skilldb.tenant() starts the transaction it binds, but the connection is already "
            f"in one ({conn.info.transaction_status.name}): commit or roll back first"
        )


@contextmanager
def tenant(conn: psycopg.Connection[Any], tenant_id: str) -> Iterator[psycopg.Connection[Any]]:
    """Open a transaction on ``conn`` bound to ``tenant_id``; commit on success, roll back on error.

    Runs ``SELECT set_config('app.current_tenant_id', %s, true)`` (transaction-local:
    psycopg binds parameters on the server, so ``SET LOCAL ... = %s`` cannot be used).

    :param conn: an idle connection (autocommit or not).
    :param tenant_id: the id of the tenant (``tenants.id``) every statement acts for.
    :return: a context manager yielding ``conn``.
    :raises InvalidInput: ``tenant_id`` is empty or not a string.
    :raises TransactionInProgress: ``conn`` is already inside a transaction, whose
        tenant binding this block could neither set cleanly nor end.
    """
    _check(conn, tenant_id)
    with conn.transaction():
        with translate_errors():
            conn.execute(BIND_TENANT_SQL, (tenant_id,), prepare=_prepare(conn))
        yield conn


@asynccontextmanager
async def atenant(conn: psycopg.AsyncConnection[Any], tenant_id: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """Async twin of :func:`tenant` for ``psycopg.AsyncConnection`` (``async with``).

    :raises InvalidInput: ``tenant_id`` is empty or not a string.
    :raises TransactionInProgress: ``conn`` is already inside a transaction.
    """
    _check(conn, tenant_id)
    async with conn.transaction():
        with translate_errors():
            await conn.execute(BIND_TENANT_SQL, (tenant_id,), prepare=_prepare(conn))
        yield conn
