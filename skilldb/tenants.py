"""Typed face of ``queries/tenants.sql``: the bound tenant's own row."""

from __future__ import annotations

from psycopg.rows import class_row

from skilldb._sql import Call, first, operation, single
from skilldb.models import Tenant

__all__ = ["create_tenant", "get_tenant"]


@operation
def create_tenant(*, name: str) -> Call[Tenant, Tenant]:
    """Create the row of the tenant bound by :func:`skilldb.tenant` and return it.

    The new tenant's id is the bound id, so a tenant is created by binding a fresh
    id first: ``with skilldb.tenant(conn, str(uuid4())): create_tenant(conn, name=...)``.

    SQL: ``queries/tenants.sql`` ``create_tenant``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param name: display name, non-blank, at most 200 characters.
    :return: the new :class:`Tenant`.
    :raises InvalidInput: ``name`` is blank, too long or holds control characters.
    :raises AlreadyExists: the bound tenant already has its row.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call("create_tenant", {"name": name}, class_row(Tenant), single)


@operation
def get_tenant() -> Call[Tenant, Tenant | None]:
    """The bound tenant's row, or ``None`` if it has none.

    SQL: ``queries/tenants.sql`` ``get_tenant``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :return: a :class:`Tenant` or ``None``.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call("get_tenant", {}, class_row(Tenant), first)
