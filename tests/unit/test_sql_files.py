"""The SQL files parse, follow the naming rules, and ship with every migration's rollback (no database)."""

from __future__ import annotations

import re

import aiosql
import pytest

import skilldb
from skilldb.migrate import list_migrations, yoyo_url

NAME_LINE = re.compile(r"^-- name: (?P<name>\w+)\((?P<params>[^)]*)\)(?P<op>[\^$!#<*]*)\s*$", re.M)


def query_files() -> list:
    return sorted(skilldb.QUERIES_DIR.rglob("*.sql"))


def test_every_query_loads_for_sync_and_async() -> None:
    sync = aiosql.from_path(skilldb.QUERIES_DIR, "psycopg")
    asyn = aiosql.from_path(skilldb.QUERIES_DIR, "apsycopg")
    declared = {
        ".".join((*f.relative_to(skilldb.QUERIES_DIR).parent.parts, m["name"]))
        for f in query_files()
        for m in NAME_LINE.finditer(f.read_text())
    }
    assert declared, "no queries found"
    assert declared <= set(sync.available_queries)
    assert set(sync.available_queries) == set(asyn.available_queries)


def test_query_names_are_snake_case_verb_noun_and_unique() -> None:
    names = [m["name"] for f in query_files() for m in NAME_LINE.finditer(f.read_text())]
    assert len(names) == len(set(names)), "query names must be unique across the flat namespace"
    verbs = {
        "get",
        "list",
        "create",
        "update",
        "delete",
        "count",
        "increment",
        "publish",
        "set",
        "insert",
        "rate",
        "record",
        "recompute",
        "send",
        "mark",
        "add",
        "remove",
        "start",
        "end",
        "complete",
    }
    for name in names:
        assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", name), name
        assert name.split("_")[0] in verbs, f"{name}: starts with no known verb"


@pytest.mark.parametrize("path", query_files(), ids=lambda p: p.name)
def test_query_files_open_with_a_header_and_document_every_query(path) -> None:
    text = path.read_text()
    assert text.startswith("-- ") and not text.startswith("-- name:"), "file needs a header comment"
    for block in text.split("-- name: ")[1:]:
        lines = block.splitlines()
        assert lines[1].startswith("-- "), f"{lines[0]}: needs a comment line under its name"
        assert "SELECT *" not in block.upper(), f"{lines[0]}: list columns explicitly"


def test_every_migration_has_a_rollback_and_a_description() -> None:
    files = sorted(skilldb.MIGRATIONS_DIR.glob("*.sql"))
    forward = [f for f in files if not f.name.endswith(".rollback.sql")]
    assert [f.stem for f in forward] == list_migrations()
    for f in forward:
        assert re.fullmatch(r"\d{4}_[a-z_]+", f.stem), f.name
        assert f.with_suffix(".rollback.sql").exists(), f"{f.name} has no rollback"
        assert f.read_text().startswith("-- "), f"{f.name}: first line must describe it"
    assert len(files) == 2 * len(forward)


@pytest.mark.parametrize(
    ("conninfo", "expected"),
    [
        (
            "postgresql://bob:s%40cret@db.example:6543/app",
            "postgresql+psycopg://bob:s%40cret@db.example:6543/app",
        ),
        (
            "host=/run/pg port=5433 user=postgres dbname=x",
            "postgresql+psycopg://postgres@/x?host=%2Frun%2Fpg&port=5433",
        ),
        ("postgresql://u@h/db?sslmode=require", "postgresql+psycopg://u@h/db?sslmode=require"),
    ],
)
def test_yoyo_url(conninfo: str, expected: str) -> None:
    assert yoyo_url(conninfo) == expected
