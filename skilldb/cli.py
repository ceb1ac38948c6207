"""The ``skilldb`` command.

``skilldb demo`` runs the whole path end to end; ``skilldb migrate`` applies the migrations.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg import errors as pg

import skilldb
from skilldb.embedded import DEFAULT_DATA_DIR, ensure_database, start_embedded

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


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Data directory of the embedded server, used when DATABASE_URL is unset.",
)
def demo(data_dir: Path) -> None:
    """Migrate, write a demo tenant with a user and skills under its binding, and read them back."""
    started = time.perf_counter()
    conninfo = _server_conninfo(data_dir)
    click.echo("Applying migrations ...")
    applied = skilldb.apply_migrations(conninfo)
    click.echo(f"  {len(applied)} applied, {len(skilldb.migrate.list_migrations()) - len(applied)} already there")

    tenant_id = str(uuid.uuid4())
    with psycopg.connect(conninfo) as conn:
        role = _act_as_application(conn)
        click.echo(f"Writing demo tenant {tenant_id} as role {role} ...")
        with skilldb.tenant(conn, tenant_id):
            skilldb.create_tenant(conn, name="Demo tenant")
            ada = skilldb.create_user(conn, email="ada@example.com", name="Ada Lovelace")
            grace = skilldb.create_user(conn, email="grace@example.com", name="Grace Hopper")
            specs = [
                (ada, "Code review", "code-review", "Review a diff for bugs and style", "engineering", 2),
                (grace, "Write release notes", "release-notes", None, "writing", 1),
                (None, "Summarise a meeting", "meeting-summary", None, "productivity", 0),
            ]
            for author, name, slug, description, category, versions in specs:
                skill = skilldb.create_skill(
                    conn,
                    author_id=author.id if author else None,
                    name=name,
                    slug=slug,
                    description=description,
                    category=category,
                )
                for n in range(1, versions + 1):
                    content = f"# {name}\n\nrevision {n}\n".encode()
                    version = skilldb.create_skill_version(
                        conn,
                        skill.id,
                        content=content,
                        content_url=f"skills/{slug}/v{n}.md",
                        content_type="text/markdown",
                        created_by=(author or ada).id,
                    )
                    skilldb.publish_version(conn, skill.id, version.id)

        with skilldb.tenant(conn, tenant_id):
            tenant = skilldb.get_tenant(conn)
            skills = skilldb.list_skills_with_relations(conn, order_by="created_at", limit=50).items
        unbound = conn.execute("SELECT count(*) FROM skills").fetchone()
        conn.rollback()

    click.echo(f"\nTenant {tenant.name if tenant else '?'}: {len(skills)} skills\n")
    header = ("slug", "name", "category", "author", "published", "uses", "rating")
    rows = [
        (
            s.slug,
            s.name,
            s.category or "",
            (s.author.name or s.author.email) if s.author else "-",
            f"v{s.published_version.version} of {s.latest_version}" if s.published_version else "-",
            str(s.total_uses),
            f"{s.average_rating / 100:.2f}" if s.average_rating is not None else "-",
        )
        for s in skills
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    click.echo(f"\nSkills visible with no tenant bound: {unbound[0] if unbound else '?'}")
    click.echo(f"Done in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
