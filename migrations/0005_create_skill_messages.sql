-- Create skill_messages, author-to-author messages about a skill, with row-level security.
-- depends: 0004_create_usage_events

CREATE TABLE skill_messages (
    tenant_id key_text NOT NULL DEFAULT current_tenant_id()
        REFERENCES tenants (id) ON DELETE CASCADE,
    id key_text NOT NULL DEFAULT gen_random_uuid()::text,
    from_user_id key_text NOT NULL,
    to_user_id key_text NOT NULL,
    subject_skill_id key_text NOT NULL,
    proposed_parent_skill_id key_text,
    message text NOT NULL CONSTRAINT skill_messages_message_valid
        CHECK (btrim(message) <> '' AND char_length(message) <= 10000),
    status text NOT NULL DEFAULT 'pending'
        CONSTRAINT skill_messages_status_valid CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at moment NOT NULL DEFAULT now(),
    read_at moment,
    CONSTRAINT skill_messages_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT skill_messages_from_user_id_fkey FOREIGN KEY (tenant_id, from_user_id)
        REFERENCES users (tenant_id, id),
    CONSTRAINT skill_messages_to_user_id_fkey FOREIGN KEY (tenant_id, to_user_id)
        REFERENCES users (tenant_id, id),
    CONSTRAINT skill_messages_subject_skill_id_fkey FOREIGN KEY (tenant_id, subject_skill_id)
        REFERENCES skills (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT skill_messages_proposed_parent_skill_id_fkey FOREIGN KEY (tenant_id, proposed_parent_skill_id)
        REFERENCES skills (tenant_id, id) ON DELETE SET NULL (proposed_parent_skill_id)
);

COMMENT ON TABLE skill_messages IS 'A message from one author to another about a skill, e.g. a proposed parent.';
COMMENT ON COLUMN skill_messages.proposed_parent_skill_id IS 'The skill the sender proposes as the subject''s parent, if any.';
COMMENT ON COLUMN skill_messages.read_at IS 'When the recipient read it; NULL while unread.';

CREATE INDEX skill_messages_from_user_id_idx ON skill_messages (tenant_id, from_user_id);
CREATE INDEX skill_messages_to_user_id_idx ON skill_messages (tenant_id, to_user_id, read_at);
CREATE INDEX skill_messages_subject_skill_id_idx ON skill_messages (tenant_id, subject_skill_id);
CREATE INDEX skill_messages_proposed_parent_skill_id_idx ON skill_messages (tenant_id, proposed_parent_skill_id);

ALTER TABLE skill_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE skill_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON skill_messages AS PERMISSIVE FOR ALL
    USING (tenant_id = current_setting('app.current_tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.current_tenant_id', true));
