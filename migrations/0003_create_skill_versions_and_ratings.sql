-- Create skill_versions, the skills' version pointers, and ratings, with row-level security.
-- depends: 0002_create_skills

CREATE TABLE skill_versions (
    tenant_id key_text NOT NULL DEFAULT current_tenant_id()
        REFERENCES tenants (id) ON DELETE CASCADE,
    id key_text NOT NULL DEFAULT gen_random_uuid()::text,
    skill_id key_text NOT NULL,
    version integer NOT NULL CONSTRAINT skill_versions_version_positive CHECK (version >= 1),
    content_url text NOT NULL CONSTRAINT skill_versions_content_url_valid
        CHECK (btrim(content_url) <> '' AND char_length(content_url) <= 2048),
    content_hash text NOT NULL CONSTRAINT skill_versions_content_hash_sha256 CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    content_type text NOT NULL CONSTRAINT skill_versions_content_type_mime
        CHECK (content_type ~ '^[a-z]+/[a-z0-9][a-z0-9.+-]*$' AND char_length(content_type) <= 255),
    name text NOT NULL CONSTRAINT skill_versions_name_valid CHECK (btrim(name) <> '' AND char_length(name) <= 200),
    description text CONSTRAINT skill_versions_description_length CHECK (char_length(description) <= 100000),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb
        CONSTRAINT skill_versions_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    created_by key_text NOT NULL,
    created_at moment NOT NULL DEFAULT now(),
    CONSTRAINT skill_versions_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT skill_versions_tenant_id_skill_id_version_key UNIQUE (tenant_id, skill_id, version),
    CONSTRAINT skill_versions_tenant_id_skill_id_id_key UNIQUE (tenant_id, skill_id, id),
    CONSTRAINT skill_versions_skill_id_fkey FOREIGN KEY (tenant_id, skill_id)
        REFERENCES skills (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT skill_versions_created_by_fkey FOREIGN KEY (tenant_id, created_by)
        REFERENCES users (tenant_id, id)
);

COMMENT ON TABLE skill_versions IS 'An immutable, numbered snapshot of a skill''s content (1, 2, 3 ... per skill).';
COMMENT ON COLUMN skill_versions.content_url IS 'Object-store key of the content, at most 2048 characters.';
COMMENT ON COLUMN skill_versions.content_hash IS 'SHA-256 of the content, 64 lowercase hex digits.';
COMMENT ON COLUMN skill_versions.content_type IS 'MIME type of the content: text/markdown, application/json, ...';
COMMENT ON COLUMN skill_versions.name IS 'The skill''s name when this version was created.';
COMMENT ON COLUMN skill_versions.description IS 'The skill''s description when this version was created.';
COMMENT ON CONSTRAINT skill_versions_tenant_id_skill_id_id_key ON skill_versions IS
    'Target of the skills'' version pointers, so a pointer can only name a version of the same skill.';

CREATE INDEX skill_versions_created_by_idx ON skill_versions (tenant_id, created_by);

/* The pointers name (tenant, skill, version): a version of another skill, or of
   another tenant, cannot be published or drafted. */
ALTER TABLE skills
    ADD CONSTRAINT skills_published_version_id_fkey FOREIGN KEY (tenant_id, id, published_version_id)
        REFERENCES skill_versions (tenant_id, skill_id, id),
    ADD CONSTRAINT skills_draft_version_id_fkey FOREIGN KEY (tenant_id, id, draft_version_id)
        REFERENCES skill_versions (tenant_id, skill_id, id);

ALTER TABLE skill_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE skill_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON skill_versions AS PERMISSIVE FOR ALL
    USING (tenant_id = current_setting('app.current_tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true));

CREATE TABLE ratings (
    tenant_id key_text NOT NULL DEFAULT current_tenant_id()
        REFERENCES tenants (id) ON DELETE CASCADE,
    id key_text NOT NULL DEFAULT gen_random_uuid()::text,
    skill_id key_text NOT NULL,
    user_id key_text NOT NULL,
    rating integer NOT NULL CONSTRAINT ratings_rating_range CHECK (rating BETWEEN 1 AND 5),
    comment text CONSTRAINT ratings_comment_length CHECK (char_length(comment) <= 10000),
    hours_saved_estimate integer CONSTRAINT ratings_hours_saved_estimate_not_negative CHECK (hours_saved_estimate >= 0),
    created_at moment NOT NULL DEFAULT now(),
    CONSTRAINT ratings_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT ratings_tenant_id_skill_id_user_id_key UNIQUE (tenant_id, skill_id, user_id),
    CONSTRAINT ratings_skill_id_fkey FOREIGN KEY (tenant_id, skill_id)
        REFERENCES skills (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT ratings_user_id_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

COMMENT ON TABLE ratings IS 'One user''s 1-5 star rating of one skill (at most one per skill and user).';
COMMENT ON COLUMN ratings.hours_saved_estimate IS 'The rater''s estimate of hours the skill saved them.';

CREATE INDEX ratings_user_id_idx ON ratings (tenant_id, user_id);

ALTER TABLE ratings ENABLE ROW LEVEL SECURITY;
ALTER TABLE ratings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ratings AS PERMISSIVE FOR ALL
    USING (tenant_id = current_setting('app.current_tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true));
