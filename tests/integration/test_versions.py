"""Immutable, numbered skill versions and the version pointers: API, plain SQL and concurrency."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import psycopg
import pytest

import skilldb
from skilldb import errors


@pytest.fixture
def author(app_conn: psycopg.Connection[Any], tenant_a: str) -> skilldb.User:
    with skilldb.tenant(app_conn, tenant_a):
        return skilldb.create_user(app_conn, email="author@example.com", name="Author")


@pytest.fixture
def skill(app_conn: psycopg.Connection[Any], tenant_a: str, author: skilldb.User) -> skilldb.Skill:
    with skilldb.tenant(app_conn, tenant_a):
        return skilldb.create_skill(
            app_conn, author_id=author.id, name="Review", slug="review", description="Finds bugs"
        )


def new_version(conn: psycopg.Connection[Any], skill_id: str, author: skilldb.User, n: int = 0, **kw: Any):
    return skilldb.create_skill_version(
        conn,
        skill_id,
        content=f"content {n}".encode(),
        content_url=f"skills/{skill_id}/{n}",
        content_type="text/markdown",
        created_by=author.id,
        **kw,
    )


def scalar(conn: psycopg.Connection[Any], query: str, *args: Any) -> Any:
    row = conn.execute(query, args).fetchone()
    return row[0] if row else None


def test_versions_are_numbered_hashed_and_snapshot_the_skill(
    app_conn: psycopg.Connection[Any], tenant_a: str, author: skilldb.User, skill: skilldb.Skill
) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        v1 = new_version(app_conn, skill.id, author, 1, metadata={"format": "md", "size": 9})
        v2 = new_version(app_conn, skill.id, author, 2, name="Review v2", description="Renamed")
        v3 = new_version(app_conn, skill.id, author, 3)
        assert skilldb.get_skill(app_conn, skill.id).latest_version == 3  # type: ignore[union-attr]
        assert skilldb.list_skill_versions(app_conn, skill.id) == [v3, v2, v1]
        assert skilldb.get_skill_version(app_conn, v2.id) == v2
    assert [v.version for v in (v1, v2, v3)] == [1, 2, 3]
    assert v1.content_hash == hashlib.sha256(b"content 1").hexdigest()
    assert (v1.name, v1.description, v1.metadata) == ("Review", "Finds bugs", {"format": "md", "size": 9})
    assert (v2.name, v2.description, v3.metadata) == ("Review v2", "Renamed", {})
    assert skilldb.verify_content(v1, b"content 1")
    assert not skilldb.verify_content(v1, b"content 2")
    assert (
        skilldb.NewSkillVersion(
            content=b"content 1", content_url="x", content_type="text/plain", created_by="u"
        ).content_hash
        == v1.content_hash
    )


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"content": "not bytes"}, errors.InvalidInput),
        ({"content_url": " "}, errors.InvalidInput),
        ({"content_type": "markdown"}, errors.InvalidInput),
        ({"content_type": "Text/Markdown"}, errors.InvalidInput),
        ({"name": ""}, errors.InvalidInput),
        ({"metadata": ["not", "an", "object"]}, errors.InvalidInput),
        ({"metadata": {"when": object()}}, errors.InvalidInput),
        ({"created_by": "nobody"}, errors.UnknownReference),
        ({"skill_id": "no-such-skill"}, errors.NotFound),
    ],
)
def test_bad_version_input_raises_and_writes_nothing(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    author: skilldb.User,
    skill: skilldb.Skill,
    change: dict[str, Any],
    error: type[Exception],
) -> None:
    kwargs: dict[str, Any] = {
        "content": b"x",
        "content_url": "k",
        "content_type": "application/json",
        "created_by": author.id,
        "skill_id": skill.id,
        **change,
    }
    with pytest.raises(error), skilldb.tenant(app_conn, tenant_a):
        skilldb.create_skill_version(app_conn, kwargs.pop("skill_id"), **kwargs)
    assert scalar(admin_conn, "SELECT count(*) FROM skill_versions") == 0
    assert scalar(admin_conn, "SELECT latest_version FROM skills WHERE id = %s", skill.id) == 0


def test_concurrent_versions_of_one_skill_get_consecutive_numbers(
    db: Any, tenant_a: str, author: skilldb.User, skill: skilldb.Skill
) -> None:
    threads, per_thread = 8, 5
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []
    made: list[int] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        try:
            with psycopg.connect(db.app_url) as conn:
                barrier.wait()
                for i in range(per_thread):
                    with skilldb.tenant(conn, tenant_a):
                        version = new_version(conn, skill.id, author, worker * 100 + i)
                    with lock:
                        made.append(version.version)
        except BaseException as exc:
            failures.append(exc)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert failures == []
    assert sorted(made) == list(range(1, threads * per_thread + 1))
    with psycopg.connect(db.admin_url) as conn:
        stored = [r[0] for r in conn.execute("SELECT version FROM skill_versions ORDER BY version")]
        assert stored == list(range(1, threads * per_thread + 1))
        assert scalar(conn, "SELECT latest_version FROM skills WHERE id = %s", skill.id) == threads * per_thread


def test_a_rolled_back_version_leaves_no_gap(
    app_conn: psycopg.Connection[Any], tenant_a: str, author: skilldb.User, skill: skilldb.Skill
) -> None:
    with pytest.raises(RuntimeError), skilldb.tenant(app_conn, tenant_a):
        new_version(app_conn, skill.id, author, 1)
        raise RuntimeError("abandon")
    with skilldb.tenant(app_conn, tenant_a):
        assert new_version(app_conn, skill.id, author, 2).version == 1


class TestImmutability:
    """As a DBA would try it in psql: the superuser connection, plain SQL."""

    @pytest.fixture
    def version(
        self, app_conn: psycopg.Connection[Any], tenant_a: str, author: skilldb.User, skill: skilldb.Skill
    ) -> skilldb.SkillVersion:
        with skilldb.tenant(app_conn, tenant_a):
            v = new_version(app_conn, skill.id, author, 1)
            skilldb.publish_version(app_conn, skill.id, v.id)
            return v

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE skill_versions SET content_url = 'elsewhere' WHERE id = %s",
            "UPDATE skill_versions SET version = version WHERE id = %s",
            "DELETE FROM skill_versions WHERE id = %s",
        ],
    )
    def test_update_and_delete_are_rejected(
        self, admin_conn: psycopg.Connection[Any], version: skilldb.SkillVersion, statement: str
    ) -> None:
        with pytest.raises(psycopg.Error) as info:
            admin_conn.execute(statement, (version.id,))
        assert info.value.sqlstate == "SK002"
        assert errors.translate(info.value).__class__ is errors.ImmutableRecord
        row = admin_conn.execute(
            "SELECT content_url, version FROM skill_versions WHERE id = %s", (version.id,)
        ).fetchone()
        assert row == (version.content_url, 1)

    def test_the_application_role_cannot_even_try(
        self, app_conn: psycopg.Connection[Any], tenant_a: str, version: skilldb.SkillVersion
    ) -> None:
        for statement in (
            "UPDATE skill_versions SET name = 'x' WHERE id = %s",
            "DELETE FROM skill_versions WHERE id = %s",
        ):
            with pytest.raises(errors.PermissionDenied), skilldb.tenant(app_conn, tenant_a), errors.translate_errors():
                app_conn.execute(statement, (version.id,))

    def test_deleting_the_skill_takes_its_versions(
        self,
        admin_conn: psycopg.Connection[Any],
        app_conn: psycopg.Connection[Any],
        tenant_a: str,
        version: skilldb.SkillVersion,
    ) -> None:
        with skilldb.tenant(app_conn, tenant_a):
            assert app_conn.execute("DELETE FROM skills WHERE id = %s", (version.skill_id,)).rowcount == 1
        assert scalar(admin_conn, "SELECT count(*) FROM skill_versions") == 0

    def test_deleting_the_tenant_takes_everything(
        self, admin_conn: psycopg.Connection[Any], tenant_a: str, version: skilldb.SkillVersion
    ) -> None:
        assert admin_conn.execute("DELETE FROM tenants WHERE id = %s", (tenant_a,)).rowcount == 1
        for table in ("skill_versions", "skills", "users"):
            assert scalar(admin_conn, f"SELECT count(*) FROM {table}") == 0

    def test_a_dba_cannot_choose_a_version_number_out_of_turn(
        self, admin_conn: psycopg.Connection[Any], version: skilldb.SkillVersion, author: skilldb.User
    ) -> None:
        with pytest.raises(psycopg.errors.CheckViolation, match="takes version 2 next"), admin_conn.transaction():
            admin_conn.execute(skilldb.tenancy.bind_tenant_sql(version.tenant_id))
            admin_conn.execute(
                "INSERT INTO skill_versions (tenant_id, skill_id, version, content_url, content_hash,"
                " content_type, name, created_by) VALUES (%s, %s, 7, 'k', %s, 'text/plain', 'n', %s)",
                (version.tenant_id, version.skill_id, "0" * 64, author.id),
            )


class TestPointers:
    @pytest.fixture
    def two_skills(
        self, app_conn: psycopg.Connection[Any], tenant_a: str, author: skilldb.User, skill: skilldb.Skill
    ) -> tuple[skilldb.SkillVersion, skilldb.SkillVersion]:
        with skilldb.tenant(app_conn, tenant_a):
            other = skilldb.create_skill(app_conn, author_id=None, name="Other", slug="other")
            return new_version(app_conn, skill.id, author, 1), new_version(app_conn, other.id, author, 2)

    def test_publish_and_draft_through_the_api(
        self, app_conn: psycopg.Connection[Any], tenant_a: str, skill: skilldb.Skill, two_skills: Any
    ) -> None:
        mine, _ = two_skills
        with skilldb.tenant(app_conn, tenant_a):
            published = skilldb.publish_version(app_conn, skill.id, mine.id)
            assert published.published_version_id == mine.id and published.draft_version_id is None
            drafted = skilldb.set_draft_version(app_conn, skill.id, mine.id)
            assert drafted.draft_version_id == mine.id
            cleared = skilldb.set_draft_version(app_conn, skill.id, None)
            assert cleared.draft_version_id is None and cleared.published_version_id == mine.id
            assert skilldb.get_skill(app_conn, skill.id) == cleared

    @pytest.mark.parametrize("setter", [skilldb.publish_version, skilldb.set_draft_version])
    def test_bad_pointers_are_rejected_and_change_nothing(
        self,
        app_conn: psycopg.Connection[Any],
        tenant_a: str,
        tenant_b: str,
        skill: skilldb.Skill,
        two_skills: Any,
        setter: Any,
    ) -> None:
        mine, theirs = two_skills
        with skilldb.tenant(app_conn, tenant_a):
            before = setter(app_conn, skill.id, mine.id)
        cases = [
            (skill.id, theirs.id, errors.InvalidInput, "belongs to skill"),
            (skill.id, "no-such-version", errors.NotFound, "no version"),
            ("no-such-skill", mine.id, errors.NotFound, "no skill"),
        ]
        for skill_id, version_id, error, message in cases:
            with pytest.raises(error, match=message), skilldb.tenant(app_conn, tenant_a):
                setter(app_conn, skill_id, version_id)
        # another tenant sees neither the skill nor the version
        with pytest.raises(errors.NotFound), skilldb.tenant(app_conn, tenant_b):
            setter(app_conn, skill.id, mine.id)
        with skilldb.tenant(app_conn, tenant_a):
            assert skilldb.get_skill(app_conn, skill.id) == before

    @pytest.mark.parametrize("column", ["published_version_id", "draft_version_id"])
    def test_plain_sql_cannot_point_at_another_skills_version(
        self, admin_conn: psycopg.Connection[Any], skill: skilldb.Skill, two_skills: Any, column: str
    ) -> None:
        _, theirs = two_skills
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            admin_conn.execute(f"UPDATE skills SET {column} = %s WHERE id = %s", (theirs.id, skill.id))
        assert scalar(admin_conn, f"SELECT {column} FROM skills WHERE id = %s", skill.id) is None
