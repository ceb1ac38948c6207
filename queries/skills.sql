-- skills: the marketplace's skills. Rows of other tenants are invisible (row-level
-- security); tenant_id defaults to the bound tenant, and every query raises SQLSTATE
-- SK001 (skilldb.errors.TenantRequired) when no tenant is bound.
-- average_rating is stars x 100 (450 is 4.5 stars).

-- name: create_skill(author_id, name, slug, description, category)^
-- Creates a skill in the bound tenant, with no versions yet, and returns it.
INSERT INTO skills (author_id, name, slug, description, category)
VALUES (:author_id, :name, :slug, :description, :category)
RETURNING
    id, tenant_id, author_id, name, slug, description, category,
    published_version_id, draft_version_id, total_uses, average_rating,
    created_at, updated_at;

-- name: get_skill(skill_id)^
-- The bound tenant's skill with this id; no row when there is none.
SELECT
    id, tenant_id, author_id, name, slug, description, category,
    published_version_id, draft_version_id, total_uses, average_rating,
    created_at, updated_at
FROM skills
WHERE tenant_id = current_tenant_id()
    AND id = :skill_id;

-- name: get_skill_by_slug(slug)^
-- The bound tenant's skill with this slug; no row when there is none.
SELECT
    id, tenant_id, author_id, name, slug, description, category,
    published_version_id, draft_version_id, total_uses, average_rating,
    created_at, updated_at
FROM skills
WHERE tenant_id = current_tenant_id()
    AND slug = :slug;

-- name: list_skills(category, limit)
-- The bound tenant's skills, oldest first (ties by id), at most :limit of them;
-- only those in :category when it is not null.
SELECT
    id, tenant_id, author_id, name, slug, description, category,
    published_version_id, draft_version_id, total_uses, average_rating,
    created_at, updated_at
FROM skills
WHERE tenant_id = current_tenant_id()
    AND (:category::text IS NULL OR category = :category)
ORDER BY created_at, id
LIMIT :limit;
