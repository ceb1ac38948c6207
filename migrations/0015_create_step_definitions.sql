-- Create step_definitions, the reference list of design-thinking steps.
-- depends: 0014_create_workshop_members
--
-- Ids are semantic text ('empathize', 'define', ...), not generated; "order" is the
-- position of the step in every workshop. A DBA edits the texts with SQL.

CREATE TABLE step_definitions (
    id text NOT NULL CONSTRAINT step_definitions_pkey PRIMARY KEY
        CONSTRAINT step_definitions_id_valid CHECK (id ~ '^[a-z][a-z0-9_]{0,63}$'),
    "order" integer NOT NULL CONSTRAINT step_definitions_order_key UNIQUE
        CONSTRAINT step_definitions_order_positive CHECK ("order" > 0),
    name text NOT NULL CONSTRAINT step_definitions_name_valid CHECK (btrim(name) <> '' AND char_length(name) <= 200),
    description text NOT NULL
        CONSTRAINT step_definitions_description_valid CHECK (btrim(description) <> '' AND char_length(description) <= 10000),
    prompt_template text CONSTRAINT step_definitions_prompt_template_length CHECK (char_length(prompt_template) <= 100000),
    created_at moment NOT NULL DEFAULT now(),
    updated_at moment NOT NULL DEFAULT now()
);

COMMENT ON TABLE step_definitions IS 'The design-thinking steps every workshop goes through, in "order".';
COMMENT ON COLUMN step_definitions.prompt_template IS 'The prompt the facilitator app starts the step with, if any.';

CREATE TRIGGER step_definitions_set_updated_at BEFORE UPDATE ON step_definitions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
