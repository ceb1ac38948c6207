"""Skill messages: sending, the inbox (keyset pages, unread count), read once, answered once.

As the application login (a member of ``skilldb_app`` only), with real threads for the
"exactly once" claims, and as a superuser in psql for the rules the database keeps.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import skilldb
from skilldb import errors
from skilldb._sql import sql_of
from tests.plugin import Database


class Team:
    """Three users and two skills of one tenant."""

    def __init__(self, conn: psycopg.Connection[Any], tenant_id: str) -> None:
        self.tenant_id = tenant_id
        with skilldb.tenant(conn, tenant_id):
            self.ann, self.bob, self.cy = (
                skilldb.create_user(conn, email=f"{n}@example.com", name=n.title()).id for n in ("ann", "bob", "cy")
            )
            self.review = skilldb.create_skill(conn, author_id=self.ann, name="Code review", slug="code-review").id
            self.quality = skilldb.create_skill(conn, author_id=self.bob, name="Quality", slug="quality").id


@pytest.fixture
def team(app_conn: psycopg.Connection[Any], tenant_a: str) -> Team:
    return Team(app_conn, tenant_a)


@pytest.fixture
def other(app_conn: psycopg.Connection[Any], tenant_b: str) -> Team:
    return Team(app_conn, tenant_b)


def send(conn: psycopg.Connection[Any], team: Team, text: str = "Yours belongs under mine", **kw: Any) -> Any:
    args: dict[str, Any] = {
        "from_user_id": team.ann,
        "to_user_id": team.bob,
        "subject_skill_id": team.quality,
        "proposed_parent_skill_id": team.review,
        "message": text,
        **kw,
    }
    with skilldb.tenant(conn, team.tenant_id):
        return skilldb.send_skill_message(conn, **args)


def message_count(admin_conn: psycopg.Connection[Any]) -> int:
    row = admin_conn.execute("SELECT count(*) FROM skill_messages").fetchone()
    return int(row[0]) if row else -1


def test_a_sent_message_is_pending_and_unread(app_conn: psycopg.Connection[Any], team: Team) -> None:
    sent = send(app_conn, team, "Line one\n\tline two")
    assert isinstance(sent, skilldb.SkillMessage)
    assert (sent.from_user_id, sent.to_user_id, sent.subject_skill_id, sent.proposed_parent_skill_id) == (
        team.ann,
        team.bob,
        team.quality,
        team.review,
    )
    assert (sent.message, sent.status, sent.read_at, sent.tenant_id) == (
        "Line one\n\tline two",
        "pending",
        None,
        team.tenant_id,
    )
    without_parent = send(app_conn, team, proposed_parent_skill_id=None)
    assert without_parent.proposed_parent_skill_id is None


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"message": ""}, "non-empty"),
        ({"message": " \n\t "}, "non-empty"),
        ({"message": "x" * 10_001}, "at most 10000"),
        ({"message": "bell\x07"}, "control characters"),
        ({"to_user_id": "ANN"}, "another user"),
        ({"proposed_parent_skill_id": "QUALITY"}, "its own parent"),
    ],
)
def test_bad_messages_are_refused_before_any_sql(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    team: Team,
    change: dict[str, str],
    complaint: str,
) -> None:
    kw = {k: {"ANN": team.ann, "QUALITY": team.quality}.get(v, v) for k, v in change.items()}
    with pytest.raises(errors.InvalidInput, match=complaint):
        send(app_conn, team, **kw)
    assert message_count(admin_conn) == 0


def masked(exc: BaseException, *ids: str) -> str:
    text = str(exc)
    for i in ids:
        text = text.replace(i, "<id>")
    return text


@pytest.mark.parametrize("field", ["from_user_id", "to_user_id", "subject_skill_id", "proposed_parent_skill_id"])
def test_another_tenants_row_is_refused_exactly_like_an_unknown_one(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], team: Team, other: Team, field: str
) -> None:
    theirs = {
        "from_user_id": other.cy,
        "to_user_id": other.cy,
        "subject_skill_id": other.quality,
        "proposed_parent_skill_id": other.review,
    }[field]
    raised = []
    for target in (theirs, "no-such-row"):
        with pytest.raises(errors.UnknownReference) as info:
            send(app_conn, team, **{field: target})
        raised.append(info.value)
    assert type(raised[0]) is type(raised[1])
    assert masked(raised[0], theirs) == masked(raised[1], "no-such-row")
    assert raised[0].constraint_name == raised[1].constraint_name == f"skill_messages_{field}_fkey"
    assert message_count(admin_conn) == 0


def test_the_inbox_is_newest_first_in_keyset_pages(app_conn: psycopg.Connection[Any], team: Team) -> None:
    sent = [send(app_conn, team, f"m{i}") for i in range(7)]
    send(app_conn, team, "to ann", from_user_id=team.bob, to_user_id=team.ann)
    expected = sorted(sent, key=lambda m: (m.created_at, m.id), reverse=True)
    seen: list[skilldb.SkillMessage] = []
    after = None
    with skilldb.tenant(app_conn, team.tenant_id):
        while True:
            page = skilldb.get_messages_for_user(app_conn, team.bob, limit=3, after=after)
            seen += page.items
            if page.next_cursor is None:
                break
            after = page.next_cursor
            # a message arriving meanwhile is newer: it lands on an earlier page, not this one
            skilldb.send_skill_message(
                app_conn,
                from_user_id=team.cy,
                to_user_id=team.bob,
                subject_skill_id=team.review,
                message="late",
            )
    assert [m.id for m in seen] == [m.id for m in expected]
    with skilldb.tenant(app_conn, team.tenant_id):
        first = skilldb.get_messages_for_user(app_conn, team.bob)
        assert [m.message for m in first.items][:2] == ["late", "late"] and first.next_cursor is None
        assert skilldb.get_messages_for_user(app_conn, team.cy).items == []
        for bad in ({"limit": 0}, {"limit": 501}, {"after": "nonsense"}):
            with pytest.raises(errors.InvalidInput):
                skilldb.get_messages_for_user(app_conn, team.bob, **bad)
        skills_cursor = skilldb.list_skills_with_relations(app_conn, limit=1).next_cursor
        assert skills_cursor is not None
        with pytest.raises(errors.InvalidInput, match="not for 'messages'"):
            skilldb.get_messages_for_user(app_conn, team.bob, after=skills_cursor)


def test_unread_count_and_reading_once(app_conn: psycopg.Connection[Any], team: Team) -> None:
    first, second = send(app_conn, team, "one"), send(app_conn, team, "two")
    with skilldb.tenant(app_conn, team.tenant_id):
        assert skilldb.get_unread_count_for_user(app_conn, team.bob) == 2
        assert skilldb.get_unread_count_for_user(app_conn, team.ann) == 0
        assert skilldb.mark_message_read(app_conn, first.id) is True
    with skilldb.tenant(app_conn, team.tenant_id):
        read_at = skilldb.get_messages_for_user(app_conn, team.bob).items[-1].read_at
        assert read_at is not None
        assert skilldb.mark_message_read(app_conn, first.id) is False
        assert skilldb.get_messages_for_user(app_conn, team.bob).items[-1].read_at == read_at
        assert skilldb.get_unread_count_for_user(app_conn, team.bob) == 1
        assert skilldb.get_messages_for_user(app_conn, team.bob).items[0].id == second.id
        with pytest.raises(errors.NotFound):
            skilldb.mark_message_read(app_conn, "no-such-message")
        # the block is still usable after NotFound: nothing failed in SQL
        assert skilldb.get_unread_count_for_user(app_conn, team.bob) == 1


def test_a_pending_message_is_answered_once(app_conn: psycopg.Connection[Any], team: Team) -> None:
    message = send(app_conn, team)
    with skilldb.tenant(app_conn, team.tenant_id):
        with pytest.raises(errors.InvalidInput, match="one of accepted, declined"):
            skilldb.update_message_status(app_conn, message.id, "pending")
        accepted = skilldb.update_message_status(app_conn, message.id, "accepted")
        assert (accepted.id, accepted.status, accepted.message) == (message.id, "accepted", message.message)
        for status in ("declined", "accepted"):
            with pytest.raises(errors.InvalidInput, match="already accepted"):
                skilldb.update_message_status(app_conn, message.id, status)
        with pytest.raises(errors.NotFound):
            skilldb.update_message_status(app_conn, "no-such-message", "declined")
        # neither refusal failed a statement: the block commits
    with skilldb.tenant(app_conn, team.tenant_id):
        got = skilldb.get_skill_message_with_relations(app_conn, message.id)
    assert got is not None and got.status == "accepted"


def storm(db: Database, tenant_id: str, threads: int, act: Callable[[psycopg.Connection[Any], int], Any]) -> list[Any]:
    """Run ``act`` once in each of ``threads`` threads, each on its own connection, released together."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def worker(i: int) -> None:
        with psycopg.connect(db.app_url) as conn:
            barrier.wait()
            try:
                with skilldb.tenant(conn, tenant_id):
                    results[i] = act(conn, i)
            except errors.SkillDBError as exc:
                results[i] = exc

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


def test_concurrent_readers_mark_a_message_read_exactly_once(
    app_conn: psycopg.Connection[Any], db: Database, team: Team
) -> None:
    for _ in range(5):
        message = send(app_conn, team)
        results = storm(db, team.tenant_id, 8, lambda conn, i: skilldb.mark_message_read(conn, message.id))
        assert sorted(results) == [False] * 7 + [True]


def test_concurrent_answers_change_a_message_exactly_once(
    app_conn: psycopg.Connection[Any], db: Database, team: Team
) -> None:
    for _ in range(5):
        message = send(app_conn, team)
        results = storm(
            db,
            team.tenant_id,
            8,
            lambda conn, i: skilldb.update_message_status(conn, message.id, ("accepted", "declined")[i % 2]),
        )
        winners = [r for r in results if isinstance(r, skilldb.SkillMessage)]
        losers = [r for r in results if isinstance(r, errors.InvalidInput)]
        assert len(winners) == 1 and len(losers) == 7, results
        with skilldb.tenant(app_conn, team.tenant_id):
            stored = skilldb.get_skill_message_with_relations(app_conn, message.id)
        assert stored is not None and stored.status == winners[0].status


def test_the_message_comes_with_its_relations(app_conn: psycopg.Connection[Any], team: Team) -> None:
    message = send(app_conn, team)
    with skilldb.tenant(app_conn, team.tenant_id):
        got = skilldb.get_skill_message_with_relations(app_conn, message.id)
        assert got is not None
        assert isinstance(got, skilldb.SkillMessageWithRelations)
        assert got.from_user is not None and got.from_user.id == team.ann and got.from_user.name == "Ann"
        assert got.to_user is not None and got.to_user.id == team.bob
        assert got.subject_skill is not None and got.subject_skill.slug == "quality"
        assert got.proposed_parent_skill is not None and got.proposed_parent_skill.slug == "code-review"
        assert skilldb.get_skill_message_with_relations(app_conn, "no-such-message") is None
        # deleting the proposed parent keeps the message, without a parent
        app_conn.execute("DELETE FROM skills WHERE id = %s", (team.review,))
        got = skilldb.get_skill_message_with_relations(app_conn, message.id)
    assert got is not None
    assert (got.proposed_parent_skill_id, got.proposed_parent_skill) == (None, None)


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("UPDATE skill_messages SET to_user_id = from_user_id", "skill_messages_not_to_sender"),
        ("UPDATE skill_messages SET proposed_parent_skill_id = subject_skill_id", "skill_messages_parent_not_subject"),
        ("UPDATE skill_messages SET status = 'declined'", "skill_messages_status_once"),
        ("UPDATE skill_messages SET status = 'pending'", "skill_messages_status_once"),
        ("UPDATE skill_messages SET read_at = NULL", "skill_messages_read_once"),
        ("UPDATE skill_messages SET read_at = now() - interval '1 day'", "skill_messages_read_once"),
    ],
)
def test_the_database_keeps_the_rules_against_psql(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], team: Team, statement: str, constraint: str
) -> None:
    message = send(app_conn, team)
    with skilldb.tenant(app_conn, team.tenant_id):
        skilldb.update_message_status(app_conn, message.id, "accepted")
        skilldb.mark_message_read(app_conn, message.id)
    before = admin_conn.execute("SELECT * FROM skill_messages").fetchall()
    with pytest.raises(errors.InvalidInput) as info, admin_conn.transaction(), errors.translate_errors():
        admin_conn.execute(statement)
    assert info.value.constraint_name == constraint
    assert admin_conn.execute("SELECT * FROM skill_messages").fetchall() == before


def test_a_pending_unread_message_may_still_change_once_in_psql(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], team: Team
) -> None:
    """The trigger allows the first answer and the first read, from any writer."""
    send(app_conn, team)
    with pytest.raises(errors.InvalidInput) as info, admin_conn.transaction(), errors.translate_errors():
        admin_conn.execute("UPDATE skill_messages SET status = 'archived'")
    assert info.value.constraint_name == "skill_messages_status_valid"
    admin_conn.execute("UPDATE skill_messages SET status = 'declined', read_at = now()")
    admin_conn.execute("UPDATE skill_messages SET message = 'edited by a DBA', status = status")
    row = admin_conn.execute("SELECT status, read_at IS NOT NULL, message FROM skill_messages").fetchone()
    assert row == ("declined", True, "edited by a DBA")


def generic_plan(conn: psycopg.Connection[Any], query: str, args: str) -> str:
    sql = sql_of(query)
    for i, name in enumerate(re.findall(r"%\((\w+)\)s", sql)):
        if f"%({name})s" in sql:
            sql = sql.replace(f"%({name})s", f"${i + 1}")
    conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    conn.execute("SET LOCAL enable_seqscan = off")
    conn.execute(f"PREPARE probe AS {sql}")
    plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN EXECUTE probe({args})"))
    conn.execute("DEALLOCATE probe")
    return plan


@pytest.mark.plain_postgresql(
    "Citus plans every execution with its parameters (custom plans) and cannot build a generic plan of it"
)
def test_the_inbox_reads_use_their_indexes_in_generic_plans(app_conn: psycopg.Connection[Any], team: Team) -> None:
    t = team.tenant_id
    with skilldb.tenant(app_conn, t):
        app_conn.execute("SET LOCAL enable_sort = off")
        page = generic_plan(app_conn, "list_messages_for_user", f"'{t}', 'u', '2026-01-01', 'x', 51")
        unread = generic_plan(app_conn, "count_unread_messages_for_user", f"'{t}', 'u'")
    assert "Index Scan Backward using skill_messages_inbox_idx" in page, page
    assert "Sort" not in page, page
    index_cond = next(line for line in page.splitlines() if "Index Cond" in line)
    assert "ROW(" in index_cond and "$3" in index_cond and "$4" in index_cond, page
    assert "using skill_messages_unread_idx" in unread, unread
