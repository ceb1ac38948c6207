"""The built wheel carries queries/ and migrations/: a fresh virtualenv loads and applies them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import aiosql

import skilldb
from skilldb.migrate import list_migrations

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys, aiosql, psycopg, skilldb
from skilldb.migrate import list_migrations
q = aiosql.from_path(skilldb.QUERIES_DIR, "psycopg")
applied = skilldb.apply_migrations(sys.argv[1])
with psycopg.connect(sys.argv[1]) as conn:
    tables = [r[0] for r in conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        " AND relkind = 'r' ORDER BY 1")]
print(json.dumps({"file": skilldb.__file__, "queries": sorted(q.available_queries),
                  "migrations": list_migrations(), "applied": applied, "tables": tables}))
"""


def run(*cmd: str | Path, cwd: Path) -> str:
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_wheel_installs_into_a_fresh_venv_and_applies_every_migration(tmp_path: Path, empty_db: Any) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", dist, cwd=ROOT)
    (wheel,) = dist.glob("skilldb-*.whl")

    env = tmp_path / "venv"
    python = env / "bin" / "python"
    uv = shutil.which("uv")
    if uv:
        run(uv, "venv", "-q", "--python", sys.executable, env, cwd=tmp_path)
        run(uv, "pip", "install", "-q", "--python", python, wheel, cwd=tmp_path)
    else:
        venv.create(env, with_pip=True)
        run(python, "-m", "pip", "install", "-q", wheel, cwd=tmp_path)

    out = json.loads(run(python, "-c", PROBE, empty_db.admin_url, cwd=tmp_path))
    assert str(env) in out["file"], "the probe must import the installed wheel, not the checkout"
    repo_queries = aiosql.from_path(skilldb.QUERIES_DIR, "psycopg").available_queries
    assert out["queries"] == sorted(repo_queries)
    assert out["migrations"] == list_migrations() == out["applied"]
    assert {"tenants", "users", "skills", "skill_versions", "ratings"} <= set(out["tables"])
