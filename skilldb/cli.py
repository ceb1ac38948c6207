"""The ``skilldb`` command.

``skilldb demo`` runs the whole path end to end (migrate, seed, read back);
``skilldb seed`` loads the demo data set (:mod:`skilldb.seed`, idempotent);
``skilldb migrate`` applies the migrations.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg import errors as pg

import skilldb
from skilldb.embedded import DEFAULT_DATA_DIR, ensure_database, start_embedded
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
    """``SET ROLE skilldb_app`` when allowed, so row-level security applies as in production."""
    try:
        conn.execute("SET ROLE skilldb_app")
    except pg.InsufficientPrivilege:
        conn.rollback()
    conn.commit()
    row = conn.execute("SELECT current_user").fetchone()
    conn.rollback()
    return str(row[0]) if row else "?"


@click.group()
def main() -> None:
    """skilldb: the data layer of a multi-tenant skills marketplace."""


@main.command()
@click.option(
    "--database",
    "database_url",
    envvar="DATABASE_URL",
    required=True,
    help="libpq URL of the database (default: $DATABASE_URL).",
)
def migrate(database_url: str) -> None:
    """Apply every pending migration (the same files `yoyo apply` uses)."""
    try:
        applied = skilldb.apply_migrations(database_url)
    except (skilldb.errors.SkillDBError, psycopg.Error) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"applied {len(applied)} migration(s)" + "".join(f"\n  {m}" for m in applied))


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
    try:
        conninfo = database_url or _server_conninfo(data_dir)
        if migrate:
            _migrate(conninfo)
        with psycopg.connect(conninfo) as conn:
            _seed(conn)
    except (skilldb.errors.SkillDBError, psycopg.Error) as exc:
        raise click.ClickException(str(exc)) from exc


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


if __name__ == "__main__":
    main()
