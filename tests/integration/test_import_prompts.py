"""``skilldb.import_prompts``: a public prompt library, with its edit history, as skills and versions.

On a small history and CSV the tests write themselves (duplicate rows, a rename, titles that
differ only in case, non-ASCII titles and texts, control characters, a JSON prompt, a removed
prompt, bad rows), every rule of the import; then on the real corpus (the published
f/awesome-chatgpt-prompts library and its rebuilt history, beside the repository in
``shared/data/prompts``), the counts its README states. Imports run as the application login.
"""

from __future__ import annotations

import asyncio
import collections
import csv
import gzip
import hashlib
import io
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

import skilldb
from skilldb import errors, prompts
from skilldb.prompts import PromptImport, import_prompts
from tests.catalog import tenant_tables
from tests.plugin import Database, new_tenant

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "prompts"
HISTORY = CORPUS / "prompt_revisions.jsonl.gz"
LIBRARY = CORPUS / "prompts.csv"

# --- the fixture: a small history and a newer CSV ---------------------------------------

C1 = ("c1" * 20, "2022-12-14T03:44:50+03:00")
C2 = ("c2" * 20, "2023-01-02T10:00:00+00:00")
C3 = ("c3" * 20, "2023-05-06T07:08:09-04:00")
C4 = ("c4" * 20, "2024-02-29T23:59:59+00:00")
C5 = ("c5" * 20, "2025-12-31T12:00:00+01:00")

TERMINAL = "I want you to act as a linux terminal."
COACHING = "Coach my career."
CAFE = "Décris un café.\u2028Avec style, sans \u00e9mojis."
JSON_PROMPT = '{"role": "builder", "steps": [1, 2], "note": "caf\\u00e9"}'
BUNDLE = "\x1fFILE:a.md\x1e# A\n\x1fFILE:b.md\x1e# B\n"
EMAIL_CONTRIBUTOR = "someone@example.com"
PSEUDONYM = "contributor-" + hashlib.sha256(EMAIL_CONTRIBUTOR.encode()).hexdigest()[:10]


def revision(
    act: str,
    n: int,
    prompt: str,
    commit: tuple[str, str],
    *,
    kind: str | None = None,
    for_devs: str | None = None,
    contributor: str | None = None,
    removed: bool = False,
) -> dict[str, Any]:
    """One line of the revisions JSON Lines, as the corpus writes them."""
    return {
        "act": act,
        "revision": n,
        "prompt": prompt,
        "type": kind,
        "for_devs": for_devs,
        "contributor": contributor,
        "commit": commit[0],
        "committed_at": commit[1],
        "author_name": None,
        "removed_later": removed,
    }


LONG_TITLE = "T" * 201
#: The history, line by line (1-based line = index + 1); bytes lines are written as they are.
HISTORY_LINES: list[dict[str, Any] | bytes] = [
    revision("Linux Terminal", 1, TERMINAL, C1),  # 1
    revision("Life Coach", 1, "Be my life coach.", C1),  # 2
    revision("Act as Career Coach", 1, COACHING, C1, removed=True),  # 3: renamed in 7, so removed
    revision("Café Déjà Vu", 1, CAFE, C2, kind="TEXT", for_devs="FALSE", contributor="alice,bob"),  # 4
    revision("Linux Terminal", 2, TERMINAL + "\n", C2, kind="TEXT", for_devs="TRUE", contributor="alice"),  # 5
    revision("   ", 1, "no title", C2),  # 6: bad, no title
    revision("Career Coach", 1, COACHING, C3, kind="TEXT", for_devs="FALSE", contributor="Bob"),  # 7
    revision("Life coach", 1, "Be my life coach!", C3, contributor=EMAIL_CONTRIBUTOR),  # 8
    revision("JSON Builder", 1, JSON_PROMPT, C3, kind="STRUCTURED", for_devs="TRUE", contributor="carol"),  # 9
    revision("Bundle", 1, BUNDLE, C4, kind="TEXT", for_devs="FALSE", contributor="dave"),  # 10
    revision(LONG_TITLE, 1, "too long a title", C4),  # 11: bad, title over 200 characters
    b'{"act": "Broken", "revision": 1, "prompt": "caf\xe9", "committed_at": "2024-02-29T23:59:59+00:00"}',  # 12
    revision("Linux Terminal", 3, TERMINAL, C4, kind="TEXT", for_devs="TRUE", contributor="alice"),  # 13
    revision("小红书", 1, "写一篇小红书笔记。", C5, kind="IMAGE", for_devs="FALSE"),  # 14
    revision("Life Coach 2", 1, "A second life coach.", C5),  # 15
    revision("Prompt", 1, "A prompt called Prompt.", C5, kind="TEXT", contributor="alice,dave"),  # 16
    revision("Bundle", 1, "a second row for Bundle's revision 1", C5),  # 17: duplicate, ignored
]
BAD_LINES = [6, 11, 12]
DUPLICATE_LINES = [17]

#: title -> (slug, category, author's user name, texts of its versions in order, published)
EXPECTED: dict[str, tuple[str, str | None, str | None, list[str], bool]] = {
    "Linux Terminal": ("linux-terminal", "text-for-devs", "alice", [TERMINAL, TERMINAL + "\n", TERMINAL], True),
    "Life Coach": ("life-coach", None, None, ["Be my life coach."], True),
    "Act as Career Coach": ("act-as-career-coach", None, None, [COACHING], False),
    "Café Déjà Vu": ("cafe-deja-vu", "text", "alice", [CAFE], True),
    "Career Coach": ("career-coach", "text", "Bob", [COACHING], True),
    # life-coach-2 is the base of "Life Coach 2", kept for it although it comes later
    "Life coach": ("life-coach-3", None, PSEUDONYM, ["Be my life coach!"], True),
    "JSON Builder": ("json-builder", "structured-for-devs", "carol", [JSON_PROMPT], True),
    "Bundle": ("bundle", "text", "dave", [BUNDLE], True),
    "小红书": ("prompt", "image", None, ["写一篇小红书笔记。"], True),
    "Life Coach 2": ("life-coach-2", None, None, ["A second life coach."], True),
    "Prompt": ("prompt-2", "text", "alice", ["A prompt called Prompt."], True),
}
#: The users the history makes: each first listed contributor, and one for prompts naming none.
USERS = {
    "alice@prompts.invalid": "alice",
    "bob@prompts.invalid": "Bob",
    f"{PSEUDONYM}@prompts.invalid": PSEUDONYM,
    "carol@prompts.invalid": "carol",
    "dave@prompts.invalid": "dave",
    prompts.UNATTRIBUTED[0]: prompts.UNATTRIBUTED[1],
}


def write_history(path: Path, lines: list[dict[str, Any] | bytes] = HISTORY_LINES, *, gz: bool = False) -> Path:
    data = b"\n".join(line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines) + b"\n"
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_csv(path: Path, rows: list[tuple[str, ...]]) -> Path:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("act", "prompt", "for_devs", "type", "contributor"))
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return path


#: The library some commits later: Life Coach reworded (with surrounding spaces in its title
#: cell), Git Helper new (and a duplicate row of it); the rest as the history ends.
NEWER_CSV = [
    ("Linux Terminal", TERMINAL, "TRUE", "TEXT", "alice"),
    (" Life Coach ", "Be my life coach, please.", "FALSE", "TEXT", "erin"),
    ("Café Déjà Vu", CAFE, "FALSE", "TEXT", "alice,bob"),
    ("Career Coach", COACHING, "FALSE", "TEXT", "Bob"),
    ("Life coach", "Be my life coach!", "FALSE", "TEXT", PSEUDONYM),
    ("Git Helper", "Help me with git.", "TRUE", "TEXT", "frank"),
    ("JSON Builder", JSON_PROMPT, "TRUE", "STRUCTURED", "carol"),
    ("Bundle", BUNDLE, "FALSE", "TEXT", "dave"),
    ("Git Helper", "A duplicate row.", "TRUE", "TEXT", "frank"),
    ("小红书", "写一篇小红书笔记。", "FALSE", "IMAGE", ""),
    ("Life Coach 2", "A second life coach.", "FALSE", "TEXT", ""),
    ("Prompt", "A prompt called Prompt.", "FALSE", "TEXT", "alice,dave"),
]


# --- helpers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    """What the tenant holds after an import, read back as the superuser."""

    skills: dict[str, dict[str, Any]]  # by name
    versions: dict[str, list[dict[str, Any]]]  # by skill name, in version order
    users: dict[str, dict[str, Any]]  # by id


def rows(admin: psycopg.Connection[Any], query: str, *args: Any) -> list[dict[str, Any]]:
    with admin.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(query, args).fetchall()


def read_back(admin: psycopg.Connection[Any], tenant_id: str) -> Imported:
    skills = {s["name"]: s for s in rows(admin, "SELECT * FROM skills WHERE tenant_id = %s", tenant_id)}
    by_id = {s["id"]: s["name"] for s in skills.values()}
    versions: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for v in rows(admin, "SELECT * FROM skill_versions WHERE tenant_id = %s ORDER BY skill_id, version", tenant_id):
        versions[by_id[v["skill_id"]]].append(v)
    users = {u["id"]: u for u in rows(admin, "SELECT * FROM users WHERE tenant_id = %s", tenant_id)}
    return Imported(skills, dict(versions), users)


def snapshot(admin: psycopg.Connection[Any], tenant_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tenant in every tenant table, with its ``xmin`` (a rewrite shows)."""
    result = {}
    for table in tenant_tables(admin):
        key = "id" if table == "tenants" else "tenant_id"
        query = sql.SQL("SELECT xmin::text AS xmin, t.* FROM {} AS t WHERE {} = %s").format(
            sql.Identifier(table), sql.Identifier(key)
        )
        result[table] = sorted(admin.execute(query, (tenant_id,)).fetchall(), key=repr)
    return result


def run_import(conn: psycopg.Connection[Any], tenant_id: str, source: Path, **kwargs: Any) -> PromptImport:
    with skilldb.tenant(conn, tenant_id):
        return import_prompts(conn, source, **kwargs)


def stored_files(content_dir: Path) -> set[str]:
    return {p.relative_to(content_dir).as_posix() for p in content_dir.rglob("*") if p.is_file()}


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return write_history(tmp_path / "revisions.jsonl")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "content"


# --- the rules, on the fixture ----------------------------------------------------------


def test_a_history_becomes_skills_versions_and_users_by_every_rule(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    history: Path,
    store: Path,
) -> None:
    report = run_import(app_conn, tenant_a, history, content_dir=store, history=True)

    assert [s.line for s in report.skipped] == BAD_LINES
    reasons = [s.reason for s in report.skipped]
    assert reasons[0] == "no title"
    assert "at most 200 characters, got 201" in reasons[1]
    assert reasons[2].startswith("invalid UTF-8")
    assert list(report.duplicates) == DUPLICATE_LINES
    assert (report.format, report.rows, report.revisions) == ("jsonl", 17, 13)
    assert (report.users, report.skills, report.skill_versions, report.published) == (6, 11, 13, 10)

    got = read_back(admin_conn, tenant_a)
    assert set(got.skills) == set(EXPECTED)
    assert {u["email"]: u["name"] for u in got.users.values()} == USERS
    user_name = {uid: u["name"] for uid, u in got.users.items()}
    lines: dict[tuple[str, int], dict[str, Any]] = {}
    for entry in HISTORY_LINES:
        if isinstance(entry, dict):
            lines.setdefault((entry["act"], entry["revision"]), entry)  # the first row of a duplicate wins
    for title, (slug, category, author, texts, published) in EXPECTED.items():
        skill, versions = got.skills[title], got.versions[title]
        assert (skill["slug"], skill["category"]) == (slug, category), title
        assert (user_name.get(skill["author_id"]), skill["latest_version"]) == (author, len(texts)), title
        assert [v["version"] for v in versions] == list(range(1, len(texts) + 1))
        for v, text in zip(versions, texts, strict=True):
            content = text.encode("utf-8")  # exactly as given: no stripping, no newline changes
            assert v["content_hash"] == hashlib.sha256(content).hexdigest()
            assert v["content_url"] == f"sha256/{v['content_hash'][:2]}/{v['content_hash']}"
            assert (store / v["content_url"]).read_bytes() == content
            assert v["content_type"] == ("application/json" if title == "JSON Builder" else "text/markdown")
            line = lines[title, v["metadata"]["revision"]]
            assert v["created_at"] == datetime.fromisoformat(line["committed_at"])  # the commit's time
            assert v["name"] == title and v["description"] is None
            assert v["metadata"] == {
                "source": prompts.SOURCE,
                "act": title,
                "revision": line["revision"],
                "commit": line["commit"],
                "type": line["type"],
                "for_devs": line["for_devs"],
                "contributor": PSEUDONYM if line["contributor"] == EMAIL_CONTRIBUTOR else line["contributor"],
            }
        assert skill["created_at"] == versions[0]["created_at"]
        assert skill["published_version_id"] == (versions[-1]["id"] if published else None), title
        assert skill["draft_version_id"] is None and skill["total_uses"] == 0

    # who made each version: its contributor, else the prompt's first, else "Unattributed"
    made_by = {title: [user_name[v["created_by"]] for v in vs] for title, vs in got.versions.items()}
    assert made_by["Linux Terminal"] == ["alice", "alice", "alice"]
    assert made_by["Career Coach"] == ["Bob"] and made_by["Life coach"] == [PSEUDONYM]
    assert made_by["Life Coach"] == made_by["Act as Career Coach"] == ["Unattributed"]
    # no e-mail address of a contributor is stored anywhere
    assert EMAIL_CONTRIBUTOR not in repr(snapshot(admin_conn, tenant_a))
    # each distinct text once in the store, under its key
    hashes = {v["content_hash"] for vs in got.versions.values() for v in vs}
    assert stored_files(store) == {f"sha256/{h[:2]}/{h}" for h in hashes}
    assert report.contents_written == len(hashes) == 11


def test_every_version_verifies_against_the_stored_content(
    app_conn: psycopg.Connection[Any], tenant_a: str, history: Path, store: Path
) -> None:
    run_import(app_conn, tenant_a, history, content_dir=store, history=True)
    with skilldb.tenant(app_conn, tenant_a):
        versions = [
            v for s in skilldb.list_skills(app_conn, limit=100) for v in skilldb.list_skill_versions(app_conn, s.id)
        ]
    assert len(versions) == 13
    assert all(skilldb.verify_content(v, (store / v.content_url).read_bytes()) for v in versions)


def test_importing_the_same_history_again_changes_nothing(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    history: Path,
    store: Path,
) -> None:
    run_import(app_conn, tenant_a, history, content_dir=store, history=True)
    before, files = snapshot(admin_conn, tenant_a), stored_files(store)
    again = run_import(app_conn, tenant_a, history, content_dir=store, history=True)
    assert again.total == 0 and again.contents_written == 0
    assert (again.revisions, again.skipped) == (13, again.skipped) and len(again.skipped) == 3
    assert snapshot(admin_conn, tenant_a) == before  # same ids, same rows, not even rewritten
    assert stored_files(store) == files


def test_a_newer_csv_adds_only_what_is_new(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    history: Path,
    store: Path,
    tmp_path: Path,
) -> None:
    run_import(app_conn, tenant_a, history, content_dir=store, history=True)
    before = read_back(admin_conn, tenant_a)
    newer = write_csv(tmp_path / "prompts.csv", NEWER_CSV)
    report = run_import(app_conn, tenant_a, newer, content_dir=store)
    # the duplicate row starts on line 12: Bundle's cell spans three lines (its text holds two
    # newlines), Café's U+2028 is no line break
    assert (report.format, report.rows, report.revisions, list(report.duplicates)) == ("csv", 12, 11, [12])
    assert (report.users, report.skills, report.skill_versions, report.published) == (2, 1, 2, 2)
    assert report.contents_written == 2

    after = read_back(admin_conn, tenant_a)
    assert set(after.skills) == {*before.skills, "Git Helper"}
    for title, skill in before.skills.items():
        assert after.skills[title]["id"] == skill["id"]
        if title not in ("Life Coach",):
            assert after.versions[title] == before.versions[title]
            assert after.skills[title]["published_version_id"] == skill["published_version_id"]
    coach = after.versions["Life Coach"]
    assert [v["version"] for v in coach] == [1, 2] and coach[0] == before.versions["Life Coach"][0]
    assert coach[1]["content_hash"] == hashlib.sha256(b"Be my life coach, please.").hexdigest()
    assert coach[1]["metadata"]["revision"] == 2 and coach[1]["metadata"]["commit"] is None
    assert after.users[coach[1]["created_by"]]["email"] == "erin@prompts.invalid"
    assert after.skills["Life Coach"]["published_version_id"] == coach[1]["id"]
    helper = after.skills["Git Helper"]
    assert (helper["slug"], helper["category"], helper["latest_version"]) == ("git-helper", "text-for-devs", 1)
    assert helper["published_version_id"] == after.versions["Git Helper"][0]["id"]
    assert after.skills["Act as Career Coach"]["published_version_id"] is None  # still removed

    # the same CSV, and the history once more, now change nothing
    settled = snapshot(admin_conn, tenant_a)
    assert run_import(app_conn, tenant_a, newer, content_dir=store).total == 0
    assert run_import(app_conn, tenant_a, history, content_dir=store, history=True).total == 0
    assert snapshot(admin_conn, tenant_a) == settled


def test_latest_revisions_only_then_the_history_adds_nothing_older(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    history: Path,
    store: Path,
) -> None:
    report = run_import(app_conn, tenant_a, history, content_dir=store)
    assert (report.revisions, report.skills, report.skill_versions) == (11, 11, 11)
    got = read_back(admin_conn, tenant_a)
    assert {t: s["slug"] for t, s in got.skills.items()} == {t: e[0] for t, e in EXPECTED.items()}
    terminal = got.versions["Linux Terminal"]
    assert [(v["version"], v["metadata"]["revision"]) for v in terminal] == [(1, 3)]
    assert terminal[0]["created_at"] == datetime.fromisoformat(C4[1])
    settled = snapshot(admin_conn, tenant_a)
    assert run_import(app_conn, tenant_a, history, content_dir=store, history=True).total == 0
    assert snapshot(admin_conn, tenant_a) == settled


def test_slugs_in_use_are_skipped(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    history: Path,
    store: Path,
) -> None:
    with skilldb.tenant(app_conn, tenant_a):
        for slug in ("linux-terminal", "life-coach-3", "prompt-3"):
            skilldb.create_skill(app_conn, author_id=None, name=f"Own {slug}", slug=slug)
    run_import(app_conn, tenant_a, history, content_dir=store, history=True)
    slugs = {t: s["slug"] for t, s in read_back(admin_conn, tenant_a).skills.items()}
    assert slugs["Linux Terminal"] == "linux-terminal-2"
    assert (slugs["Life Coach"], slugs["Life Coach 2"], slugs["Life coach"]) == (
        "life-coach",
        "life-coach-2",
        "life-coach-4",
    )
    assert (slugs["小红书"], slugs["Prompt"]) == ("prompt", "prompt-2")
    assert slugs["Own linux-terminal"] == "linux-terminal"


def test_strict_refuses_a_file_with_bad_rows_and_writes_nothing(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    history: Path,
    store: Path,
    tmp_path: Path,
) -> None:
    before = snapshot(admin_conn, tenant_a)
    with pytest.raises(errors.InvalidInput, match=r"3 bad rows, nothing imported") as info:
        run_import(app_conn, tenant_a, history, content_dir=store, history=True, strict=True)
    assert all(f"line {n}:" in str(info.value) for n in BAD_LINES)
    assert snapshot(admin_conn, tenant_a) == before and not store.exists()

    clean = write_history(tmp_path / "clean.jsonl.gz", [e for e in HISTORY_LINES if isinstance(e, dict)][:5], gz=True)
    report = run_import(app_conn, tenant_a, clean, content_dir=store, history=True, strict=True)
    assert (report.skills, report.skill_versions, report.skipped) == (4, 5, ())


def test_bad_csv_rows_are_reported_by_the_line_they_start_on(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    store: Path,
    tmp_path: Path,
) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes(
        b"act,prompt,for_devs,type,contributor\r\n"  # 1
        b"Good One,first,FALSE,TEXT,x\r\n"  # 2
        b",no title,FALSE,TEXT,x\r\n" + b"T" * 201 + b",too long a title,FALSE,TEXT,x\r\n"  # 3  # 4
        b"Bad Bytes,caf\xe9 au lait,FALSE,TEXT,x\r\n"  # 5: Latin-1 in a file that claims UTF-8
        b"Short Row\r\n"  # 6: no prompt cell
        b"Tab\tTitle,a title with a tab,FALSE,TEXT,x\r\n"  # 7: a control character in the title
        b'Good Two,"two\nlines",FALSE,TEXT,x\r\n'  # 8-9
        b"Good Three,third,FALSE,TEXT,x\r\n"  # 10
    )
    with pytest.raises(errors.InvalidInput, match="5 bad rows, nothing imported") as info:
        run_import(app_conn, tenant_a, source, content_dir=store, strict=True)
    assert all(f"line {n}:" in str(info.value) for n in (3, 4, 5, 6, 7))
    assert not read_back(admin_conn, tenant_a).skills and not store.exists()

    report = run_import(app_conn, tenant_a, source, content_dir=store)
    assert [(s.line, s.reason.split(" (")[0]) for s in report.skipped] == [
        (3, "no title"),
        (4, "title must be at most 200 characters, got 201"),
        (5, "invalid UTF-8"),
        (6, "no prompt text"),
        (7, "title must not contain control characters, got 'Tab\\tTitle'"),
    ]
    assert (report.rows, report.revisions, report.skills) == (8, 3, 3)
    assert set(read_back(admin_conn, tenant_a).skills) == {"Good One", "Good Two", "Good Three"}


def test_bad_calls_are_refused_before_anything_is_written(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    history: Path,
    store: Path,
    tmp_path: Path,
) -> None:
    with pytest.raises(errors.TenantRequired):
        import_prompts(app_conn, history, content_dir=store)
    csv_file = write_csv(tmp_path / "p.csv", NEWER_CSV)
    (tmp_path / "notes.txt").write_text("just some notes\n")
    refused: list[tuple[Any, dict[str, Any], type[Exception], str]] = [
        (tmp_path / "missing.csv", {}, errors.InvalidInput, "cannot read"),
        (tmp_path, {}, errors.InvalidInput, "cannot read"),
        (tmp_path / "notes.txt", {}, errors.InvalidInput, "neither a prompts CSV"),
        (csv_file, {"history": True}, errors.InvalidInput, "holds no history"),
        (b"p.csv", {}, errors.InvalidType, "source must be a str or os.PathLike"),
        (csv_file, {"strict": 1}, errors.InvalidType, "strict must be a bool"),
        (csv_file, {"content_dir": 7}, errors.InvalidType, "content_dir must be"),
    ]
    for source, kwargs, error, message in refused:
        with pytest.raises(error, match=message):
            run_import(app_conn, tenant_a, source, content_dir=kwargs.pop("content_dir", store), **kwargs)
    (tmp_path / "file").write_text("")
    with pytest.raises(errors.InvalidInput, match="content_dir: cannot store"):
        run_import(app_conn, tenant_a, csv_file, content_dir=tmp_path / "file")
    with pytest.raises(TypeError, match=r"conn must be a psycopg\.Connection"):
        import_prompts(None, history)  # type: ignore[arg-type]
    assert not store.exists()

    # a bound tenant with no row: refused by the first statement, the block rolled back
    orphan = str(uuid.uuid4())
    with pytest.raises(errors.UnknownReference, match="the bound tenant has no row"):
        run_import(app_conn, orphan, history, content_dir=store, history=True)
    assert admin_conn.execute("SELECT count(*) FROM users WHERE tenant_id = %s", (orphan,)).fetchone() == (0,)


def test_a_concurrent_import_waits_and_then_finds_the_rows(
    db: Database, app_conn: psycopg.Connection[Any], tenant_a: str, history: Path, store: Path
) -> None:
    results: list[PromptImport] = []
    with psycopg.connect(db.app_url) as other:
        worker = threading.Thread(
            target=lambda: results.append(run_import(other, tenant_a, history, content_dir=store, history=True))
        )
        with skilldb.tenant(app_conn, tenant_a):
            first = import_prompts(app_conn, history, content_dir=store, history=True)
            worker.start()
            worker.join(0.5)
            assert worker.is_alive(), "the second import did not wait for the first to commit"
        worker.join(30)
    assert first.skills == 11 and results and results[0].total == 0


def test_a_gzipped_csv_and_the_async_face_give_the_same_skills(
    db: Database, app_conn: psycopg.Connection[Any], admin_conn: psycopg.Connection[Any], store: Path, tmp_path: Path
) -> None:
    csv_file = write_csv(tmp_path / "p.csv", NEWER_CSV)
    packed = tmp_path / "p.csv.gz"
    packed.write_bytes(gzip.compress(csv_file.read_bytes()))
    sync_tenant, async_tenant = new_tenant(app_conn), new_tenant(app_conn)
    sync_report = run_import(app_conn, sync_tenant, packed, content_dir=store / "sync")

    async def run() -> PromptImport:
        async with await psycopg.AsyncConnection.connect(db.app_url) as conn, skilldb.aio.tenant(conn, async_tenant):
            return await import_prompts.aio(conn, csv_file, content_dir=store / "async")

    async_report = asyncio.run(run())
    assert async_report == sync_report and sync_report.skills == 11

    def shape(tenant_id: str) -> set[tuple[Any, ...]]:
        got = read_back(admin_conn, tenant_id)
        return {
            (t, s["slug"], s["category"], tuple(v["content_hash"] for v in got.versions[t]))
            for t, s in got.skills.items()
        }

    assert shape(sync_tenant) == shape(async_tenant)


# --- the corpus -------------------------------------------------------------------------

corpus = pytest.mark.skipif(
    not (HISTORY.is_file() and LIBRARY.is_file()),
    reason=f"the prompts corpus is not beside the repository ({CORPUS} is absent)",
)

#: The statistics the corpus README states.
ACTS_EVER = 1_724
REVISIONS = 2_697
IN_LIBRARY = 1_513
LIBRARY_ROWS = 1_529
ABSENT = 211
PER_ACT = {"1": 1_589, "2": 94, "3-5": 30, "6-10": 1, ">10": 10}
MOST_EDITED = ("Code Review Assistant", 243)
NON_ASCII_IN_LIBRARY = 438


def bucket(n: int) -> str:
    return "1" if n == 1 else "2" if n == 2 else "3-5" if n <= 5 else "6-10" if n <= 10 else ">10"


@corpus
def test_the_corpus_imports_with_the_readme_counts_and_again_as_a_no_op(
    app_conn: psycopg.Connection[Any],
    admin_conn: psycopg.Connection[Any],
    tenant_a: str,
    store: Path,
) -> None:
    report = run_import(app_conn, tenant_a, HISTORY, content_dir=store, history=True)
    lines = [json.loads(raw) for raw in gzip.decompress(HISTORY.read_bytes()).split(b"\n") if raw]
    assert report.rows == len(lines) == REVISIONS
    skipped = {lines[s.line - 1]["act"] for s in report.skipped}
    # the only bad rows: titles swallowed by broken CSV quoting (a whole row in one cell)
    assert all("at most 200 characters" in s.reason for s in report.skipped)
    assert report.skills + len(skipped) == ACTS_EVER
    skipped_revisions = sum(e["act"] in skipped for e in lines)
    assert report.skill_versions + skipped_revisions == report.revisions + skipped_revisions == REVISIONS

    skills = rows(
        admin_conn,
        "SELECT id, name, latest_version, published_version_id FROM skills WHERE tenant_id = %s",
        tenant_a,
    )
    per_act = collections.Counter(bucket(s["latest_version"]) for s in skills)
    per_act["1"] += len(skipped)  # each bad title had one revision
    assert dict(per_act) == PER_ACT
    assert max((s["latest_version"], s["name"]) for s in skills) == MOST_EDITED[::-1]
    published = [s for s in skills if s["published_version_id"] is not None]
    absent = {e["act"] for e in lines if e["removed_later"]}
    assert len(published) == report.published == IN_LIBRARY
    assert len(skills) - len(published) == len(absent - skipped) == ABSENT - len(skipped & absent)

    # every version: the SHA-256 of its revision's text, that text in the store
    text = {(e["act"], e["revision"]): e["prompt"] for e in lines}
    versions = rows(
        admin_conn,
        "SELECT v.id, v.content_hash, v.content_url, v.metadata ->> 'act' AS act,"
        " (v.metadata ->> 'revision')::int AS revision, EXISTS (SELECT FROM skills s"
        " WHERE s.tenant_id = v.tenant_id AND s.published_version_id = v.id) AS published"
        " FROM skill_versions v WHERE v.tenant_id = %s",
        tenant_a,
    )
    assert len(versions) == report.skill_versions
    non_ascii = 0
    for v in versions:
        content = text[v["act"], v["revision"]].encode("utf-8")
        assert v["content_hash"] == hashlib.sha256(content).hexdigest()
        assert (store / v["content_url"]).read_bytes() == content
        non_ascii += v["published"] and not content.isascii()
    assert non_ascii == NON_ASCII_IN_LIBRARY

    # the most edited title, fetched nested: its versions newest first, at their commit times
    title, count = MOST_EDITED
    [skill_id] = [s["id"] for s in skills if s["name"] == title]
    with skilldb.tenant(app_conn, tenant_a):
        full = skilldb.get_skill_with_relations(app_conn, skill_id)
    assert full is not None and len(full.versions) == count
    assert [v.version for v in full.versions] == list(range(count, 0, -1))
    times = [datetime.fromisoformat(e["committed_at"]) for e in lines if e["act"] == title]
    assert [v.created_at for v in full.versions] == times[::-1]
    assert full.published_version == full.versions[0]

    # again, and the published CSV after it: nothing changes
    before = snapshot(admin_conn, tenant_a)
    assert run_import(app_conn, tenant_a, HISTORY, content_dir=store, history=True).total == 0
    from_csv = run_import(app_conn, tenant_a, LIBRARY, content_dir=store)
    assert (from_csv.rows, from_csv.revisions, len(from_csv.duplicates)) == (LIBRARY_ROWS, IN_LIBRARY, 16)
    assert from_csv.total == 0 and from_csv.contents_written == 0
    assert snapshot(admin_conn, tenant_a) == before


def test_the_cli_imports_once_and_reports_bad_rows(history: Path, store: Path, db: Any) -> None:
    from click.testing import CliRunner

    from skilldb.cli import main

    args = ["import-prompts", str(history), "--history", "--content-dir", str(store), "--database", db.admin_url]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "skipped line 6" in first.output and "into tenant" in first.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    strict = CliRunner().invoke(main, [*args, "--strict"])
    assert strict.exit_code == 1 and "Error:" in strict.output
    with psycopg.connect(db.admin_url) as admin:
        counts = admin.execute("SELECT count(*) FROM skills").fetchone()
    assert counts is not None and counts[0] > 0
