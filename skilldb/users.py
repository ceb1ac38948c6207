"""Typed face of ``queries/users.sql``: people in the bound tenant."""

from __future__ import annotations

from psycopg.rows import class_row

from skilldb._sql import Call, first, operation, single
from skilldb.models import User, UserWithRelations

__all__ = ["create_user", "get_user", "get_user_by_email", "get_user_with_relations"]


@operation
def create_user(*, email: str, name: str | None = None) -> Call[User, User]:
    """Create a user in the bound tenant and return it.

    SQL: ``queries/users.sql`` ``create_user``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param email: ``local@domain``, at most 254 characters; unique within the tenant, ignoring case.
    :param name: display name (at most 200 characters), or ``None``.
    :return: the new :class:`User`.
    :raises InvalidInput: malformed email or blank name.
    :raises AlreadyExists: the tenant already has a user with this email.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    :raises UnknownReference: the bound tenant has no ``tenants`` row.
    """
    return Call("create_user", {"email": email, "name": name}, class_row(User), single)


@operation
def get_user(user_id: str) -> Call[User, User | None]:
    """The user with ``user_id`` in the bound tenant, or ``None``.

    SQL: ``queries/users.sql`` ``get_user``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param user_id: the user's id.
    :return: a :class:`User` or ``None``.
    :raises InvalidInput: ``user_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call("get_user", {"user_id": user_id}, class_row(User), first)


@operation
def get_user_by_email(email: str) -> Call[User, User | None]:
    """The bound tenant's user with ``email`` (ignoring case), or ``None``.

    SQL: ``queries/users.sql`` ``get_user_by_email``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param email: ``local@domain``.
    :return: a :class:`User` or ``None``.
    :raises InvalidInput: malformed email.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call("get_user_by_email", {"email": email}, class_row(User), first)


@operation
def get_user_with_relations(user_id: str) -> Call[UserWithRelations, UserWithRelations | None]:
    """The user with their ``skills``, ``skill_versions``, ``ratings`` and newest 50 ``usage_events``.

    One statement and one round trip; each list newest first, ``[]`` when empty.

    SQL: ``queries/users.sql`` ``get_user_with_relations``.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param user_id: the user's id.
    :return: a :class:`UserWithRelations`, or ``None`` when the bound tenant has no such user.
    :raises InvalidInput: ``user_id`` is not a valid id.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    return Call.nested("get_user_with_relations", {"user_id": user_id}, UserWithRelations, first)
