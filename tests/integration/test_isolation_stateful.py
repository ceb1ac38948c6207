"""Two tenants on two connections, random public operations interleaved (hypothesis, stateful).

Each step runs a public operation for tenant A or B on that tenant's own connection
(the application login, a member of ``skilldb_app`` only), now and then inside the
other tenant's open block. Steps also aim the other tenant's ids at an operation.
After every step: nothing either tenant read carries a ``tenant_id`` but its own or
any id of the other tenant; operations given the other tenant's ids behave exactly as
for unknown ids; and the counters each tenant can see (unread messages, uses) equal a
model kept from that tenant's own operations only.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

import skilldb
from skilldb import errors
from tests.plugin import Database, new_tenant

TENANTS = ("A", "B")


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (field name, value) inside a result: dataclasses, pages and lists, nested."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            yield f.name, item
            yield from walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from walk(item)


@dataclasses.dataclass
class Side:
    """One tenant's connection and what it created, as the model knows it."""

    tenant_id: str
    conn: psycopg.Connection[Any]
    users: list[str] = dataclasses.field(default_factory=list)
    skills: list[str] = dataclasses.field(default_factory=list)
    messages: list[str] = dataclasses.field(default_factory=list)
    ratings: list[str] = dataclasses.field(default_factory=list)
    unread: dict[str, int] = dataclasses.field(default_factory=dict)
    uses: dict[str, int] = dataclasses.field(default_factory=dict)
    read: set[str] = dataclasses.field(default_factory=set)

    def ids(self) -> set[str]:
        return {self.tenant_id, *self.users, *self.skills, *self.messages, *self.ratings}


class TwoTenants(RuleBasedStateMachine):
    """The state machine; ``db`` is set by the test before it runs."""

    db: Database

    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        self.sides: dict[str, Side] = {}
        for name in TENANTS:
            conn = self.stack.enter_context(psycopg.connect(self.db.app_url))
            self.sides[name] = Side(new_tenant(conn, f"Tenant {name}"), conn)

    def teardown(self) -> None:
        self.stack.close()

    # --- helpers ---------------------------------------------------------------------

    def other(self, name: str) -> Side:
        return self.sides["B" if name == "A" else "A"]

    @contextmanager
    def acting(self, name: str) -> Iterator[psycopg.Connection[Any]]:
        side = self.sides[name]
        with skilldb.tenant(side.conn, side.tenant_id):
            yield side.conn

    def check(self, name: str, result: Any) -> Any:
        """Fail if ``result`` shows anything of the other tenant."""
        own, theirs = self.sides[name], self.other(name).ids()
        for field, value in walk(result):
            if field == "tenant_id":
                assert value == own.tenant_id, f"tenant {name} read a row of tenant {value}: {result!r}"
            if isinstance(value, str):
                assert value not in theirs, f"tenant {name} read the other tenant's id {value!r} in {field}"
        return result

    def run(self, tenant: str, op: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        with self.acting(tenant) as conn:
            return self.check(tenant, op(conn, *args, **kwargs))

    # --- rules: each tenant's own work -------------------------------------------------

    @initialize(data=st.data())
    def start_with_a_team(self, data: st.DataObject) -> None:
        """Two users and one skill per tenant to begin with, so messages and ratings happen early."""
        for name in TENANTS:
            self.create_user(name)
            self.create_user(name)
            self.create_skill(name, data)

    @rule(name=st.sampled_from(TENANTS))
    def create_user(self, name: str) -> None:
        side = self.sides[name]
        user = self.run(name, skilldb.create_user, email=f"{uuid.uuid4().hex[:10]}@example.com")
        side.users.append(user.id)
        side.unread[user.id] = 0

    @rule(name=st.sampled_from(TENANTS), data=st.data())
    def create_skill(self, name: str, data: st.DataObject) -> None:
        side = self.sides[name]
        author = data.draw(st.sampled_from(side.users)) if side.users else None
        skill = self.run(name, skilldb.create_skill, author_id=author, name="Skill", slug=f"s-{uuid.uuid4().hex[:12]}")
        side.skills.append(skill.id)
        side.uses[skill.id] = 0

    @rule(name=st.sampled_from(TENANTS), data=st.data())
    def send_message(self, name: str, data: st.DataObject) -> None:
        side = self.sides[name]
        if len(side.users) < 2 or not side.skills:
            return
        sender, recipient = data.draw(st.permutations(side.users))[:2]
        message = self.run(
            name,
            skilldb.send_skill_message,
            from_user_id=sender,
            to_user_id=recipient,
            subject_skill_id=data.draw(st.sampled_from(side.skills)),
            message="hello",
        )
        side.messages.append(message.id)
        side.unread[recipient] += 1

    @rule(name=st.sampled_from(TENANTS), data=st.data())
    def read_message(self, name: str, data: st.DataObject) -> None:
        side = self.sides[name]
        if not side.messages:
            return
        message_id = data.draw(st.sampled_from(side.messages))
        with self.acting(name) as conn:
            message = self.check(name, skilldb.get_skill_message_with_relations(conn, message_id))
            marked = skilldb.mark_message_read(conn, message_id)
        assert marked is (message_id not in side.read)
        if marked:
            side.read.add(message_id)
            side.unread[message.to_user_id] -= 1

    @rule(name=st.sampled_from(TENANTS), data=st.data(), status=st.sampled_from(["accepted", "declined"]))
    def answer_message(self, name: str, data: st.DataObject, status: str) -> None:
        side = self.sides[name]
        if not side.messages:
            return
        message_id = data.draw(st.sampled_from(side.messages))
        try:
            self.run(name, skilldb.update_message_status, message_id, status)
        except errors.InvalidInput as exc:
            assert "already" in str(exc)

    @rule(name=st.sampled_from(TENANTS), data=st.data())
    def use_and_rate(self, name: str, data: st.DataObject) -> None:
        side = self.sides[name]
        if not side.skills or not side.users:
            return
        skill_id, user_id = data.draw(st.sampled_from(side.skills)), data.draw(st.sampled_from(side.users))
        self.run(name, skilldb.record_usage_event, skill_id=skill_id, user_id=user_id, tool_name="cli")
        side.uses[skill_id] += 1
        rating = self.run(
            name, skilldb.rate_skill, skill_id=skill_id, user_id=user_id, rating=data.draw(st.integers(1, 5))
        )
        if rating.id not in side.ratings:
            side.ratings.append(rating.id)

    @rule(name=st.sampled_from(TENANTS))
    def list_everything(self, name: str) -> None:
        side = self.sides[name]
        with self.acting(name) as conn:
            skills = self.check(name, skilldb.list_skills_with_relations(conn, limit=500))
            assert {s.id for s in skills.items} == set(side.skills)
            for user_id in side.users:
                inbox = self.check(name, skilldb.get_messages_for_user(conn, user_id, limit=500))
                assert all(m.to_user_id == user_id for m in inbox.items)
                self.check(name, skilldb.get_user_with_relations(conn, user_id))
            for skill_id in side.skills:
                self.check(name, skilldb.get_skill_with_relations(conn, skill_id))

    # --- rules: interleaving and aiming the other tenant's ids ---------------------------

    @rule(name=st.sampled_from(TENANTS))
    def act_inside_the_other_tenants_open_block(self, name: str) -> None:
        """While the other tenant's block is open on its connection, this tenant works on its own."""
        with self.acting(self.other_name(name)) as other_conn:
            other_before = skilldb.list_skills(other_conn, limit=1000)
            self.create_user(name)
            assert skilldb.list_skills(other_conn, limit=1000) == other_before

    def other_name(self, name: str) -> str:
        return "B" if name == "A" else "A"

    @rule(name=st.sampled_from(TENANTS), data=st.data())
    def aim_at_the_other_tenants_rows(self, name: str, data: st.DataObject) -> None:
        side, theirs = self.sides[name], self.other(name)
        unknown = str(uuid.uuid4())

        def outcome(call: Callable[[psycopg.Connection[Any], str], Any], target: str) -> tuple[str, Any]:
            try:
                with self.acting(name) as conn:
                    return "ok", self.check(name, call(conn, target))
            except errors.SkillDBError as exc:
                return type(exc).__name__, str(exc).replace(target, "<id>")

        probes: list[tuple[list[str], Callable[[psycopg.Connection[Any], str], Any]]] = [
            (theirs.skills, skilldb.get_skill),
            (theirs.skills, skilldb.get_skill_with_relations),
            (theirs.skills, skilldb.increment_skill_uses),
            (theirs.users, skilldb.get_user),
            (theirs.users, lambda c, t: skilldb.get_unread_count_for_user(c, t)),
            (theirs.users, lambda c, t: skilldb.get_messages_for_user(c, t).items),
            (theirs.messages, skilldb.get_skill_message_with_relations),
            (theirs.messages, skilldb.mark_message_read),
            (theirs.messages, lambda c, t: skilldb.update_message_status(c, t, "declined")),
            (theirs.ratings, skilldb.delete_rating),
        ]
        if side.users and side.skills:
            me, skill = side.users[0], side.skills[0]
            probes += [
                (theirs.skills, lambda c, t: skilldb.rate_skill(c, skill_id=t, user_id=me, rating=3)),
                (theirs.users, lambda c, t: skilldb.rate_skill(c, skill_id=skill, user_id=t, rating=3)),
                (theirs.skills, lambda c, t: skilldb.record_usage_event(c, skill_id=t, tool_name="x")),
                (
                    theirs.users,
                    lambda c, t: skilldb.send_skill_message(
                        c, from_user_id=me, to_user_id=t, subject_skill_id=skill, message="hi"
                    ),
                ),
            ]
        targets, call = data.draw(st.sampled_from(probes))
        if not targets:
            return
        target = data.draw(st.sampled_from(targets))
        assert outcome(call, target) == outcome(call, unknown), f"{name} can tell {target!r} from an unknown id"

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def counters_follow_only_own_operations(self) -> None:
        for name, side in self.sides.items():
            with self.acting(name) as conn:
                for user_id, unread in side.unread.items():
                    assert skilldb.get_unread_count_for_user(conn, user_id) == unread
                for skill_id, uses in side.uses.items():
                    skill = skilldb.get_skill(conn, skill_id)
                    assert skill is not None and skill.total_uses == uses


def test_two_tenants_interleaved_never_see_each_other(db: Database) -> None:
    TwoTenants.db = db
    run_state_machine_as_test(
        TwoTenants,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        ),
    )


@pytest.mark.parametrize("leak", ["tenant_id", "id"])
def test_the_check_catches_a_leaked_row(db: Database, leak: str) -> None:
    """The machine's check is able to fail: a row of the other tenant, or its id, is caught."""
    TwoTenants.db = db
    machine = TwoTenants()
    try:
        machine.create_user("B")
        b = machine.sides["B"]
        row = skilldb.User(
            id=b.users[0] if leak == "id" else "mine",
            tenant_id=b.tenant_id if leak == "tenant_id" else machine.sides["A"].tenant_id,
            email="x@example.com",
            name=None,
            created_at=__import__("datetime").datetime.now(),
        )
        with pytest.raises(AssertionError):
            machine.check("A", skilldb.Page(items=[row], next_cursor=None))
    finally:
        machine.teardown()
