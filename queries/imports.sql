-- imports: bulk imports of an outside library into the bound tenant, set-based, in the
-- caller's transaction (skilldb.import_prompts runs these in the order they are written).
-- The staged rows arrive as parallel arrays, one element per revision in history order
-- (unnest ... WITH ORDINALITY gives each its position), not through a staging table: COPY
-- FROM is refused on tables under row-level security, and a query over a session's
-- temporary table could not be prepared by skilldb check. An import finds its earlier work again
-- by the metadata of the versions it wrote ({"source": ..., "act": title, "revision": n}):
-- versions are immutable and go only with their skill, so that key cannot drift. The
-- package passes the tenant bound by skilldb.tenant() as :tenant_id, and every table read
-- is filtered on it, subqueries included; row-level security is a second wall.

-- name: start_prompt_import(tenant_id)^
-- Locks the bound tenant's row (FOR NO KEY UPDATE: inserts elsewhere go on) until the
-- transaction ends, so imports into one tenant run one at a time and a second sees the
-- first's rows. Returns the tenant's id; no row when the bound tenant has no row in tenants.
SELECT t.id
FROM tenants t
WHERE t.id = :tenant_id
FOR NO KEY UPDATE;

-- name: create_prompt_skills(tenant_id, source, titles, slugs, categories, author_emails, author_names, created_ats)
-- One row per distinct title, in order of first appearance: its skill (found by an earlier
-- import's versions, else created now, with its author's user if the tenant lacks it), whether
-- it was created, and how many users the statement added (the same on every row). A new skill's
-- slug is its base, else base-2, base-3 ... in order of first appearance, skipping slugs in use
-- and the bases of other new titles.
WITH staged AS (
    SELECT r.title, r.slug, r.category, r.author_email, r.author_name, r.created_at, r.position
    FROM unnest(
        :titles::text [], :slugs::text [], :categories::text [], :author_emails::text [], :author_names::text [],
        :created_ats::timestamptz []
    ) WITH ORDINALITY AS r (title, slug, category, author_email, author_name, created_at, position)
),
acts AS (
    /* per title: first appearance, its slug base (the same on every row), the category of its
       last row that has one, the first author named, the time of its first row */
    SELECT
        s.title, min(s.position) AS position, min(s.slug) AS base,
        (array_agg(s.category ORDER BY s.position DESC) FILTER (WHERE s.category IS NOT NULL))[1] AS category,
        (array_agg(s.author_email ORDER BY s.position) FILTER (WHERE s.author_email IS NOT NULL))[1] AS author_email,
        (array_agg(s.author_name ORDER BY s.position) FILTER (WHERE s.author_email IS NOT NULL))[1] AS author_name,
        (array_agg(s.created_at ORDER BY s.position))[1] AS created_at
    FROM staged s
    GROUP BY s.title
),
known AS (
    SELECT DISTINCT ON (v.metadata ->> 'act') v.metadata ->> 'act' AS title, v.skill_id
    FROM skill_versions v
    WHERE v.tenant_id = :tenant_id AND v.metadata @> jsonb_build_object('source', :source::text)
    ORDER BY v.metadata ->> 'act', v.skill_id
),
fresh AS (
    SELECT a.title, a.position, a.base, a.category, a.author_email, a.author_name, a.created_at,
        row_number() OVER (PARTITION BY a.base ORDER BY a.position) AS rank
    FROM acts a
    WHERE NOT EXISTS (SELECT FROM known k WHERE k.title = a.title)
),
bases AS (
    SELECT f.base, count(*) AS wanted FROM fresh f GROUP BY f.base
),
rivals AS (
    /* Slugs that can stand in a base's way: existing ones, and the other new bases (each base
       is kept for its own first title). A slug blocks base b only when it is b or b-<n>, so
       when its stem (the slug without a trailing -<n>) or the slug itself is b: counting both
       per stem bounds how far past b-<wanted> the free candidates can lie. */
    SELECT o.stem, count(*) AS n
    FROM (
        SELECT regexp_replace(s.slug, '-[0-9]+$', '') AS stem FROM skills s WHERE s.tenant_id = :tenant_id
        UNION ALL
        SELECT s.slug FROM skills s WHERE s.tenant_id = :tenant_id AND s.slug ~ '-[0-9]+$'
        UNION ALL
        SELECT regexp_replace(b.base, '-[0-9]+$', '') FROM bases b WHERE b.base ~ '-[0-9]+$'
    ) AS o
    GROUP BY o.stem
),
candidates AS (
    SELECT b.base, g.n, CASE WHEN g.n = 1 THEN b.base ELSE b.base || '-' || g.n END AS slug
    FROM bases b
    LEFT JOIN rivals r ON r.stem = b.base
    CROSS JOIN LATERAL generate_series(1, b.wanted + coalesce(r.n, 0)) AS g (n)
),
free AS (
    SELECT c.base, c.slug, row_number() OVER (PARTITION BY c.base ORDER BY c.n) AS rank
    FROM candidates c
    WHERE NOT EXISTS (SELECT FROM skills s WHERE s.tenant_id = :tenant_id AND s.slug = c.slug)
        AND NOT (c.n > 1 AND EXISTS (SELECT FROM bases o WHERE o.base = c.slug))
),
authors AS (
    /* the new skills' authors the tenant lacks (this statement's other parts cannot see them
       in users: they read the snapshot it started with) */
    INSERT INTO users (tenant_id, email, name)
    SELECT DISTINCT ON (lower(f.author_email)) :tenant_id, f.author_email, f.author_name
    FROM fresh f
    WHERE f.author_email IS NOT NULL
    ORDER BY lower(f.author_email), f.position
    ON CONFLICT (tenant_id, lower(email)) DO NOTHING
    RETURNING id, email
),
added AS (
    INSERT INTO skills (tenant_id, author_id, name, slug, category, created_at)
    SELECT :tenant_id, coalesce(u.id, n.id), f.title, c.slug, f.category, coalesce(f.created_at, now())
    FROM fresh f
    JOIN free c ON c.base = f.base AND c.rank = f.rank
    LEFT JOIN users u ON u.tenant_id = :tenant_id AND lower(u.email) = lower(f.author_email)
    LEFT JOIN authors n ON lower(n.email) = lower(f.author_email)
    ORDER BY f.position
    RETURNING id, name
)
SELECT
    a.title, coalesce(k.skill_id, d.id) AS skill_id, d.id IS NOT NULL AS created,
    (SELECT count(*) FROM authors) AS users_created
FROM acts a
LEFT JOIN known k ON k.title = a.title
LEFT JOIN added d ON d.name = a.title
ORDER BY a.position;

-- name: create_prompt_versions(tenant_id, source, skill_ids, titles, revisions, commits, types, for_devs, contributors, content_hashes, content_urls, content_types, created_by_emails, created_by_names, created_ats)^
-- Appends each skill's new revisions as its next versions, in history order, with the users who
-- made them if the tenant lacks them; returns how many versions and users it created. A revision
-- is new when it comes after the last one an earlier import wrote (by revision number; a row
-- without one, from a CSV, always does) and its text differs from the one before it.
WITH staged AS (
    SELECT
        r.skill_id, r.revision, r.content_hash, r.content_url, r.content_type, r.created_by_email,
        r.created_by_name, r.created_at, r.position,
        /* what the version keeps of its row; the statement adds the revision number */
        jsonb_build_object(
            'source', :source::text, 'act', r.title, 'commit', r.commit, 'type', r.type,
            'for_devs', r.for_devs, 'contributor', r.contributor
        ) AS metadata
    FROM unnest(
        :skill_ids::text [], :titles::text [], :revisions::integer [], :commits::text [], :types::text [],
        :for_devs::text [], :contributors::text [], :content_hashes::text [], :content_urls::text [],
        :content_types::text [], :created_by_emails::text [], :created_by_names::text [], :created_ats::timestamptz []
    ) WITH ORDINALITY AS r (
        skill_id, title, revision, commit, type, for_devs, contributor, content_hash, content_url, content_type,
        created_by_email, created_by_name, created_at, position
    )
),
present AS (
    /* each staged skill as it stands: its number of versions, the text of its latest, and the
       last revision an import of this source wrote */
    SELECT
        s.id AS skill_id, s.name, s.description, s.latest_version,
        (
            SELECT v.content_hash FROM skill_versions v
            WHERE v.tenant_id = :tenant_id AND v.skill_id = s.id
            ORDER BY v.version DESC LIMIT 1
        ) AS latest_hash,
        coalesce((
            SELECT max((v.metadata ->> 'revision')::numeric) FROM skill_versions v
            WHERE v.tenant_id = :tenant_id AND v.skill_id = s.id
                AND v.metadata @> jsonb_build_object('source', :source::text)
                AND jsonb_typeof(v.metadata -> 'revision') = 'number'
        ), 0) AS imported_revision
    FROM skills s
    WHERE s.tenant_id = :tenant_id AND s.id IN (SELECT r.skill_id FROM staged r)
),
later AS (
    SELECT
        r.skill_id, r.revision, r.content_hash, r.content_url, r.content_type, r.created_by_email,
        r.created_by_name, r.created_at, r.metadata, r.position, c.name, c.description, c.latest_version,
        c.imported_revision,
        lag(r.content_hash, 1, c.latest_hash) OVER (PARTITION BY r.skill_id ORDER BY r.position) AS previous_hash
    FROM staged r
    JOIN present c ON c.skill_id = r.skill_id
    WHERE r.revision IS NULL OR r.revision > c.imported_revision
),
numbered AS (
    SELECT
        l.skill_id, l.content_hash, l.content_url, l.content_type, l.created_by_email, l.created_by_name,
        l.created_at, l.metadata, l.name, l.description, l.position,
        l.latest_version + row_number() OVER w AS version,
        coalesce(l.revision, l.imported_revision + row_number() OVER w) AS revision
    FROM later l
    WHERE l.content_hash IS DISTINCT FROM l.previous_hash
    WINDOW w AS (PARTITION BY l.skill_id ORDER BY l.position)
),
creators AS (
    /* the new versions' creators the tenant lacks (see create_prompt_skills) */
    INSERT INTO users (tenant_id, email, name)
    SELECT DISTINCT ON (lower(n.created_by_email)) :tenant_id, n.created_by_email, n.created_by_name
    FROM numbered n
    ORDER BY lower(n.created_by_email), n.position
    ON CONFLICT (tenant_id, lower(email)) DO NOTHING
    RETURNING id, email
),
added AS (
    /* version numbers are given, in order: the numbering trigger (migration 0007) checks each
       is the skill's next one, so a concurrent writer fails the import instead of interleaving */
    INSERT INTO skill_versions (
        tenant_id, skill_id, version, content_url, content_hash, content_type, name, description,
        metadata, created_by, created_at
    )
    SELECT
        :tenant_id, n.skill_id, n.version, n.content_url, n.content_hash, n.content_type, n.name,
        n.description, n.metadata || jsonb_build_object('revision', n.revision), coalesce(u.id, c.id),
        coalesce(n.created_at, now())
    FROM numbered n
    LEFT JOIN users u ON u.tenant_id = :tenant_id AND lower(u.email) = lower(n.created_by_email)
    LEFT JOIN creators c ON lower(c.email) = lower(n.created_by_email)
    ORDER BY n.skill_id, n.version
    RETURNING id
)
SELECT (SELECT count(*) FROM added) AS versions_created, (SELECT count(*) FROM creators) AS users_created;

-- name: set_prompt_published_versions(tenant_id, source, skill_ids, in_library)$
-- Points each staged skill's published_version_id at its latest version from this source when
-- its last staged row is still in the library, else at none; returns how many pointers changed.
WITH staged AS (
    SELECT r.skill_id, r.in_library, r.position
    FROM unnest(:skill_ids::text [], :in_library::boolean []) WITH ORDINALITY AS r (skill_id, in_library, position)
),
wanted AS (
    SELECT DISTINCT ON (r.skill_id) r.skill_id, r.in_library
    FROM staged r
    ORDER BY r.skill_id, r.position DESC
),
target AS (
    SELECT
        w.skill_id,
        CASE WHEN w.in_library THEN (
            SELECT v.id FROM skill_versions v
            WHERE v.tenant_id = :tenant_id AND v.skill_id = w.skill_id
                AND v.metadata @> jsonb_build_object('source', :source::text)
            ORDER BY v.version DESC LIMIT 1
        ) END AS version_id
    FROM wanted w
),
changed AS (
    UPDATE skills s
    SET published_version_id = t.version_id
    FROM target t
    WHERE s.tenant_id = :tenant_id AND s.id = t.skill_id AND s.published_version_id IS DISTINCT FROM t.version_id
    RETURNING s.id
)
SELECT count(*) AS changed FROM changed;
