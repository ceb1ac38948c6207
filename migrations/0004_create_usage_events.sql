-- Create usage_events, one row per use of a skill, with row-level security.
-- depends: 0003_create_skill_versions_and_ratings

CREATE TABLE usage_events (
    tenant_id key_text NOT NULL DEFAULT current_tenant_id()
        REFERENCES tenants (id) ON DELETE CASCADE,
    id key_text NOT NULL DEFAULT gen_random_uuid()::text,
    skill_id key_text,
    user_id key_text,
    tool_name text CONSTRAINT usage_events_tool_name_valid
        CHECK (btrim(tool_name) <> '' AND char_length(tool_name) <= 200),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb
        CONSTRAINT usage_events_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    created_at moment NOT NULL DEFAULT now(),
    CONSTRAINT usage_events_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT usage_events_skill_id_fkey FOREIGN KEY (tenant_id, skill_id)
        REFERENCES skills (tenant_id, id) ON DELETE SET NULL (skill_id),
    CONSTRAINT usage_events_user_id_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id)
);

COMMENT ON TABLE usage_events IS 'One use of a skill by a user through a tool; kept when the skill or user is deleted.';
COMMENT ON COLUMN usage_events.tool_name IS 'The tool the skill was used through (an MCP tool name, for example).';

CREATE INDEX usage_events_skill_id_idx ON usage_events (tenant_id, skill_id, created_at);
CREATE INDEX usage_events_user_id_idx ON usage_events (tenant_id, user_id, created_at);

ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_events AS PERMISSIVE FOR ALL
    USING (tenant_id = current_setting('app.current_tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true));
