"""Every named query takes the bound tenant as :tenant_id and filters every table it reads on it (no database).

Each query's SQL comes from aiosql, its %(name)s placeholders renumbered $1, $2, ..., and is
parsed by pglast (PostgreSQL's own parser). Every SELECT, UPDATE, DELETE and INSERT in the
tree (subqueries and CTEs included) must restrict each table it touches with a top-level
AND conjunct `<alias>.tenant_id = :tenant_id` (`id` for tenants) in its WHERE or JOIN ... ON.

The workshops domain (``queries/workshops/``) has no tenants: row-level security decides
there who sees what (migration 0020), and its queries are not checked here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

import aiosql
import pglast
import pytest
from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType, JoinType

import skilldb

NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>\w+)(?:\((?P<params>[^)]*)\))?", re.M)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
TENANT_KEY = {"tenants": "id"}  # the column holding the tenant; tenant_id in every other table
QUERIES = aiosql.from_path(skilldb.QUERIES_DIR, "psycopg")


def declared_queries() -> list[tuple[str, Path, list[str]]]:
    """(aiosql name, file, declared parameters) for each `-- name:` line under QUERIES_DIR."""
    found = []
    for path in sorted(skilldb.QUERIES_DIR.rglob("*.sql")):
        namespace = path.relative_to(skilldb.QUERIES_DIR).parent.parts
        if namespace[:1] == ("workshops",):
            continue
        for m in NAME_LINE.finditer(path.read_text()):
            params = [p.strip() for p in (m["params"] or "").split(",") if p.strip()]
            found.append((".".join((*namespace, m["name"])), path, params))
    return found


def numbered(sql: str) -> tuple[str, dict[str, int]]:
    """The SQL with each %(name)s turned into $n, one n per distinct name, and the numbering."""
    numbers: dict[str, int] = {}
    text = PLACEHOLDER.sub(lambda m: f"${numbers.setdefault(m[1], len(numbers) + 1)}", sql)
    return text, numbers


def walk(node: object) -> Iterator[ast.Node]:
    """Every node of a pglast tree, depth first."""
    if isinstance(node, tuple):
        for item in node:
            yield from walk(item)
    elif isinstance(node, ast.Node):
        yield node
        for attr in node:
            yield from walk(getattr(node, attr))


def conjuncts(expr: ast.Node | None) -> tuple[ast.Node, ...]:
    """The terms of a top-level AND (the expression itself when it is no AND)."""
    if isinstance(expr, ast.BoolExpr) and expr.boolop == BoolExprType.AND_EXPR:
        return tuple(c for arg in expr.args for c in conjuncts(arg))
    return () if expr is None else (expr,)


def is_tenant(node: ast.Node | None, tenant: int) -> bool:
    """Whether the node is the tenant parameter, possibly cast."""
    if isinstance(node, ast.TypeCast):
        node = node.arg
    return isinstance(node, ast.ParamRef) and node.number == tenant


def tenant_column(conjunct: ast.Node, tenant: int) -> tuple[str, ...] | None:
    """The column c of a conjunct `c = $tenant` (either way round) as its dotted parts, else None."""
    if not (
        isinstance(conjunct, ast.A_Expr) and conjunct.kind == A_Expr_Kind.AEXPR_OP and conjunct.name[-1].sval == "="
    ):
        return None
    for column, other in ((conjunct.lexpr, conjunct.rexpr), (conjunct.rexpr, conjunct.lexpr)):
        if isinstance(column, ast.ColumnRef) and is_tenant(other, tenant):
            return tuple(getattr(field, "sval", "*") for field in column.fields)
    return None


def from_leaves(item: ast.Node, on: tuple[ast.Node, ...] = ()) -> Iterator[tuple[ast.Node, tuple[ast.Node, ...]]]:
    """Each table, subquery or function of a FROM item, with the JOIN ... ON conjuncts that restrict its rows.

    An inner join's ON restricts both sides, a LEFT join's only the right one, a RIGHT join's
    only the left one, a FULL join's neither.
    """
    if isinstance(item, ast.JoinExpr):
        quals = conjuncts(item.quals)
        left = on + quals if item.jointype in (JoinType.JOIN_INNER, JoinType.JOIN_RIGHT) else on
        right = on + quals if item.jointype in (JoinType.JOIN_INNER, JoinType.JOIN_LEFT) else on
        yield from from_leaves(item.larg, left)
        yield from from_leaves(item.rarg, right)
    else:
        yield item, on


def tenant_problems(sql: str, tenant: int) -> list[str]:
    """One message per table the SQL reads, updates, deletes from or inserts into without tenant `$tenant`.

    Each message starts with the table's name.
    """
    tree = pglast.parse_sql(sql)
    ctes = {node.ctename for node in walk(tree) if isinstance(node, ast.CommonTableExpr)}
    problems = []
    for node in walk(tree):
        if isinstance(node, ast.SelectStmt):
            kind, items, where = "SELECT", node.fromClause or (), node.whereClause
        elif isinstance(node, ast.UpdateStmt):
            kind, items, where = "UPDATE", (node.relation, *(node.fromClause or ())), node.whereClause
        elif isinstance(node, ast.DeleteStmt):
            kind, items, where = "DELETE", (node.relation, *(node.usingClause or ())), node.whereClause
        elif isinstance(node, ast.InsertStmt):
            # The rows come from VALUES (checked here) or a SELECT (checked as a SELECT of its own).
            table, source = node.relation.relname, node.selectStmt
            key = TENANT_KEY.get(table, "tenant_id")
            columns = [column.name for column in node.cols or ()]
            if key not in columns:
                problems.append(f"{table} in an INSERT: the column list lacks {key}")
            elif isinstance(source, ast.SelectStmt) and source.valuesLists:
                if not all(is_tenant(row[columns.index(key)], tenant) for row in source.valuesLists):
                    problems.append(f"{table} in an INSERT: the {key} value is not :tenant_id")
            continue
        elif isinstance(node, ast.MergeStmt):
            problems.append(f"{node.relation.relname} in a MERGE: MERGE is not checked, write it otherwise")
            continue
        else:
            continue
        leaves = [leaf for item in items for leaf in from_leaves(item)]
        filters = conjuncts(where)
        for leaf, on in leaves:
            if not isinstance(leaf, ast.RangeVar) or (leaf.schemaname is None and leaf.relname in ctes):
                continue
            key = TENANT_KEY.get(leaf.relname, "tenant_id")
            alias = leaf.alias.aliasname if leaf.alias else leaf.relname
            accepted = {(alias, key)} | ({(key,)} if len(leaves) == 1 else set())
            if not any(tenant_column(c, tenant) in accepted for c in filters + on):
                problems.append(
                    f"{leaf.relname} (as {alias}) in a {kind}: no `{alias}.{key} = :tenant_id`"
                    " conjunct in its WHERE or JOIN ... ON"
                )
    return problems


DECLARED = declared_queries()


def test_every_loaded_query_is_checked() -> None:
    loaded = set(QUERIES.available_queries)
    loaded -= {name for name in loaded if name.endswith("_cursor") and name.removesuffix("_cursor") in loaded}
    loaded -= {name for name in loaded if name.startswith("workshops.")}
    assert DECLARED, "no queries found"
    assert loaded == {name for name, _, _ in DECLARED}


@pytest.mark.parametrize(("name", "path", "params"), DECLARED, ids=[name for name, _, _ in DECLARED])
def test_query_takes_and_filters_on_the_bound_tenant(name: str, path: Path, params: list[str]) -> None:
    problems = []
    if params[:1] != ["tenant_id"]:
        problems.append(f"the -- name: line must declare tenant_id as its first parameter, not ({', '.join(params)})")
    sql = functools.reduce(getattr, name.split("."), QUERIES).sql
    if re.search(r"current_tenant_id\s*\(", sql, re.I):
        problems.append("calls current_tenant_id(); take :tenant_id, which the package fills, instead")
    text, numbers = numbered(sql)
    problems += tenant_problems(text, numbers.get("tenant_id", 0))  # no $0: every table fails without it
    where = path.relative_to(skilldb.QUERIES_DIR.parent)
    assert not problems, f"query {name} in {where}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize(
    ("sql", "flagged"),
    [
        pytest.param(
            "SELECT s.id, (SELECT u.email FROM users u WHERE u.id = s.author_id) FROM skills s WHERE s.tenant_id = $1",
            ["users"],
            id="subquery-without-filter",
        ),
        pytest.param("SELECT s.id FROM skills s WHERE s.tenant_id = $1 OR s.id = $2", ["skills"], id="filter-under-or"),
        pytest.param(
            "SELECT r.id, u.email FROM ratings r JOIN users u ON u.id = r.user_id WHERE r.tenant_id = $1",
            ["users"],
            id="join-without-filter",
        ),
        pytest.param(
            "SELECT s.id FROM skills s"
            " LEFT JOIN users u ON u.tenant_id = $1 AND s.tenant_id = $1 AND u.id = s.author_id",
            ["skills"],
            id="left-join-on-does-not-filter-left-side",
        ),
        pytest.param("INSERT INTO users (email, name) VALUES ($2, $3)", ["users"], id="insert-without-tenant-column"),
        pytest.param("INSERT INTO skills (tenant_id, name) VALUES ($2, $1)", ["skills"], id="insert-other-parameter"),
        pytest.param("WITH t AS (SELECT id FROM skills) SELECT id FROM t", ["skills"], id="cte-without-filter"),
        pytest.param("UPDATE skills SET name = $2 WHERE id = $3", ["skills"], id="update-without-filter"),
        pytest.param("DELETE FROM ratings WHERE tenant_id = $2", ["ratings"], id="filter-on-another-parameter"),
    ],
)
def test_checker_reports_the_unfiltered_table(sql: str, flagged: list[str]) -> None:
    assert [problem.split()[0] for problem in tenant_problems(sql, 1)] == flagged


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT id FROM skills WHERE tenant_id = $1 AND id = $2", id="unqualified-single-table"),
        pytest.param("SELECT name FROM tenants WHERE id = $1::text", id="tenants-by-id"),
        pytest.param(
            "SELECT r.id FROM ratings r JOIN users u ON u.tenant_id = $1 AND u.id = r.user_id WHERE r.tenant_id = $1",
            id="join-filtered-in-on-and-where",
        ),
        pytest.param(
            "WITH v AS (SELECT skill_id FROM skill_versions WHERE tenant_id = $1 AND id = $2)"
            " UPDATE skills s SET published_version_id = $2 FROM v WHERE s.tenant_id = $1 AND v.skill_id = s.id",
            id="cte-and-update",
        ),
        pytest.param(
            "INSERT INTO skill_versions (tenant_id, skill_id) SELECT s.tenant_id, s.id FROM skills s"
            " WHERE s.tenant_id = $1 AND s.id = $2",
            id="insert-select",
        ),
    ],
)
def test_checker_accepts_filtered_sql(sql: str) -> None:
    assert tenant_problems(sql, 1) == []
