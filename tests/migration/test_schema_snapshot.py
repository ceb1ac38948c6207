"""The schema the migrations build equals the committed ``schema.sql`` (``pg_dump --schema-only``,
normalised), so every schema change is a visible diff in review.

The dump's text depends on the server's major version: when the test server's differs
from the snapshot's (a ``SKILLDB_TEST_DATABASE_URL`` of another version), the migrations
are applied on a temporary embedded server of the snapshot's version instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

from skilldb.check import SCHEMA_SNAPSHOT, dump_schema, scratch_database
from skilldb.embedded import start_embedded
from tests.plugin import Database


def snapshot_major() -> int:
    m = re.match(r"-- skilldb schema snapshot, PostgreSQL (\d+);", SCHEMA_SNAPSHOT.read_text())
    assert m, f"{SCHEMA_SNAPSHOT} lacks its header line: regenerate it with skilldb check --update-snapshot"
    return int(m[1])


def test_the_migrations_build_the_committed_schema(db: Database, tmp_path: Path) -> None:
    with psycopg.connect(db.admin_url) as conn:
        major = conn.info.server_version // 10000
    if major == snapshot_major():
        dumped = dump_schema(db.admin_url)
    else:
        server = start_embedded(tmp_path / "pg", temporary=True)
        try:
            dumped = dump_schema(scratch_database(server.conninfo()))
        finally:
            server.stop()
    assert dumped == SCHEMA_SNAPSHOT.read_text(), (
        "the schema the migrations build differs from schema.sql: review the change and "
        "regenerate it with `skilldb check --update-snapshot`"
    )


def test_the_snapshot_shows_what_review_needs() -> None:
    text = SCHEMA_SNAPSHOT.read_text()
    for needle in (
        "CREATE TABLE public.skills",
        "CREATE POLICY tenant_isolation",
        "FORCE ROW LEVEL SECURITY",
        "GRANT SELECT",
        "CREATE TABLE public.workshops",
    ):
        assert needle in text, needle
    assert "yoyo" not in text and "OWNER TO" not in text
