"""Typed query contracts: each named query's result and parameters against the Python that uses it.

``skilldb check`` proves, with no generation step, that the hand-written dataclasses
match their queries:

* **Which query feeds which type.** Every operation is registered by
  :func:`skilldb._sql.operation`. Its plan is called here with sample arguments (one call
  per choice for arguments that pick the query, such as ``order_by``), which gives the
  query names it runs, the parameters it passes, and, from the plan's ``Call[R, T]``
  annotation, the row type ``R``.
* **Result shape.** The query is prepared on the scratch database and described (the
  server's RowDescription: column names, type OIDs, source table and column). Columns
  are compared with the dataclass's fields: missing, extra, Python type against SQL type
  (domains resolved to their base type), and nullability.
* **Nullability**, for a field declared without ``None``. Reported when the column is
  nullable in the catalog (``attnotnull``, or a ``NOT NULL`` domain), when it comes from
  the nullable side of an outer join of the statement's top-level ``FROM`` (pglast
  AST), or when it is a scalar subquery or an aggregate other than ``count`` not wrapped
  in ``coalesce(..., <constant>)``. Not inferred: columns of a set-returning function's
  result, of a CTE or a subquery's expressions, or behind ``CASE``, which are taken as
  declared.
* **Nested relations** built as json have no catalog type: every operation that reads
  one is run on sample rows written through the package's own operations (in a
  transaction that is rolled back), so its rows go through the same strict decoder as
  in production; a renamed or missing key is reported at the query's file and line.
* **Parameters.** The parameters a query declares and the ones the operation passes
  must agree (the bound tenant or person aside).
"""

from __future__ import annotations

import dataclasses
import itertools
import types
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, get_args, get_origin, get_type_hints

import psycopg

__all__ = [
    "Column",
    "Contract",
    "contracts",
    "describe",
    "nested_problems",
    "parameter_problems",
    "shape_problems",
    "type_names",
]

#: Sample arguments, by parameter name; every combination is tried, so a parameter that
#: picks the query (``order_by``, ``format_type``) has one value per choice.
SAMPLES: dict[str, tuple[Any, ...]] = {
    "limit": (10,),
    "after": (None,),
    "rating": (3,),
    "hours_saved_estimate": (2,),
    "slug": ("sample",),
    "email": ("sample@example.com",),
    "content": (b"sample",),
    "content_type": ("text/plain",),
    "metadata": ({},),
    "output": ({"sample": True},),
    "role": ("viewer",),
    "share_token": ("a" * 22,),
    "visibility": ("shared",),
    "format_type": ("markdown", "json"),
    "status": ("accepted", "active", None),
    "order_by": ("created_at", "total_uses", "average_rating"),
}

#: Python types a SQL base type may be declared as.
PY_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "varchar": (str,),
    "bpchar": (str,),
    "name": (str,),
    "int2": (int,),
    "int4": (int,),
    "int8": (int,),
    "bool": (bool,),
    "numeric": (Decimal,),
    "float4": (float,),
    "float8": (float,),
    "timestamptz": (datetime,),
    "jsonb": (dict, list),
    "json": (dict, list),
    "bytea": (bytes,),
}

#: Aggregates that never return NULL.
NEVER_NULL_FUNCTIONS = frozenset({"count", "json_build_object", "jsonb_build_object", "now", "exists"})


@dataclass(frozen=True, slots=True)
class Contract:
    """One query as an operation runs it.

    :param query: the aiosql name.
    :param operation: the public name of the operation (``skilldb.get_skill``).
    :param row: the row type ``R`` of the plan's ``Call[R, T]``.
    :param result: the result type ``T`` (the dataclass a ``dict`` row becomes, if any).
    :param nested: whether json columns are decoded into nested dataclasses.
    :param passed: the parameters the operation passes, its block's one included.
    :param kwargs: the sample arguments that made this call.
    """

    query: str
    operation: str
    row: Any
    result: Any
    nested: bool
    passed: frozenset[str]
    kwargs: Mapping[str, Any]


def _samples(name: str) -> tuple[Any, ...]:
    return SAMPLES.get(name, (f"{name}-sample",))


def contracts() -> dict[str, list[Contract]]:
    """Every query an operation runs, with what the operation expects of it, by query name."""
    import skilldb
    from skilldb._sql import REGISTRY

    found: dict[str, list[Contract]] = {}
    for reg in REGISTRY.values():
        hints = get_type_hints(reg.plan)
        row, result = get_args(hints["return"])
        names = [n for n in hints if n != "return"]
        seen: set[str] = set()
        for values in itertools.product(*(_samples(n) for n in names)):
            kwargs = dict(zip(names, values, strict=True))
            try:
                call = reg.plan(**kwargs)
            except Exception:  # a sample the plan refuses (a choice it does not take)
                continue
            if call.query in seen:
                continue
            seen.add(call.query)
            passed = frozenset(call.params) | {reg.scope}
            contract = Contract(call.query, reg.public, row, result, call.json_as_bytes, passed, kwargs)
            found.setdefault(call.query, []).append(contract)
    return found


@dataclass(frozen=True, slots=True)
class Column:
    """A result column as the server describes it, with what the catalog adds.

    :param name: the column's name.
    :param type_name: its base type (domains resolved), e.g. ``text``, ``int4``, ``_text`` for arrays.
    :param nullable: ``True`` when the catalog or the statement shows it may be NULL,
        ``False`` when proven not, ``None`` when not inferred.
    :param why: what made it nullable.
    """

    name: str
    type_name: str
    nullable: bool | None
    why: str


def type_names(conn: psycopg.Connection[Any]) -> dict[int, str]:
    """Each type's name by OID, a domain's being its base type's (``key_text`` -> ``text``)."""
    rows = conn.execute(
        "SELECT t.oid::int, coalesce(b.typname, t.typname)::text FROM pg_type t "
        "LEFT JOIN pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype"
    ).fetchall()
    return {oid: name for oid, name in rows}


def _not_null(conn: psycopg.Connection[Any], table: int, column: int) -> bool:
    row = conn.execute(
        "SELECT a.attnotnull OR coalesce(t.typnotnull, false) FROM pg_attribute a "
        "JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = %s AND a.attnum = %s",
        (table, column),
    ).fetchone()
    return bool(row and row[0])


def _outer_aliases(from_clause: Any) -> set[str]:  # pglast nodes are typed loosely: Any
    """Aliases (or table names) on the nullable side of an outer join in a FROM list."""
    from pglast import ast, enums

    found: set[str] = set()

    def names(node: Any) -> set[str]:
        if isinstance(node, ast.RangeVar):
            return {str(node.alias.aliasname if node.alias else node.relname)}
        if isinstance(node, ast.RangeSubselect | ast.RangeFunction) and node.alias:
            return {str(node.alias.aliasname)}
        if isinstance(node, ast.JoinExpr):
            return names(node.larg) | names(node.rarg)
        return set()

    def walk(node: Any) -> None:
        if isinstance(node, ast.JoinExpr):
            if node.jointype in (enums.JoinType.JOIN_LEFT, enums.JoinType.JOIN_FULL):
                found.update(names(node.rarg))
            if node.jointype in (enums.JoinType.JOIN_RIGHT, enums.JoinType.JOIN_FULL):
                found.update(names(node.larg))
            walk(node.larg)
            walk(node.rarg)

    for item in from_clause or ():
        walk(item)
    return found


def _nullable_expression(node: Any) -> str | None:
    """Why the expression ``node`` may be NULL (scalar subquery, aggregate), or ``None``."""
    from pglast import ast, enums

    if isinstance(node, ast.TypeCast):
        return _nullable_expression(node.arg)
    if isinstance(node, ast.CoalesceExpr):
        last: Any = (node.args or (None,))[-1]
        while isinstance(last, ast.TypeCast):
            last = last.arg
        return None if isinstance(last, ast.A_Const) and not last.isnull else "coalesce() without a constant default"
    if isinstance(node, ast.SubLink):
        if node.subLinkType != enums.SubLinkType.EXPR_SUBLINK:
            return None  # EXISTS, IN, ...: true or false
        sub: Any = node.subselect
        # an aggregate without GROUP BY returns exactly one row: coalesce(json_agg(...), '[]')
        # or count(*) over it is never NULL
        selected: Any = sub.targetList if isinstance(sub, ast.SelectStmt) and not sub.groupClause else None
        if selected and len(selected) == 1:
            value: Any = selected[0].val
            if isinstance(value, ast.CoalesceExpr | ast.FuncCall) and _nullable_expression(value) is None:
                return None
        return "a scalar subquery (NULL when it finds no row)"
    if isinstance(node, ast.FuncCall):
        name = str((node.funcname or ())[-1].sval)
        if name in NEVER_NULL_FUNCTIONS:
            return None
        if node.agg_star or name.endswith("_agg") or name in {"max", "min", "sum", "avg"}:
            return f"the aggregate {name}() (NULL over no rows)"
    return None


def describe(conn: psycopg.Connection[Any], statement: str, text: str, types_: dict[int, str]) -> list[Column]:
    """The result columns of the prepared statement ``statement`` (whose SQL is ``text``).

    :param conn: the connection it was prepared on.
    :param statement: the prepared statement's name.
    :param text: its SQL (``$n`` parameters), parsed for outer joins and expressions.
    :param types_: type names by OID (see :func:`type_names`).
    """
    from pglast import ast, parse_sql

    result = conn.pgconn.describe_prepared(statement.encode())
    targets: list[Any] = []
    outer: set[str] = set()
    stmt: Any
    try:
        stmt = parse_sql(text)[0].stmt
    except Exception:
        stmt = None
    if isinstance(stmt, ast.SelectStmt) and stmt.targetList:
        targets = [t.val for t in stmt.targetList]
        outer = _outer_aliases(stmt.fromClause)
    elif isinstance(stmt, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt) and stmt.returningClause:
        targets = [t.val for t in stmt.returningClause.exprs or ()]
    stars = any(isinstance(t, ast.ColumnRef) and isinstance((t.fields or ())[-1], ast.A_Star) for t in targets)
    if stars or len(targets) != result.nfields:
        targets = [None] * result.nfields
    columns = []
    for i in range(result.nfields):
        name = (result.fname(i) or b"").decode()
        type_name = types_.get(result.ftype(i), f"oid {result.ftype(i)}")
        table, attnum = result.ftable(i), result.ftablecol(i)
        node: Any = targets[i]
        nullable: bool | None = None
        why = ""
        fields: Any = node.fields if isinstance(node, ast.ColumnRef) else ()
        if len(fields) > 1 and fields[0].sval in outer:
            nullable, why = True, f"{fields[0].sval}.{name} is on the nullable side of an outer join"
        elif table and attnum > 0:
            nullable = not _not_null(conn, table, attnum)
            why = f"column {name} of its table is nullable" if nullable else ""
        elif node is not None:
            reason = _nullable_expression(node)
            nullable, why = (True, f"it is {reason}") if reason else (None, "")
        columns.append(Column(name, type_name, nullable, why))
    return columns


def _optional(hint: Any) -> tuple[bool, Any]:
    """(whether ``hint`` admits None, the hint without None)."""
    if get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        return len(args) < len(get_args(hint)), (args[0] if len(args) == 1 else hint)
    return False, hint


def _compatible(hint: Any, type_name: str) -> bool:
    if hint is Any:
        return True
    base = get_origin(hint) or hint
    if type_name.startswith("_"):  # an array
        return base is list
    if type_name == "json":  # a nested relation: the decoder checks it
        return True
    if dataclasses.is_dataclass(base):
        return type_name in ("json", "jsonb")
    allowed = PY_TYPES.get(type_name)
    return allowed is None or (isinstance(base, type) and issubclass(base, allowed))


def _shown(hint: Any) -> str:
    text = getattr(hint, "__name__", None) if not get_args(hint) else None
    return text or str(hint).replace("typing.", "")


def shape_problems(contract: Contract, columns: list[Column]) -> list[str]:
    """What differs between the query's ``columns`` and the Python type ``contract`` expects."""
    row = contract.row
    problems: list[str] = []
    shape = contract.result if row is dict or get_origin(row) is dict else row
    if not dataclasses.is_dataclass(shape):
        if row in (int, bool, str) or (get_origin(row) in (typing.Union, types.UnionType)):
            if len(columns) != 1:
                problems.append(f"returns {len(columns)} columns; {contract.operation} reads one value")
            else:
                optional, base = _optional(row)
                if not _compatible(base, columns[0].type_name):
                    column = columns[0]
                    problems.append(
                        f"{column.name}: SQL gives {column.type_name}, {contract.operation} declares {_shown(row)}"
                    )
        return problems
    hints = get_type_hints(shape)
    by_name = {c.name: c for c in columns}
    for name, hint in hints.items():
        if name not in by_name:
            problems.append(f"field {name}: no such column; {_shown(shape)} declares it ({contract.operation})")
            continue
        column = by_name[name]
        optional, base = _optional(hint)
        if not _compatible(base, column.type_name):
            problems.append(f"field {name}: SQL gives {column.type_name}, {_shown(shape)} declares {_shown(hint)}")
        if not optional and column.nullable and row is not dict and get_origin(row) is not dict:
            problems.append(f"field {name}: may be NULL ({column.why}), {_shown(shape)} declares {_shown(hint)}")
    if shape is row:  # a dict row is mapped by hand and may carry more columns
        for column in columns:
            if column.name not in hints:
                problems.append(f"column {column.name}: no field of {_shown(shape)} takes it ({contract.operation})")
    return problems


def parameter_problems(contract: Contract, declared: tuple[str, ...]) -> list[str]:
    """Parameters declared on the name line that the operation never passes, and back."""
    problems = [
        f"parameter {name!r} is declared but {contract.operation} never passes it"
        for name in declared
        if name not in contract.passed
    ]
    problems += [
        f"{contract.operation} passes {name!r}, which the name line does not declare"
        for name in sorted(contract.passed - set(declared) - {"tenant_id", "acting_user_id"})
    ]
    return problems


def _sample_world(conn: psycopg.Connection[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Write one row of every kind (one tenant, one workshop) and yield ``(scope, ids)``."""
    import skilldb
    from skilldb import tenancy
    from skilldb import workshops as ws

    tenant_id = f"skilldb-check-{uuid.uuid4().hex[:12]}"
    with tenancy.block(conn, tenant_id, "tenant_id", "skilldb check"):
        skilldb.create_tenant(conn, name="skilldb check")
        ann = skilldb.create_user(conn, email="ann@check.example", name="Ann")
        bob = skilldb.create_user(conn, email="bob@check.example")
        skill = skilldb.create_skill(conn, author_id=ann.id, name="Review", slug="review", category="review")
        parent = skilldb.create_skill(conn, author_id=bob.id, name="Quality", slug="quality")
        version = skilldb.create_skill_version(
            conn, skill.id, content=b"v1", content_url="k/v1", content_type="text/plain", created_by=ann.id
        )
        skilldb.publish_version(conn, skill.id, version.id)
        skilldb.set_draft_version(conn, skill.id, version.id)
        rating = skilldb.rate_skill(conn, skill_id=skill.id, user_id=bob.id, rating=4, comment="ok")
        event = skilldb.record_usage_event(conn, skill_id=skill.id, user_id=ann.id, tool_name="cli")
        message = skilldb.send_skill_message(
            conn,
            from_user_id=ann.id,
            to_user_id=bob.id,
            subject_skill_id=skill.id,
            proposed_parent_skill_id=parent.id,
            message="Review belongs under Quality",
        )
    yield (
        "tenant_id",
        {
            "tenant_id": tenant_id,
            "user_id": bob.id,
            "skill_id": skill.id,
            "version_id": version.id,
            "rating_id": rating.id,
            "event_id": event.id,
            "message_id": message.id,
        },
    )
    person = f"check-{uuid.uuid4().hex[:12]}"
    with tenancy.block(conn, person, "acting_user_id", "skilldb check"):
        w = ws.create_workshop(conn, title="Check", original_idea="Every relation present")
        ws.add_member(conn, w.id, "someone-else", "viewer")
        ws.complete_step(conn, w.id, "challenge", {"statement": "x"})
        ws.end_session(conn, ws.start_session(conn, w.id).id)
        ws.generate_build_pack(conn, w.id, title="Pack")
        token = ws.set_visibility(conn, w.id, "shared").share_token
    yield "acting_user_id", {"acting_user_id": person, "workshop_id": w.id, "share_token": token}


def nested_problems(conninfo: str, contracts_by_query: dict[str, list[Contract]]) -> Iterator[tuple[str, str]]:
    """Run every operation that decodes nested json on sample rows; yield ``(query, problem)``
    for each that fails to decode (or finds no row where the sample has one).

    The sample rows are written through the package's operations and removed afterwards.
    """
    from skilldb import tenancy
    from skilldb._sql import REGISTRY

    nested = [c for cs in contracts_by_query.values() for c in cs if c.nested]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        worlds = dict(_sample_world(conn))
        try:
            for contract in nested:
                reg = REGISTRY[contract.operation]
                ids = worlds[reg.scope]
                kwargs = {k: ids.get(k, v) for k, v in contract.kwargs.items()}
                op: Callable[..., Any] = _operation(contract.operation)
                try:
                    with tenancy.block(conn, ids[reg.scope], reg.scope, "skilldb check"):
                        got = op(conn, **kwargs)
                except Exception as exc:
                    yield contract.query, f"{contract.operation}: rows do not decode: {exc}"
                    continue
                if got is None or (hasattr(got, "items") and not got.items):
                    yield contract.query, f"{contract.operation}: found nothing on the sample rows"
        finally:
            conn.execute("DELETE FROM tenants WHERE id = %s", (worlds["tenant_id"]["tenant_id"],))
            conn.execute("DELETE FROM workshops WHERE id = %s", (worlds["acting_user_id"]["workshop_id"],))


def _operation(public: str) -> Callable[..., Any]:
    import skilldb

    target: Any = skilldb
    for part in public.split(".")[1:]:
        target = getattr(target, part)
    return typing.cast(Callable[..., Any], target)
