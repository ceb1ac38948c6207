"""The errors skilldb raises, and the one place where psycopg errors are translated.

Every error is a :class:`SkillDBError`. Errors about the caller's input are also
:class:`ValueError` (through :class:`InvalidInput`), lookups that find nothing are
also :class:`LookupError`, and permission errors are also :class:`PermissionError`,
so callers may catch either family.

Errors translated from the database keep the psycopg exception as ``__cause__`` and
copy its diagnostics to ``sqlstate``, ``table_name``, ``column_name`` and
``constraint_name``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg

__all__ = [
    "AlreadyExists",
    "ConnectionClosed",
    "ImmutableRecord",
    "InvalidInput",
    "InvalidType",
    "MigrationEdited",
    "MigrationLocked",
    "NotFound",
    "PermissionDenied",
    "PersonRequired",
    "RowSecurityViolation",
    "SerializationFailure",
    "SkillDBError",
    "StillReferenced",
    "TenantRequired",
    "TransactionAborted",
    "TransactionEnded",
    "TransactionInProgress",
    "UnknownReference",
    "translate_errors",
]

#: SQLSTATE raised by current_tenant_id() when no tenant is bound (migration 0001).
TENANT_REQUIRED_SQLSTATE = "SK001"
#: SQLSTATE raised by the skill_versions immutability trigger.
IMMUTABLE_RECORD_SQLSTATE = "SK002"


class SkillDBError(Exception):
    """skilldb could not do what was asked."""

    sqlstate: str | None = None
    table_name: str | None = None
    column_name: str | None = None
    constraint_name: str | None = None

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (type(self).__doc__ or "").strip())


class InvalidInput(SkillDBError, ValueError):
    """The input is not valid; nothing was written."""


class InvalidType(InvalidInput, TypeError):
    """An argument has the wrong Python type (also a :class:`TypeError`); nothing was written."""


class AlreadyExists(InvalidInput):
    """A row with this unique value already exists; nothing was written."""


class UnknownReference(InvalidInput):
    """The input refers to a row that does not exist in the bound tenant; nothing was written."""


class StillReferenced(InvalidInput):
    """The row is still referred to by other rows and cannot be removed."""


class NotFound(SkillDBError, LookupError):
    """No row with this id exists in the bound tenant."""


class TenantRequired(SkillDBError):
    """No tenant is bound: wrap the call in ``skilldb.tenant(conn, tenant_id)``."""


class MigrationEdited(SkillDBError):
    """An applied migration's file was edited afterwards: put the change in a new migration."""


class MigrationLocked(SkillDBError):
    """Another process holds yoyo's migration lock, or a crashed one left it behind.

    :ivar holder: the lock's row (:class:`skilldb.migrate.LockHolder`) when it could be read,
        ``None`` if it vanished meanwhile.
    :ivar waited: seconds waited before giving up.
    """

    def __init__(self, holder: Any, waited: float) -> None:
        self.holder = holder
        self.waited = waited
        by = f" by {holder}" if holder else ""
        super().__init__(
            f"the migrations are locked{by}; gave up after waiting {waited:.1f}s "
            "(a crashed deployer leaves its lock behind: `skilldb break-lock` or `yoyo break-lock` clears it)"
        )


class PersonRequired(SkillDBError):
    """No person is bound: wrap the call in ``skilldb.workshops.acting_as(conn, clerk_user_id)``."""


class TransactionInProgress(SkillDBError):
    """The connection is already inside a transaction: commit or roll it back first."""


class TransactionAborted(SkillDBError):
    """A statement in the ``skilldb.tenant`` block failed: its transaction is rolled back, nothing is committed."""


class TransactionEnded(SkillDBError):
    """A raw COMMIT or ROLLBACK ended the ``skilldb.tenant`` block's transaction inside the block."""


class SerializationFailure(SkillDBError):
    """A concurrent transaction conflicted (serialization failure or deadlock); the block was
    rolled back and may be retried as a whole."""

    #: The whole ``skilldb.tenant`` block may be run again.
    retryable = True


class ConnectionClosed(SkillDBError):
    """The connection is closed or was lost."""


class PermissionDenied(SkillDBError, PermissionError):
    """The database role lacks the privilege for this operation."""


class RowSecurityViolation(PermissionDenied):
    """The row belongs to another tenant than the bound one (row-level security)."""


class ImmutableRecord(SkillDBError):
    """Skill versions are immutable: they cannot be updated or deleted on their own."""


_KEY_DETAIL = re.compile(r"Key \((?P<columns>.*?)\)=\((?P<values>.*)\)")


def _named_values(constraint: str | None, params: Mapping[str, Any] | None) -> str:
    """``col = value`` for each parameter the constraint is named after (``skills_author_id_fkey``)."""
    if not constraint or not params:
        return ""
    words = f"_{constraint}_"
    named = [f"{k} = {v!r}" for k, v in params.items() if v is not None and f"_{k}_" in words]
    return ", ".join(named)


#: How a Citus worker's error names a shard: the table's (or constraint's) name and the shard id.
_SHARD_NAME = re.compile(r"\b([A-Za-z_][A-Za-z0-9_$]*?)_[0-9]{6,}\b")
_QUOTED_NAME = re.compile(r'(table|relation|constraint) "([^"]+)"')
#: The distributed tables (migration 0023), to name the table of a constraint a worker's message names alone.
_DISTRIBUTED_TABLES = ("skill_messages", "skill_versions", "usage_events", "ratings", "skills", "tenants", "users")


@dataclass(frozen=True, slots=True)
class _Names:
    """What an error names: its table and constraint (from its diagnostics, else its message)."""

    table: str | None
    constraint: str | None
    message: str
    detail: str


def without_shard_ids(text: str) -> str:
    """``text`` with Citus shard names mapped back to their tables' (and constraints') names:
    ``users_102039`` -> ``users``, ``skills_tenant_id_slug_key_102041`` -> ``skills_tenant_id_slug_key``.

    :param text: an error message, detail or hint raised on a Citus worker.
    :return: the text with every ``<name>_<shard id>`` (an id of 6 or more digits) shortened to ``<name>``.
    """
    return _SHARD_NAME.sub(r"\1", text)


def _names(exc: psycopg.Error) -> _Names:
    """The error's table, constraint, message and detail, with Citus shard names mapped back.

    An error raised on a Citus worker (its context says ``while executing command on``)
    names shards (``users_102039``, ``skills_tenant_id_slug_key_102041``) and leaves the
    diagnostics' table and constraint empty: they are read back from the message, and the
    shard id is dropped everywhere.
    """
    diag = exc.diag
    message, detail = diag.message_primary or str(exc), diag.message_detail or ""
    table, constraint = diag.table_name, diag.constraint_name
    if "while executing command on" in (diag.context or ""):
        message, detail = without_shard_ids(message), without_shard_ids(detail)
        quoted = _QUOTED_NAME.findall(message) + _QUOTED_NAME.findall(detail)
        constraint = constraint or next((name for kind, name in quoted if kind == "constraint"), None)
        if table is None and constraint is not None:
            # the table a constraint belongs to ("still referenced" names both tables)
            table = next((t for t in _DISTRIBUTED_TABLES if constraint.startswith(t + "_")), None)
        if table is None:
            table = next((name for kind, name in quoted if kind != "constraint"), None)
    return _Names(table, constraint, message, detail)


def _describe(exc: psycopg.Error, params: Mapping[str, Any] | None, names: _Names) -> str:
    """One line naming the table, the constraint and the offending value.

    Under row-level security PostgreSQL leaves the key out of its message detail, so
    the value comes from the statement's parameters the constraint is named after.
    """
    table = names.table or "?"
    constraint = names.constraint
    detail = names.detail
    m = _KEY_DETAIL.search(detail)
    values = f"{m['columns']} = {m['values']}" if m else _named_values(constraint, params)
    if isinstance(exc, pg.UniqueViolation):
        return f"{table}: {values or 'a row with this key'} already exists ({constraint})"
    if isinstance(exc, pg.ForeignKeyViolation):
        if "still referenced" in detail:
            return f"{table}: {values or 'the row'} is still referenced ({constraint})"
        if constraint and constraint.endswith("_tenant_id_fkey"):
            return f"{table}: the bound tenant has no row in tenants ({constraint})"
        return f"{table}: {values or 'the referenced row'} does not exist in this tenant ({constraint})"
    if isinstance(exc, pg.CheckViolation):
        return f"{table}: violates check constraint {constraint}"
    if isinstance(exc, pg.NotNullViolation):
        return f"{table}: {exc.diag.column_name} must not be null"
    return names.message


def translate(exc: psycopg.Error, params: Mapping[str, Any] | None = None) -> SkillDBError | None:
    """Map a psycopg error that carries meaning to a :class:`SkillDBError`, else ``None``.

    :param exc: the error psycopg raised.
    :param params: the statement's parameters, to name the offending value.
    :return: the skilldb error to raise ``from exc``; ``None`` for errors with no
        meaning for callers (connection loss, syntax errors, ...), which propagate as is.
    """
    cls: type[SkillDBError]
    sqlstate = exc.sqlstate
    if sqlstate == TENANT_REQUIRED_SQLSTATE:
        cls = TenantRequired
    elif sqlstate == IMMUTABLE_RECORD_SQLSTATE:
        cls = ImmutableRecord
    elif isinstance(exc, pg.SerializationFailure | pg.DeadlockDetected):
        cls = SerializationFailure
    elif isinstance(exc, pg.InFailedSqlTransaction):
        cls = TransactionAborted
    elif isinstance(exc, pg.UniqueViolation):
        cls = AlreadyExists
    elif isinstance(exc, pg.ForeignKeyViolation):
        still = "still referenced" in (exc.diag.message_detail or "")
        cls = StillReferenced if still else UnknownReference
    elif isinstance(exc, pg.IntegrityError | pg.DataError | pg.ProgramLimitExceeded):
        cls = InvalidInput
    elif isinstance(exc, pg.InsufficientPrivilege):
        rls = "row-level security" in (exc.diag.message_primary or "")
        cls = RowSecurityViolation if rls else PermissionDenied
    else:
        return None
    names = _names(exc)
    message = _describe(exc, params, names)
    if cls is SerializationFailure:
        message += ": the transaction was rolled back; run the skilldb.tenant block again"
    err = cls(message)
    err.sqlstate = sqlstate
    err.table_name = names.table
    err.column_name = exc.diag.column_name
    err.constraint_name = names.constraint
    return err


@contextmanager
def translate_errors(params: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Re-raise psycopg errors that carry meaning as :class:`SkillDBError` (``from`` the original).

    :param params: the parameters of the statement run inside, to name offending values.
    """
    try:
        yield
    except psycopg.Error as exc:
        err = translate(exc, params)
        if err is None:
            raise
        raise err from exc
