"""Typed query contracts in ``skilldb check``: each query held to the Python types of the
operations that run it, tried by breaking a temporary copy of the tree as a DBA would."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import skilldb
from skilldb.check import check
from skilldb.contracts import contracts
from tests.plugin import Server


@pytest.fixture
def queries(tmp_path: Path) -> Path:
    copy = tmp_path / "queries"
    shutil.copytree(skilldb.QUERIES_DIR, copy)
    return copy


def server(pg_server: Server) -> str:
    return pg_server.conninfo(pg_server.maintenance_dbname)


def replace_in_query(path: Path, query: str, old: str, new: str) -> int:
    """Replace the first ``old`` after the name line of ``query``; return its 1-based line."""
    text = path.read_text()
    start = text.index(f"-- name: {query}(")
    at = text.index(old, start)
    path.write_text(text[:at] + new + text[at + len(old) :])
    return text[:at].count("\n") + 1


def problems(report: object, root: Path) -> list[str]:
    return [str(p).replace(str(root) + "/", "") for p in report.problems]  # type: ignore[attr-defined]


def test_every_operation_states_the_queries_it_runs() -> None:
    found = contracts()
    assert {"get_skill", "workshops.get_workshop_with_relations", "workshops.create_markdown_build_pack"} <= set(found)
    orders = {q for q in found if q.startswith("list_skills_with_relations_by_")}
    assert len(orders) == 3  # one query per order_by choice
    (get_skill,) = found["get_skill"]
    assert get_skill.row is skilldb.Skill and get_skill.passed == {"tenant_id", "skill_id"}
    assert all(c.nested for c in found["get_skill_with_relations"])


def test_a_renamed_column_is_reported_by_field(pg_server: Server, queries: Path) -> None:
    line = replace_in_query(queries / "skills.sql", "get_skill", " name,", " name AS skill_name,")
    shown = problems(check(server(pg_server), queries_dir=queries), queries.parent)
    assert (
        f"queries/skills.sql:{line}: get_skill: field name: no such column; Skill declares it (skilldb.get_skill)"
        in shown
    )
    assert any(
        p.startswith(f"queries/skills.sql:{line}: get_skill: column skill_name: no field of Skill") for p in shown
    )


def test_a_renamed_json_key_is_reported_at_its_relation(pg_server: Server, queries: Path) -> None:
    replace_in_query(queries / "skills.sql", "get_skill_with_relations", "u.email", "u.email AS mail")
    text = (queries / "skills.sql").read_text()
    author = text[: text.index(") AS author", text.index("-- name: get_skill_with_relations("))].count("\n") + 1
    shown = problems(check(server(pg_server), queries_dir=queries), queries.parent)
    assert (
        f"queries/skills.sql:{author}: get_skill_with_relations: skilldb.get_skill_with_relations: rows do not decode: "
        "column author: Object missing required field `email`"
    ) in shown


def test_an_outer_join_makes_its_columns_nullable(pg_server: Server, queries: Path) -> None:
    replace_in_query(
        queries / "workshops" / "workshops.sql",
        "list_workshops_for_user",
        "JOIN workshops w ON",
        "LEFT JOIN workshops w ON",
    )
    shown = problems(check(server(pg_server), queries_dir=queries), queries.parent)
    assert any(
        "workshops.list_workshops_for_user: field title: may be NULL "
        "(w.title is on the nullable side of an outer join), Workshop declares str" in p
        for p in shown
    ), shown


def test_a_column_made_nullable_by_a_new_migration_is_reported(pg_server: Server, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(skilldb.MIGRATIONS_DIR, migrations)
    last = sorted(p.stem for p in migrations.glob("*.sql") if not p.stem.endswith(".rollback"))[-1]
    (migrations / "9999_loosen_skill_names.sql").write_text(
        f"-- Let skills go without a name.\n-- depends: {last}\n\nALTER TABLE skills ALTER COLUMN name DROP NOT NULL;\n"
    )
    (migrations / "9999_loosen_skill_names.rollback.sql").write_text(
        "-- Names again.\n\nALTER TABLE skills ALTER COLUMN name SET NOT NULL;\n"
    )
    shown = [str(p) for p in check(server(pg_server), migrations_dir=migrations).problems]
    assert any(
        p.startswith("queries/skills.sql:")
        and "get_skill: field name: may be NULL (column name of its table is nullable), Skill declares str" in p
        for p in shown
    ), shown


def test_a_declared_parameter_no_operation_passes_is_reported(pg_server: Server, queries: Path) -> None:
    line = replace_in_query(
        queries / "tenants.sql", "get_tenant", "get_tenant(tenant_id)", "get_tenant(tenant_id, extra)"
    )
    shown = problems(check(server(pg_server), queries_dir=queries), queries.parent)
    assert f"queries/tenants.sql:{line}: get_tenant: parameter 'extra' is declared but never used" in shown
    assert (
        f"queries/tenants.sql:{line}: get_tenant: parameter 'extra' is declared but skilldb.get_tenant never passes it"
    ) in shown


def test_the_unchanged_tree_keeps_every_contract(pg_server: Server) -> None:
    report = check(server(pg_server))
    assert report.problems == []
