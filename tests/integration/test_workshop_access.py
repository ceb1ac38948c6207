"""Workshop access, tried as an attacker would: people bound with ``acting_as`` on the application login.

The workshops domain knows people by the auth provider's user id, bound per transaction
by ``skilldb.workshops.acting_as`` (``SET LOCAL app.clerk_user_id``); row-level security
(migration 0020) decides what each of them sees and changes. Every probe here runs as the
application login (a member of ``skilldb_app`` only), through the typed operations and as
raw SQL on the same connection, which is what a bug or an injection in the application
could send. The superuser only writes the data the probes need and reads it back to
check that nothing changed.

The scene: an owner's workshop with an editor and a viewer, one step completed and one
started, an ended and an open session, a build pack; and a stranger who owns a workshop
of their own, so that the stranger's empty reads come from the policies and not from an
empty or unreadable table. The tests that change nothing share one database with this
scene (module scope; the workshop and another owner's are shared by token), and each
compares the superuser's snapshot of the workshop before and after; the others get a
fresh database each. Then:

* a stranger reads, counts, changes, deletes, joins and fills nothing of the workshop;
* a viewer reads all of it and writes none of it;
* an editor changes its content, never its members, its visibility or its existence;
* a share token opens its own workshop, read-only, and nothing once revoked or replaced;
* with no person bound every workshop table reads empty and refuses inserts, and the
  operations refuse to run;
* the last owner stays, against raw SQL (a temporary table standing in for a real one
  included) and against two owners removing each other at once: real threads and
  connections released by a barrier, for up to 50 rounds, and two interleavings forced
  through row locks (the second removal waiting inside the guard, on the workshop row it
  locks, fails if that lock goes; the second waiting on its target row, before the guard
  runs, shows the guard judging by what the remover can still see).

Four tests of the last-owner rule reproduced a bug of migration 0020 (the guard judged
"the workshop is being deleted" by what the remover could still lock under row-level
security); migration 0022 fixed it, and they guard the fix.

Refusals are asserted with their exact error class: ``NotFound`` where the workshop is
invisible, ``PermissionDenied`` where it is visible but the role falls short,
``RowSecurityViolation`` where an insert fails the policies. Raw ``UPDATE``/``DELETE``
statements make real changes (a title, a role, an output), so a policy that let them
through would show in their row count and in the superuser's snapshot.

Performance shape: with 2,000 other workshops and their rows (written as the superuser,
then ANALYZE), the generic plan of a member's read of one workshop with its relations,
made as the application login under row-level security, reaches every workshop table
through an index on its workshop key and scans none of them sequentially; and the
membership lookup behind every policy, ``workshop_role()``, uses the unique
(workshop_id, clerk_user_id) index. ``step_definitions``, the shared list of ten steps,
is not a workshop table: everyone reads it, and scanning it is right. The two plan tests
only read, and share one database (module scope), built once.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql

import skilldb
from skilldb import workshops as ws
from skilldb._sql import sql_of
from skilldb.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    PersonRequired,
    RowSecurityViolation,
    SkillDBError,
    translate_errors,
)
from tests.plugin import Clones, Database, Server, new_tenant

Conn = psycopg.Connection[Any]
Attempt = Callable[[Conn], object]

#: The tables holding a workshop's rows, with the column that names the workshop.
TABLES = {
    "workshops": "id",
    "workshop_members": "workshop_id",
    "workshop_steps": "workshop_id",
    "sessions": "workshop_id",
    "build_packs": "workshop_id",
}

OWNER, EDITOR, VIEWER, STRANGER, OTHER = "user_owner", "user_editor", "user_viewer", "user_stranger", "user_other"

#: Raw statements that would change each table's rows of a workshop (%s: the workshop).
RAW_UPDATES = {
    "workshops": "UPDATE workshops SET title = 'Taken over', status = 'completed' WHERE id = %s",
    "workshop_members": "UPDATE workshop_members SET role = 'owner' WHERE workshop_id = %s",
    "workshop_steps": """UPDATE workshop_steps SET output = '{"taken": true}' WHERE workshop_id = %s""",
    "sessions": "UPDATE sessions SET ended_at = now() WHERE workshop_id = %s AND ended_at IS NULL",
    "build_packs": "UPDATE build_packs SET content = 'taken' WHERE workshop_id = %s",
}
#: Sessions are never deleted by the application (they go with their workshop): see
#: test_no_member_deletes_a_session.
RAW_DELETES = {table: f"DELETE FROM {table} WHERE {key} = %s" for table, key in TABLES.items() if table != "sessions"}


@dataclass(frozen=True)
class Scene:
    """The owner's workshop and its rows, and the stranger's own workshop."""

    workshop: str
    open_session: str
    build_pack: str
    strangers_own: str


def make_scene(conn: Conn) -> Scene:
    """The owner's workshop and the stranger's, made through the operations as the application login."""
    with ws.acting_as(conn, OWNER):
        w = ws.create_workshop(conn, title="Onboarding", original_idea="Fewer people leave at sign-up")
        ws.add_member(conn, w.id, EDITOR, "editor")
        ws.add_member(conn, w.id, VIEWER, "viewer")
        ws.start_step(conn, w.id, "challenge")
        ws.complete_step(conn, w.id, "challenge", {"statement": "Half of sign-ups stop at step 2"})
        ws.start_step(conn, w.id, "empathize")
        ended = ws.start_session(conn, w.id)
        ws.end_session(conn, ended.id)
        running = ws.start_session(conn, w.id)
        pack = ws.generate_build_pack(conn, w.id, title="Plan")
    with ws.acting_as(conn, STRANGER):
        own = ws.create_workshop(conn, title="Mine", original_idea="Something else")
        ws.start_session(conn, own.id)
        ws.generate_build_pack(conn, own.id, title="Mine")
    return Scene(w.id, running.id, pack.id, own.id)


@pytest.fixture
def scene(app_conn: Conn) -> Scene:
    return make_scene(app_conn)


def share(conn: Conn, scene: Scene) -> tuple[str, str, str]:
    """Share the scene's workshop and another one (of another owner): (token, other workshop, its token)."""
    with ws.acting_as(conn, OWNER):
        token = ws.set_visibility(conn, scene.workshop, "shared").share_token
    with ws.acting_as(conn, OTHER):
        other = ws.create_workshop(conn, title="Other", original_idea="Another idea")
        ws.start_session(conn, other.id)
        other_token = ws.set_visibility(conn, other.id, "shared").share_token
    assert token is not None and other_token is not None and token != other_token
    return token, other.id, other_token


@dataclass(frozen=True)
class World:
    """The module's database for the tests that change nothing: the scene, shared."""

    db: Database
    scene: Scene
    shared: tuple[str, str, str]


@pytest.fixture(scope="module")
def world(pg_server: Server, clones: Clones) -> Iterator[World]:
    """One database for the tests that change nothing (each checks that it did not): the
    scene, with its workshop shared by token and another owner's workshop shared too."""
    name = clones.take()
    db = Database(pg_server, name)
    try:
        with psycopg.connect(db.app_url) as app:
            scene = make_scene(app)
            shared = share(app, scene)
        yield World(db, scene, shared)
    finally:
        clones.drop(name)


@dataclass(frozen=True)
class Quiet:
    """Connections to the module's database, as the application login and as the superuser."""

    app: Conn
    admin: Conn
    scene: Scene
    shared: tuple[str, str, str]


@pytest.fixture
def quiet(world: World) -> Iterator[Quiet]:
    with psycopg.connect(world.db.app_url) as app, psycopg.connect(world.db.admin_url, autocommit=True) as admin:
        yield Quiet(app, admin, world.scene, world.shared)


# -- helpers -----------------------------------------------------------------------------------


def snapshot(admin: Conn, workshop_id: str) -> dict[str, list[str]]:
    """Every row of the workshop in every workshop table, as the superuser sees it."""
    out = {}
    for table, key in TABLES.items():
        query = sql.SQL("SELECT to_jsonb(t)::text FROM {} t WHERE {} = %s ORDER BY t.id").format(
            sql.Identifier(table), sql.Identifier(key)
        )
        out[table] = [r[0] for r in admin.execute(query, (workshop_id,))]
    return out


def ids(admin: Conn, workshop_id: str) -> dict[str, list[str]]:
    """The ids of the workshop's rows in every workshop table, as the superuser sees them."""
    out = {}
    for table, key in TABLES.items():
        query = sql.SQL("SELECT id FROM {} WHERE {} = %s ORDER BY id").format(
            sql.Identifier(table), sql.Identifier(key)
        )
        out[table] = [r[0] for r in admin.execute(query, (workshop_id,))]
    return out


def visible(conn: Conn, workshop_id: str) -> dict[str, list[str]]:
    """The ids of the workshop's rows that an unfiltered ``SELECT`` of each table returns on ``conn``."""
    out = {}
    for table, key in TABLES.items():
        query = sql.SQL("SELECT id, {} FROM {}").format(sql.Identifier(key), sql.Identifier(table))
        out[table] = sorted(r[0] for r in conn.execute(query) if r[1] == workshop_id)
    return out


def counts(conn: Conn, workshop_id: str) -> dict[str, int]:
    """``count(*)`` of the workshop's rows in each table, on ``conn``."""
    out = {}
    for table, key in TABLES.items():
        query = sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(sql.Identifier(table), sql.Identifier(key))
        row = conn.execute(query, (workshop_id,)).fetchone()
        out[table] = row[0] if row else -1
    return out


def nothing(workshop_id: str) -> dict[str, list[str]]:
    return {table: [] for table in TABLES}


def writes(s: Scene, member: str) -> dict[str, Attempt]:
    """Every write operation, aimed at the scene's workshop (``member``: the one to remove)."""
    w = s.workshop
    return {
        "start_step": lambda c: ws.start_step(c, w, "define"),
        "complete_step": lambda c: ws.complete_step(c, w, "challenge", {"statement": "overwritten"}),
        "start_session": lambda c: ws.start_session(c, w),
        "end_session": lambda c: ws.end_session(c, s.open_session),
        "generate_build_pack": lambda c: ws.generate_build_pack(c, w, title="Copied"),
        "set_visibility": lambda c: ws.set_visibility(c, w, "shared"),
        "add_member": lambda c: ws.add_member(c, w, STRANGER, "owner"),
        "remove_member": lambda c: ws.remove_member(c, w, member),
        "delete_workshop": lambda c: ws.delete_workshop(c, w),
    }


#: How each write is refused to someone who cannot see the workshop.
STRANGER_REFUSALS: dict[str, type[SkillDBError]] = {
    "start_step": NotFound,
    "complete_step": NotFound,
    "start_session": RowSecurityViolation,
    "end_session": NotFound,
    "generate_build_pack": NotFound,
    "set_visibility": NotFound,
    "add_member": RowSecurityViolation,
    "remove_member": NotFound,
    "delete_workshop": NotFound,
}
#: How each write is refused to someone who sees the workshop but may not change it
#: (a viewer, or anyone holding its share token).
READER_REFUSALS: dict[str, type[SkillDBError]] = {
    "start_step": PermissionDenied,
    "complete_step": PermissionDenied,
    "start_session": RowSecurityViolation,
    "end_session": PermissionDenied,
    "generate_build_pack": RowSecurityViolation,
    "set_visibility": PermissionDenied,
    "add_member": RowSecurityViolation,
    "remove_member": PermissionDenied,
    "delete_workshop": PermissionDenied,
}


def refusals(
    conn: Conn,
    person: str,
    attempts: dict[str, Attempt],
    expected: dict[str, type[SkillDBError]],
    first: Attempt | None = None,
) -> list[str]:
    """Run each attempt in its own ``acting_as`` block (after ``first``, if given); what was
    not refused with exactly the expected error class."""
    assert set(attempts) == set(expected)
    wrong = []
    for name, attempt in attempts.items():
        try:
            with ws.acting_as(conn, person):
                if first is not None:
                    first(conn)
                result = attempt(conn)
        except SkillDBError as exc:
            if type(exc) is not expected[name]:
                wrong.append(f"{name}: {type(exc).__name__} ({exc}), expected {expected[name].__name__}")
        else:
            wrong.append(f"{name}: ran and returned {result!r}, expected {expected[name].__name__}")
    return wrong


def raw_rowcounts(conn: Conn, statements: dict[str, str], *args: Any) -> dict[str, int]:
    """Each statement's row count on ``conn`` (errors translated)."""
    out = {}
    for table, statement in statements.items():
        with translate_errors():
            out[table] = conn.execute(statement, args).rowcount
    return out


def insert_probes(workshop_id: str) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """One raw insert per workshop table, of a row that names ``workshop_id`` (for
    ``workshops``: a new workshop claiming the owner as creator)."""
    tag = secrets.token_hex(4)
    return {
        "workshops": (
            "INSERT INTO workshops (id, clerk_user_id, title, original_idea) VALUES (%s, %s, 'Forged', 'Forged')",
            (f"forged_{tag}", OWNER),
        ),
        "workshop_members": (
            "INSERT INTO workshop_members (id, workshop_id, clerk_user_id, role) VALUES (%s, %s, %s, 'owner')",
            (f"forged_m_{tag}", workshop_id, STRANGER),
        ),
        "workshop_steps": (
            "INSERT INTO workshop_steps (id, workshop_id, step_id) VALUES (%s, %s, 'define')",
            (f"forged_s_{tag}", workshop_id),
        ),
        "sessions": ("INSERT INTO sessions (id, workshop_id) VALUES (%s, %s)", (f"forged_x_{tag}", workshop_id)),
        "build_packs": (
            "INSERT INTO build_packs (id, workshop_id, title, content) VALUES (%s, %s, 'Forged', 'forged')",
            (f"forged_b_{tag}", workshop_id),
        ),
    }


def refused_inserts(conn: Conn, probes: dict[str, tuple[str, tuple[Any, ...]]]) -> list[str]:
    """Run each insert in a savepoint of the open transaction; what was not refused by row-level security."""
    wrong = []
    for table, (statement, args) in probes.items():
        try:
            with conn.transaction(), translate_errors():
                conn.execute(statement, args)
        except SkillDBError as exc:
            if type(exc) is not RowSecurityViolation:
                wrong.append(f"{table}: {type(exc).__name__} ({exc}), expected RowSecurityViolation")
        else:
            wrong.append(f"{table}: the insert ran")
    return wrong


def owners(admin: Conn, workshop_id: str) -> list[str]:
    rows = admin.execute(
        "SELECT clerk_user_id FROM workshop_members WHERE workshop_id = %s AND role = 'owner' ORDER BY 1",
        (workshop_id,),
    )
    return [r[0] for r in rows]


# -- 1. a stranger ----------------------------------------------------------------------------


def test_a_stranger_neither_reads_nor_counts_the_workshop(quiet: Quiet) -> None:
    app_conn, admin_conn, scene = quiet.app, quiet.admin, quiet.scene
    w, own = scene.workshop, scene.strangers_own
    everything = ids(admin_conn, w)
    assert all(everything.values()), everything  # there is something to find
    with ws.acting_as(app_conn, STRANGER):
        assert ws.get_workshop(app_conn, w) is None
        assert ws.get_workshop_with_relations(app_conn, w) is None
        listed = [x.id for x in ws.list_workshops_for_user(app_conn, limit=500).items]
        seen, seen_own = visible(app_conn, w), visible(app_conn, own)
        counted, counted_own = counts(app_conn, w), counts(app_conn, own)
    assert listed == [own]
    assert seen == nothing(w)
    assert counted == dict.fromkeys(TABLES, 0)
    # the same reads find the stranger's own rows: the tables are readable, only filtered
    assert seen_own == ids(admin_conn, own)
    assert counted_own == {table: len(rows) for table, rows in ids(admin_conn, own).items()}


def test_a_strangers_operations_on_the_workshop_are_refused(quiet: Quiet) -> None:
    app_conn, admin_conn, scene = quiet.app, quiet.admin, quiet.scene
    before = snapshot(admin_conn, scene.workshop)
    wrong = refusals(app_conn, STRANGER, writes(scene, OWNER), STRANGER_REFUSALS)
    assert not wrong, "\n".join(wrong)
    assert snapshot(admin_conn, scene.workshop) == before


def test_a_strangers_raw_updates_and_deletes_change_no_row(quiet: Quiet) -> None:
    app_conn, admin_conn, scene = quiet.app, quiet.admin, quiet.scene
    w = scene.workshop
    before = snapshot(admin_conn, w)
    with ws.acting_as(app_conn, STRANGER):
        updated = raw_rowcounts(app_conn, RAW_UPDATES, w)
        deleted = raw_rowcounts(app_conn, RAW_DELETES, w)
    assert updated == dict.fromkeys(TABLES, 0)
    assert deleted == dict.fromkeys(RAW_DELETES, 0)
    assert snapshot(admin_conn, w) == before


def test_a_stranger_can_neither_join_the_workshop_nor_add_rows_to_it(quiet: Quiet) -> None:
    app_conn, admin_conn, scene = quiet.app, quiet.admin, quiet.scene
    w = scene.workshop
    before = snapshot(admin_conn, w)
    with ws.acting_as(app_conn, STRANGER):
        wrong = refused_inserts(app_conn, insert_probes(w))
        for role in ("viewer", "editor"):
            wrong += refused_inserts(
                app_conn,
                {
                    f"workshop_members as {role}": (
                        "INSERT INTO workshop_members (id, workshop_id, clerk_user_id, role) VALUES (%s, %s, %s, %s)",
                        (f"join_{role}", w, STRANGER, role),
                    )
                },
            )
    assert not wrong, "\n".join(wrong)
    assert snapshot(admin_conn, w) == before
    assert admin_conn.execute("SELECT count(*) FROM workshops WHERE id LIKE 'forged%'").fetchone() == (0,)


# -- 2. a viewer --------------------------------------------------------------------------------


def test_a_viewer_reads_everything_and_writes_nothing(quiet: Quiet) -> None:
    app_conn, admin_conn, scene = quiet.app, quiet.admin, quiet.scene
    w = scene.workshop
    before = snapshot(admin_conn, w)
    with ws.acting_as(app_conn, OWNER):
        owners_view = ws.get_workshop_with_relations(app_conn, w)
    with ws.acting_as(app_conn, VIEWER):
        viewers_view = ws.get_workshop_with_relations(app_conn, w)
        listed = [x.id for x in ws.list_workshops_for_user(app_conn).items]
        seen = visible(app_conn, w)
    assert owners_view is not None and viewers_view == owners_view
    assert (len(viewers_view.steps), len(viewers_view.members), len(viewers_view.sessions)) == (10, 3, 2)
    assert [b.id for b in viewers_view.build_packs] == [scene.build_pack]
    assert listed == [w]
    assert seen == ids(admin_conn, w)

    wrong = refusals(app_conn, VIEWER, writes(scene, EDITOR), READER_REFUSALS)
    assert not wrong, "\n".join(wrong)
    with ws.acting_as(app_conn, VIEWER):
        updated = raw_rowcounts(app_conn, RAW_UPDATES, w)
        deleted = raw_rowcounts(app_conn, RAW_DELETES, w)
        wrong = refused_inserts(app_conn, {k: v for k, v in insert_probes(w).items() if k != "workshops"})
    assert updated == dict.fromkeys(TABLES, 0)
    assert deleted == dict.fromkeys(RAW_DELETES, 0)
    assert not wrong, "\n".join(wrong)
    assert snapshot(admin_conn, w) == before


# -- 3. an editor -------------------------------------------------------------------------------


def test_an_editor_changes_the_content(app_conn: Conn, admin_conn: Conn, scene: Scene) -> None:
    w = scene.workshop
    with ws.acting_as(app_conn, EDITOR):
        started = ws.start_step(app_conn, w, "define")
        done = ws.complete_step(app_conn, w, "define", {"how_might_we": "keep people past step 2"})
        session = ws.start_session(app_conn, w)
        ended = ws.end_session(app_conn, session.id)
        ws.end_session(app_conn, scene.open_session)
        pack = ws.generate_build_pack(app_conn, w, title="Editor's plan", format_type="json")
        retitled = app_conn.execute("UPDATE workshops SET title = 'Renamed by the editor' WHERE id = %s", (w,))
        assert retitled.rowcount == 1
    assert (started.status, done.status, ended.ended_at is not None) == ("in_progress", "complete", True)
    assert admin_conn.execute("SELECT title FROM workshops WHERE id = %s", (w,)).fetchone() == (
        "Renamed by the editor",
    )
    assert admin_conn.execute(
        "SELECT status, output FROM workshop_steps WHERE workshop_id = %s AND step_id = 'define'", (w,)
    ).fetchone() == ("complete", {"how_might_we": "keep people past step 2"})
    assert admin_conn.execute(
        "SELECT count(*) FILTER (WHERE ended_at IS NULL), count(*) FROM sessions WHERE workshop_id = %s", (w,)
    ).fetchone() == (0, 3)
    stored = admin_conn.execute("SELECT format_type, content FROM build_packs WHERE id = %s", (pack.id,)).fetchone()
    assert stored is not None and stored[0] == "json" and "keep people past step 2" in stored[1]


def test_an_editor_changes_neither_members_nor_visibility_nor_deletes(quiet: Quiet) -> None:
    app_conn, admin_conn, scene = quiet.app, quiet.admin, quiet.scene
    w = scene.workshop
    before = snapshot(admin_conn, w)
    attempts = {k: v for k, v in writes(scene, VIEWER).items() if k in ("add_member", "remove_member")}
    attempts |= {
        "set_visibility": lambda c: ws.set_visibility(c, w, "shared"),
        "set_visibility private": lambda c: ws.set_visibility(c, w, "private"),
        "delete_workshop": lambda c: ws.delete_workshop(c, w),
        "add_member as editor": lambda c: ws.add_member(c, w, "user_friend", "editor"),
    }
    expected = {
        "add_member": RowSecurityViolation,
        "add_member as editor": RowSecurityViolation,
        "remove_member": PermissionDenied,
        "set_visibility": PermissionDenied,
        "set_visibility private": PermissionDenied,
        "delete_workshop": PermissionDenied,
    }
    wrong = refusals(app_conn, EDITOR, attempts, expected)
    assert not wrong, "\n".join(wrong)

    token = secrets.token_urlsafe(32)
    with pytest.raises(PermissionDenied) as shared, ws.acting_as(app_conn, EDITOR), translate_errors():
        app_conn.execute("UPDATE workshops SET visibility = 'shared', share_token = %s WHERE id = %s", (token, w))
    assert type(shared.value) is PermissionDenied and "visibility" in str(shared.value)
    with pytest.raises(PermissionDenied), ws.acting_as(app_conn, EDITOR), translate_errors():
        app_conn.execute("UPDATE workshops SET share_token = %s WHERE id = %s", (token, w))
    with ws.acting_as(app_conn, EDITOR):
        promoted = app_conn.execute(
            "UPDATE workshop_members SET role = 'owner' WHERE workshop_id = %s AND clerk_user_id = %s", (w, EDITOR)
        ).rowcount
        removed = app_conn.execute("DELETE FROM workshop_members WHERE workshop_id = %s", (w,)).rowcount
        deleted = app_conn.execute("DELETE FROM workshops WHERE id = %s", (w,)).rowcount
    assert (promoted, removed, deleted) == (0, 0, 0)
    assert snapshot(admin_conn, w) == before


def test_the_owner_may_do_what_the_others_may_not(app_conn: Conn, admin_conn: Conn, scene: Scene) -> None:
    w = scene.workshop
    with ws.acting_as(app_conn, OWNER):
        shared = ws.set_visibility(app_conn, w, "shared")
        added = ws.add_member(app_conn, w, OTHER, "editor")
        ws.remove_member(app_conn, w, VIEWER)
        promoted = app_conn.execute(
            "UPDATE workshop_members SET role = 'owner' WHERE workshop_id = %s AND clerk_user_id = %s", (w, EDITOR)
        ).rowcount
    assert shared.visibility == "shared" and shared.share_token is not None
    assert (added.role, promoted) == ("editor", 1)
    assert admin_conn.execute(
        "SELECT clerk_user_id, role FROM workshop_members WHERE workshop_id = %s ORDER BY 1", (w,)
    ).fetchall() == [(EDITOR, "owner"), (OTHER, "editor"), (OWNER, "owner")]
    with ws.acting_as(app_conn, OWNER):
        ws.delete_workshop(app_conn, w)
    assert ids(admin_conn, w) == nothing(w)  # with every member, step, session and build pack


# -- 4. share tokens ----------------------------------------------------------------------------


@pytest.fixture
def shared(app_conn: Conn, scene: Scene) -> tuple[str, str, str]:
    return share(app_conn, scene)


def test_a_share_token_opens_only_its_own_workshop(quiet: Quiet) -> None:
    app_conn, admin_conn, scene = quiet.app, quiet.admin, quiet.scene
    shared = quiet.shared
    w, (token, other, _) = scene.workshop, shared
    with ws.acting_as(app_conn, OWNER):
        owners_view = ws.get_workshop_with_relations(app_conn, w)
    with ws.acting_as(app_conn, STRANGER):
        before_binding = ws.get_workshop(app_conn, w)
        opened = ws.get_workshop_by_share_token(app_conn, token)
        plain = ws.get_workshop(app_conn, w)
        seen, seen_other = visible(app_conn, w), visible(app_conn, other)
        other_read = (ws.get_workshop(app_conn, other), ws.get_workshop_with_relations(app_conn, other))
        listed = [x.id for x in ws.list_workshops_for_user(app_conn).items]
    assert before_binding is None
    assert opened is not None and opened == owners_view
    assert plain is not None and plain.id == w
    assert seen == ids(admin_conn, w)
    assert seen_other == nothing(other) and other_read == (None, None)
    assert w not in listed  # the token lets one read, it makes no member


def test_writes_through_a_share_token_are_refused(quiet: Quiet) -> None:
    app_conn, admin_conn, scene = quiet.app, quiet.admin, quiet.scene
    shared = quiet.shared
    w, token = scene.workshop, shared[0]
    before = snapshot(admin_conn, w)

    def bind(c: Conn) -> None:
        assert ws.get_workshop_by_share_token(c, token) is not None

    wrong = refusals(app_conn, STRANGER, writes(scene, OWNER), READER_REFUSALS, first=bind)
    assert not wrong, "\n".join(wrong)
    with ws.acting_as(app_conn, STRANGER):
        bind(app_conn)
        updated = raw_rowcounts(app_conn, RAW_UPDATES, w)
        deleted = raw_rowcounts(app_conn, RAW_DELETES, w)
        wrong = refused_inserts(app_conn, {k: v for k, v in insert_probes(w).items() if k != "workshops"})
    assert updated == dict.fromkeys(TABLES, 0)
    assert deleted == dict.fromkeys(RAW_DELETES, 0)
    assert not wrong, "\n".join(wrong)
    assert snapshot(admin_conn, w) == before


def test_a_revoked_or_replaced_token_opens_nothing(
    app_conn: Conn, admin_conn: Conn, scene: Scene, shared: tuple[str, str, str]
) -> None:
    w, first_token = scene.workshop, shared[0]

    def open_as_stranger(token: str) -> tuple[str | None, dict[str, list[str]]]:
        with ws.acting_as(app_conn, STRANGER):
            opened = ws.get_workshop_by_share_token(app_conn, token)
            return (opened.id if opened else None), visible(app_conn, w)

    assert open_as_stranger(first_token) == (w, ids(admin_conn, w))
    with ws.acting_as(app_conn, OWNER):
        private = ws.set_visibility(app_conn, w, "private")
    assert (private.visibility, private.share_token) == ("private", None)
    assert open_as_stranger(first_token) == (None, nothing(w))

    with ws.acting_as(app_conn, OWNER):
        second_token = ws.set_visibility(app_conn, w, "shared").share_token
    assert second_token is not None and second_token != first_token
    assert open_as_stranger(first_token) == (None, nothing(w))
    assert open_as_stranger(second_token) == (w, ids(admin_conn, w))
    assert open_as_stranger(secrets.token_urlsafe(32)) == (None, nothing(w))
    assert admin_conn.execute("SELECT share_token FROM workshops WHERE id = %s", (w,)).fetchone() == (second_token,)


# -- 5. no person bound -------------------------------------------------------------------------


def test_with_no_person_bound_nothing_is_readable_or_writable(quiet: Quiet) -> None:
    app_conn, admin_conn, scene = quiet.app, quiet.admin, quiet.scene
    w = scene.workshop
    before = snapshot(admin_conn, w)
    with ws.acting_as(app_conn, OWNER):  # a person was bound in this session's previous transaction
        assert counts(app_conn, w)["workshops"] == 1
    with app_conn.transaction():
        everyone = {t: rows for t, rows in visible(app_conn, w).items()}
        any_rows = {
            t: app_conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone() for t in TABLES
        }
        wrong = refused_inserts(app_conn, insert_probes(w))
        with pytest.raises(PermissionDenied) as create, app_conn.transaction(), translate_errors():
            app_conn.execute(
                "SELECT * FROM create_workshop('nobodys', 'nobodys_m', %s, 'T', 'I', NULL, NULL)",
                ([f"nobodys_s{i}" for i in range(16)],),
            )
    assert everyone == nothing(w)
    assert any_rows == dict.fromkeys(TABLES, (0,))
    assert not wrong, "\n".join(wrong)
    assert "no person is bound" in str(create.value)
    assert snapshot(admin_conn, w) == before
    assert admin_conn.execute("SELECT count(*) FROM workshops WHERE id LIKE 'nobodys%'").fetchone() == (0,)


def test_the_operations_refuse_to_run_without_a_person(quiet: Quiet) -> None:
    app_conn, admin_conn, scene = quiet.app, quiet.admin, quiet.scene
    tenant_a = new_tenant(app_conn, "Tenant A")
    w = scene.workshop
    reads: dict[str, Attempt] = {
        "create_workshop": lambda c: ws.create_workshop(c, title="T", original_idea="I"),
        "get_workshop": lambda c: ws.get_workshop(c, w),
        "get_workshop_with_relations": lambda c: ws.get_workshop_with_relations(c, w),
        "get_workshop_by_share_token": lambda c: ws.get_workshop_by_share_token(c, secrets.token_urlsafe(32)),
        "list_workshops_for_user": lambda c: ws.list_workshops_for_user(c),
    }
    attempts = reads | writes(scene, VIEWER)
    operations = {name for name in ws.__all__ if name[0].islower() and name != "acting_as"}
    assert set(attempts) == operations  # every operation is tried
    before = snapshot(admin_conn, w)

    def refused_without_person() -> list[str]:
        wrong = []
        for name, attempt in attempts.items():
            try:
                result = attempt(app_conn)
            except SkillDBError as exc:
                if type(exc) is not PersonRequired:
                    wrong.append(f"{name}: {type(exc).__name__} ({exc})")
            else:
                wrong.append(f"{name}: ran and returned {result!r}")
        return wrong

    outside = refused_without_person()
    with skilldb.tenant(app_conn, tenant_a):
        in_tenant_block = refused_without_person()
    app_conn.execute("SELECT set_config('app.clerk_user_id', %s, false)", (OWNER,))
    app_conn.commit()
    try:
        session_level = refused_without_person()
    finally:
        app_conn.execute("RESET app.clerk_user_id")
        app_conn.commit()
    assert not outside, "\n".join(outside)
    assert not in_tenant_block, "\n".join(in_tenant_block)
    assert not session_level, "\n".join(session_level)
    assert snapshot(admin_conn, w) == before


# -- 6. the last owner --------------------------------------------------------------------------


def assert_last_owner_refused(conn: Conn, statement: str, args: tuple[Any, ...] | dict[str, Any]) -> None:
    """``statement`` fails on the last-owner guard, in a savepoint of the open transaction."""
    with pytest.raises(InvalidInput) as info, conn.transaction(), translate_errors():
        conn.execute(statement, args)
    assert info.value.constraint_name == "workshop_members_last_owner", info.value


def test_the_last_owner_is_neither_removed_nor_demoted(app_conn: Conn, admin_conn: Conn, scene: Scene) -> None:
    w = scene.workshop
    own_row = "workshop_id = %s AND clerk_user_id = %s"
    with ws.acting_as(app_conn, OWNER):
        assert_last_owner_refused(app_conn, f"DELETE FROM workshop_members WHERE {own_row}", (w, OWNER))
        for role in ("editor", "viewer", "Owner"):
            assert_last_owner_refused(
                app_conn, f"UPDATE workshop_members SET role = %s WHERE {own_row}", (role, w, OWNER)
            )
        with pytest.raises(InvalidInput, match="last owner"):
            ws.remove_member(app_conn, w, OWNER)
    assert owners(admin_conn, w) == [OWNER]

    with ws.acting_as(app_conn, OWNER):
        assert_last_owner_refused(app_conn, "DELETE FROM workshop_members WHERE workshop_id = %s", (w,))
        ws.add_member(app_conn, w, OTHER, "owner")
        # both owners demoted in one statement: whichever row comes second is the last owner
        assert_last_owner_refused(app_conn, "UPDATE workshop_members SET role = 'editor' WHERE workshop_id = %s", (w,))
        # with another owner left, stepping down is allowed
        demoted = app_conn.execute(f"UPDATE workshop_members SET role = 'editor' WHERE {own_row}", (w, OWNER))
        assert demoted.rowcount == 1
    with ws.acting_as(app_conn, OTHER):
        assert_last_owner_refused(app_conn, f"DELETE FROM workshop_members WHERE {own_row}", (w, OTHER))
    assert owners(admin_conn, w) == [OTHER]


def remove_each_other(db: Database, workshop_id: str) -> dict[str, BaseException | None]:
    """OWNER removes OTHER and OTHER removes OWNER, on two connections, released together by a barrier."""
    barrier = threading.Barrier(2, timeout=20)
    outcomes: dict[str, BaseException | None] = {}

    def remove(me: str, them: str) -> None:
        try:
            with psycopg.connect(db.app_url) as conn, ws.acting_as(conn, me):
                barrier.wait()
                ws.remove_member(conn, workshop_id, them)
            outcomes[me] = None
        except Exception as exc:
            outcomes[me] = exc

    threads = [threading.Thread(target=remove, args=pair) for pair in ((OWNER, OTHER), (OTHER, OWNER))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def test_two_owners_removing_each_other_at_once_leave_one(db: Database, admin_conn: Conn) -> None:
    # the race is lost in a few percent of rounds: try until one goes wrong, 50 rounds at most
    for round_ in range(50):
        w = f"race_{round_}"
        admin_conn.execute(
            "INSERT INTO workshops (id, clerk_user_id, title, original_idea) VALUES (%s, %s, 'Race', 'Race')",
            (w, OWNER),
        )
        admin_conn.execute(
            """INSERT INTO workshop_members (id, workshop_id, clerk_user_id, role)
               VALUES (%s, %s, %s, 'owner'), (%s, %s, %s, 'owner')""",
            (f"{w}_owner", w, OWNER, f"{w}_other", w, OTHER),
        )
        outcomes = remove_each_other(db, w)
        assert set(outcomes) == {OWNER, OTHER}, outcomes
        winners = [person for person, error in outcomes.items() if error is None]
        assert len(winners) == 1, f"round {round_}: {outcomes}"
        loser_error = next(error for error in outcomes.values() if error is not None)
        # InvalidInput: the guard saw the winner's removal; NotFound: the loser was already out
        assert type(loser_error) in (InvalidInput, NotFound), repr(loser_error)
        assert owners(admin_conn, w) == winners


def wait_until_waiting_for_a_lock(admin: Conn, pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = admin.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        if row is not None and row[0] == "Lock":
            return True
        time.sleep(0.01)
    return False


def crossing_removals(db: Database, admin: Conn, workshop_id: str, *, hold_own_row: bool) -> BaseException | None:
    """OWNER removes OTHER and keeps the transaction open; OTHER then removes OWNER, waits for
    a lock of OWNER's transaction, and goes on once it commits. What OTHER's removal raised.

    ``hold_own_row``: OWNER also locks their own membership row first, so OTHER waits on it
    before its trigger runs (its statement began before the commit, its trigger runs after);
    otherwise OTHER waits inside the trigger, on the workshop row the guard locks.
    """
    outcome: dict[str, BaseException | None] = {}
    with psycopg.connect(db.app_url) as first, psycopg.connect(db.app_url) as second:
        second_pid = second.info.backend_pid

        def other_removes_owner() -> None:
            try:
                with ws.acting_as(second, OTHER):
                    ws.remove_member(second, workshop_id, OWNER)
                outcome["error"] = None
            except Exception as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=other_removes_owner)
        with ws.acting_as(first, OWNER):
            if hold_own_row:
                first.execute(
                    "SELECT FROM workshop_members WHERE workshop_id = %s AND clerk_user_id = %s FOR KEY SHARE",
                    (workshop_id, OWNER),
                )
            ws.remove_member(first, workshop_id, OTHER)  # not committed yet: OTHER is still an owner to others
            thread.start()
            waited = wait_until_waiting_for_a_lock(admin, second_pid)
        thread.join(30)
    assert waited, "the second removal never waited for the first one's transaction"
    return outcome["error"]


def test_the_second_of_two_crossing_removals_waits_for_the_first_and_is_refused(
    db: Database, app_conn: Conn, admin_conn: Conn, scene: Scene
) -> None:
    w = scene.workshop
    with ws.acting_as(app_conn, OWNER):
        ws.add_member(app_conn, w, OTHER, "owner")
    error = crossing_removals(db, admin_conn, w, hold_own_row=False)
    assert isinstance(error, InvalidInput), repr(error)
    assert error.constraint_name == "workshop_members_last_owner"
    assert owners(admin_conn, w) == [OWNER]


def test_a_removal_whose_trigger_runs_after_the_other_commits_is_refused(
    db: Database, app_conn: Conn, admin_conn: Conn, scene: Scene
) -> None:
    w = scene.workshop
    with ws.acting_as(app_conn, OWNER):
        ws.add_member(app_conn, w, OTHER, "owner")
    error = crossing_removals(db, admin_conn, w, hold_own_row=True)
    assert owners(admin_conn, w) == [OWNER]
    assert isinstance(error, InvalidInput), repr(error)


@pytest.mark.parametrize("change", ["DELETE FROM workshop_members", "UPDATE workshop_members SET role = 'viewer'"])
def test_an_owner_cannot_drop_every_owner_in_one_statement(
    app_conn: Conn, admin_conn: Conn, scene: Scene, change: str
) -> None:
    w = scene.workshop
    with ws.acting_as(app_conn, OWNER):
        ws.add_member(app_conn, w, OTHER, "owner")
    # one statement; the acting owner's own row goes first (the outer statement reads the CTE's result)
    both = f"""WITH mine AS ({change} WHERE workshop_id = %(w)s AND clerk_user_id = %(me)s RETURNING id)
               {change} WHERE workshop_id = %(w)s AND clerk_user_id = %(them)s AND EXISTS (SELECT FROM mine)"""
    with ws.acting_as(app_conn, OWNER):
        assert_last_owner_refused(app_conn, both, {"w": w, "me": OWNER, "them": OTHER})
    assert owners(admin_conn, w) == sorted([OWNER, OTHER])


def test_a_temporary_table_does_not_fool_the_last_owner_guard(app_conn: Conn, admin_conn: Conn, scene: Scene) -> None:
    w = scene.workshop
    with ws.acting_as(app_conn, OWNER):
        app_conn.execute("CREATE TEMPORARY TABLE workshops (id text) ON COMMIT DROP")
        app_conn.execute(
            "CREATE TEMPORARY TABLE workshop_members (id text, workshop_id text, role text) ON COMMIT DROP"
        )
        with pytest.raises(InvalidInput), app_conn.transaction(), translate_errors():
            app_conn.execute(
                "DELETE FROM public.workshop_members WHERE workshop_id = %s AND clerk_user_id = %s", (w, OWNER)
            )
    assert owners(admin_conn, w) == [OWNER]


# -- performance shape --------------------------------------------------------------------------

#: The indexes by which a read of one workshop may reach each workshop table (leading column: the workshop).
WORKSHOP_INDEXES = {
    "workshops": {"workshops_pkey"},
    "workshop_members": {"workshop_members_workshop_id_clerk_user_id_key"},
    "workshop_steps": {"workshop_steps_workshop_id_idx", "workshop_steps_workshop_id_step_id_key"},
    "sessions": {"sessions_workshop_id_idx"},
    "build_packs": {"build_packs_workshop_id_idx"},
}
CROWD = """
INSERT INTO workshops (id, clerk_user_id, title, original_idea, status)
SELECT 'crowd_' || g, 'crowd_user_' || g % 700, 'Workshop ' || g, 'An idea',
       (ARRAY['draft', 'active', 'paused', 'completed'])[1 + g % 4]
FROM generate_series(1, 2000) g;
INSERT INTO workshop_members (id, workshop_id, clerk_user_id, role)
SELECT 'crowd_m_' || g || '_' || r, 'crowd_' || g, 'crowd_user_' || (g + r) % 700,
       (ARRAY['owner', 'editor', 'viewer'])[1 + r]
FROM generate_series(1, 2000) g, generate_series(0, 2) r;
INSERT INTO workshop_members (id, workshop_id, clerk_user_id, role)
SELECT 'crowd_mo_' || g, 'crowd_' || g, 'user_owner', 'viewer' FROM generate_series(10, 2000, 10) g;
INSERT INTO workshop_steps (id, workshop_id, step_id, status, output, started_at, completed_at)
SELECT 'crowd_s_' || g || '_' || d.id, 'crowd_' || g, d.id, 'complete', '{"note": "done"}', now(), now()
FROM generate_series(1, 2000) g CROSS JOIN step_definitions d;
INSERT INTO sessions (id, workshop_id) SELECT 'crowd_x_' || g || '_' || k, 'crowd_' || g
FROM generate_series(1, 2000) g, generate_series(1, 3) k;
INSERT INTO build_packs (id, workshop_id, title, content)
SELECT 'crowd_b_' || g || '_' || k, 'crowd_' || g, 'Pack', 'text'
FROM generate_series(1, 2000) g, generate_series(1, 2) k;
ANALYZE workshops, workshop_members, workshop_steps, sessions, build_packs, step_definitions;
"""


@dataclass(frozen=True)
class Crowd:
    """A database holding the scene and 2,000 other workshops, analyzed."""

    db: Database
    scene: Scene


@pytest.fixture(scope="module")
def crowd(pg_server: Server, clones: Clones) -> Iterator[Crowd]:
    """One database for the plan tests (they only read): the scene, then 2,000 other workshops
    with members, ten steps, sessions and build packs each (written as the superuser)."""
    name = clones.take()
    db = Database(pg_server, name)
    try:
        with psycopg.connect(db.app_url) as app, psycopg.connect(db.admin_url, autocommit=True) as admin:
            scene = make_scene(app)
            admin.execute(CROWD)
            row = admin.execute("SELECT count(*) FROM workshop_steps").fetchone()
            assert row is not None and row[0] > 20_000
        yield Crowd(db, scene)
    finally:
        clones.drop(name)


def generic_plan(conn: Conn, query: str, *args: str) -> str:
    """EXPLAIN of the generic plan of ``query`` (``%(name)s`` parameters, in order of first
    appearance, become ``$1``, ``$2``, ...), executed with ``args``; inside an open transaction."""
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", query)))
    assert len(names) == len(args), names
    for i, name in enumerate(names, 1):
        query = query.replace(f"%({name})s", f"${i}")
    conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    conn.execute(f"PREPARE probe AS {query}")
    try:
        values = ", ".join(sql.Literal(a).as_string(conn) for a in args)
        return "\n".join(r[0] for r in conn.execute(f"EXPLAIN EXECUTE probe({values})"))
    finally:
        conn.execute("DEALLOCATE probe")


SCAN = re.compile(r"(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan)(?: Backward)?(?: using (\S+))? on (\w+)")


def scans(plan: str) -> dict[str, list[tuple[str, str | None]]]:
    """For each table the plan reads: its scan nodes, as (kind, index)."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    for kind, index, table in SCAN.findall(plan):
        out.setdefault(table, []).append((kind, index or None))
    return out


def test_a_members_read_of_one_workshop_uses_the_workshop_indexes(crowd: Crowd) -> None:
    w = crowd.scene.workshop
    with psycopg.connect(crowd.db.app_url) as app_conn, ws.acting_as(app_conn, VIEWER):
        plan = generic_plan(app_conn, sql_of("workshops.get_workshop_with_relations"), w)
        full = ws.get_workshop_with_relations(app_conn, w)
    assert full is not None and len(full.steps) == 10  # the planned statement finds the workshop
    assert "workshop_role" in plan, plan  # planned under row-level security
    assert "$1" in plan, plan  # a generic plan
    bitmap_indexes = set(re.findall(r"Bitmap Index Scan on (\w+)", plan))
    found = scans(plan)
    wrong = []
    for table, indexes in WORKSHOP_INDEXES.items():
        nodes = found.get(table, [])
        if not nodes:
            wrong.append(f"{table}: not read")
        for kind, index in nodes:
            if kind == "Seq Scan":
                wrong.append(f"{table}: Seq Scan")
            elif kind == "Bitmap Heap Scan" and not bitmap_indexes & indexes:
                wrong.append(f"{table}: bitmap scan of none of {sorted(indexes)}")
            elif kind != "Bitmap Heap Scan" and index not in indexes:
                wrong.append(f"{table}: {kind} using {index}, expected one of {sorted(indexes)}")
    assert not wrong, "\n".join(wrong) + "\n" + plan


def test_the_membership_lookup_of_the_policies_uses_the_unique_index(crowd: Crowd) -> None:
    w = crowd.scene.workshop
    with psycopg.connect(crowd.db.admin_url) as admin_conn:
        # the lookup functions run as their owner (SECURITY DEFINER): plan their queries as that role
        owner_row = admin_conn.execute("SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'workshop_role'")
        assert owner_row.fetchone() == (admin_conn.info.user,)
        admin_conn.execute("SELECT set_config('app.clerk_user_id', %s, true)", (VIEWER,))
        stated = generic_plan(
            admin_conn,
            "SELECT role FROM workshop_members WHERE workshop_id = %(workshop)s AND clerk_user_id = %(person)s",
            w,
            VIEWER,
        )
        # and the functions' own queries, as PostgreSQL stored them (SQL-standard bodies)
        own: dict[str, str] = {}
        for function in ("workshop_role", "workshop_shared_with_token"):
            body = admin_conn.execute("SELECT pg_get_function_sqlbody(%s::regproc)", (function,)).fetchone()
            assert body is not None and body[0] is not None, f"{function}() has no SQL-standard body"
            m = re.fullmatch(r"RETURN \((.*)\)", body[0], re.S)
            assert m is not None and f"{function}.workshop" in m[1], body[0]
            query = m[1].replace(f"{function}.workshop", "%(workshop)s")
            own[function] = generic_plan(admin_conn, query if query.startswith("SELECT") else f"SELECT {query}", w)
    lookup = "Index Scan using workshop_members_workshop_id_clerk_user_id_key on workshop_members"
    for plan in (stated, own["workshop_role"]):
        assert lookup in plan and "Seq Scan" not in plan, plan
    token_plan = own["workshop_shared_with_token"]
    assert "Index Scan using workshops_pkey on workshops" in token_plan, token_plan
    assert "Seq Scan" not in token_plan, token_plan


def test_no_member_deletes_a_session(quiet: Quiet) -> None:
    """Sessions are written once and closed once: not even an owner deletes one (migration 0022)."""
    app_conn, admin_conn, scene = quiet.app, quiet.admin, quiet.scene
    before = snapshot(admin_conn, scene.workshop)
    for person in (OWNER, EDITOR):
        with (
            pytest.raises(PermissionDenied, match="permission denied for table sessions"),
            ws.acting_as(app_conn, person),
            translate_errors(),
        ):
            app_conn.execute("DELETE FROM sessions WHERE workshop_id = %s", (scene.workshop,))
    assert snapshot(admin_conn, scene.workshop) == before
