"""The demo data set, declared once, and :func:`seed`, which loads it idempotently.

Two tenants, eight users, fifteen skills with one to four versions each (a published
version on most, a draft on some), ratings with comments and hours-saved estimates,
and usage events. Everything is plain frozen data (:data:`TENANTS`); :func:`seed`
writes it through the package's own operations, one ``skilldb.tenant`` block per
tenant, and creates only what is missing, so a second run changes nothing.

Rows are found again by fixed keys: a tenant by its id (``uuid5`` of
:data:`SEED_NAMESPACE` and the tenant's key), a user by email, a skill by slug (the
database gives users and skills their ids, and the seed finds them by these keys).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg

from skilldb.errors import AlreadyExists
from skilldb.models import NewUsageEvent, SkillWithRelations
from skilldb.ratings import rate_skill
from skilldb.skill_versions import create_skill_version
from skilldb.skills import create_skill, get_skill_by_slug, get_skill_with_relations, publish_version, set_draft_version
from skilldb.tenancy import tenant
from skilldb.tenants import create_tenant, get_tenant
from skilldb.usage_events import record_usage_events
from skilldb.users import create_user, get_user_by_email

__all__ = [
    "SEED_NAMESPACE",
    "TENANTS",
    "SeedRating",
    "SeedReport",
    "SeedSkill",
    "SeedTenant",
    "SeedUse",
    "SeedUser",
    "seed",
]

#: Namespace of the seed's tenant ids: a tenant's id is ``uuid5(SEED_NAMESPACE, key)``.
SEED_NAMESPACE = uuid.UUID("879832d5-31e7-47a6-af4f-fd48689f60c3")

#: ``metadata["source"]`` of every usage event and version the seed writes.
SOURCE = "skilldb-seed"


@dataclass(frozen=True, slots=True)
class SeedUser:
    """A user of a seed tenant, found again by ``email`` (unique per tenant)."""

    email: str
    name: str


@dataclass(frozen=True, slots=True)
class SeedRating:
    """``user`` (an email of the tenant's users) rates the skill ``stars`` (1-5)."""

    user: str
    stars: int
    comment: str | None = None
    hours_saved_estimate: int | None = None


@dataclass(frozen=True, slots=True)
class SeedUse:
    """``count`` uses of the skill through ``tool`` by ``user`` (an email), or anonymous (``None``)."""

    user: str | None
    tool: str
    count: int


@dataclass(frozen=True, slots=True)
class SeedSkill:
    """A skill of a seed tenant, found again by ``slug``.

    ``changes`` holds one changelog line per version (version ``n`` is ``changes[n-1]``;
    its content is ``body`` plus the changelog up to ``n``). ``published`` and ``draft``
    are version numbers, or ``None``. ``author`` is an email of the tenant's users, or
    ``None`` for an imported skill (its versions are then created by the tenant's first
    user).
    """

    slug: str
    name: str
    description: str
    category: str
    author: str | None
    body: str
    changes: tuple[str, ...]
    published: int | None
    draft: int | None = None
    ratings: tuple[SeedRating, ...] = ()
    uses: tuple[SeedUse, ...] = ()

    def content(self, version: int) -> bytes:
        """The markdown of version ``version`` (1-based)."""
        changelog = "\n".join(f"- v{n}: {line}" for n, line in enumerate(self.changes[:version], start=1))
        return f"# {self.name}\n\n{self.description}\n\n{self.body.strip()}\n\n## Changelog\n\n{changelog}\n".encode()


@dataclass(frozen=True, slots=True)
class SeedTenant:
    """A seed tenant: ``key`` names it for good (its id is derived from it), ``users[0]`` owns it."""

    key: str
    name: str
    users: tuple[SeedUser, ...]
    skills: tuple[SeedSkill, ...]

    @property
    def id(self) -> str:
        """The tenant's fixed id: ``str(uuid5(SEED_NAMESPACE, key))``."""
        return str(uuid.uuid5(SEED_NAMESPACE, self.key))


PRIYA = "priya.raman@northwind.example"
MARCUS = "marcus.webb@northwind.example"
SOFIA = "sofia.lindqvist@northwind.example"
TOMAS = "tomas.okafor@northwind.example"
LENA = "lena.fischer@brightpath.example"  # a consultant with a user in both tenants
AMARA = "amara.nwosu@harborhealth.example"
DIEGO = "diego.alvarez@harborhealth.example"

NORTHWIND = SeedTenant(
    key="northwind-labs",
    name="Northwind Labs",
    users=(
        SeedUser(PRIYA, "Priya Raman"),
        SeedUser(MARCUS, "Marcus Webb"),
        SeedUser(SOFIA, "Sofia Lindqvist"),
        SeedUser(TOMAS, "Tomás Okafor"),
        SeedUser(LENA, "Lena Fischer"),
    ),
    skills=(
        SeedSkill(
            slug="code-review-checklist",
            name="Code review checklist",
            description="Walk a diff through correctness, tests, security and readability before approving.",
            category="code-review",
            author=PRIYA,
            body="""
You are reviewing the diff below. Go through the checklist in order and report
each finding with its file, line and a concrete fix.

1. Correctness: off-by-one errors, unhandled None, error paths that swallow exceptions.
2. Tests: does every behaviour change come with a test that fails without it?
3. Security: untrusted input reaching SQL, shell or HTML; secrets in code or logs.
4. Data: migrations that lock big tables, missing indexes for new queries.
5. Readability: names, dead code, comments that restate the code.

End with APPROVE, APPROVE WITH NITS or REQUEST CHANGES.
""",
            changes=(
                "first checklist: correctness, tests, readability",
                "add the security and data sections",
                "ask for a verdict line; group nits separately",
            ),
            published=2,
            draft=3,
            ratings=(
                SeedRating(MARCUS, 5, "Caught a missing index on the orders migration before it shipped.", 3),
                SeedRating(SOFIA, 4, "Good coverage; the data section is the part I use most.", 2),
                SeedRating(TOMAS, 5, "Reviews of junior PRs got noticeably faster.", 4),
                SeedRating(LENA, 3),
            ),
            uses=(
                SeedUse(MARCUS, "claude-code", 9),
                SeedUse(TOMAS, "vscode", 8),
                SeedUse(SOFIA, "github-actions", 5),
                SeedUse(None, "github-actions", 2),
            ),
        ),
        SeedSkill(
            slug="pr-description-template",
            name="Pull request description",
            description="Turn a branch's commits into a PR description: why, what changed, how it was tested.",
            category="prompt-templates",
            author=MARCUS,
            body="""
Write a pull request description from the commit messages and diff summary below.

## Why
One paragraph: the problem, linked issue, who asked.

## What changed
Bullet points, most important first; call out anything a reviewer could miss.

## How it was tested
Commands run, environments, screenshots for UI changes.

## Rollout
Feature flags, migrations, and the rollback plan.
""",
            changes=("why / what / testing sections", "add the rollout section and link the issue"),
            published=2,
            ratings=(
                SeedRating(PRIYA, 4, "Reviewers stopped asking 'how did you test this?'.", 1),
                SeedRating(TOMAS, 5, "I use it on every PR now.", 2),
                SeedRating(SOFIA, 5, "The rollout section alone prevented a bad deploy.", 3),
            ),
            uses=(
                SeedUse(TOMAS, "claude-code", 12),
                SeedUse(PRIYA, "cursor", 10),
                SeedUse(MARCUS, "claude-code", 6),
                SeedUse(SOFIA, "cli", 3),
            ),
        ),
        SeedSkill(
            slug="sql-query-explainer",
            name="Explain a slow SQL query",
            description="Read EXPLAIN (ANALYZE, BUFFERS) output and say where the time goes and what to try.",
            category="sql",
            author=SOFIA,
            body="""
Given a PostgreSQL query and its EXPLAIN (ANALYZE, BUFFERS) output:

- Name the node where most of the time is spent, with its actual rows vs. estimate.
- Flag sequential scans on large tables, nested loops over many rows, sorts spilling to disk.
- Suggest at most three changes (an index, a rewrite, a statistics target), each
  with the expected effect and its cost on writes.
- Never suggest disabling planner settings in production.
""",
            changes=("first version", "ask for BUFFERS; warn about estimate mismatches"),
            published=2,
            ratings=(
                SeedRating(PRIYA, 5, "Found a bad row estimate on the invoices join in minutes.", 6),
                SeedRating(MARCUS, 4, "Clear, though it over-suggests indexes.", 2),
            ),
            uses=(SeedUse(PRIYA, "psql", 5), SeedUse(SOFIA, "claude-code", 4), SeedUse(MARCUS, "cli", 3)),
        ),
        SeedSkill(
            slug="incident-postmortem",
            name="Incident postmortem draft",
            description="Draft a blameless postmortem from an incident channel export and the alert timeline.",
            category="operations",
            author=SOFIA,
            body="""
From the incident channel export and alert timeline, draft a blameless postmortem:

- Summary: impact in user terms, duration, severity.
- Timeline in UTC: detection, escalation, mitigation, resolution.
- Contributing factors (never people), what went well, where we got lucky.
- Action items with an owner role and a due date; mark the one that prevents recurrence.
""",
            changes=(
                "summary and timeline",
                "blameless wording rules",
                "'where we got lucky' section",
                "action items need an owner role and a due date",
            ),
            published=4,
            ratings=(
                SeedRating(MARCUS, 5, "Our postmortems are finally written within a day.", 5),
                SeedRating(PRIYA, 4, "Timeline reconstruction is excellent.", 3),
                SeedRating(LENA, 3, "Action items still need a human pass.", 1),
            ),
            uses=(SeedUse(SOFIA, "slack-bot", 5), SeedUse(MARCUS, "claude-code", 4)),
        ),
        SeedSkill(
            slug="release-notes-from-prs",
            name="Release notes from merged PRs",
            description="Group merged pull requests into user-facing release notes: features, fixes, breaking changes.",
            category="writing",
            author=TOMAS,
            body="""
Given the merged pull requests since the last tag, write release notes for users:

- Group into Breaking changes, Features, Fixes; skip internal refactors and CI.
- One line per item, in the user's words, with the PR number.
- Breaking changes get a migration hint.
""",
            changes=("features / fixes / breaking changes",),
            published=1,
            ratings=(SeedRating(MARCUS, 3, "Too verbose for patch releases.", 1),),
            uses=(SeedUse(TOMAS, "github-actions", 4), SeedUse(None, "github-actions", 2)),
        ),
        SeedSkill(
            slug="pytest-scaffold",
            name="pytest scaffolding for a module",
            description="Generate a pytest file for a Python module: fixtures, parametrized edge cases, no mocks.",
            category="testing",
            author=PRIYA,
            body="""
Write a pytest module for the Python module below.

- One test per behaviour, named test_<what>_<when>.
- Parametrize edge cases: empty input, None, boundaries, unicode.
- Use fixtures for setup; mock only the network and the clock, never our own code.
- Every test must fail if the behaviour it names is removed.
""",
            changes=(
                "basic test layout",
                "parametrized edge cases",
                "no mocks of our own code; tests must fail without the behaviour",
            ),
            published=3,
            ratings=(
                SeedRating(TOMAS, 4, "Good start; I still trim a third of the cases.", 2),
                SeedRating(SOFIA, 5, "The edge-case list alone is worth it.", 3),
                SeedRating(MARCUS, 2, "Generates far too many cases for small modules.", 0),
            ),
            uses=(SeedUse(TOMAS, "cursor", 7), SeedUse(PRIYA, "claude-code", 6), SeedUse(LENA, "vscode", 4)),
        ),
        SeedSkill(
            slug="api-error-messages",
            name="Consistent API error messages",
            description="Rewrite API error responses to say what went wrong, why, and what the caller can do.",
            category="engineering",
            author=TOMAS,
            body="""
Rewrite each error response below as problem+json:

- title: what went wrong, in one short sentence without jargon;
- detail: why, naming the offending field and value;
- a hint the caller can act on; never leak stack traces or SQL.
""",
            changes=("draft for review",),
            published=None,
            draft=1,
            uses=(SeedUse(TOMAS, "cli", 2),),
        ),
        SeedSkill(
            slug="conventional-commits",
            name="Conventional commit messages",
            description="Write a Conventional Commits message (type, scope, subject, body) from a staged diff.",
            category="prompt-templates",
            author=None,
            body="""
Write a commit message for the staged diff, following Conventional Commits:

    <type>(<scope>): <subject in the imperative, at most 72 characters>

    <body: why the change was made, wrapped at 72>

Types: feat, fix, docs, refactor, test, chore. Add BREAKING CHANGE: when it is one.
""",
            changes=("imported from the public template library",),
            published=1,
            ratings=(SeedRating(LENA, 4, "Simple and it works.", None),),
            uses=(SeedUse(LENA, "cli", 6), SeedUse(TOMAS, "vscode", 5), SeedUse(None, "git-hook", 3)),
        ),
    ),
)

HARBOR = SeedTenant(
    key="harbor-health-analytics",
    name="Harbor Health Analytics",
    users=(
        SeedUser(AMARA, "Amara Nwosu"),
        SeedUser(DIEGO, "Diego Álvarez"),
        SeedUser(LENA, "Lena Fischer"),
    ),
    skills=(
        SeedSkill(
            slug="sql-style-review",
            name="SQL style review",
            description="Review a SQL file against the style guide: CTEs over nesting, explicit joins, no SELECT *.",
            category="sql",
            author=DIEGO,
            body="""
Review the SQL below against our style guide and return the corrected query:

- lowercase keywords, one column per line, trailing commas;
- CTEs instead of nested subqueries, each named for what it holds;
- explicit JOIN ... ON, never comma joins; no SELECT * outside exploratory notebooks;
- dates compared as half-open ranges (>= start AND < end).
""",
            changes=("first version of the style rules", "half-open date ranges"),
            published=2,
            ratings=(
                SeedRating(AMARA, 4, "Keeps review comments about style out of PRs.", 2),
                SeedRating(LENA, 5, "Great for onboarding new analysts.", 3),
            ),
            uses=(SeedUse(AMARA, "dbt-cloud", 6), SeedUse(DIEGO, "vscode", 5), SeedUse(LENA, "jupyter", 4)),
        ),
        SeedSkill(
            slug="cohort-retention-query",
            name="Cohort retention query",
            description="Build a monthly cohort retention query from visits, with the cohort definition spelled out.",
            category="sql",
            author=AMARA,
            body="""
Write a PostgreSQL query for monthly cohort retention:

1. cohorts: each patient's first qualifying visit month (state the definition).
2. activity: distinct active months per patient.
3. retention: for every cohort and month offset 0..11, active / cohort size,
   as a percentage with one decimal.

Use generate_series for the offsets so empty months show as 0, not missing rows.
""",
            changes=(
                "cohorts and activity CTEs",
                "month offsets via generate_series",
                "state the cohort definition explicitly",
                "percentages with one decimal; 12 months",
            ),
            published=3,
            draft=4,
            ratings=(
                SeedRating(DIEGO, 5, "Saved a full day on the quarterly board deck.", 8),
                SeedRating(LENA, 4, "Correct; check the cohort definition with clinicians.", 4),
            ),
            uses=(SeedUse(AMARA, "jupyter", 9), SeedUse(DIEGO, "psql", 7), SeedUse(None, "scheduler", 5)),
        ),
        SeedSkill(
            slug="dbt-model-docs",
            name="dbt model documentation",
            description="Write schema.yml descriptions and tests for a dbt model from its SQL.",
            category="data-modeling",
            author=DIEGO,
            body="""
From the dbt model's SQL, write its schema.yml entry:

- a model description: grain, source systems, refresh cadence;
- a description for every column, units included;
- tests: unique and not_null on the grain, accepted_values on status columns,
  relationships to the dimension tables.
""",
            changes=("model and column descriptions", "generate tests for the grain and foreign keys"),
            published=None,
            draft=2,
        ),
        SeedSkill(
            slug="phi-redaction-check",
            name="PHI redaction check",
            description="Check a dataset extract or report for protected health information before it leaves the team.",
            category="compliance",
            author=AMARA,
            body="""
Scan the extract or report below for protected health information before sharing:

- direct identifiers: names, addresses below state level, dates more precise than the year,
  phone and record numbers, emails;
- small cells: any group under 11 patients must be suppressed;
- free-text columns: flag them for manual review rather than guessing.

Answer SAFE TO SHARE or BLOCKED, with every finding listed.
""",
            changes=("identifier list", "small-cell suppression under 11 patients"),
            published=1,
            draft=2,
            ratings=(
                SeedRating(DIEGO, 5, "Blocked an extract with full birth dates last week.", 6),
                SeedRating(LENA, 4, "Exactly what the privacy office asked for; slow on wide tables.", 4),
            ),
            uses=(SeedUse(AMARA, "jupyter", 4), SeedUse(DIEGO, "cli", 4), SeedUse(LENA, "jupyter", 3)),
        ),
        SeedSkill(
            slug="weekly-metrics-narrative",
            name="Weekly metrics narrative",
            description="Turn the weekly dashboard numbers into a short narrative for leadership.",
            category="prompt-templates",
            author=AMARA,
            body="""
Given this week's and last week's dashboard numbers, write five sentences for leadership:
what moved, by how much, the likely reason, what we are watching, and one caveat about
data quality. No adjectives without a number next to them.
""",
            changes=("five-sentence narrative",),
            published=1,
            ratings=(SeedRating(DIEGO, 3, "Fine, but it hedges too much.", 1),),
            uses=(SeedUse(AMARA, "slack-bot", 8),),
        ),
        SeedSkill(
            slug="migration-review-checklist",
            name="PostgreSQL migration review",
            description="Review a schema migration for locks, table rewrites and a safe rollback before production.",
            category="code-review",
            author=DIEGO,
            body="""
Review the migration below for production safety:

- Which statements take an ACCESS EXCLUSIVE lock, and on how many rows?
- Does anything rewrite the table (type changes, volatile defaults)?
- Indexes: CREATE INDEX CONCURRENTLY, outside a transaction.
- Constraints: NOT VALID first, then VALIDATE CONSTRAINT.
- Is there a rollback, and does it lose data?
""",
            changes=(
                "locks and rewrites",
                "concurrent indexes and NOT VALID constraints",
                "require a rollback and say whether it loses data",
            ),
            published=3,
            ratings=(
                SeedRating(AMARA, 5, "Caught a table rewrite on the claims table.", 5),
                SeedRating(LENA, 5, None, 2),
            ),
            uses=(SeedUse(DIEGO, "github-actions", 4), SeedUse(AMARA, "vscode", 3)),
        ),
        SeedSkill(
            slug="explain-analyze-reader",
            name="EXPLAIN ANALYZE reader",
            description="Annotate an EXPLAIN ANALYZE plan line by line in plain language, for analysts new to it.",
            category="sql",
            author=LENA,
            body="""
Annotate each node of the EXPLAIN ANALYZE plan below in plain language: what it does,
how many rows it expected and got, and how long it took. Keep it to one line per node
and point at the single most expensive one at the end.
""",
            changes=("first version, shared from Northwind's query explainer",),
            published=1,
            uses=(SeedUse(LENA, "jupyter", 2), SeedUse(AMARA, "psql", 1)),
        ),
    ),
)

#: The demo data set: every tenant the seed writes, with its users and skills.
TENANTS: tuple[SeedTenant, ...] = (NORTHWIND, HARBOR)


@dataclass(frozen=True, kw_only=True, slots=True)
class SeedReport:
    """What one :func:`seed` run wrote: rows created per table, and pointers and ratings changed.

    All zeros when the data set was already there. ``published`` and ``drafts`` count
    skills whose ``published_version_id`` / ``draft_version_id`` the run set;
    ``ratings_replaced`` counts seed ratings that had been changed and were put back.
    """

    tenants: int = 0
    users: int = 0
    skills: int = 0
    skill_versions: int = 0
    published: int = 0
    drafts: int = 0
    ratings: int = 0
    ratings_replaced: int = 0
    usage_events: int = 0

    @property
    def total(self) -> int:
        """Rows created or changed, all tables together (0: the run changed nothing)."""
        return sum(getattr(self, f.name) for f in dataclasses.fields(self))

    def __add__(self, other: SeedReport) -> SeedReport:
        """Both reports' counts added up."""
        if not isinstance(other, SeedReport):
            return NotImplemented
        return SeedReport(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self)})

    def __str__(self) -> str:
        """``"2 tenants, 8 users, ..."`` (non-zero counts only), or ``"nothing"``."""
        labels = {
            "tenants": "tenants",
            "users": "users",
            "skills": "skills",
            "skill_versions": "skill versions",
            "published": "versions published",
            "drafts": "drafts set",
            "ratings": "ratings",
            "ratings_replaced": "ratings replaced",
            "usage_events": "usage events",
        }
        parts = [f"{getattr(self, name)} {label}" for name, label in labels.items() if getattr(self, name)]
        return ", ".join(parts) or "nothing"


def seed(conn: psycopg.Connection[Any]) -> SeedReport:
    """Load the demo data set (:data:`TENANTS`), creating only what is missing.

    Idempotent: a second run finds every row by its key (tenant id, user email, skill
    slug) and changes nothing: the same ids, row counts and metrics, and an all-zero
    report. For each tenant, in one ``skilldb.tenant`` block (one transaction, so a
    tenant is seeded whole or not at all):

    * the tenant's row (:func:`skilldb.get_tenant`, :func:`skilldb.create_tenant`);
    * its users (:func:`skilldb.get_user_by_email`, :func:`skilldb.create_user`);
    * its skills (:func:`skilldb.get_skill_by_slug`, :func:`skilldb.create_skill`);
      versions only for a skill that has none (``latest_version == 0``), with
      :func:`skilldb.create_skill_version`;
    * the published and draft pointers, set only where one is declared and the
      skill has none (:func:`skilldb.get_skill_with_relations`,
      :func:`skilldb.publish_version`, :func:`skilldb.set_draft_version`);
    * ratings, with :func:`skilldb.rate_skill` only where the user's rating of the
      skill is missing or differs from the declared one (an identical one is not
      rewritten);
    * usage events, in one :func:`skilldb.record_usage_events` batch, only for skills
      with no uses and no events yet; they are stamped ``now()``.

    Metrics (``total_uses``, ``average_rating``) are kept by the database's triggers.
    When a concurrent run creates the same tenant's rows first, the tenant's block is
    rolled back on :class:`~skilldb.errors.AlreadyExists` and run once more, and then
    finds them. Skills and users the seed does not declare are left alone; a skill
    whose versions someone else created keeps them.

    Works as the application role (a member of ``skilldb_app``); no superuser needed.

    :param conn: an idle ``psycopg.Connection`` (not inside a transaction or a
        ``skilldb.tenant`` block): the seed opens and commits its own blocks.
    :return: a :class:`SeedReport` of what was written (all zeros on a re-run).
    :raises TransactionInProgress: ``conn`` is inside a transaction or a block.
    :raises ConnectionClosed: ``conn`` is closed.
    :raises PermissionDenied: the role may not write the tables (not a member of ``skilldb_app``).
    :raises AlreadyExists: a concurrent run kept creating the same rows (after the retry).
    """
    report = SeedReport()
    for seed_tenant in TENANTS:
        for attempt in range(2):
            try:
                with tenant(conn, seed_tenant.id):
                    report += _seed_tenant(conn, seed_tenant)
                break
            except AlreadyExists:
                if attempt:
                    raise
    return report


def _seed_tenant(conn: psycopg.Connection[Any], spec: SeedTenant) -> SeedReport:
    """Write what is missing of ``spec`` inside its (already bound) block."""
    created: Counter[str] = Counter()
    if get_tenant(conn) is None:
        create_tenant(conn, name=spec.name)
        created["tenants"] += 1
    user_ids: dict[str, str] = {}
    for seed_user in spec.users:
        user = get_user_by_email(conn, seed_user.email)
        if user is None:
            user = create_user(conn, email=seed_user.email, name=seed_user.name)
            created["users"] += 1
        user_ids[seed_user.email] = user.id
    owner = user_ids[spec.users[0].email]
    events: list[NewUsageEvent] = []
    for seed_skill in spec.skills:
        skill = get_skill_by_slug(conn, seed_skill.slug)
        if skill is None:
            skill = create_skill(
                conn,
                author_id=None if seed_skill.author is None else user_ids[seed_skill.author],
                name=seed_skill.name,
                slug=seed_skill.slug,
                description=seed_skill.description,
                category=seed_skill.category,
            )
            created["skills"] += 1
        if skill.latest_version == 0:
            created_by = owner if seed_skill.author is None else user_ids[seed_skill.author]
            created["skill_versions"] += _create_versions(conn, spec.key, seed_skill, skill.id, created_by)
        full = get_skill_with_relations(conn, skill.id)
        assert full is not None  # found or created in this transaction
        created.update(_set_pointers(conn, seed_skill, full))
        created.update(_rate(conn, seed_skill, full, user_ids))
        if full.total_uses == 0 and full.usage.last_used_at is None:
            events.extend(_events(seed_skill, skill.id, user_ids))
    if events:
        created["usage_events"] += record_usage_events(conn, events)
    return SeedReport(**created)


def _create_versions(
    conn: psycopg.Connection[Any], tenant_key: str, seed_skill: SeedSkill, skill_id: str, created_by: str
) -> int:
    """Create versions 1..n of a skill that has none; return n."""
    for number, change in enumerate(seed_skill.changes, start=1):
        create_skill_version(
            conn,
            skill_id,
            content=seed_skill.content(number),
            content_url=f"seed/{tenant_key}/{seed_skill.slug}/v{number}.md",
            content_type="text/markdown",
            created_by=created_by,
            metadata={"source": SOURCE, "changelog": change},
        )
    return len(seed_skill.changes)


def _set_pointers(conn: psycopg.Connection[Any], seed_skill: SeedSkill, full: SkillWithRelations) -> Counter[str]:
    """Set the declared published and draft pointers the skill lacks."""
    changed: Counter[str] = Counter()
    by_number = {v.version: v.id for v in full.versions}
    if full.published_version_id is None and seed_skill.published in by_number:
        publish_version(conn, full.id, by_number[seed_skill.published])
        changed["published"] += 1
    if full.draft_version_id is None and seed_skill.draft in by_number:
        set_draft_version(conn, full.id, by_number[seed_skill.draft])
        changed["drafts"] += 1
    return changed


def _rate(
    conn: psycopg.Connection[Any], seed_skill: SeedSkill, full: SkillWithRelations, user_ids: dict[str, str]
) -> Counter[str]:
    """Record the declared ratings that are missing, and put back those that differ."""
    changed: Counter[str] = Counter()
    existing = {r.user_id: (r.rating, r.comment, r.hours_saved_estimate) for r in full.ratings}
    for seed_rating in seed_skill.ratings:
        user_id = user_ids[seed_rating.user]
        wanted = (seed_rating.stars, seed_rating.comment, seed_rating.hours_saved_estimate)
        if existing.get(user_id) == wanted:
            continue
        rate_skill(
            conn,
            skill_id=full.id,
            user_id=user_id,
            rating=seed_rating.stars,
            comment=seed_rating.comment,
            hours_saved_estimate=seed_rating.hours_saved_estimate,
        )
        changed["ratings" if user_id not in existing else "ratings_replaced"] += 1
    return changed


def _events(seed_skill: SeedSkill, skill_id: str, user_ids: dict[str, str]) -> list[NewUsageEvent]:
    """The skill's declared uses as events, with deterministic metadata."""
    events: list[NewUsageEvent] = []
    for use in seed_skill.uses:
        for n in range(use.count):
            position = len(events)
            events.append(
                NewUsageEvent(
                    skill_id=skill_id,
                    tool_name=use.tool,
                    user_id=None if use.user is None else user_ids[use.user],
                    metadata={"source": SOURCE, "duration_ms": 400 + (position * 137 + n * 61) % 2600},
                )
            )
    return events
