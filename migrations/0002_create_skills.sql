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
    id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    tenant_id text NOT NULL DEFAULT current_tenant_id()
        REFERENCES tenants (id) ON DELETE CASCADE,
    author_id text,
    name text NOT NULL CONSTRAINT skills_name_not_empty CHECK (btrim(name) <> ''),
    slug text NOT NULL CONSTRAINT skills_slug_valid CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    description text,
    category text,
    published_version_id text,
    draft_version_id text,
    total_uses integer NOT NULL DEFAULT 0 CONSTRAINT skills_total_uses_not_negative CHECK (total_uses >= 0),
    average_rating integer CONSTRAINT skills_average_rating_range CHECK (average_rating BETWEEN 100 AND 500),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    CONSTRAINT skills_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT skills_tenant_id_slug_key UNIQUE (tenant_id, slug),
    CONSTRAINT skills_author_id_fkey FOREIGN KEY (tenant_id, author_id)
        REFERENCES users (tenant_id, id) ON DELETE SET NULL (author_id)
);

COMMENT ON TABLE skills IS 'A reusable skill; its content lives in immutable skill_versions.';
COMMENT ON COLUMN skills.slug IS 'URL name, unique per tenant: lowercase words joined by single hyphens.';
COMMENT ON COLUMN skills.total_uses IS 'Denormalized count of usage events.';
COMMENT ON COLUMN skills.average_rating IS 'Denormalized mean rating in stars x 100 (4.5 stars is 450); NULL when unrated.';
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
