"""The SQL files pass sqlfluff (queries and migrations) and squawk (migrations and rollbacks) (no database).

sqlfluff's configuration is pyproject.toml's [tool.sqlfluff.*]; squawk's is .squawk.toml, whose
[skilldb.applied_migrations] table lists, per applied migration, the rules that file may break
(squawk itself has no per-file setting, so this test applies it). Both linters run as the
commands a DBA types from the repository root, and each is shown able to fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "queries"
MIGRATIONS = ROOT / "migrations"


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def sqlfluff(*args: str, stdin: str | None = None) -> list[dict[str, Any]]:
    """``sqlfluff lint --format json ARGS`` from the repository root: one entry per file linted."""
    proc = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", "--format", "json", "--nocolor", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode not in (0, 1):  # 1: violations found
        pytest.fail(f"sqlfluff exited with {proc.returncode}:\n{proc.stderr}")
    result: list[dict[str, Any]] = json.loads(proc.stdout)
    return result


def squawk_binary() -> str:
    """The squawk binary of this environment (the squawk-cli wheel), else one on PATH."""
    found = shutil.which("squawk", path=str(Path(sys.executable).parent)) or shutil.which("squawk")
    if found is None:
        pytest.fail("no squawk binary: `python -m uv sync` installs it (squawk-cli, in the dev group)")
    return found


def squawk(*args: str) -> list[dict[str, Any]]:
    """``squawk --reporter json ARGS`` from the repository root: one entry per violation."""
    proc = subprocess.run(
        [squawk_binary(), "--reporter", "json", *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,  # squawk lints standard input when it is not a terminal and no path is given
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode not in (0, 1) or not proc.stdout.strip():  # 1: violations found
        pytest.fail(f"squawk exited with {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    result: list[dict[str, Any]] = json.loads(proc.stdout)
    return result


def squawk_line(violation: dict[str, Any]) -> str:
    """file:line rule message, with squawk's 0-based line made 1-based."""
    path = Path(violation["file"])
    shown = relative(path.resolve()) if path.resolve().is_relative_to(ROOT) else path.name
    return f"{shown}:{violation['line'] + 1} {violation['rule_name']} {violation['message']}"


def test_sqlfluff_passes_every_query_and_migration() -> None:
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["sqlfluff"]["core"]
    unparsable = {ROOT / p for p in core["ignore_paths"]}
    # The ignored files are linted too, to check that they are still unparsable.
    results = sqlfluff("--disregard-sqlfluffignores", "queries", "migrations")
    linted = {(ROOT / r["filepath"]).resolve(): r["violations"] for r in results}
    expected = set(QUERIES.rglob("*.sql")) | set(MIGRATIONS.glob("*.sql"))
    odd = sorted(map(relative, set(linted) ^ expected))
    assert set(linted) == expected, f"sqlfluff linted (or skipped) these unexpectedly: {odd}"
    problems = []
    for path in sorted(unparsable):
        if not any(v["code"] == "PRS" for v in linted.pop(path, [])):
            problems.append(f"{relative(path)}: sqlfluff parses it now: remove it from ignore_paths in pyproject.toml")
    for path, violations in sorted(linted.items()):
        problems += [
            f"{relative(path)}:{v['start_line_no']}:{v['start_line_pos']} {v['code']} {v['description']}"
            for v in violations
        ]
    if problems:
        pytest.fail("sqlfluff (`uv run sqlfluff lint queries migrations`):\n" + "\n".join(problems), pytrace=False)


def test_sqlfluff_reports_style_slips_and_typos() -> None:
    probe = "\n".join(
        [
            "-- name: get_probe(tenant_id)^",
            "-- A lower-case keyword.",
            "select id FROM skills WHERE tenant_id = :tenant_id;",  # line 3
            "",
            "-- name: list_probes(tenant_id)",
            "-- Trailing whitespace.",
            "SELECT id FROM skills WHERE tenant_id = :tenant_id; ",  # line 7
            "",
            "-- name: count_probes(tenant_id)$",
            "-- A typo.",
            "SELECT count(*) FROM skills WHERE tenant_id = :tenant_id AND id = = 'x';",  # line 11
            "",
            "-- name: list_probe_authors(tenant_id)",
            "-- A column of two tables, unqualified.",
            "SELECT s.id FROM skills s JOIN users u ON u.id = s.author_id WHERE tenant_id = :tenant_id;",  # line 15
            "",
        ]
    )
    [result] = sqlfluff("-", "--stdin-filename", "queries/lint_probe.sql", stdin=probe)
    reported = {(v["start_line_no"], v["code"]) for v in result["violations"]}
    expected = {(3, "CP01"), (7, "LT01"), (11, "PRS"), (15, "RF02")}
    assert expected <= reported, f"sqlfluff missed {sorted(expected - reported)}; reported {sorted(reported)}"


def squawk_config() -> dict[str, Any]:
    return tomllib.loads((ROOT / ".squawk.toml").read_text())


def test_squawk_passes_every_new_migration() -> None:
    """`squawk migrations/*.sql` as a DBA runs it: the applied migrations are excluded by path."""
    violations = squawk("migrations/*.sql")
    if violations:
        pytest.fail(
            "squawk (`uv run squawk migrations/*.sql`):\n" + "\n".join(map(squawk_line, violations)), pytrace=False
        )


def test_squawk_passes_each_applied_migration_with_only_its_listed_rules_off(tmp_path: Path) -> None:
    config = squawk_config()
    applied: dict[str, list[str]] = config["skilldb"]["applied_migrations"]
    assert sorted(config["excluded_paths"]) == sorted(f"*{name}" for name in applied), (
        ".squawk.toml: excluded_paths must name exactly the files of [skilldb.applied_migrations]"
    )
    missing = sorted(name for name in applied if not (MIGRATIONS / name).is_file())
    assert not missing, f".squawk.toml lists migrations that do not exist: {missing}"

    # The same settings without excluded_paths (the --exclude-path flag cannot empty it).
    settings = tmp_path / "squawk.toml"
    settings.write_text(
        f"pg_version = {json.dumps(config['pg_version'])}\n"
        f"assume_in_transaction = {json.dumps(config['assume_in_transaction'])}\n"
        f"excluded_rules = {json.dumps(config.get('excluded_rules', []))}\n"
        f"included_rules = {json.dumps(config.get('included_rules', []))}\n"
    )
    found: dict[str, set[str]] = {name: set() for name in applied}
    problems = []
    for violation in squawk("--config", str(settings), *(f"migrations/{name}" for name in applied)):
        name = Path(violation["file"]).name
        found[name].add(violation["rule_name"])
        if violation["rule_name"] not in applied[name]:
            problems.append(squawk_line(violation))
    problems += [
        f"migrations/{name}: {rule} no longer fires: remove it from [skilldb.applied_migrations] in .squawk.toml"
        for name, rules in applied.items()
        for rule in rules
        if rule not in found[name]
    ]
    if problems:
        pytest.fail("squawk, applied migrations:\n" + "\n".join(problems), pytrace=False)


PROBE_HEAD = "-- Probe.\n-- depends: 0021_search_pg_temp_last\n"
TIMEOUTS = "SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n"


def test_squawk_reports_locking_changes_to_existing_tables(tmp_path: Path) -> None:
    probe = tmp_path / "0099_index_skill_names.sql"
    probe.write_text(
        PROBE_HEAD
        + TIMEOUTS
        + "CREATE INDEX skills_name_idx ON skills (tenant_id, name);\n"  # line 5
        + "ALTER TABLE skills ADD CONSTRAINT skills_name_short CHECK (char_length(name) <= 100);\n"  # line 6
    )
    reported = {(v["line"] + 1, v["rule_name"]) for v in squawk(str(probe))}
    assert reported == {(5, "require-concurrent-index-creation"), (6, "constraint-missing-not-valid")}

    probe.write_text(PROBE_HEAD + "DROP INDEX skills_created_at_idx;\n")  # line 3, and no timeouts
    reported = {(v["line"] + 1, v["rule_name"]) for v in squawk(str(probe))}
    assert {(3, "require-concurrent-index-deletion"), (3, "require-lock-timeout")} <= reported, reported


def test_squawk_accepts_the_forms_a_new_migration_uses_instead(tmp_path: Path) -> None:
    forms = {
        # An index built while writes go on: outside yoyo's transaction, so SET, not SET LOCAL.
        "0099_index_skill_names.sql": PROBE_HEAD
        + "-- transactional: false\n-- squawk-disable-assume-in-transaction\n"
        + "SET lock_timeout = '5s';\nSET statement_timeout = '30min';\n"
        + "CREATE INDEX CONCURRENTLY IF NOT EXISTS skills_name_idx ON skills (tenant_id, name);\n"
        + "RESET lock_timeout;\nRESET statement_timeout;\n",  # yoyo's session goes on to the next file
        # A constraint added without a scan, validated by the next migration.
        "0100_limit_skill_names.sql": PROBE_HEAD
        + TIMEOUTS
        + "ALTER TABLE skills ADD CONSTRAINT skills_name_short CHECK (char_length(name) <= 100) NOT VALID;\n",
        "0101_validate_skill_names.sql": PROBE_HEAD
        + TIMEOUTS
        + "ALTER TABLE skills VALIDATE CONSTRAINT skills_name_short;\n",
        # A rollback drops what its migration created, and says so.
        "0102_create_probes.rollback.sql": "-- Drop probes.\n-- squawk-ignore-file ban-drop-table\n"
        + TIMEOUTS
        + "DROP TABLE probes;\n",
    }
    for name, sql in forms.items():
        (tmp_path / name).write_text(sql)
    violations = squawk(*(str(tmp_path / name) for name in forms))
    assert not violations, "\n".join(map(squawk_line, violations))
