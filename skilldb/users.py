"""Typed face of ``queries/users.sql``: people in the bound tenant."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import class_row

from skilldb import _validate
from skilldb._sql import Call, first, run, single
from skilldb.models import User, UserWithRelations

__all__ = ["create_user", "get_user", "get_user_by_email", "get_user_with_relations"]


def _create_user(email: str, name: str | None) -> Call[User, User]:
    params = {"email": _validate.email(email), "name": _validate.optional_text("name", name)}
    return Call("create_user", params, class_row(User), single)


def _get_user(user_id: str) -> Call[User, User | None]:
    return Call("get_user", {"user_id": _validate.text("user_id", user_id)}, class_row(User), first)


def _get_user_by_email(email: str) -> Call[User, User | None]:
    return Call("get_user_by_email", {"email": _validate.email(email)}, class_row(User), first)


def _get_user_with_relations(user_id: str) -> Call[UserWithRelations, UserWithRelations | None]:
    params = {"user_id": _validate.text("user_id", user_id)}
    return Call.nested("get_user_with_relations", params, UserWithRelations, first)


def create_user(conn: psycopg.Connection[Any], *, email: str, name: str | None = None) -> User:
    """Create a user in the bound tenant and return it.

    SQL: ``queries/users.sql`` ``create_user``.

    :param email: ``local@domain``; unique within the tenant, ignoring case.
    :param name: display name, or ``None``.
    :return: the new :class:`User`.
    :raises InvalidInput: malformed email or blank name.
    :raises AlreadyExists: the tenant already has a user with this email.
    :raises TenantRequired: no tenant is bound.
    :raises UnknownReference: the bound tenant has no ``tenants`` row.
    """
    return run(conn, _create_user(email, name))


def get_user(conn: psycopg.Connection[Any], user_id: str) -> User | None:
    """The user with ``user_id`` in the bound tenant, or ``None``.

    SQL: ``queries/users.sql`` ``get_user``.

    :raises InvalidInput: ``user_id`` is blank.
    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _get_user(user_id))


def get_user_by_email(conn: psycopg.Connection[Any], email: str) -> User | None:
    """The bound tenant's user with ``email`` (ignoring case), or ``None``.

    SQL: ``queries/users.sql`` ``get_user_by_email``.

    :raises InvalidInput: malformed email.
    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _get_user_by_email(email))


def get_user_with_relations(conn: psycopg.Connection[Any], user_id: str) -> UserWithRelations | None:
    """The user with their ``skills``, ``skill_versions``, ``ratings`` and newest 50 ``usage_events``.

    One statement and one round trip; each list newest first, ``[]`` when empty.
    ``None`` when the bound tenant has no such user.

    SQL: ``queries/users.sql`` ``get_user_with_relations``.

    :raises InvalidInput: ``user_id`` is blank.
    :raises TenantRequired: no tenant is bound.
    """
    return run(conn, _get_user_with_relations(user_id))
