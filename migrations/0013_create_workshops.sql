-- Create workshops, the design-thinking workshops of the second domain.
-- depends: 0012_guard_skill_message_changes
--
-- People are identified by the auth provider's user id (clerk_user_id); this domain
-- has no users table. Ids are cuid2 strings made by the application. Who may see and
-- change a workshop is enforced by row-level security (0020).

CREATE TABLE workshops (
    id key_text NOT NULL CONSTRAINT workshops_pkey PRIMARY KEY,
    clerk_user_id key_text NOT NULL,
    title text NOT NULL CONSTRAINT workshops_title_valid CHECK (btrim(title) <> '' AND char_length(title) <= 200),
    original_idea text NOT NULL
        CONSTRAINT workshops_original_idea_valid CHECK (btrim(original_idea) <> '' AND char_length(original_idea) <= 10000),
    status text NOT NULL DEFAULT 'draft'
        CONSTRAINT workshops_status_valid CHECK (status IN ('draft', 'active', 'paused', 'completed')),
    org_id key_text,
    template_id key_text,
    visibility text NOT NULL DEFAULT 'private'
        CONSTRAINT workshops_visibility_valid CHECK (visibility IN ('private', 'shared')),
    share_token text CONSTRAINT workshops_share_token_key UNIQUE,
    created_at moment NOT NULL DEFAULT now(),
    updated_at moment NOT NULL DEFAULT now(),
    /* A token exactly while shared, of at least 128 bits (22 url-safe base64 characters). */
    CONSTRAINT workshops_share_token_valid CHECK (
        (visibility = 'shared') = (share_token IS NOT NULL)
        AND share_token ~ '^[A-Za-z0-9_-]{22,128}$'
    )
);

COMMENT ON TABLE workshops IS 'A design-thinking workshop; visible to its members (workshop_members).';
COMMENT ON COLUMN workshops.clerk_user_id IS 'The creator (the auth provider''s user id); its first owner member.';
COMMENT ON COLUMN workshops.share_token IS
    'While visibility is shared: the random token (>= 128 bits) that opens the workshop read-only to whoever holds it.';

CREATE INDEX workshops_clerk_user_id_idx ON workshops (clerk_user_id);
CREATE INDEX workshops_status_idx ON workshops (status);
CREATE INDEX workshops_org_id_idx ON workshops (org_id);

CREATE TRIGGER workshops_set_updated_at BEFORE UPDATE ON workshops
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
