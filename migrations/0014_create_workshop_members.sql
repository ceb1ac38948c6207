-- Create workshop_members: who belongs to a workshop, and with which role.
-- depends: 0013_create_workshops
--
-- role is extensible text ('owner', 'editor', 'viewer' today): no CHECK and no enum,
-- so a new role needs no migration. The access rules (0020) read it.

CREATE TABLE workshop_members (
    id key_text NOT NULL CONSTRAINT workshop_members_pkey PRIMARY KEY,
    workshop_id key_text NOT NULL
        CONSTRAINT workshop_members_workshop_id_fkey REFERENCES workshops (id) ON DELETE CASCADE,
    clerk_user_id key_text NOT NULL,
    role key_text NOT NULL,
    created_at moment NOT NULL DEFAULT now(),
    CONSTRAINT workshop_members_workshop_id_clerk_user_id_key UNIQUE (workshop_id, clerk_user_id)
);

COMMENT ON TABLE workshop_members IS 'A person''s membership of a workshop.';
COMMENT ON COLUMN workshop_members.role IS
    'owner (everything), editor (changes the workshop''s content), viewer (reads); extensible text.';

/* The unique key's index (workshop_id, clerk_user_id) serves lookups by workshop and the
   membership checks of the access rules; a separate index on workshop_id would only cost writes. */
CREATE INDEX workshop_members_clerk_user_id_idx ON workshop_members (clerk_user_id);
