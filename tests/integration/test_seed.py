"""`skilldb.seed`: the demo data set, loaded as the application login, idempotent and consistent."""

from __future__ import annotations

import threading
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql

import skilldb
from skilldb import errors
from skilldb.seed import TENANTS, SeedReport, SeedSkill, seed
from tests.catalog import tenant_tables
from tests.plugin import Database

SKILLS = [s for t in TENANTS for s in t.skills]
#: What the first run on an empty database creates, from the declaration.
FULL_REPORT = SeedReport(
    tenants=len(TENANTS),
    users=sum(len(t.users) for t in TENANTS),
    skills=len(SKILLS),
    skill_versions=sum(len(s.changes) for s in SKILLS),
    published=sum(s.published is not None for s in SKILLS),
    drafts=sum(s.draft is not None for s in SKILLS),
    ratings=sum(len(s.ratings) for s in SKILLS),
    usage_events=sum(u.count for s in SKILLS for u in s.uses),
)


def snapshot(admin: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every tenant table, sorted, with its ``xmin``: a row rewritten with the
    same values (an upsert, a no-op UPDATE) gets a new ``xmin``, so it shows here too."""
    result = {}
    for table in tenant_tables(admin):
        query = sql.SQL("SELECT xmin::text AS xmin, t.* FROM {} AS t").format(sql.Identifier(table))
        result[table] = sorted(admin.execute(query).fetchall(), key=repr)
    return result


def stored_average(stars: list[int]) -> int | None:
    """round(avg(stars) * 100), half away from zero, as PostgreSQL computes it."""
    if not stars:
        return None
    return int((Decimal(sum(stars) * 100) / len(stars)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_the_first_run_creates_the_declared_data_set(app_conn: psycopg.Connection[Any]) -> None:
    report = seed(app_conn)
    assert report == FULL_REPORT and report.total > 0
    assert str(report).startswith("2 tenants, 8 users, 15 skills, ")


def test_a_second_run_changes_nothing(db: Database, admin_conn: psycopg.Connection[Any]) -> None:
    with psycopg.connect(db.app_url) as conn:
        assert seed(conn) == FULL_REPORT
    before = snapshot(admin_conn)
    assert {t for t, rows in before.items() if rows} >= {
        "tenants",
        "users",
        "skills",
        "skill_versions",
        "ratings",
        "usage_events",
    }
    with psycopg.connect(db.app_url) as conn:  # a new session, as a second `skilldb seed` would be
        again = seed(conn)
    assert again == SeedReport() and again.total == 0 and str(again) == "nothing"
    assert snapshot(admin_conn) == before  # same rows, ids, metrics, and not one row rewritten


def test_every_metric_matches_the_raw_tables(app_conn: psycopg.Connection[Any], admin_conn: Any) -> None:
    seed(app_conn)
    rows = admin_conn.execute(
        """
        SELECT s.slug, s.total_uses, s.average_rating, s.rating_count, s.rating_sum,
            (SELECT count(*) FROM usage_events e WHERE e.tenant_id = s.tenant_id AND e.skill_id = s.id),
            (SELECT round(avg(r.rating) * 100)::integer FROM ratings r
             WHERE r.tenant_id = s.tenant_id AND r.skill_id = s.id),
            (SELECT count(*) FROM ratings r WHERE r.tenant_id = s.tenant_id AND r.skill_id = s.id),
            (SELECT coalesce(sum(r.rating), 0) FROM ratings r WHERE r.tenant_id = s.tenant_id AND r.skill_id = s.id)
        FROM skills s ORDER BY s.slug
        """
    ).fetchall()
    assert len(rows) == len(SKILLS)
    declared = {s.slug: s for s in SKILLS}
    for slug, total_uses, average, count, total, events, raw_average, raw_count, raw_sum in rows:
        assert (total_uses, average, count, total) == (events, raw_average, raw_count, raw_sum), slug
        spec = declared[slug]
        assert total_uses == sum(u.count for u in spec.uses), slug
        assert average == stored_average([r.stars for r in spec.ratings]), slug
    for t in TENANTS:
        with skilldb.tenant(app_conn, t.id):
            assert skilldb.recompute_skill_metrics(app_conn) == 0  # nothing to repair


def test_the_data_set_has_the_promised_shape(app_conn: psycopg.Connection[Any], admin_conn: Any) -> None:
    seed(app_conn)

    def one(query: str) -> Any:
        row = admin_conn.execute(query).fetchone()
        return row[0] if row else None

    assert one("SELECT count(*) FROM tenants") == 2
    assert 6 <= one("SELECT count(*) FROM users") <= 10
    assert 12 <= one("SELECT count(*) FROM skills") <= 18
    per_skill = admin_conn.execute(
        """
        SELECT s.slug, count(v.id), array_agg(v.version ORDER BY v.version), s.latest_version
        FROM skills s LEFT JOIN skill_versions v ON v.tenant_id = s.tenant_id AND v.skill_id = s.id
        GROUP BY s.tenant_id, s.id
        """
    ).fetchall()
    for slug, n, numbers, latest in per_skill:
        assert 1 <= n <= 4 and numbers == list(range(1, n + 1)) and latest == n, slug
    skills = one("SELECT count(*) FROM skills")
    published = one("SELECT count(*) FROM skills WHERE published_version_id IS NOT NULL")
    assert published > skills / 2 and published < skills  # most, not all
    assert 0 < one("SELECT count(*) FROM skills WHERE draft_version_id IS NOT NULL") < skills
    assert one("SELECT count(*) FROM ratings WHERE comment IS NOT NULL AND hours_saved_estimate > 0") >= 10
    assert one("SELECT count(*) FROM ratings WHERE comment IS NULL") >= 1
    assert one("SELECT count(DISTINCT skill_id) FROM usage_events") >= 10
    assert one("SELECT count(*) FROM skills WHERE average_rating IS NULL") >= 1  # some are not rated yet
    assert one("SELECT count(DISTINCT category) FROM skills") >= 5


def test_versions_and_pointers_are_the_declared_ones(app_conn: psycopg.Connection[Any]) -> None:
    seed(app_conn)
    for t in TENANTS:
        with skilldb.tenant(app_conn, t.id):
            for spec in t.skills:
                found = skilldb.get_skill_by_slug(app_conn, spec.slug)
                assert found is not None
                full = skilldb.get_skill_with_relations(app_conn, found.id)
                assert full is not None
                assert (full.name, full.description, full.category) == (spec.name, spec.description, spec.category)
                assert (full.author.email if full.author else None) == spec.author
                assert [v.version for v in reversed(full.versions)] == list(range(1, len(spec.changes) + 1))
                for v in full.versions:
                    assert skilldb.verify_content(v, spec.content(v.version)), (spec.slug, v.version)
                    assert v.metadata["changelog"] == spec.changes[v.version - 1]
                assert (full.published_version.version if full.published_version else None) == spec.published
                assert (full.draft_version.version if full.draft_version else None) == spec.draft
                assert sorted((r.user.email if r.user else "", r.rating, r.comment) for r in full.ratings) == sorted(
                    (r.user, r.stars, r.comment) for r in spec.ratings
                )
                assert full.usage.total_uses == sum(u.count for u in spec.uses)


def test_each_tenant_sees_only_its_own_rows(app_conn: psycopg.Connection[Any]) -> None:
    seed(app_conn)
    user_ids: dict[str, set[str]] = {}
    for t in TENANTS:
        others = [s for o in TENANTS if o is not t for s in o.skills]
        with skilldb.tenant(app_conn, t.id):
            assert skilldb.get_tenant(app_conn) is not None
            assert sorted(s.slug for s in skilldb.list_skills(app_conn)) == sorted(s.slug for s in t.skills)
            for other in others:
                assert skilldb.get_skill_by_slug(app_conn, other.slug) is None
            for u in t.users:
                user = skilldb.get_user_by_email(app_conn, u.email)
                assert user is not None and user.tenant_id == t.id
                user_ids.setdefault(u.email, set()).add(user.id)
    shared = [email for email, ids in user_ids.items() if len(ids) > 1]
    assert shared, "the data set has a user in both tenants"  # one email, one row per tenant
    assert app_conn.execute("SELECT count(*) FROM skills").fetchone() == (0,)  # no tenant bound
    app_conn.rollback()


def test_it_puts_back_what_was_removed_or_changed(db: Database, admin_conn: psycopg.Connection[Any]) -> None:
    state = """
        SELECT s.slug, s.total_uses, s.average_rating, s.rating_count, s.rating_sum, s.draft_version_id,
            (SELECT array_agg((r.user_id, r.rating, r.comment, r.hours_saved_estimate)::text ORDER BY r.user_id)
             FROM ratings r WHERE r.tenant_id = s.tenant_id AND r.skill_id = s.id)
        FROM skills s ORDER BY s.tenant_id, s.slug"""
    northwind = TENANTS[0]
    spec: SeedSkill = next(s for s in northwind.skills if len(s.ratings) >= 2 and s.draft is not None)
    with psycopg.connect(db.app_url) as conn:
        seed(conn)
        before = admin_conn.execute(state).fetchall()
        with skilldb.tenant(conn, northwind.id):
            skill = skilldb.get_skill_by_slug(conn, spec.slug)
            assert skill is not None
            full = skilldb.get_skill_with_relations(conn, skill.id)
            assert full is not None
            first, second = full.ratings[:2]
            skilldb.delete_rating(conn, first.id)
            skilldb.rate_skill(conn, skill_id=skill.id, user_id=second.user_id, rating=1, comment="changed")
            skilldb.set_draft_version(conn, skill.id, None)
        assert admin_conn.execute(state).fetchall() != before
        assert seed(conn) == SeedReport(ratings=1, ratings_replaced=1, drafts=1)
        assert admin_conn.execute(state).fetchall() == before
        assert seed(conn) == SeedReport()


def test_it_needs_an_idle_connection(app_conn: psycopg.Connection[Any], admin_conn: Any) -> None:
    app_conn.execute("SELECT 1")  # a transaction is open
    with pytest.raises(errors.TransactionInProgress):
        seed(app_conn)
    app_conn.rollback()
    assert admin_conn.execute("SELECT count(*) FROM tenants").fetchone() == (0,)


def test_concurrent_runs_load_the_data_set_once(db: Database, admin_conn: psycopg.Connection[Any]) -> None:
    reports: list[SeedReport] = []
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            with psycopg.connect(db.app_url) as conn:
                start.wait()
                reports.append(seed(conn))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert reports[0] + reports[1] == FULL_REPORT
    counts = {t: len(rows) for t, rows in snapshot(admin_conn).items()}
    assert counts["tenants"] == FULL_REPORT.tenants and counts["skills"] == FULL_REPORT.skills
    assert counts["usage_events"] == FULL_REPORT.usage_events and counts["ratings"] == FULL_REPORT.ratings
