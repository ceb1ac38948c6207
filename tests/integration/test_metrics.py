"""The metrics the database keeps on skills: ``total_uses`` and ``average_rating``.

Migration 0010 keeps ``rating_count``, ``rating_sum`` and ``average_rating`` by statement
triggers on ratings, and ``total_uses`` by a statement trigger on usage_events, all by
updates relative to the skill's own row. The storms below hit one skill from real
threads, each with its own connection as the application login (only a member of
``skilldb_app``), and compare the counters with the raw tables after every round. Two
deliberately racy read-then-write rollups run through the same storm (one on scratch
tables, one as a trigger on the real tables) show that it is strong enough to catch a race.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

import skilldb
from skilldb import aio, errors
from skilldb.models import NewUsageEvent
from tests.plugin import Database, new_tenant

THREADS = 8

Metrics = tuple[int, int | None, int, int]
#: One transaction's changes to the ratings of a storm: (user index, new rating or None to delete).
Changes = list[tuple[int, int | None]]


def make_skill(conn: psycopg.Connection[Any], slug: str) -> skilldb.Skill:
    return skilldb.create_skill(conn, author_id=None, name=slug.title(), slug=slug)


def make_users(conn: psycopg.Connection[Any], count: int, prefix: str = "user") -> list[str]:
    return [skilldb.create_user(conn, email=f"{prefix}{i}@example.com").id for i in range(count)]


def metrics(admin_conn: psycopg.Connection[Any], tenant_id: str, skill_id: str) -> Metrics:
    """What the skill's row says: (total_uses, average_rating, rating_count, rating_sum)."""
    row = admin_conn.execute(
        "SELECT total_uses, average_rating, rating_count, rating_sum FROM skills WHERE tenant_id = %s AND id = %s",
        (tenant_id, skill_id),
    ).fetchone()
    assert row is not None, f"no skill {skill_id!r} in {tenant_id!r}"
    return (row[0], row[1], row[2], row[3])


def truth(admin_conn: psycopg.Connection[Any], tenant_id: str, skill_id: str) -> Metrics:
    """What the raw tables say: (events, round(avg(rating) * 100), count, sum)."""
    row = admin_conn.execute(
        """
        SELECT
            (SELECT count(*)::integer FROM usage_events WHERE tenant_id = %(t)s AND skill_id = %(s)s),
            round(avg(rating) * 100)::integer, count(*)::integer, coalesce(sum(rating), 0)::integer
        FROM ratings WHERE tenant_id = %(t)s AND skill_id = %(s)s
        """,
        {"t": tenant_id, "s": skill_id},
    ).fetchone()
    assert row is not None
    return (row[0], row[1], row[2], row[3])


def half_up_average(ratings: Iterable[int]) -> int | None:
    """round(avg * 100), half up on the exact decimal value; None when there is none."""
    values = list(ratings)
    if not values:
        return None
    return int((Decimal(sum(values) * 100) / len(values)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def count_rows(admin_conn: psycopg.Connection[Any], table: str, tenant_id: str) -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(sql.Identifier(table))
    row = admin_conn.execute(query, (tenant_id,)).fetchone()
    return int(row[0]) if row else -1


def run_threads(count: int, worker: Callable[[int], None], *barriers: threading.Barrier) -> None:
    """Run ``worker(0)`` .. ``worker(count - 1)`` in threads; re-raise the first real failure.

    A failing worker breaks ``barriers``, so the others stop instead of waiting forever.
    """
    failures: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            worker(n)
        except BaseException as exc:
            failures.append(exc)
            for barrier in barriers:
                barrier.abort()

    threads = [threading.Thread(target=guarded, args=(n,), name=f"metrics-{n}") for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    real = [f for f in failures if not isinstance(f, threading.BrokenBarrierError)]
    if real or failures:
        raise (real or failures)[0]


# -- uses: increments and events from many threads -------------------------------------------


def test_concurrent_increments_lose_nothing(db: Database, app_conn: psycopg.Connection[Any], tenant_a: str) -> None:
    """8 threads x 250 increments of one skill: 2000 uses, and every total from 1 to 2000
    handed out exactly once. Odd threads use a block per call, even ones batches of 25
    (which hold the row lock, so a batch's totals are consecutive)."""
    with skilldb.tenant(app_conn, tenant_a):
        skill = make_skill(app_conn, "busy")
    seen: list[list[int]] = [[] for _ in range(THREADS)]
    start = threading.Barrier(THREADS, timeout=60)

    def worker(n: int) -> None:
        mine = seen[n]
        with psycopg.connect(db.app_url) as conn:
            start.wait()
            if n % 2:
                for _ in range(250):
                    with skilldb.tenant(conn, tenant_a):
                        mine.append(skilldb.increment_skill_uses(conn, skill.id))
            else:
                for _ in range(10):
                    with skilldb.tenant(conn, tenant_a):
                        batch = [skilldb.increment_skill_uses(conn, skill.id) for _ in range(25)]
                    assert batch == list(range(batch[0], batch[0] + 25)), batch
                    mine.extend(batch)

    run_threads(THREADS, worker, start)
    assert sorted(v for values in seen for v in values) == list(range(1, 2001))
    assert all(values == sorted(values) for values in seen)
    with skilldb.tenant(app_conn, tenant_a):
        stored = skilldb.get_skill(app_conn, skill.id)
    assert stored is not None and stored.total_uses == 2000


def test_concurrent_usage_events_are_all_counted(
    db: Database, app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    """8 threads x 250 ``record_usage_event``: total_uses is 2000, the number of events."""
    with skilldb.tenant(app_conn, tenant_a):
        skill = make_skill(app_conn, "busy")
        user = skilldb.create_user(app_conn, email="user@example.com")
    start = threading.Barrier(THREADS, timeout=60)

    def worker(n: int) -> None:
        with psycopg.connect(db.app_url) as conn:
            start.wait()
            for i in range(250):
                with skilldb.tenant(conn, tenant_a):
                    event = skilldb.record_usage_event(
                        conn,
                        skill_id=skill.id,
                        user_id=user.id if i % 2 else None,
                        tool_name=f"tool-{n}",
                        metadata={"i": i} if i % 3 else None,
                    )
                assert event.skill_id == skill.id and event.tool_name == f"tool-{n}"

    run_threads(THREADS, worker, start)
    assert metrics(admin_conn, tenant_a, skill.id)[0] == 2000
    assert truth(admin_conn, tenant_a, skill.id)[0] == 2000
    assert count_rows(admin_conn, "usage_events", tenant_a) == 2000


def test_concurrent_event_batches_into_overlapping_skills(
    db: Database, app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    """4 threads x 2,500 events in batches of 500 into 5 skills, each batch naming a
    different subset in a different order: every skill's total_uses is what was sent."""
    with skilldb.tenant(app_conn, tenant_a):
        skills = [make_skill(app_conn, f"skill-{i}").id for i in range(5)]
    sent: list[Counter[str]] = [Counter() for _ in range(4)]
    start = threading.Barrier(4, timeout=60)

    def worker(n: int) -> None:
        rng = random.Random(n)
        with psycopg.connect(db.app_url) as conn:
            start.wait()
            for _ in range(5):
                subset = rng.sample(skills, rng.randint(2, 5))
                batch = [NewUsageEvent(skill_id=subset[i % len(subset)], tool_name=f"t{n}") for i in range(500)]
                rng.shuffle(batch)
                with skilldb.tenant(conn, tenant_a):
                    assert skilldb.record_usage_events(conn, batch) == 500
                sent[n].update(e.skill_id for e in batch)

    run_threads(4, worker, start)
    total = sum(sent, Counter())
    assert sum(total.values()) == 10_000
    for skill_id in skills:
        assert metrics(admin_conn, tenant_a, skill_id)[0] == truth(admin_conn, tenant_a, skill_id)[0]
        assert metrics(admin_conn, tenant_a, skill_id)[0] == total[skill_id], skill_id


def blocked_on(admin_conn: psycopg.Connection[Any], pid: int, xid: int, timeout: float = 3.0) -> bool:
    """Wait until backend ``pid`` waits for transaction ``xid``; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = admin_conn.execute(
            "SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted AND transactionid::text = %s", (pid, str(xid))
        ).fetchone()
        if row is not None:
            return True
        time.sleep(0.01)
    return False


def test_event_batches_over_the_same_skills_do_not_deadlock(
    db: Database, app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    """Two single-statement batches naming the same skills must not deadlock each other.

    The statement trigger's grouped UPDATE locks the skills in the order its plan meets
    them (a sequential scan of ``skills`` here: physical order, which every update of a
    skill changes), not in one fixed order. Four application transactions, each one
    ``record_usage_events``, set that up step by step: U and L hold new uses of skills A
    and C; T1 (A, C, B) takes its snapshot, waits for U, then locks A's new row version
    and waits for L; T2 (A, B), whose snapshot sees A after B, locks B and waits for T1.
    When L commits, T1 wants B. With the skills locked in one order (say by id), whatever
    the steps then do, both batches commit."""
    with skilldb.tenant(app_conn, tenant_a):
        a, c, b = (make_skill(app_conn, slug).id for slug in ("a", "c", "b"))
    outcome: dict[str, str] = {}

    def batch(name: str, conn: psycopg.Connection[Any], skill_ids: list[str]) -> None:
        try:
            with skilldb.tenant(conn, tenant_a):
                skilldb.record_usage_events(conn, [NewUsageEvent(skill_id=s, tool_name=name) for s in skill_ids])
            outcome[name] = "committed"
        except errors.SerializationFailure as exc:
            outcome[name] = str(exc).splitlines()[0]

    with ExitStack() as cleanup:
        u, lock, c1, c2 = (cleanup.enter_context(psycopg.connect(db.app_url)) for _ in range(4))
        blocks = {"U": ExitStack(), "L": ExitStack()}
        xids: dict[str, int] = {}
        for name, conn, skill_id in (("U", u, a), ("L", lock, c)):
            blocks[name].enter_context(skilldb.tenant(conn, tenant_a))
            skilldb.record_usage_events(conn, [NewUsageEvent(skill_id=skill_id, tool_name=name)])
            row = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
            assert row is not None
            xids[name] = row[0]
        t1 = threading.Thread(target=batch, args=("T1", c1, [a, c, b]))
        t1.start()
        blocked_on(admin_conn, c1.info.backend_pid, xids["U"])
        blocks["U"].close()  # commits
        blocked_on(admin_conn, c1.info.backend_pid, xids["L"])
        t2 = threading.Thread(target=batch, args=("T2", c2, [a, b]))
        t2.start()
        time.sleep(0.2)  # T2 locks B and waits for T1 (or, locking in one order, for U's or L's skill)
        blocks["L"].close()
        t1.join(timeout=30)
        t2.join(timeout=30)
    assert outcome == {"T1": "committed", "T2": "committed"}
    for skill_id, uses in ((a, 3), (b, 2), (c, 2)):
        assert metrics(admin_conn, tenant_a, skill_id)[0] == uses == truth(admin_conn, tenant_a, skill_id)[0]


# -- ratings: the storm, and a racy rollup it catches ----------------------------------------

#: Rounds of every rating storm. Each racy rollup below ends most of them wrong (see their
#: docstrings), so missing a race in 60 rounds is essentially impossible.
STORM_ROUNDS = 60
#: Every GROUPED-th round, each thread changes all its users in one transaction.
GROUPED = 5
#: Seconds each storm transaction lingers before its commit, holding the skill's row lock,
#: so that the round's other writers queue behind it: the window in which a racy rollup
#: goes wrong. It widens the window for the correct triggers and the racy rollups alike.
HOLD = 0.001


def linger(conn: psycopg.Connection[Any]) -> None:
    """Hold the transaction, and the row locks it took, a moment (``HOLD``) before it commits."""
    conn.execute("SELECT pg_sleep(%s)", (HOLD,))


def rating_storm(
    db: Database,
    apply: Callable[[psycopg.Connection[Any], int, int, Changes], None],
    check: Callable[[int, dict[int, int]], None],
    *,
    rounds: int,
    users: int = 24,
    seed: int = 0,
) -> None:
    """``THREADS`` threads, each with its own connection and its own users (user ``u``
    belongs to thread ``u % THREADS``), meet at a barrier at the start of every round so
    that they collide, then each runs ``apply(conn, thread, round, changes)``: one
    transaction giving a user a first rating, replacing it with a different value, or
    deleting it. ``check(round, expected)`` runs alone between rounds (the barrier's
    action) with the rating every user should now have.

    In most rounds each thread changes one of its users: eight one-statement transactions
    at once. A racy rollup goes wrong when the round's last statement waited for another
    writer, and a later statement of the same transaction would take a new snapshot and
    repair it. Every GROUPED-th round, each thread changes all its users in one
    transaction instead, holding the skill's row lock from its first change to its commit."""
    expected: dict[int, int] = {}
    checked = [0]

    def between_rounds() -> None:
        check(checked[0], dict(expected))
        checked[0] += 1

    barrier = threading.Barrier(THREADS, action=between_rounds, timeout=60)

    def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        mine = range(n, users, THREADS)
        with psycopg.connect(db.app_url) as conn:
            for round_ in range(rounds):
                barrier.wait()
                grouped = round_ % GROUPED == GROUPED - 1
                changes: Changes = []
                for user in mine if grouped else [rng.choice(mine)]:
                    current = expected.get(user)
                    roll = rng.random()
                    if current is not None and roll < 0.25:
                        changes.append((user, None))
                    elif roll < 0.95 or not grouped:
                        changes.append((user, rng.choice([r for r in range(1, 6) if r != current])))
                apply(conn, n, round_, changes)
                for user, rating in changes:
                    if rating is None:
                        del expected[user]
                    else:
                        expected[user] = rating
            barrier.wait()

    run_threads(THREADS, worker, barrier)
    assert checked[0] == rounds + 1


def skill_storm(db: Database, app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any]) -> list[str]:
    """The rating storm on a real skill of a new tenant, through ``rate_skill`` and
    ``delete_rating`` (and ``update_skill_rating`` in some grouped rounds); returns what
    was wrong after each round: the ratings stored, or the skill's count, sum and average."""
    tenant_id = new_tenant(app_conn, "Storm")
    with skilldb.tenant(app_conn, tenant_id):
        skill = make_skill(app_conn, "rated")
        user_ids = make_users(app_conn, 24)
    rating_ids: dict[int, str] = {}
    wrong: list[str] = []

    def apply(conn: psycopg.Connection[Any], n: int, round_: int, changes: Changes) -> None:
        with skilldb.tenant(conn, tenant_id):
            for user, rating in changes:
                if rating is None:
                    skilldb.delete_rating(conn, rating_ids.pop(user))
                    continue
                stored = skilldb.rate_skill(conn, skill_id=skill.id, user_id=user_ids[user], rating=rating)
                assert stored.rating == rating and stored.id == rating_ids.setdefault(user, stored.id)
            if round_ % GROUPED == GROUPED - 1 and n == round_ // GROUPED % THREADS:
                average = skilldb.update_skill_rating(conn, skill.id)
                assert average is None or 100 <= average <= 500
            linger(conn)

    def check(round_: int, expected: dict[int, int]) -> None:
        stored = dict(
            admin_conn.execute(
                "SELECT user_id, rating FROM ratings WHERE tenant_id = %s AND skill_id = %s", (tenant_id, skill.id)
            ).fetchall()
        )
        if stored != {user_ids[u]: r for u, r in expected.items()}:
            wrong.append(f"round {round_}: ratings {stored} are not those written")
        want = (half_up_average(expected.values()), len(expected), sum(expected.values()))
        have = metrics(admin_conn, tenant_id, skill.id)[1:]
        raw = truth(admin_conn, tenant_id, skill.id)[1:]
        if not have == raw == want:
            wrong.append(f"round {round_}: skill has {have}, ratings give {raw}, expected {want}")

    rating_storm(db, apply, check, rounds=STORM_ROUNDS)
    assert len(rating_ids) > 0
    return wrong


def test_a_rating_storm_keeps_the_average_exact_after_every_round(
    db: Database, app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any]
) -> None:
    """60 colliding rounds of rate_skill / delete_rating on one skill: after every round the
    skill's count, sum and average are those of its ratings, which are those written."""
    assert skill_storm(db, app_conn, admin_conn) == []


RACY_TRIGGER = """
CREATE FUNCTION racy_rating_rollup() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    UPDATE skills s
    SET (rating_count, rating_sum, average_rating) = (
        SELECT count(*), coalesce(sum(r.rating), 0), round(avg(r.rating) * 100)
        FROM ratings r WHERE r.tenant_id = s.tenant_id AND r.skill_id = s.id
    )
    WHERE (s.tenant_id, s.id) IN (SELECT tenant_id, skill_id FROM changed);
    RETURN NULL;
END
$$;
CREATE TRIGGER racy_inserts AFTER INSERT ON ratings REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION racy_rating_rollup();
CREATE TRIGGER racy_updates AFTER UPDATE ON ratings REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION racy_rating_rollup();
CREATE TRIGGER racy_deletes AFTER DELETE ON ratings REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION racy_rating_rollup();
"""


@pytest.mark.plain_postgresql(
    "the racy trigger updates skills of every tenant from one statement trigger, which Citus cannot run on a shard"
)
def test_the_same_storm_catches_a_racy_rollup_trigger(
    db: Database, app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any]
) -> None:
    """The control experiment on the real tables: in this test's own database, the
    metrics triggers of ratings are swapped for ones that recompute the skill's metrics
    with an aggregate subquery. Under READ COMMITTED, an UPDATE that waited for a
    concurrent writer re-checks the row but keeps its snapshot for the subquery, so it
    drops that writer's rating: the same storm must end some rounds wrong (45 to 49 of
    60 in trial runs)."""
    admin_conn.execute("ALTER TABLE ratings DISABLE TRIGGER USER")  # foreign keys stay on
    admin_conn.execute(RACY_TRIGGER)
    wrong = skill_storm(db, app_conn, admin_conn)
    assert not [w for w in wrong if "not those written" in w]  # only the rollup is racy
    assert len(wrong) >= 1, "the storm never caught the racy rollup trigger"


def test_the_same_storm_catches_a_racy_read_then_write_rollup(
    db: Database, admin_conn: psycopg.Connection[Any]
) -> None:
    """The control experiment as the application would write it: each transaction writes
    its ratings, then ``UPDATE ... SET average_rating = (SELECT round(avg(rating) * 100)
    ...)``. The same storm must end some rounds with a wrong average (58 to 60 of 60 in
    trial runs, with four CPU-bound processes on two cores too; 48 to 55 without ``HOLD``).

    ``skilldb_app`` may not write ``skills.average_rating``, so this rollup runs on scratch
    tables (no row-level security) granted to it, still as the application login.
    """
    admin_conn.execute("CREATE TABLE racy_skill (id integer PRIMARY KEY, average_rating integer)")
    admin_conn.execute(
        "CREATE TABLE racy_ratings"
        " (user_id integer PRIMARY KEY, rating integer NOT NULL CHECK (rating BETWEEN 1 AND 5))"
    )
    admin_conn.execute("INSERT INTO racy_skill VALUES (1, NULL)")
    admin_conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON racy_skill, racy_ratings TO skilldb_app")
    mismatched: list[int] = []
    wrong: list[str] = []

    def apply(conn: psycopg.Connection[Any], n: int, round_: int, changes: Changes) -> None:
        with conn.transaction():
            for user, rating in changes:
                if rating is None:
                    conn.execute("DELETE FROM racy_ratings WHERE user_id = %s", (user,))
                else:
                    conn.execute(
                        "INSERT INTO racy_ratings VALUES (%s, %s)"
                        " ON CONFLICT (user_id) DO UPDATE SET rating = excluded.rating",
                        (user, rating),
                    )
            conn.execute(
                "UPDATE racy_skill SET average_rating = (SELECT round(avg(rating) * 100) FROM racy_ratings)"
                " WHERE id = 1"
            )
            linger(conn)

    def check(round_: int, expected: dict[int, int]) -> None:
        stored = dict(admin_conn.execute("SELECT user_id, rating FROM racy_ratings").fetchall())
        if stored != expected:
            wrong.append(f"round {round_}: ratings {stored} are not those written {expected}")
        row = admin_conn.execute(
            "SELECT average_rating, (SELECT round(avg(rating) * 100)::integer FROM racy_ratings) FROM racy_skill"
        ).fetchone()
        assert row is not None and row[1] == half_up_average(expected.values())
        if row[0] != row[1]:
            mismatched.append(round_)

    rating_storm(db, apply, check, rounds=STORM_ROUNDS)
    assert wrong == []  # the ratings themselves are right: only the rollup is racy
    assert len(mismatched) >= 1, "the storm never caught the racy rollup"


# -- ratings and rollups, one call at a time ---------------------------------------------------


def test_update_skill_rating_returns_the_rounded_average(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str, tenant_b: str
) -> None:
    with skilldb.tenant(app_conn, tenant_b):
        other = make_skill(app_conn, "theirs")
    with skilldb.tenant(app_conn, tenant_a):
        skill = make_skill(app_conn, "rated")
        users = make_users(app_conn, 8)
        assert skilldb.update_skill_rating(app_conn, skill.id) is None
        # 33 / 8 = 4.125 stars: 412.5 rounds half up to 413
        for user, rating in zip(users, [5, 5, 5, 4, 4, 4, 3, 3], strict=True):
            skilldb.rate_skill(app_conn, skill_id=skill.id, user_id=user, rating=rating)
        assert skilldb.update_skill_rating(app_conn, skill.id) == 413
    assert metrics(admin_conn, tenant_a, skill.id) == (0, 413, 8, 33) == truth(admin_conn, tenant_a, skill.id)
    assert skilldb.format_rating(413) == "4.1"
    # it rebuilds from the ratings, whatever the counters say
    admin_conn.execute(
        "UPDATE skills SET rating_count = 1, rating_sum = 1, average_rating = 100 WHERE tenant_id = %s AND id = %s",
        (tenant_a, skill.id),
    )
    with skilldb.tenant(app_conn, tenant_a):
        assert skilldb.update_skill_rating(app_conn, skill.id) == 413
        ones = [skilldb.rate_skill(app_conn, skill_id=skill.id, user_id=user, rating=1) for user in users[1:]]
        skilldb.delete_rating(app_conn, ones[-1].id)
        assert skilldb.update_skill_rating(app_conn, skill.id) == 157  # (5 + 6 x 1) / 7 = 1.571
    assert metrics(admin_conn, tenant_a, skill.id) == (0, 157, 7, 11) == truth(admin_conn, tenant_a, skill.id)
    for missing in ("no-such-skill", other.id):
        with pytest.raises(errors.NotFound, match=missing):
            with skilldb.tenant(app_conn, tenant_a):
                skilldb.update_skill_rating(app_conn, missing)
    assert metrics(admin_conn, tenant_b, other.id) == (0, None, 0, 0)


def test_rate_skill_replaces_the_users_earlier_rating(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        skill = make_skill(app_conn, "rated")
        user, other = make_users(app_conn, 2)
        first = skilldb.rate_skill(
            app_conn, skill_id=skill.id, user_id=user, rating=2, comment="meh", hours_saved_estimate=1
        )
        skilldb.rate_skill(app_conn, skill_id=skill.id, user_id=other, rating=5)
    with skilldb.tenant(app_conn, tenant_a):  # a later transaction: now() differs
        second = skilldb.rate_skill(app_conn, skill_id=skill.id, user_id=user, rating=4)
    assert (second.id, second.created_at, second.user_id) == (first.id, first.created_at, user)
    assert (second.rating, second.comment, second.hours_saved_estimate) == (4, None, None)
    rows = admin_conn.execute(
        "SELECT user_id, rating FROM ratings WHERE tenant_id = %s AND skill_id = %s ORDER BY rating",
        (tenant_a, skill.id),
    ).fetchall()
    assert rows == [(user, 4), (other, 5)]
    assert metrics(admin_conn, tenant_a, skill.id) == (0, 450, 2, 9) == truth(admin_conn, tenant_a, skill.id)
    with skilldb.tenant(app_conn, tenant_a):
        stored = skilldb.get_skill(app_conn, skill.id)
    assert stored is not None and skilldb.format_rating(stored.average_rating) == "4.5"


BAD_RATINGS: list[tuple[dict[str, Any], str]] = [
    ({"rating": 0}, "rating must be from 1 to 5"),
    ({"rating": 6}, "rating must be from 1 to 5"),
    ({"rating": True}, "rating must be an int, got bool"),
    ({"rating": 4.5}, "rating must be an int, got float"),
    ({"rating": "5"}, "rating must be an int, got str"),
    ({"rating": 4, "hours_saved_estimate": -1}, "hours_saved_estimate must be from 0"),
]


def test_rate_skill_refuses_bad_input_before_any_sql(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    """The server's last statement from this connection stays the marker: nothing was sent."""
    with skilldb.tenant(app_conn, tenant_a):
        skill = make_skill(app_conn, "rated")
        (user,) = make_users(app_conn, 1)
    marker = "SELECT 'before the bad ratings'"
    with skilldb.tenant(app_conn, tenant_a):
        app_conn.execute(marker)
        for kwargs, message in BAD_RATINGS:
            with pytest.raises(errors.InvalidInput, match=message):
                skilldb.rate_skill(app_conn, skill_id=skill.id, user_id=user, **kwargs)
        row = admin_conn.execute(
            "SELECT query FROM pg_stat_activity WHERE pid = %s", (app_conn.info.backend_pid,)
        ).fetchone()
        assert row == (marker,)
    assert count_rows(admin_conn, "ratings", tenant_a) == 0
    assert metrics(admin_conn, tenant_a, skill.id) == (0, None, 0, 0)


def test_delete_rating_of_an_absent_or_foreign_rating_is_not_found(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str, tenant_b: str
) -> None:
    with skilldb.tenant(app_conn, tenant_b):
        theirs = make_skill(app_conn, "theirs")
        (their_user,) = make_users(app_conn, 1)
        their_rating = skilldb.rate_skill(app_conn, skill_id=theirs.id, user_id=their_user, rating=3)
    with skilldb.tenant(app_conn, tenant_a):
        skill = make_skill(app_conn, "mine")
        (user,) = make_users(app_conn, 1)
        mine = skilldb.rate_skill(app_conn, skill_id=skill.id, user_id=user, rating=5)
        skilldb.delete_rating(app_conn, mine.id)
        for absent in (mine.id, their_rating.id, str(uuid.uuid4())):
            with pytest.raises(errors.NotFound, match=absent):
                skilldb.delete_rating(app_conn, absent)
    assert metrics(admin_conn, tenant_a, skill.id) == (0, None, 0, 0)
    assert metrics(admin_conn, tenant_b, theirs.id) == (0, 300, 1, 3)
    assert count_rows(admin_conn, "ratings", tenant_b) == 1


def test_increment_skill_uses_of_an_absent_or_foreign_skill_is_not_found(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str, tenant_b: str
) -> None:
    with skilldb.tenant(app_conn, tenant_b):
        theirs = make_skill(app_conn, "theirs")
        assert skilldb.increment_skill_uses(app_conn, theirs.id) == 1
    with skilldb.tenant(app_conn, tenant_a):
        skill = make_skill(app_conn, "mine")
        assert skilldb.increment_skill_uses(app_conn, skill.id) == 1
        for absent in ("no-such-skill", theirs.id):
            with pytest.raises(errors.NotFound, match=absent):
                skilldb.increment_skill_uses(app_conn, absent)
        assert skilldb.increment_skill_uses(app_conn, skill.id) == 2
    assert metrics(admin_conn, tenant_b, theirs.id)[0] == 1
    assert metrics(admin_conn, tenant_a, skill.id)[0] == 2


def nested(depth: int) -> dict[str, Any]:
    """A json object ``depth`` levels deep."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


def test_record_usage_events_is_all_or_nothing_and_names_the_position(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str, tenant_b: str
) -> None:
    with skilldb.tenant(app_conn, tenant_b):
        theirs = make_skill(app_conn, "theirs")
        (their_user,) = make_users(app_conn, 1)
    with skilldb.tenant(app_conn, tenant_a):
        first, second = make_skill(app_conn, "first"), make_skill(app_conn, "second")
        (user,) = make_users(app_conn, 1)
        assert skilldb.record_usage_events(app_conn, [NewUsageEvent(skill_id=first.id, tool_name="t")]) == 1

    def batch(bad: NewUsageEvent, at: int = 3) -> list[NewUsageEvent]:
        good = [NewUsageEvent(skill_id=(first.id, second.id)[i % 2], tool_name="t", user_id=user) for i in range(6)]
        return [*good[:at], bad, *good[at:]]

    refused: list[tuple[list[NewUsageEvent], type[errors.InvalidInput], str]] = [
        (batch(NewUsageEvent(skill_id="no-such-skill", tool_name="t")), errors.UnknownReference, r"^events\[3\]: "),
        (batch(NewUsageEvent(skill_id=theirs.id, tool_name="t")), errors.UnknownReference, r"^events\[3\]: "),
        (
            batch(NewUsageEvent(skill_id=first.id, tool_name="t", user_id=their_user), at=0),
            errors.UnknownReference,
            r"^events\[0\]: ",
        ),
        (
            batch(NewUsageEvent(skill_id=first.id, tool_name="t", metadata=nested(40)), at=2),
            errors.InvalidInput,
            r"events\[2\]\.metadata is nested more than 32 levels",
        ),
        (batch(NewUsageEvent(skill_id=first.id, tool_name=" "), at=5), errors.InvalidInput, r"events\[5\]\.tool_name"),
    ]
    with skilldb.tenant(app_conn, tenant_a):  # caught inside the block, which then commits
        for events, error, message in refused:
            with pytest.raises(error, match=message):
                skilldb.record_usage_events(app_conn, events)
    assert metrics(admin_conn, tenant_a, first.id)[0] == 1 == truth(admin_conn, tenant_a, first.id)[0]
    assert metrics(admin_conn, tenant_a, second.id)[0] == 0 == truth(admin_conn, tenant_a, second.id)[0]
    assert metrics(admin_conn, tenant_b, theirs.id)[0] == 0
    assert count_rows(admin_conn, "usage_events", tenant_a) == 1

    def generate() -> Iterator[NewUsageEvent]:
        for i in range(7):
            yield NewUsageEvent(skill_id=second.id, tool_name="gen", metadata={"i": i})

    with skilldb.tenant(app_conn, tenant_a):
        assert skilldb.record_usage_events(app_conn, []) == 0
        assert skilldb.record_usage_events(app_conn, generate()) == 7
    assert metrics(admin_conn, tenant_a, second.id)[0] == 7 == truth(admin_conn, tenant_a, second.id)[0]


def test_recompute_skill_metrics_repairs_what_a_dba_broke(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str, tenant_b: str
) -> None:
    with skilldb.tenant(app_conn, tenant_b):
        theirs = make_skill(app_conn, "theirs")
    with skilldb.tenant(app_conn, tenant_a):
        s1, s2, s3 = (make_skill(app_conn, f"s{i}") for i in range(1, 4))
        users = make_users(app_conn, 2)
        skilldb.record_usage_events(app_conn, [NewUsageEvent(skill_id=s, tool_name="t") for s in (s1.id, s1.id, s2.id)])
        for user, rating in zip(users, (5, 4), strict=True):
            skilldb.rate_skill(app_conn, skill_id=s1.id, user_id=user, rating=rating)
        skilldb.rate_skill(app_conn, skill_id=s2.id, user_id=users[0], rating=3)
    right = {s.id: metrics(admin_conn, tenant_a, s.id) for s in (s1, s2, s3)}
    assert right == {s1.id: (2, 450, 2, 9), s2.id: (1, 300, 1, 3), s3.id: (0, None, 0, 0)}

    # the application role cannot touch the counters (column privileges) ...
    with skilldb.tenant(app_conn, tenant_a):
        for column in ("total_uses", "rating_count", "average_rating"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
                app_conn.execute(sql.SQL("UPDATE skills SET {} = 1").format(sql.Identifier(column)))
    # ... a superuser in psql can (and bypasses row-level security)
    corrupt = "UPDATE skills SET total_uses = %s, rating_count = %s, rating_sum = %s, average_rating = %s WHERE id = %s"
    admin_conn.execute(corrupt, (999, 2, 9, 450, s1.id))
    admin_conn.execute(corrupt, (1, 2, 10, 500, s2.id))
    admin_conn.execute(corrupt, (0, 1, 1, 100, s3.id))
    admin_conn.execute(corrupt, (77, 0, 0, None, theirs.id))
    with skilldb.tenant(app_conn, tenant_a):
        assert skilldb.recompute_skill_metrics(app_conn) == 3
        assert skilldb.recompute_skill_metrics(app_conn) == 0
    assert {s.id: metrics(admin_conn, tenant_a, s.id) for s in (s1, s2, s3)} == right
    assert metrics(admin_conn, tenant_b, theirs.id)[0] == 77  # another tenant's skill is not touched

    admin_conn.execute(corrupt, (5, 2, 9, 450, s1.id))
    with skilldb.tenant(app_conn, tenant_a):
        assert skilldb.recompute_skill_metrics(app_conn, s2.id) == 0
        assert skilldb.recompute_skill_metrics(app_conn, "no-such-skill") == 0
        assert skilldb.recompute_skill_metrics(app_conn, theirs.id) == 0
        assert skilldb.recompute_skill_metrics(app_conn, s1.id) == 1
        # uses added without an event are dropped by a rebuild, as documented
        assert skilldb.increment_skill_uses(app_conn, s1.id) == 3
        assert skilldb.recompute_skill_metrics(app_conn, s1.id) == 1
    assert metrics(admin_conn, tenant_a, s1.id) == right[s1.id]
    assert metrics(admin_conn, tenant_b, theirs.id)[0] == 77


def test_format_rating_rounds_half_up_on_the_exact_decimal() -> None:
    cases = {450: "4.5", 100: "1.0", 500: "5.0", 425: "4.3", 435: "4.4", 449: "4.5", 444: "4.4", 445: "4.5"}
    assert {stored: skilldb.format_rating(stored) for stored in cases} == cases
    assert skilldb.format_rating(None) is None
    for out_of_range in (99, 501, 0, -450):
        with pytest.raises(errors.InvalidInput, match="from 100 to 500"):
            skilldb.format_rating(out_of_range)
    for wrong_type in (True, 4.5, "450", Decimal(450)):
        with pytest.raises(errors.InvalidType, match="must be an int or None"):
            skilldb.format_rating(wrong_type)  # type: ignore[arg-type]


# -- the database's own guarantees: psql writers and foreign tenants -------------------------


def test_the_database_keeps_the_metrics_for_psql_writers_too(
    app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    """A DBA in psql, binding the tenant and writing raw SQL, moves the metrics as the package does."""
    with skilldb.tenant(app_conn, tenant_a):
        first, second = make_skill(app_conn, "first"), make_skill(app_conn, "second")
        u0, u1, u2 = make_users(app_conn, 3)

    def dba(query: str, params: tuple[Any, ...] = ()) -> None:
        with admin_conn.transaction():
            admin_conn.execute(skilldb.tenancy.bind_tenant_sql(tenant_a))
            admin_conn.execute(query, params)

    def both() -> tuple[Metrics, Metrics]:
        now = (metrics(admin_conn, tenant_a, first.id), metrics(admin_conn, tenant_a, second.id))
        assert now == (truth(admin_conn, tenant_a, first.id), truth(admin_conn, tenant_a, second.id))
        return now

    dba(
        "INSERT INTO ratings (skill_id, user_id, rating) VALUES (%s, %s, 5), (%s, %s, 4), (%s, %s, 4)",
        (first.id, u0, first.id, u1, first.id, u2),
    )
    assert both() == ((0, 433, 3, 13), (0, None, 0, 0))
    dba("UPDATE ratings SET rating = 1 WHERE skill_id = %s AND user_id = %s", (first.id, u0))
    assert both() == ((0, 300, 3, 9), (0, None, 0, 0))
    dba("UPDATE ratings SET comment = 'no change of rating'")
    assert both() == ((0, 300, 3, 9), (0, None, 0, 0))
    dba("DELETE FROM ratings WHERE user_id = %s", (u1,))
    assert both() == ((0, 250, 2, 5), (0, None, 0, 0))
    dba("UPDATE ratings SET skill_id = %s WHERE user_id = %s", (second.id, u2))  # moved to another skill
    assert both() == ((0, 100, 1, 1), (0, 400, 1, 4))
    dba("DELETE FROM users WHERE id = %s", (u0,))  # its ratings go by ON DELETE CASCADE
    assert both() == ((0, None, 0, 0), (0, 400, 1, 4))
    dba(
        "INSERT INTO usage_events (skill_id, user_id, tool_name) VALUES (%s, %s, 'psql'), (%s, NULL, 'psql'),"
        " (%s, NULL, 'psql'), (NULL, NULL, 'psql')",
        (first.id, u2, first.id, second.id),
    )
    assert both() == ((2, None, 0, 0), (1, 400, 1, 4))
    dba("INSERT INTO usage_events (skill_id, tool_name) SELECT %s, 'bulk' FROM generate_series(1, 1000)", (second.id,))
    assert both() == ((2, None, 0, 0), (1001, 400, 1, 4))
    with skilldb.tenant(app_conn, tenant_a):
        stored = [skilldb.get_skill(app_conn, s.id) for s in (first, second)]
    assert [(s.total_uses, s.average_rating) for s in stored if s is not None] == [(2, None), (1001, 400)]
    dba("DELETE FROM skills WHERE id = %s", (second.id,))  # its rating goes by cascade, its events stay
    assert metrics(admin_conn, tenant_a, first.id) == (2, None, 0, 0)
    assert (count_rows(admin_conn, "ratings", tenant_a), count_rows(admin_conn, "usage_events", tenant_a)) == (0, 1004)


DATABASE_FUNCTIONS = [
    "SELECT increment_skill_uses(%s, %s)",
    "SELECT * FROM update_skill_rating(%s, %s)",
    "SELECT recompute_skill_metrics(%s, %s)",
]


def test_the_database_functions_refuse_another_tenant(
    db: Database, app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str, tenant_b: str
) -> None:
    """They run as their owner, so they check the tenant they are given is the bound one."""
    with skilldb.tenant(app_conn, tenant_b):
        theirs = make_skill(app_conn, "theirs")
        (user,) = make_users(app_conn, 1)
        skilldb.rate_skill(app_conn, skill_id=theirs.id, user_id=user, rating=4)
        skilldb.record_usage_event(app_conn, skill_id=theirs.id, tool_name="t")
    admin_conn.execute("UPDATE skills SET total_uses = 5 WHERE id = %s", (theirs.id,))  # a recompute would fix it
    before = metrics(admin_conn, tenant_b, theirs.id)
    assert before == (5, 400, 1, 4)
    with skilldb.tenant(app_conn, tenant_a):
        for call in DATABASE_FUNCTIONS:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="is not the tenant bound") as info:
                with app_conn.transaction():
                    app_conn.execute(call, (tenant_b, theirs.id))
            assert info.value.sqlstate == "42501"
        # naming the bound tenant, B's skill is simply not there
        assert app_conn.execute(DATABASE_FUNCTIONS[0], (tenant_a, theirs.id)).fetchone() == (None,)
        assert app_conn.execute(DATABASE_FUNCTIONS[1], (tenant_a, theirs.id)).fetchone() == (False, None)
        assert app_conn.execute(DATABASE_FUNCTIONS[2], (tenant_a, theirs.id)).fetchone() == (0,)
    for call in DATABASE_FUNCTIONS:  # with no tenant bound at all
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="is not the tenant bound"):
            app_conn.execute(call, (tenant_b, theirs.id))
        app_conn.rollback()
    assert metrics(admin_conn, tenant_b, theirs.id) == before

    # a login that is not a member of skilldb_app may not call them at all
    outsider = f"metrics_outsider_{uuid.uuid4().hex[:8]}"
    admin_conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'outsider'").format(sql.Identifier(outsider)))
    try:
        url = make_conninfo(db.app_url, user=outsider, password="outsider")
        with psycopg.connect(url, autocommit=True) as conn:
            for call in DATABASE_FUNCTIONS:
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    with conn.transaction():
                        conn.execute(skilldb.tenancy.bind_tenant_sql(tenant_b))
                        conn.execute(call, (tenant_b, theirs.id))
    finally:
        admin_conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(outsider)))
    assert metrics(admin_conn, tenant_b, theirs.id) == before


# -- async -------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_async_twins_keep_the_same_metrics(
    aapp_conn: psycopg.AsyncConnection[Any], admin_conn: psycopg.Connection[Any], tenant_a: str
) -> None:
    async with aio.tenant(aapp_conn, tenant_a):
        skill = await aio.create_skill(aapp_conn, author_id=None, name="Async", slug="async")
        u0 = await aio.create_user(aapp_conn, email="u0@example.com")
        u1 = await aio.create_user(aapp_conn, email="u1@example.com")
        assert await aio.update_skill_rating(aapp_conn, skill.id) is None
        first = await aio.rate_skill(aapp_conn, skill_id=skill.id, user_id=u0.id, rating=5)
        replaced = await aio.rate_skill(aapp_conn, skill_id=skill.id, user_id=u0.id, rating=3, comment="changed")
        assert (replaced.id, replaced.created_at, replaced.rating) == (first.id, first.created_at, 3)
        await aio.rate_skill(aapp_conn, skill_id=skill.id, user_id=u1.id, rating=4)
        assert await aio.update_skill_rating(aapp_conn, skill.id) == 350
        events = [NewUsageEvent(skill_id=skill.id, tool_name="async", user_id=u1.id) for _ in range(3)]
        assert await aio.record_usage_events(aapp_conn, events) == 3
        event = await aio.record_usage_event(aapp_conn, skill_id=skill.id, tool_name="one")
        assert event.skill_id == skill.id
        assert await aio.increment_skill_uses(aapp_conn, skill.id) == 5
        with pytest.raises(errors.UnknownReference, match=r"events\[1\]"):
            await aio.record_usage_events(aapp_conn, [events[0], NewUsageEvent(skill_id="nope", tool_name="t")])
        with pytest.raises(errors.NotFound):
            await aio.increment_skill_uses(aapp_conn, "nope")
        await aio.delete_rating(aapp_conn, first.id)
        with pytest.raises(errors.NotFound):
            await aio.delete_rating(aapp_conn, first.id)
    assert metrics(admin_conn, tenant_a, skill.id) == (5, 400, 1, 4)
    async with aio.tenant(aapp_conn, tenant_a):
        assert await aio.recompute_skill_metrics(aapp_conn, skill.id) == 1  # drops the eventless use
        assert await aio.recompute_skill_metrics(aapp_conn) == 0
    assert metrics(admin_conn, tenant_a, skill.id) == (4, 400, 1, 4) == truth(admin_conn, tenant_a, skill.id)
