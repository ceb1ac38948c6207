"""Nested fetches return exactly what the tables hold, and pagination visits every skill once.

Expected values come from plain per-table queries over generated data (skills with
and without author, versions, ratings, usage; ties on every sort key).
"""

from __future__ import annotations

import random
from dataclasses import asdict
from typing import Any

import psycopg
import pytest
from psycopg.rows import class_row

import skilldb
from skilldb import errors
from skilldb.models import RatingWithUser, SkillUsage

SKILL_COLS = ", ".join(f for f in skilldb.Skill.__dataclass_fields__)
VERSION_COLS = ", ".join(f for f in skilldb.SkillVersion.__dataclass_fields__)
USER_COLS = ", ".join(f for f in skilldb.User.__dataclass_fields__)
RATING_COLS = ", ".join(f for f in skilldb.Rating.__dataclass_fields__)
EVENT_COLS = ", ".join(f for f in skilldb.UsageEvent.__dataclass_fields__)


def rows(conn: psycopg.Connection[Any], cls: type, query: str, *args: Any) -> list[Any]:
    with conn.cursor(row_factory=class_row(cls)) as cur:
        return cur.execute(query, args).fetchall()


def one(conn: psycopg.Connection[Any], cls: type, query: str, *args: Any) -> Any:
    found = rows(conn, cls, query, *args)
    return found[0] if found else None


@pytest.fixture
def world(
    db: Any, app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str, tenant_b: str
) -> dict[str, Any]:
    """Generated data in tenant A (and a little in B), over several transactions."""
    rnd = random.Random(7)
    with skilldb.tenant(app_conn, tenant_a):
        users = [
            skilldb.create_user(app_conn, email=f"u{i}@example.com", name=f"U{i}" if i % 3 else None) for i in range(6)
        ]
    skills: list[skilldb.Skill] = []
    for batch in range(3):  # skills of one transaction share created_at: ties on purpose
        with skilldb.tenant(app_conn, tenant_a):
            for i in range(6):
                author = rnd.choice([None, *users])
                skills.append(
                    skilldb.create_skill(
                        app_conn,
                        author_id=author.id if author else None,
                        name=f"Skill {batch}-{i}",
                        slug=f"skill-{batch}-{i}",
                        description=rnd.choice([None, "d"]),
                        category="c",
                    )
                )
    for s in skills:
        with skilldb.tenant(app_conn, tenant_a):
            versions = [
                skilldb.create_skill_version(
                    app_conn,
                    s.id,
                    content=f"{s.id}/{n}".encode(),
                    content_url=f"k/{s.id}/{n}",
                    content_type="text/markdown",
                    created_by=rnd.choice(users).id,
                    metadata={"n": n},
                )
                for n in range(rnd.randint(0, 4))
            ]
            if versions and rnd.random() < 0.7:
                skilldb.publish_version(app_conn, s.id, rnd.choice(versions).id)
            if versions and rnd.random() < 0.5:
                skilldb.set_draft_version(app_conn, s.id, versions[-1].id)
            for u in rnd.sample(users, rnd.randint(0, 4)):
                app_conn.execute(
                    "INSERT INTO ratings (skill_id, user_id, rating, comment, hours_saved_estimate)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (s.id, u.id, rnd.randint(1, 5), rnd.choice([None, "ok"]), rnd.choice([None, 2])),
                )
            for _ in range(rnd.randint(0, 3)):
                app_conn.execute(
                    "INSERT INTO usage_events (skill_id, user_id, tool_name, metadata)"
                    " VALUES (%s, %s, 'cli', '{\"x\": 1}')",
                    (s.id, rnd.choice(users).id),
                )
    # sort keys with many ties, set by a DBA
    for s in skills:
        admin_conn.execute(
            "UPDATE skills SET total_uses = %s, average_rating = %s WHERE id = %s",
            (rnd.choice([0, 1, 2]), rnd.choice([None, 300, 450]), s.id),
        )
    with skilldb.tenant(app_conn, tenant_b):
        other = skilldb.create_skill(app_conn, author_id=None, name="B", slug="b")
    return {"tenant": tenant_a, "users": users, "skills": skills, "other": other}


def expected_skill(conn: psycopg.Connection[Any], skill_id: str) -> skilldb.SkillWithRelations | None:
    skill = one(conn, skilldb.Skill, f"SELECT {SKILL_COLS} FROM skills WHERE id = %s", skill_id)
    if skill is None:
        return None
    version = f"SELECT {VERSION_COLS} FROM skill_versions WHERE id = %s"
    ratings = [
        RatingWithUser(
            **asdict(r), user=one(conn, skilldb.User, f"SELECT {USER_COLS} FROM users WHERE id = %s", r.user_id)
        )
        for r in rows(
            conn,
            skilldb.Rating,
            f"SELECT {RATING_COLS} FROM ratings WHERE skill_id = %s ORDER BY created_at DESC, id",
            skill_id,
        )
    ]
    last = conn.execute("SELECT max(created_at) FROM usage_events WHERE skill_id = %s", (skill_id,)).fetchone()
    return skilldb.SkillWithRelations(
        **asdict(skill),
        author=one(conn, skilldb.User, f"SELECT {USER_COLS} FROM users WHERE id = %s", skill.author_id),
        versions=rows(
            conn,
            skilldb.SkillVersion,
            f"SELECT {VERSION_COLS} FROM skill_versions WHERE skill_id = %s ORDER BY version DESC",
            skill_id,
        ),
        published_version=one(conn, skilldb.SkillVersion, version, skill.published_version_id),
        draft_version=one(conn, skilldb.SkillVersion, version, skill.draft_version_id),
        ratings=ratings,
        usage=SkillUsage(total_uses=skill.total_uses, last_used_at=last[0] if last else None),
    )


def test_get_skill_with_relations_matches_the_tables(app_conn: psycopg.Connection[Any], world: dict[str, Any]) -> None:
    shapes = set()
    with skilldb.tenant(app_conn, world["tenant"]):
        for s in world["skills"]:
            got = skilldb.get_skill_with_relations(app_conn, s.id)
            assert got == expected_skill(app_conn, s.id)
            assert got is not None
            shapes.add((got.author is None, bool(got.versions), bool(got.ratings), got.published_version is None))
        assert skilldb.get_skill_with_relations(app_conn, "no-such-skill") is None
        assert skilldb.get_skill_with_relations(app_conn, world["other"].id) is None  # tenant B's
    # the generated data covers the empty cases and the full one
    assert any(no_author for no_author, *_ in shapes)
    assert any(not has_versions for _, has_versions, *_ in shapes)
    assert any(not has_ratings for _, _, has_ratings, _ in shapes)
    assert (False, True, True, False) in shapes


def test_nested_values_have_real_types(app_conn: psycopg.Connection[Any], world: dict[str, Any]) -> None:
    with skilldb.tenant(app_conn, world["tenant"]):
        full = [skilldb.get_skill_with_relations(app_conn, s.id) for s in world["skills"]]
    version = next(v for f in full if f for v in f.versions)
    rating = next(r for f in full if f for r in f.ratings)
    used = next(f.usage for f in full if f and f.usage.last_used_at)
    assert version.created_at.tzinfo is not None and isinstance(version.metadata, dict)
    assert rating.user is not None and rating.user.created_at.tzinfo is not None
    assert used.last_used_at is not None and used.last_used_at.tzinfo is not None


ORDER_SQL = {
    "created_at": "created_at DESC, id DESC",
    "total_uses": "total_uses DESC, id DESC",
    "average_rating": "coalesce(average_rating, 0) DESC, id DESC",
}


@pytest.mark.parametrize("order_by", list(ORDER_SQL))
@pytest.mark.parametrize("limit", [1, 4, 18, 50])
def test_pagination_visits_every_skill_once_in_order(
    app_conn: psycopg.Connection[Any], world: dict[str, Any], order_by: str, limit: int
) -> None:
    with skilldb.tenant(app_conn, world["tenant"]):
        expected = [r[0] for r in app_conn.execute(f"SELECT id FROM skills ORDER BY {ORDER_SQL[order_by]}")]
        seen: list[str] = []
        after = None
        pages = 0
        while True:
            page = skilldb.list_skills_with_relations(app_conn, order_by=order_by, limit=limit, after=after)
            pages += 1
            assert len(page.items) <= limit
            for item in page.items:
                assert item.author == (skilldb.get_user(app_conn, item.author_id) if item.author_id else None)
                assert item.published_version == (
                    skilldb.get_skill_version(app_conn, item.published_version_id)
                    if item.published_version_id
                    else None
                )
                assert skilldb.get_skill(app_conn, item.id) == skilldb.Skill(
                    **{k: getattr(item, k) for k in skilldb.Skill.__dataclass_fields__}
                )
            seen += [item.id for item in page.items]
            if page.next_cursor is None:
                break
            after = page.next_cursor
    assert seen == expected
    assert pages == max(1, -(-len(expected) // limit))


def test_pagination_input_errors(app_conn: psycopg.Connection[Any], world: dict[str, Any]) -> None:
    with skilldb.tenant(app_conn, world["tenant"]):
        cursor = skilldb.list_skills_with_relations(app_conn, limit=2).next_cursor
        assert cursor is not None
        for kwargs in (
            {"order_by": "name"},
            {"limit": 0},
            {"limit": 501},
            {"after": "garbage"},
            {"after": "W10"},
            {"order_by": "total_uses", "after": cursor},
        ):
            with pytest.raises(errors.InvalidInput):
                skilldb.list_skills_with_relations(app_conn, **kwargs)
        assert skilldb.list_skills_with_relations(app_conn, limit=2, after=cursor).items


def test_an_empty_tenant_lists_nothing(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        page = skilldb.list_skills_with_relations(app_conn)
    assert page == skilldb.Page(items=[], next_cursor=None)


def test_version_rating_user_and_event_relations_match_the_tables(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], world: dict[str, Any]
) -> None:
    user_by = f"SELECT {USER_COLS} FROM users WHERE id = %s"
    skill_by = f"SELECT {SKILL_COLS} FROM skills WHERE id = %s"
    with skilldb.tenant(app_conn, world["tenant"]):
        for v in rows(app_conn, skilldb.SkillVersion, f"SELECT {VERSION_COLS} FROM skill_versions"):
            got = skilldb.get_skill_version_with_relations(app_conn, v.id)
            assert got == skilldb.SkillVersionWithRelations(
                **asdict(v),
                skill=one(app_conn, skilldb.Skill, skill_by, v.skill_id),
                created_by_user=one(app_conn, skilldb.User, user_by, v.created_by),
            )
        for r in rows(app_conn, skilldb.Rating, f"SELECT {RATING_COLS} FROM ratings"):
            assert skilldb.get_rating_with_relations(app_conn, r.id) == skilldb.RatingWithRelations(
                **asdict(r),
                skill=one(app_conn, skilldb.Skill, skill_by, r.skill_id),
                user=one(app_conn, skilldb.User, user_by, r.user_id),
            )
        for e in rows(app_conn, skilldb.UsageEvent, f"SELECT {EVENT_COLS} FROM usage_events"):
            assert skilldb.get_usage_event_with_relations(app_conn, e.id) == skilldb.UsageEventWithRelations(
                **asdict(e),
                skill=one(app_conn, skilldb.Skill, skill_by, e.skill_id),
                user=one(app_conn, skilldb.User, user_by, e.user_id),
            )
        for u in world["users"]:
            got_user = skilldb.get_user_with_relations(app_conn, u.id)
            assert got_user == skilldb.UserWithRelations(
                **asdict(u),
                skills=rows(
                    app_conn,
                    skilldb.Skill,
                    f"SELECT {SKILL_COLS} FROM skills WHERE author_id = %s ORDER BY created_at DESC, id DESC",
                    u.id,
                ),
                skill_versions=rows(
                    app_conn,
                    skilldb.SkillVersion,
                    f"SELECT {VERSION_COLS} FROM skill_versions"
                    " WHERE created_by = %s ORDER BY created_at DESC, id DESC",
                    u.id,
                ),
                ratings=rows(
                    app_conn,
                    skilldb.Rating,
                    f"SELECT {RATING_COLS} FROM ratings WHERE user_id = %s ORDER BY created_at DESC, id DESC",
                    u.id,
                ),
                usage_events=rows(
                    app_conn,
                    skilldb.UsageEvent,
                    f"SELECT {EVENT_COLS} FROM usage_events"
                    " WHERE user_id = %s ORDER BY created_at DESC, id DESC LIMIT 50",
                    u.id,
                ),
            )
        for fetch in (
            skilldb.get_skill_version_with_relations,
            skilldb.get_rating_with_relations,
            skilldb.get_user_with_relations,
            skilldb.get_usage_event_with_relations,
        ):
            assert fetch(app_conn, "no-such-id") is None


def test_user_usage_events_are_the_newest_fifty(app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        user = skilldb.create_user(app_conn, email="busy@example.com")
        # rows written as values (Citus copies the rows of an INSERT ... SELECT from a function
        # to the shards with COPY, which row-level security refuses)
        app_conn.cursor().executemany(
            "INSERT INTO usage_events (user_id, tool_name, created_at)"
            " VALUES (%s, 'cli', now() - make_interval(mins => %s))",
            [(user.id, n) for n in range(1, 56)],
        )
    with skilldb.tenant(app_conn, tenant_a):
        got = skilldb.get_user_with_relations(app_conn, user.id)
    assert got is not None and len(got.usage_events) == 50
    stamps = [e.created_at for e in got.usage_events]
    assert stamps == sorted(stamps, reverse=True)
    assert (got.skills, got.ratings, got.skill_versions) == ([], [], [])


def test_deleted_skill_and_user_leave_events_with_no_relations(
    app_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        user = skilldb.create_user(app_conn, email="gone@example.com")
        skill = skilldb.create_skill(app_conn, author_id=user.id, name="Gone", slug="gone")
        row = app_conn.execute(
            "INSERT INTO usage_events (skill_id, user_id) VALUES (%s, %s) RETURNING id", (skill.id, user.id)
        ).fetchone()
        assert row is not None
        app_conn.execute("DELETE FROM skills WHERE id = %s", (skill.id,))
        app_conn.execute("DELETE FROM users WHERE id = %s", (user.id,))
        event = skilldb.get_usage_event_with_relations(app_conn, row[0])
    assert event is not None
    assert (event.skill_id, event.user_id, event.skill, event.user) == (None, None, None, None)
    assert event.tenant_id == tenant_a


@pytest.mark.plain_postgresql(
    "Citus plans every execution with its parameters (custom plans) and cannot build a generic plan of it"
)
@pytest.mark.parametrize("order_by", list(ORDER_SQL))
def test_the_keyset_condition_is_an_index_condition_even_in_generic_plans(
    app_conn: psycopg.Connection[Any], tenant_a: str, order_by: str
) -> None:
    """Under row-level security a keyset on an expression (or coalesce() around a parameter)
    drops out of the index condition, and deep pages then scan every row before them."""
    from skilldb._sql import sql_of

    sql = sql_of(f"list_skills_with_relations_by_{order_by}")
    for i, name in enumerate(("tenant_id", "after_key", "after_id", "limit"), start=1):
        sql = sql.replace(f"%({name})s", f"${i}")
    key = {"created_at": "'2026-01-01'", "total_uses": "5", "average_rating": "300"}[order_by]
    with skilldb.tenant(app_conn, tenant_a):
        for setting in ("plan_cache_mode = force_generic_plan", "enable_seqscan = off", "enable_sort = off"):
            app_conn.execute(f"SET LOCAL {setting}")
        app_conn.execute(f"PREPARE page AS {sql}")
        plan = "\n".join(r[0] for r in app_conn.execute(f"EXPLAIN EXECUTE page('{tenant_a}', {key}, 'x', 51)"))
        app_conn.execute("DEALLOCATE page")
    assert f"Index Scan Backward using skills_{order_by}_idx" in plan, plan
    index_cond = next(line for line in plan.splitlines() if "Index Cond" in line and "ROW(" in line)
    assert "$2" in index_cond and "$3" in index_cond, plan
    assert "(tenant_id)::text = $1" in index_cond, plan
