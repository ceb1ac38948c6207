-- Create skills, the updated_at trigger, and their row-level security.
-- depends: 0001_create_tenants_and_users

CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION set_updated_at() IS 'BEFORE UPDATE trigger: keeps updated_at at the time of the last change.';

CREATE TABLE skills (
    tenant_id key_text NOT NULL DEFAULT current_tenant_id()
        REFERENCES tenants (id) ON DELETE CASCADE,
    id key_text NOT NULL DEFAULT gen_random_uuid()::text,
    author_id key_text,
    name text NOT NULL CONSTRAINT skills_name_valid CHECK (btrim(name) <> '' AND char_length(name) <= 200),
    slug text NOT NULL CONSTRAINT skills_slug_valid
        CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 100),
    description text CONSTRAINT skills_description_length CHECK (char_length(description) <= 100000),
    category text CONSTRAINT skills_category_valid
        CHECK (btrim(category) <> '' AND char_length(category) <= 100),
    published_version_id key_text,
    draft_version_id key_text,
    total_uses integer NOT NULL DEFAULT 0 CONSTRAINT skills_total_uses_not_negative CHECK (total_uses >= 0),
    average_rating integer CONSTRAINT skills_average_rating_range CHECK (average_rating BETWEEN 100 AND 500),
    created_at moment NOT NULL DEFAULT now(),
    updated_at moment NOT NULL DEFAULT now(),
    CONSTRAINT skills_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT skills_tenant_id_slug_key UNIQUE (tenant_id, slug),
    CONSTRAINT skills_author_id_fkey FOREIGN KEY (tenant_id, author_id)
        REFERENCES users (tenant_id, id) ON DELETE SET NULL (author_id)
);

COMMENT ON TABLE skills IS 'A reusable skill; its content lives in immutable skill_versions.';
COMMENT ON COLUMN skills.slug IS 'URL name, unique per tenant: lowercase words joined by single hyphens, at most 100 characters.';
COMMENT ON COLUMN skills.total_uses IS 'Denormalized count of usage events; kept by the database, not writable by skilldb_app.';
COMMENT ON COLUMN skills.average_rating IS
    'Denormalized mean rating in stars x 100 (4.5 stars is 450); NULL when unrated; not writable by skilldb_app.';
COMMENT ON COLUMN skills.published_version_id IS 'The version users get; a version of this same skill (foreign key).';
COMMENT ON COLUMN skills.draft_version_id IS 'The version being worked on; a version of this same skill (foreign key).';

CREATE INDEX skills_author_id_idx ON skills (tenant_id, author_id);

CREATE TRIGGER skills_set_updated_at BEFORE UPDATE ON skills
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

ALTER TABLE skills ENABLE ROW LEVEL SECURITY;
ALTER TABLE skills FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON skills AS PERMISSIVE FOR ALL
    USING (tenant_id = current_setting('app.current_tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true));
