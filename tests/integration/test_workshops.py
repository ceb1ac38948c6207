"""Workshops: the schema by catalog, every operation and its refusals, the nested fetch
against the tables, build packs from current outputs, and share tokens.

Run as the application login (a member of ``skilldb_app`` only); who may do what is
tried in ``test_workshop_access.py``.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

import skilldb
from skilldb import errors
from skilldb import workshops as ws

WORKSHOP_TABLES = ["build_packs", "sessions", "step_definitions", "workshop_members", "workshop_steps", "workshops"]
STEPS = [
    "challenge",
    "empathize",
    "personas",
    "journey_map",
    "define",
    "ideate",
    "prioritize",
    "prototype",
    "test",
    "build_plan",
]


@pytest.fixture
def alice(app_conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """The app connection; tests open ``ws.acting_as(alice, "alice")`` blocks on it."""
    return app_conn


def make_workshop(conn: psycopg.Connection[Any], person: str = "alice", **kw: Any) -> ws.Workshop:
    with ws.acting_as(conn, person):
        return ws.create_workshop(conn, title=kw.pop("title", "Onboarding"), original_idea="Fewer drop-offs", **kw)


# --- schema facts ------------------------------------------------------------------------


def test_every_workshop_foreign_key_is_indexed_and_cascades_as_specified(admin_conn: psycopg.Connection[Any]) -> None:
    rows = admin_conn.execute(
        """SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, c.confdeltype,
                  EXISTS (SELECT FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
           FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
           WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s) ORDER BY 1, 2""",
        (WORKSHOP_TABLES,),
    ).fetchall()
    assert rows == [
        ("build_packs", "workshop_id", "workshops", "c", True),
        ("sessions", "workshop_id", "workshops", "c", True),
        ("workshop_members", "workshop_id", "workshops", "c", True),
        ("workshop_steps", "step_id", "step_definitions", "a", True),
        ("workshop_steps", "workshop_id", "workshops", "c", True),
    ]


def test_status_and_format_values_are_checked_text(admin_conn: psycopg.Connection[Any]) -> None:
    checks = dict(
        admin_conn.execute(
            """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE contype = 'c' AND conrelid::regclass::text = ANY(%s)""",
            (WORKSHOP_TABLES,),
        ).fetchall()
    )
    for name, values in {
        "workshops_status_valid": ["draft", "active", "paused", "completed"],
        "workshops_visibility_valid": ["private", "shared"],
        "workshop_steps_status_valid": ["not_started", "in_progress", "complete"],
        "build_packs_format_type_valid": ["markdown", "pdf", "json"],
    }.items():
        assert all(f"'{v}'" in checks[name] for v in values), checks[name]
    assert "sessions_ended_after_started" in checks
    assert not any("role" in d for d in checks.values()), "member roles are extensible: no CHECK"
    enums = admin_conn.execute(
        "SELECT count(*) FROM pg_type WHERE typtype = 'e' AND typnamespace = 'public'::regnamespace"
    ).fetchone()
    assert enums == (0,)


def test_every_table_has_forced_row_level_security_and_a_policy(admin_conn: psycopg.Connection[Any]) -> None:
    """Catalog guard: a table added later, of either domain, fails here until it is protected."""
    rows = admin_conn.execute(
        """SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                  EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid)
           FROM pg_class c
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
             AND c.relname NOT LIKE '%yoyo%' AND c.relname <> 'skilldb_migration_checksums'
           ORDER BY 1"""
    ).fetchall()
    assert {r[0] for r in rows} >= set(WORKSHOP_TABLES)
    assert [r for r in rows if r[1:] != (True, True, True)] == []


def test_the_ten_steps_are_defined_in_order(alice: psycopg.Connection[Any]) -> None:
    with ws.acting_as(alice, "alice"):
        rows = alice.execute('SELECT id, "order" FROM step_definitions ORDER BY "order"').fetchall()
    assert rows == [(s, i) for i, s in enumerate(STEPS, start=1)]


def test_updated_at_follows_every_change(admin_conn: psycopg.Connection[Any], alice: psycopg.Connection[Any]) -> None:
    w = make_workshop(alice)
    for table, change in [
        ("workshops", "title = 'Renamed'"),
        ("workshop_steps", "output = '{}'"),
        ("step_definitions", "name = name"),
    ]:
        key = "id" if table != "workshop_steps" else "workshop_id"
        target = w.id if table != "step_definitions" else "define"
        before = admin_conn.execute(f"SELECT max(updated_at) FROM {table} WHERE {key} = %s", (target,)).fetchone()
        admin_conn.execute("SELECT pg_sleep(0.01)")
        admin_conn.execute(f"UPDATE {table} SET {change} WHERE {key} = %s", (target,))
        after = admin_conn.execute(f"SELECT max(updated_at) FROM {table} WHERE {key} = %s", (target,)).fetchone()
        assert before is not None and after is not None and after[0] > before[0], table


# --- operations ---------------------------------------------------------------------------


def test_creating_a_workshop_makes_its_owner_and_its_steps(alice: psycopg.Connection[Any]) -> None:
    w = make_workshop(alice, org_id="org_1", template_id="tpl_1")
    assert (w.clerk_user_id, w.status, w.visibility, w.share_token, w.org_id) == (
        "alice",
        "draft",
        "private",
        None,
        "org_1",
    )
    assert len(w.id) == 24 and w.id.isalnum()
    with ws.acting_as(alice, "alice"):
        full = ws.get_workshop_with_relations(alice, w.id)
    assert full is not None
    assert [(m.clerk_user_id, m.role) for m in full.members] == [("alice", "owner")]
    assert [s.step_id for s in full.steps] == STEPS
    assert [s.definition.order for s in full.steps] == list(range(1, 11))
    assert {s.status for s in full.steps} == {"not_started"}
    assert (full.sessions, full.build_packs) == ([], [])


@pytest.mark.parametrize(
    ("kw", "complaint"),
    [
        ({"title": " "}, "non-empty"),
        ({"title": "x" * 201}, "at most 200"),
        ({"original_idea": ""}, "non-empty"),
        ({"org_id": " padded "}, "surrounding whitespace"),
    ],
)
def test_bad_workshops_are_refused_before_any_sql(
    alice: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], kw: dict[str, Any], complaint: str
) -> None:
    args = {"title": "T", "original_idea": "I", **kw}
    with pytest.raises(errors.InvalidInput, match=complaint), ws.acting_as(alice, "alice"):
        ws.create_workshop(alice, **args)
    assert admin_conn.execute("SELECT count(*) FROM workshops").fetchone() == (0,)


def test_members_are_added_once_and_the_last_owner_stays(alice: psycopg.Connection[Any]) -> None:
    w = make_workshop(alice)
    with ws.acting_as(alice, "alice"):
        bob = ws.add_member(alice, w.id, "bob", "editor")
        assert (bob.workshop_id, bob.clerk_user_id, bob.role) == (w.id, "bob", "editor")
        ws.add_member(alice, w.id, "cy", "facilitator")  # roles are extensible text
        with pytest.raises(errors.InvalidInput, match="last owner"):
            ws.remove_member(alice, w.id, "alice")
        with pytest.raises(errors.NotFound, match="no member"):
            ws.remove_member(alice, w.id, "nobody")
        ws.remove_member(alice, w.id, "cy")
    with pytest.raises(errors.AlreadyExists), ws.acting_as(alice, "alice"):
        ws.add_member(alice, w.id, "bob", "viewer")
    with ws.acting_as(alice, "alice"):
        ws.add_member(alice, w.id, "dee", "owner")
        ws.remove_member(alice, w.id, "alice")  # another owner remains
    with ws.acting_as(alice, "dee"):
        full = ws.get_workshop_with_relations(alice, w.id)
    assert full is not None and sorted((m.clerk_user_id, m.role) for m in full.members) == [
        ("bob", "editor"),
        ("dee", "owner"),
    ]


def test_steps_start_and_complete_with_their_timestamps(alice: psycopg.Connection[Any]) -> None:
    w = make_workshop(alice)
    with ws.acting_as(alice, "alice"):
        started = ws.start_step(alice, w.id, "empathize")
        assert (started.status, started.completed_at, started.output) == ("in_progress", None, None)
        assert started.started_at is not None
        again = ws.start_step(alice, w.id, "empathize")
        assert again.started_at == started.started_at
        done = ws.complete_step(alice, w.id, "empathize", {"insights": ["a", "b"]})
        assert (done.status, done.output, done.started_at) == ("complete", {"insights": ["a", "b"]}, started.started_at)
        assert done.completed_at is not None
        with pytest.raises(errors.InvalidInput, match="complete"):
            ws.start_step(alice, w.id, "empathize")
        with pytest.raises(errors.NotFound):
            ws.start_step(alice, w.id, "no_such_step")
        with pytest.raises(errors.InvalidType):
            ws.complete_step(alice, w.id, "define", ["not", "an", "object"])  # type: ignore[arg-type]
    with ws.acting_as(alice, "alice"):
        redone = ws.complete_step(alice, w.id, "empathize", {"insights": ["c"]})
        assert redone.output == {"insights": ["c"]} and redone.completed_at == done.completed_at
        skipped = ws.complete_step(alice, w.id, "define", {})
        assert skipped.started_at is not None and skipped.completed_at is not None


def test_a_session_ends_once(alice: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any]) -> None:
    w = make_workshop(alice)
    with ws.acting_as(alice, "alice"):
        session = ws.start_session(alice, w.id)
        assert session.ended_at is None and session.workshop_id == w.id
        ended = ws.end_session(alice, session.id)
        assert ended.ended_at is not None and ended.ended_at >= ended.started_at
        with pytest.raises(errors.InvalidInput, match="already ended"):
            ws.end_session(alice, session.id)
        with pytest.raises(errors.NotFound):
            ws.end_session(alice, "no-such-session")
    for change in ("ended_at = now()", "ended_at = NULL", "started_at = started_at - interval '1 hour'"):
        with pytest.raises(errors.InvalidInput), admin_conn.transaction(), errors.translate_errors():
            admin_conn.execute(f"UPDATE sessions SET {change}")


def test_visibility_issues_and_clears_unguessable_tokens(alice: psycopg.Connection[Any]) -> None:
    w = make_workshop(alice)
    tokens = set()
    with ws.acting_as(alice, "alice"):
        for _ in range(20):
            shared = ws.set_visibility(alice, w.id, "shared")
            assert shared.visibility == "shared" and shared.share_token is not None
            assert len(shared.share_token) >= 43  # 256 bits, url-safe base64
            tokens.add(shared.share_token)
        private = ws.set_visibility(alice, w.id, "private")
        assert (private.visibility, private.share_token) == ("private", None)
        with pytest.raises(errors.InvalidInput, match="visibility must be"):
            ws.set_visibility(alice, w.id, "public")
    assert len(tokens) == 20


def test_the_nested_fetch_equals_the_tables(
    alice: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any]
) -> None:
    w = make_workshop(alice)
    make_workshop(alice, title="Other")  # must not leak into w's relations
    with ws.acting_as(alice, "alice"):
        ws.add_member(alice, w.id, "bob", "viewer")
        ws.complete_step(alice, w.id, "challenge", {"statement": "x"})
        ws.start_step(alice, w.id, "empathize")
        ws.end_session(alice, ws.start_session(alice, w.id).id)
        ws.start_session(alice, w.id)
        ws.generate_build_pack(alice, w.id, title="Pack")
        full = ws.get_workshop_with_relations(alice, w.id)
        assert ws.get_workshop_with_relations(alice, "no-such-workshop") is None
    assert full is not None
    admin_conn.row_factory = psycopg.rows.dict_row  # type: ignore[assignment]
    truth = {
        "steps": admin_conn.execute(
            'SELECT s.*, d."order" FROM workshop_steps s JOIN step_definitions d ON d.id = s.step_id '
            'WHERE workshop_id = %s ORDER BY d."order"',
            (w.id,),
        ).fetchall(),
        "members": admin_conn.execute(
            "SELECT * FROM workshop_members WHERE workshop_id = %s ORDER BY created_at, id", (w.id,)
        ).fetchall(),
        "sessions": admin_conn.execute(
            "SELECT * FROM sessions WHERE workshop_id = %s ORDER BY started_at, id", (w.id,)
        ).fetchall(),
        "build_packs": admin_conn.execute(
            "SELECT * FROM build_packs WHERE workshop_id = %s ORDER BY created_at, id", (w.id,)
        ).fetchall(),
    }
    workshop = admin_conn.execute("SELECT * FROM workshops WHERE id = %s", (w.id,)).fetchone()
    assert workshop is not None
    assert ws.Workshop(**workshop) == ws.Workshop(**{k: getattr(full, k) for k in workshop})
    for name, rows in truth.items():
        got = getattr(full, name)
        assert len(got) == len(rows), name
        for item, row in zip(got, rows, strict=True):
            assert {k: getattr(item, k) for k in row if k != "order"} == {k: v for k, v in row.items() if k != "order"}
    definitions = admin_conn.execute('SELECT * FROM step_definitions ORDER BY "order"').fetchall()
    assert [vars_of(s.definition) for s in full.steps] == definitions


def vars_of(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__dataclass_fields__}


def test_build_packs_follow_step_order_and_the_current_outputs(alice: psycopg.Connection[Any]) -> None:
    w = make_workshop(alice)
    with ws.acting_as(alice, "alice"):
        # completed out of order: the pack still follows the steps' order
        ws.complete_step(alice, w.id, "ideate", {"ideas": ["kiosk", "app"]})
        ws.complete_step(alice, w.id, "challenge", {"statement": "Users drop off"})
        ws.start_step(alice, w.id, "define")  # not complete: not in the pack
        first = ws.generate_build_pack(alice, w.id, title="v1")
        ws.complete_step(alice, w.id, "challenge", {"statement": "Users drop off at step 2"})
        second = ws.generate_build_pack(alice, w.id, title="v2")
        as_json = ws.generate_build_pack(alice, w.id, title="v2 json", format_type="json")
        with pytest.raises(errors.InvalidInput, match="pdf"):
            ws.generate_build_pack(alice, w.id, title="x", format_type="pdf")
        with pytest.raises(errors.InvalidInput, match="format_type must be"):
            ws.generate_build_pack(alice, w.id, title="x", format_type="docx")
        with pytest.raises(errors.NotFound):
            ws.generate_build_pack(alice, "no-such-workshop", title="x")
    assert first.format_type == "markdown" and first.content is not None and second.content is not None
    assert first.content.index("## 1. Frame the challenge") < first.content.index("## 6. Ideate")
    assert "Define" not in first.content
    assert "Users drop off\n" in first.content and "at step 2" not in first.content
    assert "Users drop off at step 2" in second.content
    assert '- **ideas**: ["kiosk", "app"]' in second.content
    assert as_json.content is not None
    document = json.loads(as_json.content)
    assert [s["step_id"] for s in document["steps"]] == ["challenge", "ideate"]
    assert document["steps"][0]["output"] == {"statement": "Users drop off at step 2"}
    assert document["workshop"]["id"] == w.id


def test_list_workshops_for_user_pages_own_and_shared_with_them(alice: psycopg.Connection[Any]) -> None:
    own = [make_workshop(alice, title=f"Own {i}") for i in range(5)]
    theirs = make_workshop(alice, "bob", title="Bob's")
    make_workshop(alice, "bob", title="Bob's private")
    with ws.acting_as(alice, "bob"):
        ws.add_member(alice, theirs.id, "alice", "viewer")
    with ws.acting_as(alice, "alice"):
        ws.set_visibility(alice, own[0].id, "shared")
        alice.execute("UPDATE workshops SET status = 'active' WHERE id = %s", (own[1].id,))
        seen, after = [], None
        while True:
            page = ws.list_workshops_for_user(alice, limit=2, after=after)
            seen += page.items
            if page.next_cursor is None:
                break
            after = page.next_cursor
        active = ws.list_workshops_for_user(alice, status="active")
        with pytest.raises(errors.InvalidInput):
            ws.list_workshops_for_user(alice, status="archived")
    expected = sorted([*own, theirs], key=lambda w: (w.created_at, w.id), reverse=True)
    assert [w.id for w in seen] == [w.id for w in expected]
    assert [w.id for w in active.items] == [own[1].id]


def test_operations_refuse_to_run_outside_acting_as(alice: psycopg.Connection[Any], tenant_a: str) -> None:
    with pytest.raises(errors.PersonRequired, match="acting_as"):
        ws.get_workshop(alice, "x")
    with skilldb.tenant(alice, tenant_a), pytest.raises(errors.PersonRequired):
        ws.list_workshops_for_user(alice)
    with ws.acting_as(alice, "alice"), pytest.raises(errors.TenantRequired):
        skilldb.list_skills(alice)


@pytest.mark.asyncio
async def test_the_async_twins_share_the_definitions(aapp_conn: psycopg.AsyncConnection[Any]) -> None:
    from skilldb.aio import workshops as aws

    assert aws.create_workshop is ws.create_workshop.aio  # type: ignore[attr-defined]
    async with aws.acting_as(aapp_conn, "alice"):
        w = await aws.create_workshop(aapp_conn, title="Async", original_idea="Same SQL")
        step = await aws.complete_step(aapp_conn, w.id, "challenge", {"ok": True})
        full = await aws.get_workshop_with_relations(aapp_conn, w.id)
    assert step.status == "complete"
    assert full is not None and full.steps[0].output == {"ok": True}
