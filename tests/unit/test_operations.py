"""Every operation is one definition serving ``skilldb.<name>`` and ``skilldb.aio.<name>`` (no database)."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import skilldb
import skilldb.aio
from skilldb import _validate, errors
from skilldb._sql import Call, operation
from skilldb.skills import _decode_cursor, _encode_cursor
from tests.operations import OPERATIONS, is_workshop, resolve

ROOT = Path(__file__).resolve().parents[2]

#: Public names of skilldb.aio (and skilldb.aio.workshops) that are no operation.
AIO_EXTRAS = {"format_rating", "queries", "tenant", "verify_content", "workshops", "workshops.acting_as"}


def test_both_namespaces_hold_the_same_operations() -> None:
    assert len(OPERATIONS) >= 30
    aio_names = {*skilldb.aio.__all__, *(f"workshops.{n}" for n in skilldb.aio.workshops.__all__)}
    assert aio_names - AIO_EXTRAS == set(OPERATIONS)
    for name in aio_names:
        assert resolve(skilldb.aio, name) is not None, name


@pytest.mark.parametrize("name", OPERATIONS)
def test_the_async_twin_is_the_same_definition(name: str) -> None:
    sync, asyn = resolve(skilldb, name), resolve(skilldb.aio, name)
    assert asyn is sync.aio and inspect.iscoroutinefunction(asyn) and not inspect.iscoroutinefunction(sync)
    assert sync.__wrapped__ is asyn.__wrapped__
    assert sync.__doc__ == asyn.__doc__ and sync.__doc__
    short = name.rpartition(".")[2]
    assert (sync.__name__, asyn.__name__) == (short, short)
    namespace = ".workshops" if is_workshop(name) else ""
    assert (sync.__module__, asyn.__module__) == (f"skilldb{namespace}", f"skilldb.aio{namespace}")
    s, a = inspect.signature(sync), inspect.signature(asyn)
    assert next(iter(s.parameters)) == next(iter(a.parameters)) == "conn"
    assert "AsyncConnection" not in str(s.parameters["conn"].annotation)
    assert "AsyncConnection" in str(a.parameters["conn"].annotation)
    assert list(s.parameters.values())[1:] == list(a.parameters.values())[1:]
    assert s.return_annotation == a.return_annotation != inspect.Signature.empty


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_operation_documents_its_sql_arguments_and_errors(name: str) -> None:
    doc = resolve(skilldb, name).__doc__
    assert "SQL: ``queries/" in doc or "``queries/" in doc, name
    required = ":raises PersonRequired:" if is_workshop(name) else ":raises TenantRequired:"
    assert required in doc and ":return:" in doc, name
    for param in list(inspect.signature(resolve(skilldb, name)).parameters):
        assert f":param {param}:" in doc, f"{name}: {param} undocumented"


def test_help_shows_the_real_signature_of_both_faces() -> None:
    text = subprocess.run(
        [sys.executable, "-c", "import skilldb; help(skilldb.create_skill); help(skilldb.aio.create_skill)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "create_skill(conn: 'psycopg.Connection[Any]', /, *, author_id" in text
    assert "async create_skill(conn: 'psycopg.AsyncConnection[Any]', /, *, author_id" in text
    assert text.count("Create a skill in the bound tenant") == 2


def test_import_skilldb_alone_makes_aio_usable() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import skilldb; print(skilldb.aio.get_skill.__name__, skilldb.aio.tenant.__name__)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["get_skill", "atenant"], result.stderr


def test_an_operation_parameter_without_an_input_rule_fails_at_definition() -> None:
    def plan(*, shoe_size: int) -> Call[Any, int]:
        """Nothing."""
        raise AssertionError

    with pytest.raises(LookupError, match="shoe_size"):
        operation(plan)


@pytest.mark.parametrize(
    ("rule", "value", "error", "match"),
    [
        ("description", b"Hello", TypeError, "description must be a str"),
        ("description", True, TypeError, "description"),
        ("description", ["x"], TypeError, "description"),
        ("description", 1.5, TypeError, "description"),
        ("description", {}, TypeError, "description"),
        ("name", "a\udc80", errors.InvalidInput, "surrogate"),
        ("tenant_id", "a\udc80", errors.InvalidInput, "surrogate"),
        ("name", "a\x00b", errors.InvalidInput, "NUL"),
        ("slug", "s" * 6000, errors.InvalidInput, "at most 100"),
        ("email", "e" * 8000 + "@x.io", errors.InvalidInput, "at most 254"),
        ("skill_id", "k" * 10_000, errors.InvalidInput, "at most 128"),
        ("tenant_id", "t" * 10_000, errors.InvalidInput, "at most 128"),
        ("name", "two\nlines", errors.InvalidInput, "control"),
        ("limit", True, TypeError, "limit"),
        ("limit", 10**30, errors.InvalidInput, "limit"),
    ],
)
def test_input_rules(rule: str, value: Any, error: type[Exception], match: str) -> None:
    check = _validate.rule(rule, str | None)
    with pytest.raises(error, match=match) as info:
        check(value)
    assert isinstance(info.value, errors.SkillDBError)


def test_deeply_nested_metadata_is_refused_without_recursion() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(errors.InvalidInput, match="nested more than 32"):
        _validate.json_object("metadata", deep)
    for bad, match in [
        ({"x": float("nan")}, "finite"),
        ({1: "x"}, "keys must be str"),
        ({"x": object()}, "json values"),
        ({"x": "a\x00"}, "NUL"),
        ({"x": "y" * (1 << 20)}, "larger than"),
    ]:
        with pytest.raises(errors.InvalidInput, match=match):
            _validate.json_object("metadata", bad)
    assert _validate.json_object("metadata", {"a": [1, 2.5, None, True, {"b": "ü"}]})


def test_a_cursor_for_another_order_says_so() -> None:
    from datetime import UTC, datetime

    item: Any = type("Item", (), {"created_at": datetime.now(UTC), "total_uses": 3, "average_rating": None, "id": "x"})
    cursor = _encode_cursor("total_uses", item)
    with pytest.raises(errors.InvalidInput, match="cursor for 'total_uses', not for 'created_at'"):
        _decode_cursor("created_at", cursor)
    assert _decode_cursor("total_uses", cursor) == (3, "x")


@pytest.mark.parametrize("key", [10**30, -1, 2.5, True, "7"])
def test_a_forged_cursor_key_is_refused_with_a_clear_message(key: Any) -> None:
    import base64
    import json

    raw = base64.urlsafe_b64encode(json.dumps(["total_uses", key, "x"]).encode()).decode()
    with pytest.raises(errors.InvalidInput, match="not a cursor returned by list_skills_with_relations"):
        _decode_cursor("total_uses", raw)


def test_verify_content_names_a_wrong_argument() -> None:
    version: Any = object()
    with pytest.raises(TypeError, match="version must be a SkillVersion"):
        skilldb.verify_content(version, b"x")
