"""mypy --strict accepts the package and a consumer of its public API (and rejects a misuse)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def mypy(*paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_mypy_strict_passes_on_the_package_and_a_consumer(tmp_path: Path) -> None:
    result = mypy("skilldb", "tests/typing/consumer.py")
    assert result.returncode == 0, result.stdout + result.stderr

    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "import psycopg\nimport skilldb\n"
        "def f(conn: psycopg.Connection[tuple[object, ...]]) -> str:\n"
        "    s = skilldb.get_skill_with_relations(conn, 'x')\n"
        "    return s.author.email\n"  # both may be None: mypy must object
    )
    result = mypy(str(wrong))
    assert result.returncode != 0 and "None" in result.stdout


def test_mypy_sees_the_exact_signature_of_both_faces(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong_args.py"
    wrong.write_text(
        "import psycopg\nimport skilldb\nfrom skilldb import aio\n"
        "Row = tuple[object, ...]\n"
        "async def f(a: psycopg.AsyncConnection[Row], s: psycopg.Connection[Row]) -> None:\n"
        "    await aio.get_skill(a, 5)\n"  # skill_id: str
        "    await aio.create_skill(a, name='x', slug='x')\n"  # author_id is required
        "    skilldb.get_skill(a, 'x')\n"  # the sync face takes a sync connection
        "    n: int = await aio.get_skill(a, 'x')\n"  # Skill | None
        "    skilldb.list_skills(s, limit='5')\n"
        "    skilldb.tenant(s, 't').run(skilldb.get_skill, 5)\n"  # .run checks the operation's arguments
        "    m: int = skilldb.tenant(s, 't').run(skilldb.get_skill, 'x')\n"  # and gives its result type
        "    k: int = await aio.tenant(a, 't').run(aio.get_skill, 'x')\n"
    )
    out = mypy(str(wrong)).stdout
    for line in (6, 7, 8, 9, 10, 11, 12, 13):
        assert f"wrong_args.py:{line}: error" in out, out
