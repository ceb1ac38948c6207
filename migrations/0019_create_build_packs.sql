-- Create build_packs: documents assembled from a workshop's step outputs.
-- depends: 0018_create_sessions

CREATE TABLE build_packs (
    id key_text NOT NULL CONSTRAINT build_packs_pkey PRIMARY KEY,
    workshop_id key_text NOT NULL
        CONSTRAINT build_packs_workshop_id_fkey REFERENCES workshops (id) ON DELETE CASCADE,
    title text NOT NULL CONSTRAINT build_packs_title_valid CHECK (btrim(title) <> '' AND char_length(title) <= 200),
    format_type text NOT NULL DEFAULT 'markdown'
        CONSTRAINT build_packs_format_type_valid CHECK (format_type IN ('markdown', 'pdf', 'json')),
    content text,
    created_at moment NOT NULL DEFAULT now(),
    updated_at moment NOT NULL DEFAULT now()
);

COMMENT ON TABLE build_packs IS 'A document assembled from the workshop''s step outputs as they were when it was generated.';
COMMENT ON COLUMN build_packs.content IS 'The document (markdown, or json text); NULL for formats made elsewhere (pdf).';

CREATE INDEX build_packs_workshop_id_idx ON build_packs (workshop_id);

CREATE TRIGGER build_packs_set_updated_at BEFORE UPDATE ON build_packs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
