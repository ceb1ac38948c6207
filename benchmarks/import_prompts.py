"""Benchmark importing the prompts corpus: ``skilldb.import_prompts`` (bulk) against one call per row.

The corpus is the f/awesome-chatgpt-prompts library and its rebuilt edit history (2,697
revisions of 1,724 prompts), found beside the repository in ``shared/data/prompts`` unless
``--history`` and ``--csv`` name the files.

Contenders, each on a tenant of its own, as the application login (a member of
``skilldb_app`` only, row-level security on), each in one ``skilldb.tenant`` block:

* ``import_prompts, history``: the whole history, first import: read and check the file,
  store the texts (``fsync`` each, into a fresh content directory; in threads, while the
  statements run), four set-based statements (phases timed separately: the statements by
  wrapping the package's one call path). Target of issue 19: under 5 s on a 2-core machine.
* ``import_prompts, again``: the same file once more (a no-op: every text is in the store,
  every row in the database).
* ``import_prompts, CSV after``: the published ``prompts.csv`` after the history (a no-op but
  for its 16 duplicate rows).
* ``one call per row``: the same revisions through the public API, one round trip each:
  ``get_user_by_email``/``create_user`` for each new contributor, ``create_skill`` per title,
  ``create_skill_version`` per revision (the texts stored beforehand, outside the timing),
  ``publish_version`` per prompt in the library. It cannot keep the commit times:
  ``create_skill_version`` stamps versions ``now()``.

Then the staging question: the import ships its rows as parallel arrays (prepared
statements ``skilldb check`` can type). Beside it, what a ``COPY`` into a temporary table
of the same columns costs (``--stage-rounds`` each, median): the difference is the most a
COPY-staged design could save.

Run it from the repository root::

    uv run python benchmarks/import_prompts.py                 # 3 rounds, about a minute
    uv run python benchmarks/import_prompts.py --rounds 1 --per-row-rounds 1
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from _data import create_app_login, fresh_database, get_server, log, table

import skilldb
from skilldb import _sql, prompts

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "prompts"
TARGET_SECONDS = 5.0
STORE = "store the texts (in threads, beside the statements)"


@contextmanager
def statement_timer(into: dict[str, float]) -> Iterator[None]:
    """Add the seconds of every statement the package runs (by query name) to ``into``."""
    original = _sql.run

    def timed(conn: psycopg.Connection[Any], binding: Any, call: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(conn, binding, call)
        finally:
            into[f"statement {call.query}"] += time.perf_counter() - started

    _sql.run = timed  # type: ignore[assignment]
    try:
        yield
    finally:
        _sql.run = original  # type: ignore[assignment]


def new_tenant(conn: psycopg.Connection[Any], name: str) -> str:
    tenant_id = str(uuid.uuid4())
    with skilldb.tenant(conn, tenant_id):
        skilldb.create_tenant(conn, name=name)
    return tenant_id


def timed_import(
    conn: psycopg.Connection[Any], tenant_id: str, source: Path, content_dir: Path, **kwargs: Any
) -> tuple[float, dict[str, float], prompts.PromptImport]:
    """One import in its own block; (seconds, seconds by phase, report)."""
    phases: dict[str, float] = defaultdict(float)
    read, store = prompts.read_prompts, prompts.store_contents

    def timed_read(*a: Any, **k: Any) -> prompts.PromptSource:
        started = time.perf_counter()
        try:
            return read(*a, **k)
        finally:
            phases["read and check the file"] += time.perf_counter() - started

    def timed_store(*a: Any, **k: Any) -> int:
        started = time.perf_counter()
        try:
            return store(*a, **k)
        finally:
            phases[STORE] += time.perf_counter() - started

    prompts.read_prompts, prompts.store_contents = timed_read, timed_store  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        with statement_timer(phases), skilldb.tenant(conn, tenant_id):
            report = prompts.import_prompts(conn, source, content_dir=content_dir, **kwargs)
        elapsed = time.perf_counter() - started
    finally:
        prompts.read_prompts, prompts.store_contents = read, store  # type: ignore[assignment]
    phases["the rest (BEGIN and binding, COMMIT, Python, waiting for the texts)"] = elapsed - sum(
        seconds for phase, seconds in phases.items() if phase != STORE
    )
    return elapsed, dict(phases), report


def per_row(conn: psycopg.Connection[Any], tenant_id: str, revisions: Sequence[prompts.PromptRevision]) -> int:
    """The import as one public call per row; returns the number of calls."""
    calls = 0
    users: dict[str, str] = {}
    skills: dict[str, str] = {}
    slugs: dict[str, int] = {}
    last: dict[str, tuple[str, bool]] = {}
    with skilldb.tenant(conn, tenant_id):
        for r in revisions:
            for email, name in {r.created_by, *([r.author] if r.author else [])}:
                if email not in users:
                    found = skilldb.get_user_by_email(conn, email)
                    calls += 1
                    if found is None:
                        found = skilldb.create_user(conn, email=email, name=name)
                        calls += 1
                    users[email] = found.id
            if r.title not in skills:
                n = slugs[r.slug] = slugs.get(r.slug, 0) + 1
                skill = skilldb.create_skill(
                    conn,
                    author_id=users[r.author[0]] if r.author else None,
                    name=r.title,
                    slug=r.slug if n == 1 else f"{r.slug}-{n}",
                    category=r.category,
                )
                skills[r.title] = skill.id
                calls += 1
            version = skilldb.create_skill_version(
                conn,
                skills[r.title],
                content=r.content,
                content_url=r.content_url,
                content_type=r.content_type,
                created_by=users[r.created_by[0]],
                metadata={
                    "source": prompts.SOURCE,
                    "act": r.title,
                    "revision": r.revision,
                    "commit": r.commit,
                    "type": r.upstream_type,
                    "for_devs": r.for_devs,
                    "contributor": r.contributor,
                },
            )
            calls += 1
            last[r.title] = (version.id, r.in_library)
        for title, (version_id, in_library) in last.items():
            if in_library:
                skilldb.publish_version(conn, skills[title], version_id)
                calls += 1
    return calls


def staging(app_info: str, revisions: Sequence[prompts.PromptRevision], rounds: int) -> list[tuple[str, float]]:
    """Median seconds to ship the per-revision columns to the server: as the arrays the import
    sends, and by COPY into a temporary table (as skilldb_app may)."""
    columns: dict[str, list[Any]] = {
        "title": [r.title for r in revisions],
        "slug": [r.slug for r in revisions],
        "category": [r.category for r in revisions],
        "content_hash": [r.content_hash for r in revisions],
        "content_url": [r.content_url for r in revisions],
        "content_type": [r.content_type for r in revisions],
        "created_by": [r.created_by[0] for r in revisions],
        "committed_at": [r.committed_at for r in revisions],
        "revision": [r.revision for r in revisions],
        "commit": [r.commit for r in revisions],
        "contributor": [r.contributor for r in revisions],
    }
    types = ["text", "text", "text", "text", "text", "text", "text", "timestamptz", "integer", "text", "text"]
    arrays_sql = "SELECT count(*) FROM unnest({})".format(
        ", ".join(f"%({c})s::{t}[]" for c, t in zip(columns, types, strict=True))
    )
    create = "CREATE TEMPORARY TABLE staged ({}) ON COMMIT DROP".format(
        ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True))
    )
    rows = list(zip(*columns.values(), strict=True))
    arrays, copies = [], []
    with psycopg.connect(app_info) as conn:
        for _ in range(rounds):
            started = time.perf_counter()
            conn.execute(arrays_sql, columns).fetchone()
            arrays.append(time.perf_counter() - started)
            conn.rollback()
            started = time.perf_counter()
            conn.execute(create)
            with conn.cursor().copy(f"COPY staged ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            conn.execute("SELECT count(*) FROM staged").fetchone()
            copies.append(time.perf_counter() - started)
            conn.rollback()
    return [
        ("parallel arrays (one statement, as the import)", statistics.median(arrays)),
        ("CREATE TEMP TABLE + COPY + one read", statistics.median(copies)),
    ]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--history", type=Path, default=CORPUS / "prompt_revisions.jsonl.gz", help="revisions JSON Lines")
    p.add_argument("--csv", type=Path, default=CORPUS / "prompts.csv", help="prompts.csv")
    p.add_argument("--rounds", type=int, default=3, help="bulk imports, each into a fresh tenant (default 3)")
    p.add_argument("--per-row-rounds", type=int, default=1, help="one-call-per-row imports (default 1)")
    p.add_argument("--stage-rounds", type=int, default=5, help="staging comparisons (default 5)")
    p.add_argument("--dbname", default="skilldb_bench_import", help="database to (re)create")
    p.add_argument("--data-dir", help="data directory of the embedded server (default: a temporary one)")
    p.add_argument("--database", help="superuser URL of a server to use instead (default: DATABASE_URL)")
    return p.parse_args(argv)


def median_row(label: str, runs: list[float], extra: str = "") -> tuple[str, str, str, str]:
    return (label, f"{statistics.median(runs):.2f}", " ".join(f"{r:.2f}" for r in runs), extra)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    for path in (args.history, args.csv):
        if not path.is_file():
            raise SystemExit(f"no such file: {path} (pass --history and --csv)")
    started = time.perf_counter()
    server = get_server(args.data_dir, args.database)
    scratch = Path(tempfile.mkdtemp(prefix="skilldb-bench-import-"))
    try:
        super_info = fresh_database(server.admin_conninfo, args.dbname)
        app_info = create_app_login(super_info)
        with psycopg.connect(super_info) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        log(
            f"PostgreSQL {version[0] if version else '?'} ({server.description}); Python {platform.python_version()}, "
            f"psycopg {psycopg.__version__}; {os.cpu_count()} CPUs; content store in {scratch}"
        )
        results: list[tuple[str, str, str, str]] = []
        phase_runs: dict[str, list[float]] = defaultdict(list)
        firsts, agains, csvs = [], [], []
        report = None
        with psycopg.connect(app_info) as conn:
            for n in range(args.rounds):
                tenant_id = new_tenant(conn, f"bulk {n}")
                store = scratch / f"bulk-{n}"
                seconds, phases, report = timed_import(conn, tenant_id, args.history, store, history=True)
                firsts.append(seconds)
                for phase, value in phases.items():
                    phase_runs[phase].append(value)
                agains.append(timed_import(conn, tenant_id, args.history, store, history=True)[0])
                csvs.append(timed_import(conn, tenant_id, args.csv, store)[0])
                shutil.rmtree(store)
            assert report is not None
            results.append(median_row("import_prompts, history (first)", firsts, "into an empty tenant and store"))
            for phase, runs in phase_runs.items():
                results.append(median_row(f"  {phase}", runs))
            results.append(median_row("import_prompts, the same history again", agains, "no-op"))
            results.append(median_row("import_prompts, prompts.csv after it", csvs, "no-op"))

            revisions = prompts.read_prompts(args.history, history=True).revisions
            prompts.store_contents(revisions, scratch / "per-row")
            per_row_runs, calls = [], 0
            for n in range(args.per_row_rounds):
                tenant_id = new_tenant(conn, f"per row {n}")
                begun = time.perf_counter()
                calls = per_row(conn, tenant_id, revisions)
                per_row_runs.append(time.perf_counter() - begun)
            results.append(
                median_row(
                    "one public call per row (DB part only)",
                    per_row_runs,
                    f"{calls} calls; versions at now(), not at the commit times",
                )
            )
        log(f"\nthe history's import: {report}")
        log("\nseconds (median of the rounds; each round's own time beside it):")
        log(table(["path", "median s", "rounds", "note"], results, "lrrl"))
        bulk, single = statistics.median(firsts), statistics.median(per_row_runs)
        db_part = sum(statistics.median(runs) for phase, runs in phase_runs.items() if phase.startswith("statement "))
        log(
            f"\nbulk, whole import {bulk:.2f} s (statements {db_part:.2f} s) vs one call per row {single:.2f} s "
            f"for the database part alone: {single / max(db_part, 1e-9):.0f}x the statements"
        )
        verdict = "MET" if bulk < TARGET_SECONDS else "NOT MET"
        log(f"target: the full history under {TARGET_SECONDS:.0f} s: {verdict} ({bulk:.2f} s)")

        log(f"\nstaging the {len(revisions)} revisions' columns (median of {args.stage_rounds}):")
        staged = staging(app_info, revisions, args.stage_rounds)
        log(table(["how", "ms"], [(how, f"{s * 1000:.1f}") for how, s in staged], "lr"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        server.stop()
    log(f"\ntotal run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
