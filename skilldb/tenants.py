"""Typed face of ``queries/tenants.sql``: the bound tenant's own row."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import class_row

from skilldb import _validate
from skilldb._sql import Call, first, run, single
from skilldb.models import Tenant

__all__ = ["create_tenant", "get_tenant"]


def _create_tenant(name: str) -> Call[Tenant, Tenant]:
    return Call(
        "create_tenant",
        {"name": _validate.text("name", name)},
        class_row(Tenant),
        single,
    )


def _get_tenant() -> Call[Tenant, Tenant | None]:
    return Call("get_tenant", {}, class_row(Tenant), first)


def create_tenant(conn: psycopg.Connection[Any], *, name: str) -> Tenant:
    """Create the row of the tenant bound by :func:`skilldb.tenant` and return it.

    The new tenant's id is the bound id, so a tenant is created by binding a fresh
    id first: ``with skilldb.tenant(conn, str(uuid4())): create_tenant(conn, name=...)``.

    SQL: ``queries/tenants.sql`` ``create_tenant``.

    :param name: display name, non-blank.
    :return: the new :class:`Tenant`.
    :raises InvalidInput: ``name`` is blank.
    :raises AlreadyExists: the bound tenant already has its row.
    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _create_tenant(name))


def get_tenant(conn: psycopg.Connection[Any]) -> Tenant | None:
    """The bound tenant's row, or ``None`` if it has none (row-level security hides all others).

    SQL: ``queries/tenants.sql`` ``get_tenant``.

    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _get_tenant())
