"""Import a public prompt library, with its edit history, as skills and immutable versions.

The library is the one of f/awesome-chatgpt-prompts ("prompts.chat", CC0), in either of
two shapes:

* ``prompts.csv`` as that repository publishes it (header ``act,prompt,for_devs,type,
  contributor``; older files have only ``act,prompt``): one revision per prompt, the
  library as it stands;
* the revisions JSON Lines (one object per line with ``act``, ``revision``, ``prompt``,
  ``type``, ``for_devs``, ``contributor``, ``commit``, ``committed_at``,
  ``removed_later``): every text each prompt ever had, in history order.

Either may be gzip'd (recognised by its magic bytes). :func:`import_prompts` writes, for
the bound tenant, in the caller's transaction:

* one skill per distinct title (stripped; matched exactly, so ``Life Coach`` and ``Life
  coach`` are two skills), ``name`` the title; its ``slug`` the title folded to ASCII
  (:func:`slug_base`), then ``-2``, ``-3`` ... for the titles that fold alike, in order
  of first appearance, skipping slugs the tenant uses and the bases of other new titles
  (``Life Coach 2`` keeps ``life-coach-2`` even when it comes after ``Life coach``);
  its ``category`` from the upstream ``type`` and ``for_devs`` (:func:`category_of`);
  its author the first contributor named by the prompt's revisions;
* one immutable version per revision, numbered in history order: ``content_hash`` the
  SHA-256 of the text encoded as UTF-8 exactly as given, ``content_type``
  ``application/json`` when the text parses as JSON, else ``text/markdown``,
  ``created_at`` the revision's commit time (the import time for a CSV, which has none),
  ``metadata`` ``{"source", "act", "revision", "commit", "type", "for_devs",
  "contributor"}``, ``created_by`` the revision's contributor (else the prompt's first,
  else the user :data:`UNATTRIBUTED`: early revisions predate the column);
* one user per distinct contributor (the first listed when several), with an address in
  the reserved ``.invalid`` domain (:func:`contributor_user`);
* ``published_version_id``: the last revision for prompts still in the library, none for
  removed ones (their versions stay); every import sets these pointers again.

The texts themselves go to a content-addressed directory (:func:`store_contents`), the
stand-in for the object store: each distinct text once, under the key
``sha256/<first two hex digits>/<hash>``, which is the versions' ``content_url``.

The database work is four set-based statements of ``queries/imports.sql`` (not one round
trip per row); the file is read, checked and stored before the first of them. The rows
travel as parallel arrays, as :func:`skilldb.record_usage_events` sends its batch, not
by ``COPY`` into a staging table: every named query must be a statement ``skilldb check``
can prepare against the migrations, which a query over a session's temporary table is
not (``benchmarks/import_prompts.py`` measures what COPY would save: tens of
milliseconds).
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import hashlib
import inspect
import io
import json
import os
import re
import threading
import unicodedata
import uuid
import zlib
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, ParamSpec, cast

import psycopg
from psycopg.rows import class_row, scalar_row

from skilldb import _validate, tenancy
from skilldb._sql import Call, Operation, _public_signature, _wrong_connection, every, one_or, operation, single
from skilldb.errors import InvalidInput, InvalidType, UnknownReference
from skilldb.models import sha256_hex

__all__ = [
    "CONTRIBUTOR_DOMAIN",
    "DEFAULT_CONTENT_DIR",
    "DEFAULT_TENANT_ID",
    "DEFAULT_TENANT_NAME",
    "SOURCE",
    "UNATTRIBUTED",
    "PromptImport",
    "PromptRevision",
    "PromptSource",
    "SkippedRow",
    "category_of",
    "content_key",
    "content_type_of",
    "contributor_user",
    "import_prompts",
    "read_prompts",
    "slug_base",
    "store_contents",
]

#: ``metadata["source"]`` of every version an import writes: the key it finds its work by.
SOURCE = "f/awesome-chatgpt-prompts"
#: Domain of the contributors' addresses (``.invalid`` is reserved: it never delivers mail).
CONTRIBUTOR_DOMAIN = "prompts.invalid"
#: ``(email, name)`` of the user who created the revisions of prompts that name no contributor.
UNATTRIBUTED = ("unattributed@nobody.prompts.invalid", "Unattributed")
#: The tenant ``skilldb import-prompts`` imports into unless told otherwise (``uuid5`` of the
#: library's address, so every database gives it the same id), and its name.
DEFAULT_TENANT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/f/awesome-chatgpt-prompts"))
DEFAULT_TENANT_NAME = "Prompt library (f/awesome-chatgpt-prompts)"
#: Where :func:`import_prompts` stores the texts unless told otherwise (relative to the working directory).
DEFAULT_CONTENT_DIR = Path(".skilldb/content")
#: Longest slug base: room is left for a ``-<n>`` suffix within the 100 characters of a slug.
SLUG_BASE_LIMIT = 90
#: The slug base of a title with no ASCII letter or digit even after folding.
FALLBACK_SLUG = "prompt"
#: A contributor kept as written (a GitHub user name and the like); any other is pseudonymised.
PLAIN_CONTRIBUTOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

Format = Literal["csv", "jsonl"]
P = ParamSpec("P")


@dataclass(frozen=True, kw_only=True, slots=True)
class SkippedRow:
    """A row of the source that was not imported: its 1-based ``line`` (where the row starts)
    and why (``reason``)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, kw_only=True, slots=True)
class PromptRevision:
    """One text of one prompt, read from the source and checked, as the import stages it.

    ``revision`` is the history's number (1, 2, 3 ... per prompt), ``None`` for a CSV row;
    ``commit`` and ``committed_at`` likewise. ``contributor`` is the upstream value with
    any address pseudonymised; ``author`` the ``(email, name)`` of its first listed
    contributor (``None`` when it names none), ``created_by`` that, else the prompt's
    first contributor, else :data:`UNATTRIBUTED`. ``in_library``: the prompt is still in
    the library (every CSV row; ``not removed_later`` in the history).
    """

    line: int
    title: str
    content: bytes
    content_hash: str
    content_type: str
    revision: int | None
    commit: str | None
    committed_at: datetime | None
    upstream_type: str | None
    for_devs: str | None
    contributor: str | None
    in_library: bool
    slug: str
    category: str | None
    author: tuple[str, str] | None
    created_by: tuple[str, str]

    @property
    def content_url(self) -> str:
        """The content's key in the store: ``sha256/<first two hex digits>/<hash>``."""
        return content_key(self.content_hash)


@dataclass(frozen=True, kw_only=True, slots=True)
class PromptSource:
    """What :func:`read_prompts` found in a file.

    ``revisions`` in the order they are imported (history order; with ``history=False``
    each prompt's last revision, in order of the prompt's first appearance); ``rows`` the
    data rows read (blank lines aside); ``skipped`` the bad rows; ``duplicates`` the
    lines of rows ignored because an earlier row had their title (CSV) or their title and
    revision (JSON Lines); ``superseded`` the rows left out by ``history=False``.
    """

    format: Format
    revisions: tuple[PromptRevision, ...]
    rows: int
    skipped: tuple[SkippedRow, ...]
    duplicates: tuple[int, ...]
    superseded: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class PromptImport:
    """What one :func:`import_prompts` call did.

    ``rows``, ``skipped`` and ``duplicates`` as in :class:`PromptSource`; ``revisions``
    the revisions staged; ``contents_written`` the texts newly stored; ``users``,
    ``skills`` and ``skill_versions`` the rows created; ``published`` the skills whose
    ``published_version_id`` was set or cleared. All of the last five are 0 when the
    source was imported before.
    """

    format: Format
    rows: int
    revisions: int
    skipped: tuple[SkippedRow, ...]
    duplicates: tuple[int, ...]
    contents_written: int
    users: int
    skills: int
    skill_versions: int
    published: int

    @property
    def total(self) -> int:
        """Rows created or changed in the database (0: the import changed nothing)."""
        return self.users + self.skills + self.skill_versions + self.published

    def __str__(self) -> str:
        """One line: ``"2693 revisions of 2697 rows read (jsonl): created 656 users, 1720 skills, ...;
        4 bad rows skipped"``."""
        parts = [
            f"{self.users} users",
            f"{self.skills} skills",
            f"{self.skill_versions} versions",
            f"{self.published} published versions changed",
            f"{self.contents_written} texts stored",
        ]
        line = f"{self.revisions} revisions of {self.rows} rows read ({self.format}): created " + ", ".join(parts)
        if self.skipped:
            line += f"; {len(self.skipped)} bad rows skipped"
        if self.duplicates:
            line += f"; {len(self.duplicates)} duplicate rows ignored"
        return line


# --- rules -----------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lowercase ASCII words joined by single hyphens: NFKD, combining marks dropped, any
    other character outside ``a-z0-9`` a separator."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c if c.isascii() else " " for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")


def slug_base(title: str) -> str:
    """The slug a title asks for before collisions: folded to lowercase ASCII words
    (``Café Déjà Vu`` -> ``cafe-deja-vu``; a character that does not fold separates
    words), at most :data:`SLUG_BASE_LIMIT` characters; :data:`FALLBACK_SLUG` when
    nothing is left (a title in Chinese or Cyrillic)."""
    base = _fold(title)[:SLUG_BASE_LIMIT].rstrip("-")
    return base or FALLBACK_SLUG


def category_of(upstream_type: str | None, for_devs: str | None) -> str | None:
    """The skill category of an upstream ``type`` and ``for_devs``: the type folded
    (``TEXT`` -> ``text``, ``STRUCTURED`` -> ``structured``, ``IMAGE`` -> ``image``), with
    ``-for-devs`` when ``for_devs`` is ``TRUE``; ``None`` without a type."""
    kind = _fold(upstream_type)[:80].rstrip("-") if upstream_type else ""
    if not kind:
        return None
    return kind + ("-for-devs" if for_devs is not None and for_devs.strip().upper() == "TRUE" else "")


def content_type_of(text: str) -> str:
    """``application/json`` when ``text`` parses as JSON (RFC 8259: any value, so ``"42"``
    too; no ``NaN`` or ``Infinity``), else ``text/markdown``."""
    try:
        json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return "text/markdown"
    return "application/json"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def content_key(content_hash: str) -> str:
    """The store key of a content: ``sha256/<first two hex digits>/<hash>``."""
    return f"sha256/{content_hash[:2]}/{content_hash}"


def _contributor_name(part: str) -> str:
    """A contributor as stored: as written when it looks like a user name, else
    ``contributor-`` and the first 10 hex digits of the SHA-256 of its lowercased form
    (the pseudonym the published corpus uses for e-mail addresses)."""
    if PLAIN_CONTRIBUTOR.fullmatch(part):
        return part
    return "contributor-" + hashlib.sha256(part.lower().encode()).hexdigest()[:10]


def contributor_user(contributor: str | None) -> tuple[str, str] | None:
    """``(email, name)`` of the user for an upstream ``contributor`` value: its first
    listed name (as stored by :func:`_contributor_name`), and ``<name>@prompts.invalid``
    lowercased (user names are case-insensitive, as on GitHub); ``None`` when it names none."""
    first = contributor.split(",")[0].strip() if contributor else ""
    if not first:
        return None
    name = _contributor_name(first)
    return f"{name.lower()}@{CONTRIBUTOR_DOMAIN}", name


def _stored_contributor(contributor: str | None) -> str | None:
    """The upstream value for ``metadata``, each listed name as :func:`_contributor_name` stores it."""
    if contributor is None:
        return None
    return ",".join(_contributor_name(p.strip()) if p.strip() else "" for p in contributor.split(","))


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    """A data row that passed the checks, before the prompt-level rules are applied."""

    line: int
    title: str
    text: str
    revision: int | None
    commit: str | None
    committed_at: datetime | None
    upstream_type: str | None
    for_devs: str | None
    contributor: str | None
    in_library: bool


class _Bad(Exception):
    """A row to skip; the message says why."""


def _valid_text(value: str) -> str:
    """``value``, or :class:`_Bad` when it holds bytes that were no UTF-8 (decoded as lone surrogates)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _Bad(f"invalid UTF-8 (at character {exc.start} of a cell)") from None
    return value


def _title(act: str | None) -> str:
    if act is None or not act.strip():
        raise _Bad("no title")
    title = act.strip()
    try:
        return str(_validate.RULES["name"]("title", title))
    except InvalidInput as exc:
        raise _Bad(f"{exc} (the name limit of a skill)") from None


def _read_bytes(source: Path) -> bytes:
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"source: cannot read {source}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a NUL or an unencodable character in the path
        raise InvalidInput(f"source: not a usable path: {exc}") from exc
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidInput(f"source: {source} is not a valid gzip file: {exc}") from exc
    return data


def _format_of(data: bytes, source: Path) -> Format:
    head = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head:
        raise InvalidInput(f"source: {source} is empty")
    return "jsonl" if head[:1] == b"{" else "csv"


def _csv_rows(data: bytes, source: Path, skipped: list[SkippedRow], duplicates: list[int]) -> tuple[list[_Row], int]:
    """The CSV's rows (the first of each title), and the number of data rows read."""
    # invalid UTF-8 becomes lone surrogates, so that one bad cell costs one row, not the file
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))  # a prompt may be far longer than csv's default
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip().lower() for h in next(reader, [])]
        if "act" not in header or "prompt" not in header:
            raise InvalidInput(
                f"source: {source} is neither a prompts CSV (its header needs act and prompt, "
                f"got {','.join(header)[:200]!r}) nor JSON Lines"
            )
        names = ("act", "prompt", "type", "for_devs", "contributor")
        column = {name: header.index(name) for name in names if name in header}
        rows: list[_Row] = []
        seen: set[str] = set()
        count = 0
        end = reader.line_num
        for cells in reader:
            line, end = end + 1, reader.line_num
            if not cells or cells == [""]:
                continue
            count += 1

            def cell(name: str, cells: list[str] = cells) -> str | None:
                at = column.get(name)
                return cells[at] if at is not None and at < len(cells) else None

            try:
                for value in cells:
                    _valid_text(value)
                title = _title(cell("act"))
                prompt = cell("prompt")
                if prompt is None:
                    raise _Bad("no prompt text (the row has too few cells)")
            except _Bad as bad:
                skipped.append(SkippedRow(line=line, reason=str(bad)))
                continue
            if title in seen:
                duplicates.append(line)
                continue
            seen.add(title)
            rows.append(
                _Row(line, title, prompt, None, None, None, cell("type"), cell("for_devs"), cell("contributor"), True)
            )
        return rows, count
    finally:
        csv.field_size_limit(limit)


def _optional_str(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{key} must be a string or null, got {type(value).__name__}")
    return _valid_text(value)


def _commit_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _Bad("committed_at must be an ISO 8601 time with offset")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(f"committed_at is no ISO 8601 time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise _Bad(f"committed_at has no UTC offset: {value[:40]!r}")
    if not 1900 < moment.year < 9999:
        raise _Bad(f"committed_at is out of range: {value[:40]!r}")
    return moment


def _jsonl_rows(data: bytes, skipped: list[SkippedRow], duplicates: list[int]) -> tuple[list[_Row], int]:
    """The JSON Lines' rows (the first of each title and revision), and the number of data rows read.

    Split on ``\\n`` only: texts hold U+2028, which ``str.splitlines()`` would break on.
    """
    rows: list[_Row] = []
    seen: set[tuple[str, int]] = set()
    count = 0
    for line, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        count += 1
        try:
            try:
                entry = json.loads(raw.decode("utf-8").removeprefix("\ufeff"))
            except UnicodeDecodeError as exc:
                raise _Bad(f"invalid UTF-8 (at byte {exc.start} of the line)") from None
            except (ValueError, RecursionError):
                raise _Bad("not a JSON object") from None
            if not isinstance(entry, dict):
                raise _Bad("not a JSON object")
            title = _title(_optional_str(entry, "act"))
            prompt = _optional_str(entry, "prompt")
            if prompt is None:
                raise _Bad("no prompt text")
            revision = entry.get("revision")
            if isinstance(revision, bool) or not isinstance(revision, int) or not 1 <= revision < 2**31:
                raise _Bad("revision must be a whole number from 1")
            committed_at = _commit_time(entry.get("committed_at"))
            removed = entry.get("removed_later", False)
            if not isinstance(removed, bool):
                raise _Bad("removed_later must be true or false")
            row = _Row(
                line,
                title,
                prompt,
                revision,
                _optional_str(entry, "commit"),
                committed_at,
                _optional_str(entry, "type"),
                _optional_str(entry, "for_devs"),
                _optional_str(entry, "contributor"),
                not removed,
            )
        except _Bad as bad:
            skipped.append(SkippedRow(line=line, reason=str(bad)))
            continue
        if (title, revision) in seen:
            duplicates.append(line)
            continue
        seen.add((title, revision))
        rows.append(row)
    return rows, count


def _path(name: str, value: Any) -> Path:
    if not isinstance(value, str | os.PathLike):
        raise InvalidType(f"{name} must be a str or os.PathLike, got {type(value).__name__}")
    try:
        path = os.fspath(value)
    except TypeError as exc:
        raise InvalidType(f"{name} must be a path: {exc}") from None
    if not isinstance(path, str):
        raise InvalidType(f"{name} must be a text path, got {type(path).__name__}")
    return Path(path)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidType(f"{name} must be a bool, got {type(value).__name__}")
    return value


def read_prompts(source: str | os.PathLike[str], *, history: bool = False) -> PromptSource:
    """Read and check a prompts CSV or revisions JSON Lines file (gzip'd or not); write nothing.

    A row is bad, and is skipped (:attr:`PromptSource.skipped`, with its line), when its
    title is missing or blank, longer than a skill name may be (200 characters) or holds
    control characters, when any of its cells is not valid UTF-8, or when it lacks the
    prompt text (JSON Lines: also a line that is no JSON object, or lacks a whole
    ``revision`` or an ISO 8601 ``committed_at`` with offset). Of rows sharing a title
    (CSV) or a title and revision (JSON Lines) the first is kept, as upstream does.

    :param source: the file's path.
    :param history: JSON Lines only: every revision (``True``), or only each prompt's
        last one (``False``). A CSV has no history.
    :return: a :class:`PromptSource`.
    :raises InvalidInput: the file cannot be read, is empty, is neither format, or
        ``history`` is asked of a CSV.
    :raises InvalidType: ``source`` is no path or ``history`` no bool.
    """
    path = _path("source", source)
    history = _flag("history", history)
    data = _read_bytes(path)
    kind = _format_of(data, path)
    skipped: list[SkippedRow] = []
    duplicates: list[int] = []
    if kind == "csv":
        if history:
            raise InvalidInput(f"source: {path} is a CSV, which holds no history (history=True reads JSON Lines)")
        rows, count = _csv_rows(data, path, skipped, duplicates)
    else:
        rows, count = _jsonl_rows(data, skipped, duplicates)
    first_seen: dict[str, int] = {}
    authors: dict[str, tuple[str, str]] = {}
    for row in rows:
        first_seen.setdefault(row.title, len(first_seen))
        user = contributor_user(row.contributor)
        if user is not None:
            authors.setdefault(row.title, user)
    superseded = 0
    if not history:
        last = {row.title: row for row in rows}
        superseded = len(rows) - len(last)
        rows = sorted(last.values(), key=lambda row: first_seen[row.title])
    slugs = {title: slug_base(title) for title in first_seen}
    revisions = []
    for row in rows:
        content = row.text.encode("utf-8")
        author = contributor_user(row.contributor)
        revisions.append(
            PromptRevision(
                line=row.line,
                title=row.title,
                content=content,
                content_hash=sha256_hex(content),
                content_type=content_type_of(row.text),
                revision=row.revision,
                commit=row.commit,
                committed_at=row.committed_at,
                upstream_type=row.upstream_type,
                for_devs=row.for_devs,
                contributor=_stored_contributor(row.contributor),
                in_library=row.in_library,
                slug=slugs[row.title],
                category=category_of(row.upstream_type, row.for_devs),
                author=author,
                created_by=author or authors.get(row.title, UNATTRIBUTED),
            )
        )
    return PromptSource(
        format=kind,
        revisions=tuple(revisions),
        rows=count,
        skipped=tuple(skipped),
        duplicates=tuple(duplicates),
        superseded=superseded,
    )


def _store(root: Path, content_hash: str, content: bytes) -> Path | None:
    """Store one text at its key unless it is there intact; the directory written to, else ``None``."""
    path = root / content_key(content_hash)
    try:
        if path.is_file() and sha256_hex(path.read_bytes()) == content_hash:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
        with open(partial, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InvalidInput(f"content_dir: cannot store {path}: {reason}") from exc
    return path.parent


def _sync_directory(directory: Path) -> None:
    """Make the renames into ``directory`` durable (where the file system can)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory
    finally:
        os.close(fd)


#: Threads storing texts at once: each waits mostly in fsync, which the file system batches.
STORE_THREADS = 16


def store_contents(revisions: Sequence[PromptRevision], content_dir: str | os.PathLike[str]) -> int:
    """Store each distinct text once under ``content_dir`` at its key (:func:`content_key`).

    A file already there with the right SHA-256 is kept; any other is (re)written to a
    temporary file in its directory, flushed to disk (``fsync``) and renamed into place,
    so a key never names a partial file and a stored text survives a crash, as an object
    store's acknowledged write would. Files are written by :data:`STORE_THREADS` threads
    (the time goes into ``fsync``) and never deleted: a failed import may leave texts no
    version names, as in an object store.

    :param revisions: the revisions whose texts to store.
    :param content_dir: the store's root directory (created when missing).
    :return: how many files were written (0 when every text was there).
    :raises InvalidInput: a file cannot be written (the message names it).
    :raises InvalidType: ``content_dir`` is no path.
    """
    root = _path("content_dir", content_dir)
    texts = {r.content_hash: r.content for r in revisions}
    with ThreadPoolExecutor(max_workers=STORE_THREADS, thread_name_prefix="skilldb-store") as pool:
        written = [d for d in pool.map(lambda item: _store(root, *item), texts.items()) if d is not None]
        if written:  # the new entries, and the directories that may be new themselves
            list(pool.map(_sync_directory, {*written, root / "sha256", root, root.parent}))
    return len(written)


# --- the statements --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class _ImportedSkill:
    """A row of ``create_prompt_skills``: a title's skill, whether the import created it, and
    how many users the statement created (the same on every row)."""

    title: str
    skill_id: str
    created: bool
    users_created: int


@dataclass(frozen=True, kw_only=True, slots=True)
class _AddedVersions:
    """The row of ``create_prompt_versions``: how many versions and users it created."""

    versions_created: int
    users_created: int


@operation
def _start_prompt_import() -> Call[str, str]:
    """Lock the bound tenant's row for the rest of the transaction (imports run one at a time).

    SQL: ``queries/imports.sql`` ``start_prompt_import``.

    :return: the tenant's id.
    :raises UnknownReference: the bound tenant has no row in ``tenants``.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    missing = one_or(lambda: UnknownReference("tenants: the bound tenant has no row; create it with create_tenant"))
    return Call("start_prompt_import", {}, scalar_row, missing)


@operation
def _create_prompt_skills(revisions: Sequence[PromptRevision]) -> Call[_ImportedSkill, list[_ImportedSkill]]:
    """Find or create the skill of every title the revisions hold (and the new skills' authors).

    SQL: ``queries/imports.sql`` ``create_prompt_skills``.

    :param revisions: the staged revisions, in history order (several may share a title).
    :return: one :class:`_ImportedSkill` per title, in order of first appearance.
    :raises AlreadyExists: a slug the bound tenant already uses for another skill.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    params = {
        "source": SOURCE,
        "titles": [r.title for r in revisions],
        "slugs": [r.slug for r in revisions],
        "categories": [r.category for r in revisions],
        "author_emails": [None if r.author is None else r.author[0] for r in revisions],
        "author_names": [None if r.author is None else r.author[1] for r in revisions],
        "created_ats": [r.committed_at for r in revisions],
    }
    return Call("create_prompt_skills", params, class_row(_ImportedSkill), every)


@operation
def _create_prompt_versions(
    revisions: Sequence[PromptRevision], skill_ids: Sequence[str]
) -> Call[_AddedVersions, _AddedVersions]:
    """Append the revisions no earlier import wrote as their skills' next versions (and their creators).

    SQL: ``queries/imports.sql`` ``create_prompt_versions``.

    :param revisions: the staged revisions, in history order.
    :param skill_ids: the skill of each revision (as ``create_prompt_skills`` found or made it).
    :return: how many versions and users were created.
    :raises InvalidInput: a version breaks a CHECK (hash, content type, number).
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    params = {
        "source": SOURCE,
        "skill_ids": list(skill_ids),
        "titles": [r.title for r in revisions],
        "revisions": [r.revision for r in revisions],
        "commits": [r.commit for r in revisions],
        "types": [r.upstream_type for r in revisions],
        "for_devs": [r.for_devs for r in revisions],
        "contributors": [r.contributor for r in revisions],
        "content_hashes": [r.content_hash for r in revisions],
        "content_urls": [r.content_url for r in revisions],
        "content_types": [r.content_type for r in revisions],
        "created_by_emails": [r.created_by[0] for r in revisions],
        "created_by_names": [r.created_by[1] for r in revisions],
        "created_ats": [r.committed_at for r in revisions],
    }
    return Call("create_prompt_versions", params, class_row(_AddedVersions), single)


@operation
def _set_prompt_published_versions(revisions: Sequence[PromptRevision], skill_ids: Sequence[str]) -> Call[int, int]:
    """Publish the last version of each skill still in the library; unpublish the removed ones.

    SQL: ``queries/imports.sql`` ``set_prompt_published_versions``.

    :param revisions: the staged revisions, in history order (the last of a skill says
        whether its prompt is still in the library).
    :param skill_ids: the skill of each revision.
    :return: how many skills' ``published_version_id`` changed.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    params = {"source": SOURCE, "skill_ids": list(skill_ids), "in_library": [r.in_library for r in revisions]}
    return Call("set_prompt_published_versions", params, scalar_row, single)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A checked source, and its texts being stored (by ``pool``) while the statements run."""

    source: PromptSource
    stored: Future[int]
    pool: ThreadPoolExecutor


Step = tuple[Operation[..., Any], tuple[Any, ...]]


def _steps(source: PromptSource) -> Generator[Step, Any, dict[str, int]]:
    """The import's statements, in order, each sent its result back; returns the counts of
    :class:`PromptImport` (``users``, ``skills``, ``skill_versions``, ``published``).

    Written once for both faces: the sync one calls each operation, the async one awaits
    its ``aio`` twin.
    """
    revisions = source.revisions
    counts = {"users": 0, "skills": 0, "skill_versions": 0, "published": 0}
    if revisions:
        yield _start_prompt_import, ()
        skills: list[_ImportedSkill] = yield _create_prompt_skills, (revisions,)
        counts["skills"] = sum(s.created for s in skills)
        by_title = {s.title: s.skill_id for s in skills}
        skill_ids = [by_title[r.title] for r in revisions]
        added: _AddedVersions = yield _create_prompt_versions, (revisions, skill_ids)
        counts["skill_versions"] = added.versions_created
        counts["users"] = skills[0].users_created + added.users_created
        counts["published"] = yield _set_prompt_published_versions, (revisions, skill_ids)
    return counts


def _report(source: PromptSource, counts: dict[str, int], contents_written: int) -> PromptImport:
    return PromptImport(
        format=source.format,
        rows=source.rows,
        revisions=len(source.revisions),
        skipped=source.skipped,
        duplicates=source.duplicates,
        contents_written=contents_written,
        **counts,
    )


def _import_operation(plan: Callable[P, _Plan]) -> Operation[P, PromptImport]:
    """Make the sync and async faces of the import whose plan is ``plan``, as
    :func:`skilldb._sql.operation` makes an operation's: one name, docstring and signature
    (the plan's, with the connection first), the connection checked first, the arguments
    bound, then the ``skilldb.tenant`` block. The plan checks the arguments, reads the file
    and starts storing the texts (the async face runs it in a thread: it is file work); then
    :func:`_steps` gives the statements, which the sync face calls and the async one awaits,
    while the texts are stored; the import returns once both are done (so before the caller
    can commit), and raises what either raised."""
    signature = inspect.signature(plan)
    public, public_aio = "skilldb.import_prompts", "skilldb.aio.import_prompts"

    def bind(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> inspect.BoundArguments:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{name}(): {exc}") from None
        bound.apply_defaults()
        return bound

    def sync(conn: psycopg.Connection[Any], /, *args: P.args, **kwargs: P.kwargs) -> PromptImport:
        if not isinstance(conn, psycopg.Connection):
            raise _wrong_connection(public, conn, psycopg.Connection, public_aio)
        call = bind(public, args, kwargs)
        binding = tenancy.bound(conn, public)
        with tenancy.recording(binding):
            staged = plan(*call.args, **call.kwargs)
            try:
                steps = _steps(staged.source)
                result: Any = None
                try:
                    while True:
                        step, step_args = steps.send(result)
                        result = step(conn, *step_args)
                except StopIteration as done:
                    return _report(staged.source, done.value, staged.stored.result())
            finally:
                staged.pool.shutdown()  # on an error too: no thread goes on writing after the call

    async def asynchronous(conn: psycopg.AsyncConnection[Any], /, *args: P.args, **kwargs: P.kwargs) -> PromptImport:
        if not isinstance(conn, psycopg.AsyncConnection):
            raise _wrong_connection(public_aio, conn, psycopg.AsyncConnection, public)
        call = bind(public_aio, args, kwargs)
        binding = tenancy.bound(conn, public_aio)
        with tenancy.recording(binding):
            staged = await asyncio.to_thread(plan, *call.args, **call.kwargs)
            try:
                steps = _steps(staged.source)
                result: Any = None
                try:
                    while True:
                        step, step_args = steps.send(result)
                        result = await step.aio(conn, *step_args)
                except StopIteration as done:
                    return _report(staged.source, done.value, await asyncio.wrap_future(staged.stored))
            finally:
                await asyncio.to_thread(staged.pool.shutdown)

    faces: tuple[tuple[Any, str, str], ...] = (
        (sync, "skilldb", "psycopg.Connection[Any]"),
        (asynchronous, "skilldb.aio", "psycopg.AsyncConnection[Any]"),
    )
    for face, module, conn_type in faces:
        face.__name__ = face.__qualname__ = plan.__name__
        face.__module__ = module
        face.__doc__ = plan.__doc__
        face.__signature__ = _public_signature(plan, conn_type, PromptImport)
        face.__wrapped__ = plan
    sync.aio = asynchronous  # type: ignore[attr-defined]
    return cast(Operation[P, PromptImport], sync)


@_import_operation
def import_prompts(
    source: str | os.PathLike[str],
    *,
    content_dir: str | os.PathLike[str] = DEFAULT_CONTENT_DIR,
    history: bool = False,
    strict: bool = False,
) -> _Plan:
    """Import a prompts CSV or revisions JSON Lines file into the bound tenant, idempotently.

    See :mod:`skilldb.prompts` for what is written. Runs in the caller's ``skilldb.tenant``
    block (one transaction; an error rolls it all back, so nothing is half-written):

    1. the file is read and checked (:func:`read_prompts`); with ``strict``, any bad row
       refuses the whole file before anything is written; else bad rows are skipped and
       reported with their line;
    2. each distinct text is stored once under ``content_dir`` (:func:`store_contents`),
       in threads, while the statements run; the call returns once both are done;
    3. four statements of ``queries/imports.sql``, each over all rows at once (parallel
       arrays, one round trip each): ``start_prompt_import`` locks the tenant's row
       (a concurrent import into the tenant waits, then finds this one's rows);
       ``create_prompt_skills`` finds each title's skill (by the metadata of the
       versions an earlier import wrote) or creates it with the next free slug, and its
       author's user when missing; ``create_prompt_versions`` appends the revisions after
       the last one imported (CSV rows: when the text changed), numbered in history
       order, ``created_at`` the commit time, and creates their missing users;
       ``set_prompt_published_versions`` points each skill at its last revision, or at
       none once the prompt left the library. Users are created only for what a new
       skill or version refers to.

    Idempotent: importing the same file again creates nothing and changes no pointer
    (:attr:`PromptImport.total` is 0); a newer CSV or history adds only what is new.
    Import a history before any CSV of the same library: a CSV row carries no revision
    number, so an older history imported after it would append older texts.

    :param conn: a connection inside a ``skilldb.tenant`` block.
    :param source: path of ``prompts.csv`` or of the revisions JSON Lines, gzip'd or not
        (the format is recognised from the content).
    :param content_dir: the content store's root (default ``.skilldb/content``, relative
        to the working directory); created when missing.
    :param history: JSON Lines: import every revision (``True``) or only each prompt's
        last (``False``, the default). ``True`` with a CSV is refused.
    :param strict: refuse the whole file when any row is bad (``False``: skip them).
    :return: a :class:`PromptImport` saying what was read, skipped and created.
    :raises InvalidInput: the file cannot be read or is neither format; under
        ``strict``, a bad row (the message lists them by line); a text cannot be stored.
    :raises InvalidType: an argument of the wrong type (also a ``TypeError``).
    :raises UnknownReference: the bound tenant has no row in ``tenants``.
    :raises AlreadyExists: a concurrent writer took a slug the import chose; run it again.
    :raises TenantRequired: no ``skilldb.tenant`` block is open on ``conn``.
    """
    _path("content_dir", content_dir)
    strict = _flag("strict", strict)
    found = read_prompts(source, history=history)
    if strict and found.skipped:
        shown = "; ".join(map(str, found.skipped[:20]))
        more = f"; and {len(found.skipped) - 20} more" if len(found.skipped) > 20 else ""
        raise InvalidInput(f"source: {len(found.skipped)} bad rows, nothing imported (strict): {shown}{more}")
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="skilldb-import")
    return _Plan(found, pool.submit(store_contents, found.revisions, content_dir), pool)
