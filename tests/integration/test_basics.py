"""Tenants, users and skills through the package: round trips, errors, transactions, preparation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
import pytest

import skilldb
from skilldb import errors


def count(admin_conn: psycopg.Connection[Any], table: str) -> int:
    row = admin_conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else -1


def test_create_and_read_back(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        ada = skilldb.create_user(app_conn, email="Ada@Example.com", name="Ada")
        skill = skilldb.create_skill(
            app_conn,
            author_id=ada.id,
            name="Review",
            slug="review",
            description="Finds bugs",
            category="eng",
        )
    assert ada.tenant_id == tenant_a and isinstance(ada.created_at, datetime)
    assert ada.created_at.tzinfo is not None
    assert (skill.total_uses, skill.average_rating, skill.published_version_id) == (0, None, None)
    with skilldb.tenant(app_conn, tenant_a):
        assert skilldb.get_user(app_conn, ada.id) == ada
        assert skilldb.get_user_by_email(app_conn, "ada@example.COM") == ada
        assert skilldb.get_skill(app_conn, skill.id) == skill
        assert skilldb.get_skill_by_slug(app_conn, "review") == skill
        assert skilldb.get_skill(app_conn, "no-such-id") is None
        assert skilldb.list_skills(app_conn) == [skill]
        assert skilldb.list_skills(app_conn, category="eng") == [skill]
        assert skilldb.list_skills(app_conn, category="other") == []


def test_list_skills_orders_oldest_first_and_limits(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        made = [skilldb.create_skill(app_conn, author_id=None, name=f"S{i}", slug=f"s-{i}") for i in range(5)]
        expected = sorted(made, key=lambda s: (s.created_at, s.id))
        assert skilldb.list_skills(app_conn) == expected
        assert skilldb.list_skills(app_conn, limit=2) == expected[:2]


def test_another_tenant_cannot_get_a_skill_by_id(
    app_conn: psycopg.Connection[Any], tenant_a: str, tenant_b: str
) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        skill = skilldb.create_skill(app_conn, author_id=None, name="Mine", slug="mine")
    with skilldb.tenant(app_conn, tenant_b):
        assert skilldb.get_skill(app_conn, skill.id) is None
        assert skilldb.get_skill_by_slug(app_conn, "mine") is None
        # the same slug is free in another tenant
        assert skilldb.create_skill(app_conn, author_id=None, name="Mine", slug="mine").tenant_id == tenant_b


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "", "slug": "ok"}, "name"),
        ({"name": "   ", "slug": "ok"}, "name"),
        ({"name": "Ok", "slug": ""}, "slug"),
        ({"name": "Ok", "slug": "Not A Slug"}, "slug"),
        ({"name": "Ok", "slug": "trailing-"}, "slug"),
        ({"name": "Ok", "slug": "ok", "category": ""}, "category"),
    ],
)
def test_bad_skill_input_raises_invalid_input_and_writes_nothing(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    kwargs: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(errors.InvalidInput, match=message), skilldb.tenant(app_conn, tenant_a):
        skilldb.create_skill(app_conn, author_id=None, **kwargs)
    assert count(admin_conn, "skills") == 0


def test_the_database_enforces_the_same_rules_for_a_dba(admin_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    for slug, name in [("Bad Slug", "x"), ("ok", " ")]:
        with pytest.raises(psycopg.errors.CheckViolation):
            admin_conn.execute(
                "INSERT INTO skills (tenant_id, name, slug) VALUES (%s, %s, %s)",
                (tenant_a, name, slug),
            )
    assert count(admin_conn, "skills") == 0


def test_duplicate_slug_names_table_and_value(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        skilldb.create_skill(app_conn, author_id=None, name="One", slug="dup")
    with pytest.raises(errors.AlreadyExists) as info, skilldb.tenant(app_conn, tenant_a):
        skilldb.create_skill(app_conn, author_id=None, name="Two", slug="dup")
    assert isinstance(info.value, ValueError)
    assert info.value.constraint_name == "skills_tenant_id_slug_key"
    assert "skills" in str(info.value) and "dup" in str(info.value)
    assert isinstance(info.value.__cause__, psycopg.errors.UniqueViolation)
    assert count(admin_conn, "skills") == 1


def test_unknown_author_is_an_unknown_reference(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    with (
        pytest.raises(errors.UnknownReference, match="author_id") as info,
        skilldb.tenant(app_conn, tenant_a),
    ):
        skilldb.create_skill(app_conn, author_id="nobody", name="X", slug="x")
    assert "nobody" in str(info.value) and info.value.table_name == "skills"
    assert count(admin_conn, "skills") == 0


def test_duplicate_email_ignores_case(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        skilldb.create_user(app_conn, email="x@example.com")
    with pytest.raises(errors.AlreadyExists), skilldb.tenant(app_conn, tenant_a):
        skilldb.create_user(app_conn, email="X@EXAMPLE.com")
    with pytest.raises(errors.InvalidInput, match="email"), skilldb.tenant(app_conn, tenant_a):
        skilldb.create_user(app_conn, email="not-an-email")


def test_binding_an_unknown_tenant_cannot_write(app_conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(errors.UnknownReference, match="tenants"), skilldb.tenant(app_conn, "ghost"):
        skilldb.create_user(app_conn, email="x@example.com")


def test_tenant_rolls_back_on_error_and_commits_on_success(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
) -> None:
    with pytest.raises(RuntimeError), skilldb.tenant(app_conn, tenant_a):
        skilldb.create_skill(app_conn, author_id=None, name="Gone", slug="gone")
        raise RuntimeError("boom")
    assert count(admin_conn, "skills") == 0
    with skilldb.tenant(app_conn, tenant_a):
        skilldb.create_skill(app_conn, author_id=None, name="Kept", slug="kept")
    assert count(admin_conn, "skills") == 1


def test_tenant_refuses_a_connection_already_in_a_transaction(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    app_conn.execute("SELECT 1")  # psycopg opened a transaction implicitly
    with pytest.raises(errors.TransactionInProgress), skilldb.tenant(app_conn, tenant_a):
        pass
    app_conn.rollback()
    for bad in ("", "  ", None):
        with pytest.raises(errors.InvalidInput), skilldb.tenant(app_conn, bad):  # type: ignore[arg-type]
            pass


def test_tenant_works_on_an_autocommit_connection(db: Any, tenant_a: str) -> None:
    with psycopg.connect(db.app_url, autocommit=True) as conn:
        with skilldb.tenant(conn, tenant_a):
            skilldb.create_skill(conn, author_id=None, name="Auto", slug="auto")
        assert conn.execute("SELECT count(*) FROM skills").fetchone() == (0,)
        with skilldb.tenant(conn, tenant_a):
            assert [s.slug for s in skilldb.list_skills(conn)] == ["auto"]


def prepared(conn: psycopg.Connection[Any]) -> list[str]:
    return [r[0] for r in conn.execute("SELECT statement FROM pg_prepared_statements")]


def test_named_queries_are_prepared_on_their_first_call(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        skilldb.list_skills(app_conn)
        statements = prepared(app_conn)
    assert any("FROM skills" in s and "ORDER BY created_at" in s for s in statements), statements


def test_queries_work_with_preparation_off(db: Any, tenant_a: str) -> None:
    """As behind PgBouncer before 1.21 in transaction mode: prepare_threshold = None."""
    with psycopg.connect(db.app_url, prepare_threshold=None) as conn:
        for _ in range(3):
            with skilldb.tenant(conn, tenant_a):
                skilldb.create_skill(conn, author_id=None, name="Np", slug=f"np-{_}")
                assert len(skilldb.list_skills(conn)) == _ + 1
                assert prepared(conn) == []


def test_raw_aiosql_functions_stay_reachable(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        skilldb.create_skill(app_conn, author_id=None, name="Raw", slug="raw")
        row = skilldb.queries.get_skill_by_slug(app_conn, tenant_id=tenant_a, slug="raw")
    assert row is not None and "raw" in row
